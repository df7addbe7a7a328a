//! What a push starts from: the Okta users the caller selected for a target (the members of
//! its groups or the holders of its roles), each with the groups it is in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One Okta user in a target's scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceUser {
    /// The Okta user id (`00u…`); keys the push state.
    pub id: String,
    /// The Okta status (`ACTIVE`, `SUSPENDED`, …) as Okta spells it.
    pub status: String,
    /// The Okta user's `profile` object (`login`, `email`, `firstName`, custom attributes…).
    pub profile: Value,
    /// The Okta groups the user is in (all of them or only those the target names: the group
    /// mapping and the hook only see these).
    pub groups: Vec<SourceGroup>,
}

/// An Okta group a [`SourceUser`] is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceGroup {
    pub id: String,
    pub name: String,
}

/// Statuses in which an Okta user can sign in or is merely held up (a password to change, a
/// lockout, a recovery): pushed as `active=true`. STAGED, PROVISIONED (not yet activated),
/// SUSPENDED and DEPROVISIONED are pushed as `active=false`.
const ACTIVE_STATUSES: [&str; 4] = ["ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"];

impl SourceUser {
    /// `profile.login`, or the id when the profile has none (used to name the user in reports).
    pub fn login(&self) -> &str {
        self.profile
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or(&self.id)
    }

    /// Whether the user is pushed as `active=true`: ACTIVE, PASSWORD_EXPIRED, LOCKED_OUT or
    /// RECOVERY.
    pub fn is_active(&self) -> bool {
        ACTIVE_STATUSES.contains(&self.status.as_str())
    }

    /// The JSON templates are evaluated against: `{"id", "status", "profile"}`.
    pub(crate) fn template_root(&self) -> Value {
        serde_json::json!({ "id": self.id, "status": self.status, "profile": self.profile })
    }
}
