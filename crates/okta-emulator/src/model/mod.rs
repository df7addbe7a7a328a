//! The org held in memory: users, groups, apps, roles, idps, factors and the System Log, and
//! the security configuration (policies, authenticators, network zones, ThreatInsight, log
//! streams, API tokens, app grants), which the API changes in place (replace, lifecycle,
//! revoke) but does not create, except app grants.
//!
//! Every collection is keyed by [`Id`] in a `BTreeMap`, so cursor pagination is a range scan
//! from the cursor. Every mutation is a method on [`Org`] (see `ops.rs`) that moves the
//! timestamps Okta moves and appends the System Log event Okta writes; the HTTP handlers and
//! the churn generator both go through these methods.
//!
//! Each object caches its JSON (without `_links`) in a `OnceLock`; a mutation replaces the
//! cache, and pages are written by splicing `_links` for the request's origin onto the cached
//! bytes.

mod authenticators;
pub mod expr;
mod factors;
mod grants;
mod idps;
mod ids;
mod log;
mod log_streams;
mod objects;
mod ops;
mod policies;
pub mod rules;
mod threats;
mod tokens;
mod zones;

pub use authenticators::Authenticator;
pub use grants::{Grant, OKTA_SCOPES, client_id_of};
pub use idps::{IDP_KINDS, idp_protocol};
pub use ids::{Id, Ts, format_ts, parse_ts, whole_second};
pub use log::{
    Actor, Agent, Asn, Client, Ctx, Event, Geo, LogEntry, Outcome, Session, Target, describe,
};
pub use log_streams::{LOG_STREAM_TYPES, LogStream};
pub use objects::{
    App, AppGroupEntry, AppUserEntry, FACTOR_KINDS, Factor, FactorKind, Group, GroupType, Idp,
    RoleAssignment, RoleType, User, UserStatus, splice_links,
};
pub use ops::{RuleInput, UserDeletion};
pub use policies::{Policy, PolicyRule, PolicyType, SPEC_POLICY_TYPES};
pub use rules::{GroupRule, RuleMemberships, RuleStatus};
pub use threats::{THREAT_ACTIONS, ThreatInsight};
pub use tokens::{ApiToken, TokenNetwork};
pub use zones::{MAX_ZONE_NAME, NetworkZone};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Who a role assignment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssigneeType {
    User,
    Group,
}

impl AssigneeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AssigneeType::User => "USER",
            AssigneeType::Group => "GROUP",
        }
    }
}

/// The whole org.
#[derive(Debug)]
pub struct Org {
    /// The org's own id (`00o…`), used in `orn` values.
    pub org_id: Id,
    /// The id of the default user type (`oty…`).
    pub user_type_id: Id,
    pub users: BTreeMap<Id, User>,
    /// Lower-cased login → user id.
    pub logins: HashMap<String, Id>,
    pub groups: BTreeMap<Id, Group>,
    /// The BUILT_IN `Everyone` group.
    pub everyone: Id,
    /// Group id → member user ids.
    pub members: HashMap<Id, BTreeSet<Id>>,
    /// User id → group ids.
    pub user_groups: HashMap<Id, BTreeSet<Id>>,
    pub apps: BTreeMap<Id, App>,
    /// App id → app users (direct and through groups), by user id.
    pub app_users: HashMap<Id, BTreeMap<Id, AppUserEntry>>,
    /// App id → assigned groups, by group id.
    pub app_groups: HashMap<Id, BTreeMap<Id, AppGroupEntry>>,
    /// Group id → apps assigned to it.
    pub group_apps: HashMap<Id, BTreeSet<Id>>,
    pub roles: BTreeMap<Id, RoleAssignment>,
    /// User or group id → its role assignment ids.
    pub roles_by_assignee: HashMap<Id, BTreeSet<Id>>,
    pub idps: BTreeMap<Id, Idp>,
    /// User id → enrolled factors.
    pub factors: HashMap<Id, Vec<Factor>>,
    /// Group rules by id (`0pr…`).
    pub rules: BTreeMap<Id, GroupRule>,
    /// Which memberships rules made (Okta keeps this but does not serve it).
    pub rule_memberships: RuleMemberships,
    /// The System Log in persistence order; `seq` of entry `i` is `i + 1`.
    pub log: Vec<LogEntry>,
    /// The user an API token acts as (the org's first super admin).
    pub super_admin: Option<Id>,
    /// Okta API tokens (metadata only; the emulator never holds a secret), by id (`00T…`).
    pub api_tokens: BTreeMap<Id, ApiToken>,
    /// Policies of every type with their rules, by id (`00p…`, `rst…`).
    pub policies: BTreeMap<Id, Policy>,
    /// Authenticators in the order Okta lists them.
    pub authenticators: Vec<Authenticator>,
    /// Network zones by id (`nzo…`).
    pub zones: BTreeMap<Id, NetworkZone>,
    pub threat_insight: ThreatInsight,
    /// Log streams by id.
    pub log_streams: BTreeMap<Id, LogStream>,
    /// OAuth service apps, by id: listed and served like `apps` (see `grants.rs`), kept in a
    /// map of their own so that what churn and activity pick from `apps` stays the same.
    pub service_apps: BTreeMap<Id, App>,
    /// App id → its scope consent grants, by grant id.
    pub app_grants: BTreeMap<Id, Vec<Grant>>,
    /// Source of ids and event uuids for mutations (seeded, so churn is reproducible).
    pub rng: ChaCha8Rng,
}

