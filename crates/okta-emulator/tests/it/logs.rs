//! System Log: polling vs bounded requests, filters, errors.

use crate::common::Emu;
use okta_emulator::OrgSize;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn polling_always_has_next_and_picks_up_new_events() {
    let e = Emu::start(OrgSize::Tiny, 41).await;
    // History is in the month before the anchor; the clock is a day after it.
    let first = e
        .get("/api/v1/logs?since=2026-10-01T00:00:00.000Z&limit=1000")
        .await;
    assert_eq!(first.status, 200);
    let history = first.array().len();
    assert!(history > 0);
    let mut next = first.next().expect("polling has next");
    assert!(!next.contains("since="), "{next}");
    // Drain: an empty page still has next.
    let empty = e.get(&next).await;
    assert!(empty.array().is_empty());
    next = empty.next().expect("an empty polling page still has next");

    let gid = e
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Polling"}})),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = e.get(&next).await;
    assert_eq!(page.array().len(), 1);
    assert_eq!(page.array()[0]["eventType"], "group.lifecycle.create");
    assert_eq!(page.array()[0]["target"][0]["id"], gid.as_str());
    assert!(page.next().is_some());

    let r = e
        .get("/api/v1/logs?since=2026-10-01T00:00:00.000Z&after=1_1")
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn bounded_requests_end_and_filters_apply() {
    let e = Emu::start(OrgSize::Small, 42).await;
    let range = "since=2026-10-01T00:00:00.000Z&until=2026-11-01T00:00:00.000Z";
    let all = e.walk(&format!("/api/v1/logs?{range}&limit=200")).await;
    assert!(all.len() > 200, "several pages");
    let published: Vec<&str> = all
        .iter()
        .map(|x| x["published"].as_str().unwrap())
        .collect();
    assert!(published.windows(2).all(|w| w[0] <= w[1]));
    let mut uuids: Vec<&str> = all.iter().map(|x| x["uuid"].as_str().unwrap()).collect();
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), all.len());

    let desc = e
        .walk(&format!(
            "/api/v1/logs?{range}&limit=300&sortOrder=DESCENDING"
        ))
        .await;
    assert_eq!(desc.len(), all.len());
    assert_eq!(desc[0]["uuid"], all[all.len() - 1]["uuid"]);

    let filter = "eventType%20eq%20%22user.session.start%22";
    let sessions = e
        .walk(&format!("/api/v1/logs?{range}&limit=1000&filter={filter}"))
        .await;
    let want = all
        .iter()
        .filter(|x| x["eventType"] == "user.session.start")
        .count();
    assert!(want > 0, "the history has sign-ins");
    assert_eq!(sessions.len(), want);
    let target = all
        .iter()
        .find(|x| x["eventType"] == "group.user_membership.add")
        .unwrap();
    let gid = target["target"][1]["id"].as_str().unwrap();
    let f = format!(
        "target.id%20eq%20%22{gid}%22%20and%20eventType%20eq%20%22group.user_membership.add%22"
    );
    let hits = e.walk(&format!("/api/v1/logs?{range}&filter={f}")).await;
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|x| x["target"][1]["id"] == gid));

    let bad = e
        .get(&format!(
            "/api/v1/logs?{range}&filter=eventType%20eq%20user"
        ))
        .await;
    assert_eq!(bad.status, 400);
}
