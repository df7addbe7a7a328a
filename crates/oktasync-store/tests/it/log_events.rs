//! The kept System Log on both backends: events stored once per uuid with their typed columns
//! and targets, queried by type, actor, target, outcome and time, pruned past the retention;
//! and the recorded real events of `../shared/okta/logs/scenarios` round-trip unchanged.

use crate::backend::{Backend, TestMirror, on_both_backends};
use chrono::{DateTime, TimeZone, Utc};
use oktasync_store::{LogQuery, MirrorReader, SystemLogStore, canonical_raw};
use serde_json::{Value, json};

on_both_backends!(events_are_kept_once_queried_and_pruned);
on_both_backends!(recorded_events_round_trip);

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, minute, 0).unwrap()
}

fn event(uuid: &str, minute: u32, event_type: &str, actor: &str, result: &str) -> Value {
    json!({
        "uuid": uuid,
        "published": t(minute).to_rfc3339(),
        "eventType": event_type,
        "severity": "INFO",
        "displayMessage": "something happened",
        "actor": {"id": format!("00u-{actor}"), "type": "User",
                  "alternateId": format!("{actor}@example.com"), "displayName": actor},
        "client": {"ipAddress": "203.0.113.7",
                   "geographicalContext": {"country": "Germany", "city": "Berlin",
                                           "geolocation": {"lat": 52.52, "lon": 13.40}},
                   "userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X",
                                 "browser": "CHROME"}},
        "securityContext": {"isProxy": false, "asNumber": 3320, "asOrg": "dtag", "isp": null},
        "authenticationContext": {"externalSessionId": format!("sess-{actor}")},
        "outcome": {"result": result, "reason": null},
        "debugContext": {"debugData": {"dtHash": "abc123", "requestId": format!("req-{uuid}")}},
        "target": [{"id": format!("00g-{uuid}"), "type": "UserGroup",
                    "alternateId": "Engineering", "displayName": "Engineering"}]
    })
}