impl Org {
    /// An org with only the `Everyone` group.
    pub fn empty(seed: u64, created: Ts) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6f6b_7461);
        let org_id = Id::random(b"00o", &mut rng);
        let user_type_id = Id::random(b"oty", &mut rng);
        let everyone = Id::random(b"00g", &mut rng);
        let mut org = Org {
            org_id,
            user_type_id,
            users: BTreeMap::new(),
            logins: HashMap::new(),
            groups: BTreeMap::new(),
            everyone,
            members: HashMap::new(),
            user_groups: HashMap::new(),
            apps: BTreeMap::new(),
            app_users: HashMap::new(),
            app_groups: HashMap::new(),
            group_apps: HashMap::new(),
            roles: BTreeMap::new(),
            roles_by_assignee: HashMap::new(),
            idps: BTreeMap::new(),
            factors: HashMap::new(),
            rules: BTreeMap::new(),
            rule_memberships: RuleMemberships::default(),
            log: Vec::new(),
            super_admin: None,
            api_tokens: BTreeMap::new(),
            policies: BTreeMap::new(),
            authenticators: Vec::new(),
            zones: BTreeMap::new(),
            threat_insight: ThreatInsight::disabled(created),
            log_streams: BTreeMap::new(),
            service_apps: BTreeMap::new(),
            app_grants: BTreeMap::new(),
            rng,
        };
        let mut profile = serde_json::Map::new();
        profile.insert("name".into(), "Everyone".into());
        profile.insert(
            "description".into(),
            "All users in your organization".into(),
        );
        org.groups.insert(
            everyone,
            Group::new(everyone, GroupType::BuiltIn, created, profile, None),
        );
        org.members.insert(everyone, BTreeSet::new());
        org
    }

    /// Looks a user up by id or login (case-insensitive), as `GET /api/v1/users/{idOrLogin}`.
    pub fn find_user(&self, id_or_login: &str) -> Option<&User> {
        if let Some(id) = Id::parse(id_or_login)
            && let Some(user) = self.users.get(&id)
        {
            return Some(user);
        }
        let id = self.logins.get(&id_or_login.to_lowercase())?;
        self.users.get(id)
    }

    /// The actor an API token acts as: the org's super admin.
    pub fn token_actor(&self) -> Actor {
        match self.super_admin.and_then(|id| self.users.get(&id)) {
            Some(u) => Actor::user(u),
            None => Actor {
                id: "00u000000000000000000".into(),
                kind: "User",
                alternate_id: "admin@example.com".into(),
                display_name: "Okta Admin".into(),
            },
        }
    }

    /// The actor of what Okta does by itself (rule-made memberships, rule exclusions):
    /// `Okta System`, a `SystemPrincipal`. Its id is derived from the org's, so it is stable.
    pub fn system_actor(&self) -> Actor {
        Actor {
            id: format!("0sp{}", &self.org_id.as_str()[3..]),
            kind: "SystemPrincipal",
            alternate_id: "system@okta.com".into(),
            display_name: "Okta System".into(),
        }
    }

    /// The actor of an API token whose admin is not a Super Admin: the first user (by id)
    /// holding a directly assigned admin role other than Super Admin; the token actor when
    /// there is none.
    pub fn limited_admin_actor(&self) -> Actor {
        self.roles
            .values()
            .filter(|r| r.assignee_type == AssigneeType::User && r.role_type.0 != "SUPER_ADMIN")
            .map(|r| r.assignee)
            .min()
            .and_then(|id| self.users.get(&id))
            .map(Actor::user)
            .unwrap_or_else(|| self.token_actor())
    }

    /// Number of groups that are members of `user` (including Everyone).
    pub fn groups_of(&self, user: &Id) -> impl Iterator<Item = &Id> {
        self.user_groups.get(user).into_iter().flatten()
    }

    /// Whether a group holds an admin role.
    pub fn group_has_admin_privilege(&self, group: &Id) -> bool {
        self.roles_by_assignee
            .get(group)
            .is_some_and(|r| !r.is_empty())
    }

    pub fn role_ids_of(&self, assignee: &Id) -> impl Iterator<Item = &Id> {
        self.roles_by_assignee.get(assignee).into_iter().flatten()
    }

    /// Users holding at least one directly assigned role, in id order.
    pub fn users_with_roles(&self) -> BTreeSet<Id> {
        self.roles
            .values()
            .filter(|r| r.assignee_type == AssigneeType::User)
            .map(|r| r.assignee)
            .collect()
    }

    pub fn next_seq(&self) -> u64 {
        self.log.len() as u64 + 1
    }
}
