//! What can stop a grant, with what to do next.

use oktasync_store::GrantState;

/// Why a grant request is refused before Okta is called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the mirror has no user {0:?}; check the id or login, or sync first (`oktasync sync`)")]
    UnknownUser(String),
    #[error("the mirror has no group {0:?}; check the id or name, or sync first (`oktasync sync`)")]
    UnknownGroup(String),
    #[error("the user {login} is {status}, not ACTIVE: only active users can be granted access")]
    UserNotActive { login: String, status: String },
    #[error(
        "the group {name:?} is of type {kind}: Okta lets only OKTA_GROUP memberships be changed \
         (APP_GROUP and BUILT_IN answer 403 E0000006); grant an Okta group"
    )]
    NotAnOktaGroup { name: String, kind: String },
    #[error(
        "no [[grant_policies]] entry names the group {name:?} ({id}); nothing is grantable by \
         default: add the group (its name, a glob, or its id) to a policy's groups"
    )]
    NoPolicy { name: String, id: String },
    #[error(
        "{asked} is longer than the max_duration {max} of the policy for {policy}; ask for less"
    )]
    TooLong {
        asked: String,
        max: String,
        policy: String,
    },
    #[error("the policy for {policy} requires a reason: pass --reason")]
    ReasonRequired { policy: String },
    #[error(
        "the group {name:?} is fed by the ACTIVE group rule {rule:?}: removing a member there \
         would put them on the rule's exclusion list; grant a group no rule targets"
    )]
    RuleTarget { name: String, rule: String },
    #[error(
        "the group {name:?} holds admin roles ({roles}): only a Super Admin principal may change \
         its members; if oktasync's credential is one, set `principal_is_super_admin = true` under [grants]"
    )]
    AdminGroup { name: String, roles: String },
    #[error(
        "the user {0} exists already: --create-user creates a new account; grant the existing one without it"
    )]
    UserExists(String),
    #[error("a grant must end in the future (it would end at {0})")]
    NotInFuture(String),
}

/// The errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A policy in the configuration cannot be used.
    #[error("{0}")]
    Policy(String),
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("no grant {0} in this org; `oktasync grant list` shows them")]
    NoSuchGrant(i64),
    #[error("{who} asked for grant {id} and cannot approve it too: another person must")]
    SelfApproval { id: i64, who: String },
    #[error("grant {0} changed meanwhile; look again with `oktasync grant show {0}`")]
    Changed(i64),
    #[error("grant {id} is {state}, so it cannot be {what}")]
    WrongState {
        id: i64,
        state: GrantState,
        what: &'static str,
    },
    #[error(transparent)]
    Store(#[from] oktasync_store::StoreError),
    #[error(transparent)]
    Okta(#[from] okta_api::Error),
}
