//! The emulator over real HTTP on 127.0.0.1 (one test binary for the crate).

mod activity;
mod apps_roles;
mod churn;
mod common;
mod export;
mod fidelity;
mod filter_props;
mod filters;
mod gate;
mod group_rules;
mod groups;
mod logs;
mod memberships;
mod oauth;
mod openapi;
mod pagination;
mod posture;
mod posture_writes;
mod scenarios;
mod users;
