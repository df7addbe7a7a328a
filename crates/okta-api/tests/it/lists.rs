//! Every list and read endpoint against the emulator, compared with its export; pagination
//! edge cases against a local server.

use crate::{
    ALL_STATUSES_FILTER, collect, emulator, export_ids, fast_config, local_server, ssws_client,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use futures::StreamExt;
use okta_api::{
    Credentials, Error, ListingProblem, LogStart, OktaClient, OrgUrl, SecretString, User,
};
use okta_emulator::{EmulatorConfig, OrgSize};
use std::collections::BTreeSet;

fn small_org() -> EmulatorConfig {
    EmulatorConfig {
        size: OrgSize::Small,
        seed: 7,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn full_read_matches_the_export() {
    let emu = emulator(small_org()).await;
    let client = ssws_client(&emu, fast_config());
    let export = emu.export();

    let users = collect(client.list_users(Some(ALL_STATUSES_FILTER)))
        .await
        .unwrap();
    let ids: BTreeSet<String> = users.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids.len(), users.len(), "no duplicates across pages");
    assert_eq!(ids, export_ids(&export, "users"));
    assert!(
        users
            .iter()
            .any(|u| u.status.as_deref() == Some("DEPROVISIONED"))
    );
    let unfiltered = collect(client.list_users(None)).await.unwrap();
    let deprovisioned = users
        .iter()
        .filter(|u| u.status.as_deref() == Some("DEPROVISIONED"))
        .count();
    assert_eq!(unfiltered.len(), users.len() - deprovisioned);
    assert!(
        unfiltered
            .iter()
            .all(|u| u.status.as_deref() != Some("DEPROVISIONED"))
    );
    assert!(
        users
            .iter()
            .all(|u| u.raw["id"] == u.id.as_str() && u.profile.login.is_some())
    );

    let groups = collect(client.list_groups(None, true)).await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id.clone()).collect::<BTreeSet<_>>(),
        export_ids(&export, "groups")
    );
    assert!(
        groups.iter().all(|g| g.stats.is_some()),
        "expand=stats fills stats"
    );

    let mut members = BTreeSet::new();
    for g in &groups {
        let users: Vec<User> = collect(client.list_group_users(&g.id)).await.unwrap();
        assert_eq!(
            users.len() as i64,
            g.stats.as_ref().unwrap().users_count.unwrap(),
            "usersCount of {}",
            g.id
        );
        members.extend(users.into_iter().map(|u| (g.id.clone(), u.id)));
    }
    let expected: BTreeSet<(String, String)> = export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["group_id"].as_str().unwrap().to_string(),
                m["user_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(members, expected);

    let apps = collect(client.list_apps()).await.unwrap();
    assert_eq!(
        apps.iter().map(|a| a.id.clone()).collect::<BTreeSet<_>>(),
        export_ids(&export, "apps")
    );
    let mut app_users = BTreeSet::new();
    let mut app_groups = BTreeSet::new();
    for app in &apps {
        for au in collect(client.list_app_users(&app.id)).await.unwrap() {
            app_users.insert((app.id.clone(), au.id, au.scope.unwrap()));
        }
        for ag in collect(client.list_app_groups(&app.id)).await.unwrap() {
            app_groups.insert((app.id.clone(), ag.id));
        }
    }
    let expected_au: BTreeSet<(String, String, String)> = export["app_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (s("app_id"), s("user_id"), s("scope"))
        })
        .collect();
    assert!(
        expected_au.iter().any(|a| a.2 == "USER") && expected_au.iter().any(|a| a.2 == "GROUP"),
        "direct and group assignments in {} app users",
        expected_au.len()
    );
    assert_eq!(app_users, expected_au);
    let expected_ag: BTreeSet<(String, String)> = export["app_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["app_id"].as_str().unwrap().to_string(),
                m["group_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!expected_ag.is_empty(), "apps with groups");
    assert_eq!(app_groups, expected_ag);

    let idps = collect(client.list_idps()).await.unwrap();
    assert_eq!(
        idps.iter().map(|i| i.id.clone()).collect::<BTreeSet<_>>(),
        export_ids(&export, "idps")
    );

    // roles: assignees (body links), then each user's and each admin group's roles
    let assignees = collect(client.list_role_assignees()).await.unwrap();
    let mut roles = BTreeSet::new();
    for a in &assignees {
        for r in client.list_user_roles(&a.id).await.unwrap() {
            if r.assignment_type.as_deref() == Some("USER") {
                roles.insert(("USER".to_string(), a.id.clone(), r.role_type.unwrap()));
            }
        }
    }
    for g in groups
        .iter()
        .filter(|g| g.stats.as_ref().and_then(|s| s.has_admin_privlege) == Some(true))
    {
        for r in client.list_group_roles(&g.id).await.unwrap() {
            roles.insert(("GROUP".to_string(), g.id.clone(), r.role_type.unwrap()));
        }
    }
    let expected_roles: BTreeSet<(String, String, String)> = export["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (s("assignee_type"), s("assignee_id"), s("role_type"))
        })
        .collect();
    assert!(
        expected_roles.iter().any(|r| r.0 == "USER")
            && expected_roles.iter().any(|r| r.0 == "GROUP"),
        "roles held by users and by groups: {expected_roles:?}"
    );
    assert_eq!(roles, expected_roles);

    // factors and single reads
    let holder = export["factors"][0]["user_id"]
        .as_str()
        .expect("users with factors");
    let factors = client.list_user_factors(holder).await.unwrap();
    let held = export["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["user_id"] == holder)
        .count();
    assert!(held > 0);
    assert_eq!(factors.len(), held);
    assert!(factors.iter().all(|f| f.factor_type.is_some()));
    let by_login = client
        .get_user(users[0].profile.login.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_login.id, users[0].id);
    assert!(client.get_user("00unothere").await.unwrap().is_none());
    assert_eq!(
        client.get_group(&groups[0].id).await.unwrap().unwrap().id,
        groups[0].id
    );
    assert!(client.get_group("00gnothere").await.unwrap().is_none());
    assert_eq!(
        client.get_app(&apps[0].id).await.unwrap().unwrap().id,
        apps[0].id
    );
    assert!(client.get_app("0oanothere").await.unwrap().is_none());

    let m = client.metrics();
    println!(
        "full read: {} requests, {} bytes, buckets {:?}",
        m.requests,
        m.bytes,
        m.buckets.keys().collect::<Vec<_>>()
    );
    assert_eq!(m.http_429, 0);
}

#[tokio::test]
async fn generic_paginate_follows_small_pages() {
    let emu = emulator(small_org()).await;
    let client = ssws_client(&emu, fast_config());
    let mut stream = client.paginate::<User>("/api/v1/users?limit=7");
    let (mut pages, mut seen) = (0, BTreeSet::new());
    while let Some(page) = stream.next().await {
        let page = page.unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        seen.extend(page.items.into_iter().map(|u| u.id));
        if let Some(next) = &page.next {
            assert!(next.as_str().starts_with(&emu.base_url()));
        }
    }
    let all = collect(client.list_users(None)).await.unwrap();
    assert_eq!(seen.len(), all.len());
    assert_eq!(pages, all.len().div_ceil(7));
}

#[tokio::test]
async fn membership_writes_are_idempotent() {
    let emu = emulator(small_org()).await;
    let client = ssws_client(&emu, fast_config());
    let groups = collect(client.list_groups(Some("type eq \"OKTA_GROUP\""), false))
        .await
        .unwrap();
    let group = &groups[0];
    let users = collect(client.list_users(Some("status eq \"ACTIVE\"")))
        .await
        .unwrap();
    let members: BTreeSet<String> = collect(client.list_group_users(&group.id))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    let outsider = users
        .iter()
        .find(|u| !members.contains(&u.id))
        .expect("someone is not a member");
    let added = client
        .add_group_member(&group.id, &outsider.id)
        .await
        .unwrap();
    let again = client
        .add_group_member(&group.id, &outsider.id)
        .await
        .unwrap();
    // Each write's receipt names its own request.
    assert!(added.request_id.is_some(), "{added:?}");
    assert_ne!(added.request_id, again.request_id);
    let after: Vec<String> = collect(client.list_group_users(&group.id))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(after.iter().filter(|id| **id == outsider.id).count(), 1);
    client
        .remove_group_member(&group.id, &outsider.id)
        .await
        .unwrap();
    let after: BTreeSet<String> = collect(client.list_group_users(&group.id))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(after, members);
}

#[tokio::test]
async fn log_polling_ends_on_an_empty_page_and_resumes_from_the_checkpoint() {
    let emu = emulator(small_org()).await;
    let client = ssws_client(&emu, fast_config());
    let since = chrono::Utc::now() - chrono::TimeDelta::days(30);
    let mut stream = client.poll_logs(LogStart::Since(since));
    let (mut events, mut checkpoint) = (Vec::new(), None);
    while let Some(page) = stream.next().await {
        let page = page.unwrap();
        checkpoint = page.next.clone();
        events.extend(page.items);
    }
    assert!(!events.is_empty(), "the generated org has a log history");
    let checkpoint = checkpoint.expect("polling always returns a next link");
    let uuids: BTreeSet<&str> = events.iter().map(|e| e.uuid.as_str()).collect();
    assert_eq!(uuids.len(), events.len(), "no duplicates");

    // a membership change, then resume from the checkpoint: exactly the new events
    let groups = collect(client.list_groups(Some("type eq \"OKTA_GROUP\""), false))
        .await
        .unwrap();
    let members: BTreeSet<String> = collect(client.list_group_users(&groups[0].id))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    let users = collect(client.list_users(Some("status eq \"ACTIVE\"")))
        .await
        .unwrap();
    let outsider = users.iter().find(|u| !members.contains(&u.id)).unwrap();
    client
        .add_group_member(&groups[0].id, &outsider.id)
        .await
        .unwrap();
    let new = crate::collect(client.poll_logs(LogStart::Next(checkpoint)))
        .await
        .unwrap();
    // the membership event, plus app assignment events when the group has apps
    assert!(!new.is_empty());
    assert!(
        new.iter().all(|e| !uuids.contains(e.uuid.as_str())),
        "only events after the checkpoint"
    );
    let add = new
        .iter()
        .find(|e| e.event_type.as_deref() == Some("group.user_membership.add"))
        .expect("the membership event");
    let target_ids: Vec<&str> = add.targets.iter().filter_map(|t| t.id.as_deref()).collect();
    assert!(
        target_ids.contains(&outsider.id.as_str()) && target_ids.contains(&groups[0].id.as_str())
    );
}

// ---- edge cases the emulator never produces: a local server ----

fn link(next: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.append(
        "link",
        HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).unwrap(),
    );
    h
}

fn local_client(base: &str) -> OktaClient {
    OktaClient::new(
        OrgUrl::parse(base).unwrap(),
        Credentials::ApiToken(SecretString::from("00local-secret-token".to_string())),
        fast_config(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused() {
    // the "other origin" records whether anything ever reached it
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let evil = local_server(axum::Router::new().fallback(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "[]" }
    }))
    .await;
    let next = format!("{evil}/api/v1/users?after=x");
    let org = local_server(axum::Router::new().route(
        "/api/v1/users",
        axum::routing::get(move || {
            let next = next.clone();
            async move { (link(&next), r#"[{"id":"00u1"}]"#).into_response() }
        }),
    ))
    .await;
    let client = local_client(&org);
    let mut stream = client.list_users(None);
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 1);
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::ForeignNextLink { .. }), "{err}");
    assert!(
        err.to_string().contains("never sent to another origin"),
        "{err}"
    );
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
    // a log checkpoint pointing elsewhere is refused the same way
    let foreign_checkpoint = url::Url::parse(&format!("{evil}/api/v1/logs?after=1")).unwrap();
    let err = client
        .poll_logs(LogStart::Next(foreign_checkpoint))
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::ForeignNextLink { .. }), "{err}");
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was sent to the other origin"
    );
}

