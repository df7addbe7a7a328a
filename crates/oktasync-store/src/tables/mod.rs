//! The mirrored tables, one file each holding its [`TableSpec`]: its columns and where each
//! is read from, its key, whom a row concerns, how it exports. Everything else in the store
//! (staging, apply, change log, deltas, history, export, copy) works from the spec.
//!
//! A new table is a file here, one line in `tables!` below, and a migration per backend
//! (plus its section in `SCHEMA.md`). Its file may also add the named [`crate::Batch`] and
//! [`crate::Scope`] constructors the engine will use (`Batch::of`, `Scope::by`); until then,
//! `Batch::new(Table::X, parent, objects)` stages its objects.

use crate::schema::TableSpec;
use serde::{Deserialize, Serialize};

/// Declares the mirrored tables: `Variant => module,` makes `Table::Variant`, whose spec is
/// `module::SPEC`. Order matters only as `Table::ALL`'s order.
macro_rules! tables {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)+) => {
        $(mod $module;)+

        /// A mirrored table. `as_str` is its SQL name and its key in counts and change
        /// reports (its serialized name too).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Table {
            $($(#[$doc])* $variant,)+
        }

        impl Table {
            pub const ALL: [Table; [$(stringify!($variant)),+].len()] = [$(Table::$variant),+];
        }

        /// The spec of a table.
        pub(crate) fn spec(table: Table) -> &'static TableSpec {
            match table {
                $(Table::$variant => &$module::SPEC,)+
            }
        }
    };
}

tables! {
    Users => users,
    Groups => groups,
    GroupMembers => group_members,
    Apps => apps,
    AppUsers => app_users,
    AppGroups => app_groups,
    RoleAssignments => role_assignments,
    Idps => idps,
    Factors => factors,
    GroupRules => group_rules,
    Policies => policies,
    PolicyRules => policy_rules,
    Authenticators => authenticators,
    NetworkZones => network_zones,
    OktaApiTokens => okta_api_tokens,
    LogStreams => log_streams,
    OrgSettings => org_settings,
    AppGrants => app_grants,
}
