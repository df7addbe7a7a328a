//! A sync limited to part of the org (`[scope]`): the groups assigned to one app, groups
//! matching patterns, users matching an expression; what is given combines (intersection).
//!
//! A scoped full sync reads the scope and nothing else ([`full`]): an app's three groups in
//! an org of 100,000 users cost a few dozen calls. A scoped incremental run plans from the
//! System Log like any other, then keeps what is in scope and brings in or lets go of what
//! crossed its edge ([`incremental`]): a user who joins a scoped group enters the mirror, one
//! who leaves every scoped group leaves it.
//!
//! Under a scope the mirror holds users, groups, memberships and, when the scope names an
//! app, that app and its assignments to the scoped users and groups. The other resources
//! (admin roles, factors, IdPs, group rules, other apps) describe the whole org and are not
//! read; their tables are left empty. The scope is stored with the System Log checkpoint
//! ([`SCOPE_CHECKPOINT`]): a run under another scope is a full sync of the new one.

pub(crate) mod full;
pub(crate) mod incremental;

use crate::options::Resource;
use okta_filter::{Expr, JsonObject, USER_SEARCH};
use oktasync_store::GroupPattern;
use serde_json::Value;
use std::fmt;

/// The checkpoint holding the scope the mirror was synced under ([`SyncScope`]'s display).
pub const SCOPE_CHECKPOINT: &str = "sync.scope";

/// Listings and reads a scoped sync runs at once (groups' members, users' groups); the
/// client's governor paces them further.
pub const CONCURRENT_SCOPE_READS: usize = 8;

/// The resources a scoped sync mirrors; the others describe the whole org.
pub const SCOPED_RESOURCES: [Resource; 6] = [
    Resource::Users,
    Resource::Groups,
    Resource::Memberships,
    Resource::Apps,
    Resource::AppUsers,
    Resource::AppGroups,
];

/// What part of the org a sync mirrors; the default is all of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncScope {
    /// Only the groups assigned to this app (an id), their members, and the app.
    pub app: Option<String>,
    /// Only the groups these patterns name (ids, names, globs, `re:` expressions).
    pub groups: Vec<GroupPattern>,
    /// Only the users this expression matches.
    pub users: Option<UserExpression>,
}

impl SyncScope {
    /// The whole org: no limit given.
    pub fn is_whole_org(&self) -> bool {
        self.app.is_none() && self.groups.is_empty() && self.users.is_none()
    }

    /// Whether groups are limited (by an app or patterns); if not, every group is mirrored
    /// and only users are limited.
    pub fn limits_groups(&self) -> bool {
        self.app.is_some() || !self.groups.is_empty()
    }

    /// Whether a group (by id and name) passes the patterns (any group, without patterns).
    pub fn group_matches(&self, id: &str, name: Option<&str>) -> bool {
        self.groups.is_empty() || self.groups.iter().any(|p| p.covers(id, name))
    }

    /// Whether a user (as Okta returns it) passes the expression (any user, without one).
    pub fn user_matches(&self, user: &Value) -> bool {
        self.users.as_ref().is_none_or(|u| u.matches(user))
    }

    /// Whether the scope mirrors `resource`.
    pub fn mirrors(&self, resource: Resource) -> bool {
        match resource {
            _ if self.is_whole_org() => true,
            Resource::Apps | Resource::AppUsers | Resource::AppGroups => self.app.is_some(),
            r => SCOPED_RESOURCES.contains(&r),
        }
    }
}

/// How the scope is stored and reported: `the whole org`, or
/// `app 0oa1; groups "Eng*", "re:^team-"; users 'profile.department eq "Eng"'`.
impl fmt::Display for SyncScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_whole_org() {
            return f.write_str("the whole org");
        }
        let mut parts = Vec::new();
        if let Some(app) = &self.app {
            parts.push(format!("app {app}"));
        }
        if !self.groups.is_empty() {
            let groups: Vec<String> = self
                .groups
                .iter()
                .map(|g| format!("{:?}", g.as_str()))
                .collect();
            parts.push(format!("groups {}", groups.join(", ")));
        }
        if let Some(users) = &self.users {
            parts.push(format!("users '{}'", users.source));
        }
        f.write_str(&parts.join("; "))
    }
}

/// A `users` expression: Okta's `search` grammar (any profile attribute, `eq`, `sw`, `co`,
/// `ew`, `pr`, timestamps compared as times, `and`, `or`, parentheses). Okta evaluates it
/// when the scope limits users only; on the members of scoped groups, oktasync does, with
/// the grammar the emulator answers `search` with.
#[derive(Debug, Clone)]
pub struct UserExpression {
    source: String,
    expr: Expr,
}

impl PartialEq for UserExpression {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl UserExpression {
    /// The expression written as `source`; the error says what Okta would refuse.
    pub fn parse(source: &str) -> Result<Self, String> {
        let source = source.trim();
        let expr = okta_filter::parse(source, &USER_SEARCH).map_err(|e| {
            format!(
                "{source:?} is not a user search expression Okta accepts: {e} (write it as \
                 profile.department eq \"Engineering\" and status eq \"ACTIVE\")"
            )
        })?;
        Ok(Self {
            source: source.to_owned(),
            expr,
        })
    }

    /// The expression as written, for Okta's `search` parameter.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `user` (as Okta returns it) matches.
    pub fn matches(&self, user: &Value) -> bool {
        okta_filter::eval(&self.expr, &JsonObject(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(app: Option<&str>, groups: &[&str], users: Option<&str>) -> SyncScope {
        SyncScope {
            app: app.map(str::to_owned),
            groups: groups
                .iter()
                .map(|g| GroupPattern::parse(*g).unwrap())
                .collect(),
            users: users.map(|u| UserExpression::parse(u).unwrap()),
        }
    }

    #[test]
    fn the_scope_is_stored_as_text_that_names_every_limit() {
        assert_eq!(SyncScope::default().to_string(), "the whole org");
        assert_eq!(
            scope(
                Some("0oa1"),
                &["Eng*", "re:^team-"],
                Some(r#"profile.department eq "Eng""#)
            )
            .to_string(),
            r#"app 0oa1; groups "Eng*", "re:^team-"; users 'profile.department eq "Eng"'"#
        );
        assert_ne!(
            scope(None, &["Eng*"], None).to_string(),
            scope(None, &["Eng*", "Ops"], None).to_string()
        );
    }

    #[test]
    fn limits_combine_and_decide_what_is_mirrored() {
        let s = scope(None, &["re:^team-"], Some(r#"profile.department sw "eng""#));
        assert!(s.group_matches("00g1", Some("team-a")));
        assert!(!s.group_matches("00g1", Some("Sales")));
        assert!(s.user_matches(&json!({"profile": {"department": "Engineering"}})));
        assert!(!s.user_matches(&json!({"profile": {"department": "Sales"}})));
        assert!(s.mirrors(Resource::Memberships));
        assert!(!s.mirrors(Resource::AppUsers));
        assert!(!s.mirrors(Resource::Factors));
        assert!(scope(Some("0oa1"), &[], None).mirrors(Resource::AppUsers));
        assert!(SyncScope::default().mirrors(Resource::Factors));
    }

    #[test]
    fn a_users_expression_okta_would_refuse_is_an_error_that_shows_the_form() {
        let err = UserExpression::parse("department = Eng").unwrap_err();
        assert!(err.contains("profile.department eq"), "{err}");
    }
}
