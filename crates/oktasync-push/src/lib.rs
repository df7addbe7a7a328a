pub mod config;
pub mod hook;
pub mod mapping;
pub mod plan;
pub mod scim;
pub mod source;
pub mod state;