async fn events_are_kept_once_queried_and_pruned(backend: Backend) {
    let Some((m, org)) =
        TestMirror::with_org(backend, "events_are_kept_once_queried_and_pruned", t(0)).await
    else {
        return;
    };
    let store = &m.store;
    let events = vec![
        event("e1", 1, "user.session.start", "ada", "FAILURE"),
        event("e2", 2, "user.session.start", "ada", "SUCCESS"),
        event("e3", 3, "group.user_membership.add", "bo", "SUCCESS"),
        event("e4", 4, "user.mfa.okta_verify.deny_push", "cy", "FAILURE"),
        json!({"published": t(5).to_rfc3339(), "eventType": "no.uuid"}),
    ];
    let counts = store
        .store_log_events(org, None, &events, None)
        .await
        .unwrap();
    assert_eq!(
        (counts.stored, counts.duplicates, counts.skipped),
        (4, 0, 1)
    );
    let again = store
        .store_log_events(org, None, &events[..2], None)
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 2), "once per uuid");

    let all = store.log_events(org, &LogQuery::default()).await.unwrap();
    let uuids: Vec<&str> = all.iter().map(|e| e.uuid.as_str()).collect();
    assert_eq!(uuids, ["e4", "e3", "e2", "e1"], "newest first");
    let e1 = all.iter().find(|e| e.uuid == "e1").unwrap();
    assert_eq!(e1.published, "2026-05-01T09:01:00.000Z");
    assert_eq!(e1.client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(e1.country.as_deref(), Some("Germany"));
    assert_eq!(e1.outcome_result.as_deref(), Some("FAILURE"));
    assert_eq!(e1.raw, canonical_raw(&events[0]));

    let query = |q: LogQuery| async move {
        let found = store.log_events(org, &q).await.unwrap();
        found.into_iter().map(|e| e.uuid).collect::<Vec<_>>()
    };
    let by_type = LogQuery {
        event_type: Some("user.session.start".into()),
        ..LogQuery::default()
    };
    assert_eq!(query(by_type).await, ["e2", "e1"]);
    let by_prefix = LogQuery {
        event_type: Some("user.*".into()),
        ..LogQuery::default()
    };
    assert_eq!(query(by_prefix).await, ["e4", "e2", "e1"]);
    let by_glob = LogQuery {
        event_type: Some("*.session.st?rt".into()),
        ..LogQuery::default()
    };
    assert_eq!(query(by_glob).await, ["e2", "e1"]);
    let by_actor = LogQuery {
        actor: Some("ADA@example.com".into()),
        outcome: Some("failure".into()),
        ..LogQuery::default()
    };
    assert_eq!(query(by_actor).await, ["e1"]);
    let by_actor_id = LogQuery {
        actor: Some("00u-bo".into()),
        ..LogQuery::default()
    };
    assert_eq!(query(by_actor_id).await, ["e3"]);
    let by_target = LogQuery {
        target: Some("00g-e3".into()),
        ..LogQuery::default()
    };
    assert_eq!(query(by_target).await, ["e3"]);
    let since = LogQuery {
        since: Some(t(3)),
        limit: Some(1),
        ..LogQuery::default()
    };
    assert_eq!(query(since).await, ["e4"]);

    // the retention: events published before minute 3 go, with their targets; an event older
    // than the retention is not stored
    let late = vec![
        event("e5", 5, "user.session.start", "dee", "SUCCESS"),
        event("e0", 0, "user.session.start", "old", "SUCCESS"),
    ];
    let counts = store
        .store_log_events(org, None, &late, Some(t(3)))
        .await
        .unwrap();
    assert_eq!(
        (counts.stored, counts.skipped, counts.pruned),
        (1, 1, 2),
        "{counts:?}"
    );
    assert_eq!(query(LogQuery::default()).await, ["e5", "e4", "e3"]);
    let pruned_target = LogQuery {
        target: Some("00g-e1".into()),
        ..LogQuery::default()
    };
    assert!(query(pruned_target).await.is_empty());
}

/// The recorded real events (`../shared/okta/logs/scenarios`), when present: stored with
/// their own uuids and read back as they were.
async fn recorded_events_round_trip(backend: Backend) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/okta/logs/scenarios");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            std::env::var("CI").is_err(),
            "{}: under CI the recorded log samples must be there",
            dir.display()
        );
        eprintln!("SKIPPED: {} not found", dir.display());
        return;
    };
    let mut events: Vec<Value> = Vec::new();
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        events.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    assert!(events.len() > 10, "{} events", events.len());
    let Some((m, org)) = TestMirror::with_org(backend, "recorded_events_round_trip", t(0)).await
    else {
        return;
    };
    let counts = m
        .store
        .store_log_events(org, None, &events, None)
        .await
        .unwrap();
    let unique: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["uuid"].as_str()).collect();
    assert_eq!(counts.stored as usize, unique.len(), "{counts:?}");
    let stored = m.store.log_events(org, &LogQuery::default()).await.unwrap();
    assert_eq!(stored.len(), unique.len());
    for s in &stored {
        let original = events
            .iter()
            .find(|e| e["uuid"] == s.uuid.as_str())
            .unwrap();
        assert_eq!(s.raw, canonical_raw(original));
        assert_eq!(s.event_type.as_deref(), original["eventType"].as_str());
        assert_eq!(
            s.client_ip.as_deref(),
            original["client"]["ipAddress"].as_str()
        );
    }
    let failures = LogQuery {
        outcome: Some("FAILURE".into()),
        ..LogQuery::default()
    };
    let expected = unique
        .iter()
        .filter(|u| {
            events
                .iter()
                .find(|e| e["uuid"] == **u)
                .is_some_and(|e| e["outcome"]["result"] == "FAILURE")
        })
        .count();
    assert!(expected > 0);
    assert_eq!(
        m.store.log_events(org, &failures).await.unwrap().len(),
        expected
    );
}
