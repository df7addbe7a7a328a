//! The one table that maps a request (method + path) to its rate-limit bucket and the OAuth
//! scope it needs. Buckets follow Okta's Workforce per-minute defaults (okta-api.md §3.2);
//! scopes follow the `security` entries of Okta's OpenAPI spec.

use http::Method;

/// What kind of endpoint a request addresses; decides which gate steps apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// `/api/v1/**` and anything else a client might call (the 404 fallback included).
    Api,
    /// `/__emulator/**`: needs a credential, but no scope, rate limit, latency or fault.
    Control,
    /// `POST /oauth2/v1/token`: no credential (the client assertion is the credential).
    Token,
}

/// Where one request belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    /// Rate-limit bucket name, stable (used in `/__emulator/stats`).
    pub bucket: &'static str,
    /// The OAuth scope an access token needs; `None` when any credential will do.
    pub scope: Option<&'static str>,
}

/// Every bucket with its Okta Workforce per-minute limit for the whole org.
pub const WORKFORCE_BUCKETS: &[(&str, u32)] = &[
    // GET/POST /api/v1/users, POST/PUT/DELETE /api/v1/users/{id}, lifecycle operations
    ("users", 600),
    // GET /api/v1/users/{idOrLogin}
    ("user", 2_000),
    // /api/v1/groups and /api/v1/groups/{id}/*
    ("groups", 500),
    // /api/v1/groups/{id} only
    ("group", 1_000),
    // PUT/DELETE /api/v1/groups/{id}/users/{userId}. Okta's published table has no line for
    // these writes, but recorded Workforce answers to them report X-Rate-Limit-Limit 500
    // (okta-api.md §3.2, observed), the /api/v1/groups figure: 500 per minute, counted apart
    // from reads so that a membership writer cannot starve a sync's group reads.
    ("group_membership", 500),
    // /api/v1/apps and /api/v1/apps/{id}/*
    ("apps", 100),
    // /api/v1/apps/{id} only
    ("app", 500),
    // /api/v1/logs
    ("logs", 120),
    // /api/v1/events
    ("events", 100),
    // most other /api/v1 endpoints (users/{id}/roles|factors|groups, iam, idps, ...)
    ("other", 1_200),
    // POST /oauth2/v1/token
    ("token", 150),
];

/// The bucket control endpoints report in their headers; never enforced, never in stats.
pub const CONTROL_BUCKET: &str = "control";

const TOKEN_PATH: &str = "/oauth2/v1/token";

