//! The one table of Okta rate-limit buckets: which requests share a per-minute limit. It
//! mirrors Okta's published per-endpoint limits (okta-api.md §3.2); the governor keeps one
//! state per bucket name and learns each bucket's actual limit from the response headers.

use http::Method;

/// A bucket with the requests it covers, for documentation and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketInfo {
    pub name: &'static str,
    pub covers: &'static str,
}

/// Every bucket, in the order of Okta's table.
pub const BUCKETS: &[BucketInfo] = &[
    BucketInfo {
        name: "users",
        covers: "GET/POST /api/v1/users; POST/PUT/DELETE /api/v1/users/{id}; lifecycle operations",
    },
    BucketInfo {
        name: "user",
        covers: "GET /api/v1/users/{idOrLogin}",
    },
    BucketInfo {
        name: "groups",
        covers: "/api/v1/groups and /api/v1/groups/{id}/* (members, roles, apps)",
    },
    BucketInfo {
        name: "group",
        covers: "/api/v1/groups/{id}",
    },
    BucketInfo {
        name: "group_membership",
        covers: "PUT/DELETE /api/v1/groups/{id}/users/{userId} (membership writes)",
    },
    BucketInfo {
        name: "apps",
        covers: "/api/v1/apps and /api/v1/apps/{id}/* (users, groups)",
    },
    BucketInfo {
        name: "app",
        covers: "/api/v1/apps/{id}",
    },
    BucketInfo {
        name: "logs",
        covers: "/api/v1/logs",
    },
    BucketInfo {
        name: "events",
        covers: "/api/v1/events",
    },
    BucketInfo {
        name: "other",
        covers: "every other /api/v1 endpoint (users/{id}/roles|factors, iam, idps, ...)",
    },
    BucketInfo {
        name: "token",
        covers: "POST /oauth2/v1/token",
    },
];

/// The bucket a request counts against. Paths are matched on segments, so ids and logins need
/// no particular format.
pub fn bucket_for(method: &Method, path: &str) -> &'static str {
    if path == "/oauth2/v1/token" {
        return "token";
    }
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return "other";
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let read = *method == Method::GET || *method == Method::HEAD;
    match segments.as_slice() {
        ["users"] => "users",
        ["users", _] => {
            if read {
                "user"
            } else {
                "users"
            }
        }
        ["users", _, "lifecycle", ..] => "users",
        ["users", ..] => "other",
        ["groups", "rules", ..] => "groups",
        ["groups", _] => "group",
        ["groups", _, "users", _] if !read => "group_membership",
        ["groups", ..] => "groups",
        ["apps", _] => "app",
        ["apps", ..] => "apps",
        ["logs", ..] => "logs",
        ["events", ..] => "events",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_map_to_okta_buckets() {
        let cases = [
            (Method::GET, "/api/v1/users", "users"),
            (Method::GET, "/api/v1/users/00u1", "user"),
            (Method::POST, "/api/v1/users/00u1", "users"),
            (
                Method::POST,
                "/api/v1/users/00u1/lifecycle/suspend",
                "users",
            ),
            (Method::GET, "/api/v1/users/00u1/roles", "other"),
            (Method::GET, "/api/v1/users/00u1/factors", "other"),
            (Method::GET, "/api/v1/groups", "groups"),
            (Method::GET, "/api/v1/groups/00g1", "group"),
            (Method::GET, "/api/v1/groups/00g1/users", "groups"),
            (Method::GET, "/api/v1/groups/00g1/roles", "groups"),
            (
                Method::PUT,
                "/api/v1/groups/00g1/users/00u1",
                "group_membership",
            ),
            (
                Method::DELETE,
                "/api/v1/groups/00g1/users/00u1",
                "group_membership",
            ),
            (Method::GET, "/api/v1/groups/rules", "groups"),
            (Method::GET, "/api/v1/groups/rules/0pr1", "groups"),
            (Method::GET, "/api/v1/apps", "apps"),
            (Method::GET, "/api/v1/apps/0oa1", "app"),
            (Method::GET, "/api/v1/apps/0oa1/users", "apps"),
            (Method::GET, "/api/v1/logs", "logs"),
            (Method::GET, "/api/v1/iam/assignees/users", "other"),
            (Method::GET, "/api/v1/idps", "other"),
            (Method::POST, "/oauth2/v1/token", "token"),
            (Method::GET, "/somewhere", "other"),
        ];
        for (method, path, bucket) in cases {
            assert_eq!(bucket_for(&method, path), bucket, "{method} {path}");
            assert!(BUCKETS.iter().any(|b| b.name == bucket));
        }
    }
}
