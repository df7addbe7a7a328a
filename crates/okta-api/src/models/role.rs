//! Admin roles: `RoleAssignee` (GET /api/v1/iam/assignees/users) and `RoleAssignment`
//! (GET /users/{id}/roles, /groups/{id}/roles).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};

okta_model! {
    /// A user holding at least one admin role.
    pub struct RoleAssignee {
        pub id: String,
        pub orn: Option<String> => serde(default, deserialize_with = "lenient::string"),
    }
}

okta_model! {
    /// One role assigned to a user or group (standard or custom).
    pub struct RoleAssignment {
        pub id: String,
        /// SUPER_ADMIN, ORG_ADMIN, APP_ADMIN, USER_ADMIN, ..., or CUSTOM.
        pub role_type: Option<String> => serde(default, rename = "type", deserialize_with = "lenient::string"),
        pub label: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// USER, GROUP or CLIENT.
        pub assignment_type: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// Custom roles: the role's id.
        pub role: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// Custom roles: the resource set's id.
        pub resource_set: Option<String> => serde(default, rename = "resource-set", deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_roles() {
        let r: RoleAssignment = serde_json::from_str(
            r#"{"id":"IFIFAX2BIRGUSTQ","label":"Application administrator","type":"APP_ADMIN","status":"ACTIVE","assignmentType":"USER","resource-set":"iam1"}"#,
        )
        .unwrap();
        assert_eq!(r.role_type.as_deref(), Some("APP_ADMIN"));
        assert_eq!(r.assignment_type.as_deref(), Some("USER"));
        assert_eq!(r.resource_set.as_deref(), Some("iam1"));
        let a: RoleAssignee =
            serde_json::from_str(r#"{"id":"00u1","orn":"orn:x","_links":{}}"#).unwrap();
        assert_eq!(a.orn.as_deref(), Some("orn:x"));
    }
}