/// Classifies one request. Paths are matched on segments, so ids and logins need no format.
pub fn classify(method: &Method, path: &str) -> Route {
    if path == "/__emulator" || path.starts_with("/__emulator/") {
        return Route {
            kind: RouteKind::Control,
            bucket: CONTROL_BUCKET,
            scope: None,
        };
    }
    if path == TOKEN_PATH {
        return Route {
            kind: RouteKind::Token,
            bucket: "token",
            scope: None,
        };
    }
    let api = |bucket, scope| Route {
        kind: RouteKind::Api,
        bucket,
        scope: Some(scope),
    };
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return Route {
            kind: RouteKind::Api,
            bucket: "other",
            scope: None,
        };
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let read = *method == Method::GET || *method == Method::HEAD;
    let rw = |r: &'static str, w: &'static str| if read { r } else { w };
    match segments.as_slice() {
        ["users"] => api("users", rw("okta.users.read", "okta.users.manage")),
        ["users", _] => api(
            if read { "user" } else { "users" },
            rw("okta.users.read", "okta.users.manage"),
        ),
        ["users", _, "lifecycle", ..] => api("users", "okta.users.manage"),
        ["users", _, "roles", ..] => api("other", rw("okta.roles.read", "okta.roles.manage")),
        ["users", _, ..] => api("other", rw("okta.users.read", "okta.users.manage")),
        ["groups"] => api("groups", rw("okta.groups.read", "okta.groups.manage")),
        // `rules` is not a group id: /api/v1/groups/rules counts as /api/v1/groups.
        ["groups", "rules", ..] => api("groups", rw("okta.groups.read", "okta.groups.manage")),
        ["groups", _, "users", _] if !read => api("group_membership", "okta.groups.manage"),
        ["groups", _] => api("group", rw("okta.groups.read", "okta.groups.manage")),
        ["groups", _, "roles", ..] => api("groups", rw("okta.roles.read", "okta.roles.manage")),
        ["groups", ..] => api("groups", rw("okta.groups.read", "okta.groups.manage")),
        ["apps", _, "grants", ..] => {
            api("apps", rw("okta.appGrants.read", "okta.appGrants.manage"))
        }
        ["apps", _] => api("app", rw("okta.apps.read", "okta.apps.manage")),
        ["apps", ..] => api("apps", rw("okta.apps.read", "okta.apps.manage")),
        ["logs", ..] => api("logs", "okta.logs.read"),
        ["events", ..] => api("events", "okta.logs.read"),
        ["iam", ..] => api("other", rw("okta.roles.read", "okta.roles.manage")),
        ["idps", ..] => api("other", rw("okta.idps.read", "okta.idps.manage")),
        ["api-tokens", ..] => api("other", rw("okta.apiTokens.read", "okta.apiTokens.manage")),
        ["policies", ..] => api("other", rw("okta.policies.read", "okta.policies.manage")),
        ["authenticators", ..] => api(
            "other",
            rw("okta.authenticators.read", "okta.authenticators.manage"),
        ),
        ["zones", ..] => api(
            "other",
            rw("okta.networkZones.read", "okta.networkZones.manage"),
        ),
        ["threats", ..] => api(
            "other",
            rw("okta.threatInsights.read", "okta.threatInsights.manage"),
        ),
        ["logStreams", ..] => api(
            "other",
            rw("okta.logStreams.read", "okta.logStreams.manage"),
        ),
        _ => Route {
            kind: RouteKind::Api,
            bucket: "other",
            scope: None,
        },
    }
}