#[tokio::test]
async fn a_repeated_cursor_is_detected() {
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let b = base.clone();
    let org = local_server(axum::Router::new().route(
        "/api/v1/users",
        axum::routing::get(move |uri: axum::http::Uri| {
            let b = b.clone();
            async move {
                // page 1 -> after=a -> after=b -> after=a again, each page with its own items
                let (next, id) = match uri.query().unwrap_or_default() {
                    q if q.contains("after=a") => ("after=b", "00ua"),
                    q if q.contains("after=b") => ("after=a", "00ub"),
                    _ => ("after=a", "00u1"),
                };
                (
                    link(&format!("{}/api/v1/users?{next}", b.get().unwrap())),
                    format!(r#"[{{"id":"{id}"}}]"#),
                )
                    .into_response()
            }
        }),
    ))
    .await;
    base.set(org.clone()).unwrap();
    let client = local_client(&org);
    let results: Vec<_> = client.paginate::<User>("/api/v1/users").collect().await;
    assert_eq!(results.len(), 4, "three pages, then the error");
    let err = results.last().unwrap().as_ref().unwrap_err();
    assert!(matches!(err, Error::RepeatedCursor { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("GET /api/v1/users") && text.contains("misbehaving"),
        "{text}"
    );
}

/// A local org whose `/api/v1/users` (and group members) never ends: every page links to a
/// fresh cursor. `items(n)` gives page n's body (n from 1). Returns (base URL, pages served).
async fn endless_server(
    items: fn(u64) -> String,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let (s, b) = (served.clone(), base.clone());
    let handler = move |uri: axum::http::Uri| {
        let (s, b) = (s.clone(), b.clone());
        async move {
            let n = s.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let next = format!("{}{}?after=cursor{n}", b.get().unwrap(), uri.path());
            (link(&next), items(n)).into_response()
        }
    };
    let org = local_server(
        axum::Router::new()
            .route("/api/v1/users", axum::routing::get(handler.clone()))
            .route("/api/v1/groups/{id}/users", axum::routing::get(handler)),
    )
    .await;
    base.set(org.clone()).unwrap();
    (org, served)
}

/// All items of a listing from an endless server, or a failure if it does not end within a
/// minute (so that a regression fails instead of hanging).
async fn collect_bounded<T>(stream: okta_api::PageStream<T>) -> okta_api::Result<Vec<T>> {
    tokio::time::timeout(std::time::Duration::from_secs(60), collect(stream))
        .await
        .expect("the listing ends")
}

fn served(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test]
async fn the_same_page_under_fresh_cursors_ends_the_listing() {
    let (org, pages) = endless_server(|_| r#"[{"id":"00u1"},{"id":"00u2"}]"#.into()).await;
    let client = local_client(&org);
    let mut stream = client.list_users(None);
    assert_eq!(stream.next().await.unwrap().unwrap().items.len(), 2);
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::RunawayListing {
                problem: ListingProblem::RepeatedPage {
                    page: 2,
                    earlier_page: 1
                },
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("GET /api/v1/users") && text.contains("misbehaving"),
        "{text}"
    );
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
    assert_eq!(served(&pages), 2);

    // an empty page after an empty page, each with a fresh cursor, is the same loop
    let (org, pages) = endless_server(|_| "[]".into()).await;
    let err = collect_bounded(local_client(&org).list_users(None))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RunawayListing { .. }), "{err:?}");
    assert_eq!(served(&pages), 2);
}

/// Fresh ids on every page: 200 users per page, for ever.
fn fresh_page(n: u64) -> String {
    let items: Vec<String> = (0..200)
        .map(|i| format!(r#"{{"id":"00u{n}x{i}"}}"#))
        .collect();
    format!("[{}]", items.join(","))
}

#[tokio::test]
async fn a_listing_longer_than_expected_is_stopped() {
    let (org, pages) = endless_server(fresh_page).await;
    let client = local_client(&org);
    // a group whose stats said 10 members: bound 2 * 10 + 1000 = 1020, passed on page 6
    let err = collect_bounded(client.list_group_users_expecting("00g1", 10))
        .await
        .unwrap_err();
    match &err {
        Error::RunawayListing {
            endpoint,
            pages: 6,
            problem:
                ListingProblem::TooManyItems {
                    items: 1200,
                    bound: 1020,
                    expected: 10,
                },
        } => assert_eq!(endpoint, "GET /api/v1/groups/00g1/users"),
        other => panic!("expected TooManyItems after 6 pages, got {other:?}"),
    }
    assert_eq!(served(&pages), 6);
    assert_eq!(
        okta_api::pagination::expected_size_bound(10),
        1020,
        "the documented bound"
    );

    // the same through the generic listing
    let before = served(&pages);
    let err = collect_bounded(client.paginate_expecting::<User>("/api/v1/users?limit=200", 0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RunawayListing { .. }), "{err:?}");
    assert_eq!(served(&pages) - before, 6, "1200 > 2 * 0 + 1000 on page 6");
}

#[tokio::test]
async fn without_an_expected_size_the_page_cap_ends_a_listing() {
    let (org, pages) = endless_server(fresh_page).await;
    let client = OktaClient::new(
        OrgUrl::parse(&org).unwrap(),
        Credentials::ApiToken(SecretString::from("00local-secret-token".to_string())),
        okta_api::ClientConfig {
            max_listing_pages: 5,
            ..fast_config()
        },
    )
    .unwrap();
    let err = collect_bounded(client.list_users(None)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RunawayListing {
                pages: 5,
                problem: ListingProblem::TooManyPages { pages: 5, bound: 5 },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(served(&pages), 5, "the sixth page is never requested");
    assert_eq!(
        okta_api::ClientConfig::default().max_listing_pages,
        okta_api::config::DEFAULT_MAX_LISTING_PAGES
    );
}

#[tokio::test]
async fn non_json_success_is_an_error_after_retries() {
    let org = local_server(axum::Router::new().route(
        "/api/v1/idps",
        axum::routing::get(|| async { (StatusCode::OK, "<html>login</html>") }),
    ))
    .await;
    let client = local_client(&org);
    let err = collect(client.list_idps()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");
    assert_eq!(
        client.metrics().requests,
        1 + u64::from(fast_config().max_retries)
    );
}