/// Whether granted scopes cover `required`: an `okta.X.manage` scope includes `okta.X.read`.
pub fn scopes_cover(granted: &[String], required: &str) -> bool {
    if granted.iter().any(|s| s == required) {
        return true;
    }
    match required.strip_suffix(".read") {
        Some(base) => granted
            .iter()
            .any(|s| s.strip_suffix(".manage") == Some(base)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_scopes_follow_okta() {
        let c = |m: Method, p: &str| {
            let r = classify(&m, p);
            (r.bucket, r.scope)
        };
        assert_eq!(
            c(Method::GET, "/api/v1/users"),
            ("users", Some("okta.users.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/users/00u1"),
            ("user", Some("okta.users.read"))
        );
        assert_eq!(
            c(Method::POST, "/api/v1/users/00u1"),
            ("users", Some("okta.users.manage"))
        );
        assert_eq!(
            c(Method::POST, "/api/v1/users/00u1/lifecycle/suspend"),
            ("users", Some("okta.users.manage"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/users/00u1/roles"),
            ("other", Some("okta.roles.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/users/00u1/factors"),
            ("other", Some("okta.users.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/groups"),
            ("groups", Some("okta.groups.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/groups/00g1"),
            ("group", Some("okta.groups.read"))
        );
        assert_eq!(
            c(Method::PUT, "/api/v1/groups/00g1/users/00u1"),
            ("group_membership", Some("okta.groups.manage"))
        );
        assert_eq!(
            c(Method::DELETE, "/api/v1/groups/00g1/users/00u1"),
            ("group_membership", Some("okta.groups.manage"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/groups/00g1/users"),
            ("groups", Some("okta.groups.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/groups/rules"),
            ("groups", Some("okta.groups.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/groups/rules/0pr1"),
            ("groups", Some("okta.groups.read"))
        );
        assert_eq!(
            c(Method::POST, "/api/v1/groups/rules/0pr1/lifecycle/activate"),
            ("groups", Some("okta.groups.manage"))
        );
        assert_eq!(
            c(Method::DELETE, "/api/v1/groups/rules/0pr1"),
            ("groups", Some("okta.groups.manage"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/apps/0oa1"),
            ("app", Some("okta.apps.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/apps/0oa1/users"),
            ("apps", Some("okta.apps.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/logs"),
            ("logs", Some("okta.logs.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/iam/assignees/users"),
            ("other", Some("okta.roles.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/idps"),
            ("other", Some("okta.idps.read"))
        );
        assert_eq!(
            c(Method::GET, "/api/v1/api-tokens"),
            ("other", Some("okta.apiTokens.read"))
        );
        for (path, scope) in [
            ("/api/v1/policies", "okta.policies.read"),
            ("/api/v1/policies/00p1/rules/0pr1", "okta.policies.read"),
            ("/api/v1/authenticators/aut1", "okta.authenticators.read"),
            ("/api/v1/zones", "okta.networkZones.read"),
            ("/api/v1/threats/configuration", "okta.threatInsights.read"),
            ("/api/v1/logStreams/0oa1", "okta.logStreams.read"),
        ] {
            assert_eq!(c(Method::GET, path), ("other", Some(scope)), "{path}");
        }
        assert_eq!(
            c(Method::GET, "/api/v1/apps/0oa1/grants"),
            ("apps", Some("okta.appGrants.read"))
        );
        // the configuration's writes need the `.manage` scope of their resource
        for (method, path, scope) in [
            (
                Method::PUT,
                "/api/v1/zones/nzo1",
                "okta.networkZones.manage",
            ),
            (
                Method::POST,
                "/api/v1/zones/nzo1/lifecycle/deactivate",
                "okta.networkZones.manage",
            ),
            (Method::PUT, "/api/v1/policies/00p1", "okta.policies.manage"),
            (
                Method::POST,
                "/api/v1/policies/00p1/lifecycle/activate",
                "okta.policies.manage",
            ),
            (
                Method::PUT,
                "/api/v1/policies/00p1/rules/0pr1",
                "okta.policies.manage",
            ),
            (
                Method::POST,
                "/api/v1/policies/00p1/rules/0pr1/lifecycle/deactivate",
                "okta.policies.manage",
            ),
            (
                Method::POST,
                "/api/v1/threats/configuration",
                "okta.threatInsights.manage",
            ),
            (
                Method::POST,
                "/api/v1/logStreams/0oa1/lifecycle/activate",
                "okta.logStreams.manage",
            ),
            (
                Method::DELETE,
                "/api/v1/logStreams/0oa1",
                "okta.logStreams.manage",
            ),
            (
                Method::DELETE,
                "/api/v1/api-tokens/00T1",
                "okta.apiTokens.manage",
            ),
            (
                Method::POST,
                "/api/v1/authenticators/aut1/lifecycle/deactivate",
                "okta.authenticators.manage",
            ),
        ] {
            assert_eq!(
                c(method.clone(), path),
                ("other", Some(scope)),
                "{method} {path}"
            );
        }
        for method in [Method::POST, Method::DELETE] {
            let path = if method == Method::POST {
                "/api/v1/apps/0oa1/grants"
            } else {
                "/api/v1/apps/0oa1/grants/oag1"
            };
            assert_eq!(
                c(method, path),
                ("apps", Some("okta.appGrants.manage")),
                "{path}"
            );
        }
        assert_eq!(
            classify(&Method::POST, "/oauth2/v1/token").kind,
            RouteKind::Token
        );
        assert_eq!(
            classify(&Method::GET, "/__emulator/stats").kind,
            RouteKind::Control
        );
        for (bucket, _) in [c(Method::GET, "/nope"), c(Method::GET, "/api/v1/unknown")] {
            assert_eq!(bucket, "other");
        }
    }

    #[test]
    fn manage_covers_read() {
        let granted = vec!["okta.users.manage".to_string()];
        assert!(scopes_cover(&granted, "okta.users.read"));
        assert!(scopes_cover(&granted, "okta.users.manage"));
        assert!(!scopes_cover(&granted, "okta.groups.read"));
        assert!(!scopes_cover(
            &["okta.users.read".to_string()],
            "okta.users.manage"
        ));
    }
}
