//! Cursor pagination: Link headers, default and maximum limits, cursors, bad cursors.

use crate::common::Emu;
use okta_emulator::OrgSize;

#[tokio::test]
async fn users_walk_follows_self_then_next_links_with_the_effective_limit() {
    let e = Emu::start(OrgSize::Small, 3).await;
    let first = e.get("/api/v1/users?limit=7").await;
    assert_eq!(first.status, 200);
    let links = first.links();
    assert_eq!(links.len(), 2, "two separate Link lines: {links:?}");
    assert!(links[0].ends_with("rel=\"self\""), "{links:?}");
    assert!(links[1].ends_with("rel=\"next\""), "{links:?}");
    let base = e.emu.base_url();
    assert_eq!(
        first.self_link().unwrap(),
        format!("{base}/api/v1/users?limit=7")
    );
    let next = first.next().unwrap();
    assert!(
        next.starts_with(&format!("{base}/api/v1/users?after=")),
        "{next}"
    );
    assert!(next.ends_with("&limit=7"), "{next}");
    assert_eq!(first.array().len(), 7);
    // Collections carry only the self link.
    let links0 = first.array()[0]["_links"].as_object().unwrap();
    assert_eq!(links0.keys().collect::<Vec<_>>(), vec!["self"]);

    let all = e.walk("/api/v1/users?limit=7").await;
    let export = e.export();
    let visible: Vec<&serde_json::Value> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .collect();
    assert_eq!(all.len(), visible.len());
    let mut ids: Vec<&str> = all.iter().map(|u| u["id"].as_str().unwrap()).collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "no user twice");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "id order");
}

#[tokio::test]
async fn default_and_maximum_limits_show_in_the_self_link() {
    let e = Emu::start(OrgSize::Tiny, 1).await;
    let export = e.export();
    let app = export["apps"][0]["id"].as_str().unwrap().to_string();
    let group = export["groups"][0]["id"].as_str().unwrap().to_string();
    for (path, limit) in [
        ("/api/v1/users".to_string(), 200),
        ("/api/v1/users?limit=5000".to_string(), 200),
        ("/api/v1/groups".to_string(), 10_000),
        ("/api/v1/apps".to_string(), 20),
        ("/api/v1/apps?limit=900".to_string(), 200),
        ("/api/v1/idps".to_string(), 20),
        (format!("/api/v1/apps/{app}/users"), 50),
        (format!("/api/v1/apps/{app}/groups"), 20),
        (format!("/api/v1/groups/{group}/users"), 1000),
        (
            "/api/v1/logs?since=2026-10-01T00:00:00.000Z&until=2026-11-02T00:00:00.000Z"
                .to_string(),
            100,
        ),
        (
            "/api/v1/logs?limit=5000&since=2026-10-01T00:00:00.000Z&until=2026-11-02T00:00:00.000Z"
                .to_string(),
            1000,
        ),
    ] {
        let r = e.get(&path).await;
        assert_eq!(r.status, 200, "{path}");
        let self_link = r.self_link().unwrap();
        assert!(
            self_link.ends_with(&format!("limit={limit}")),
            "{path}: {self_link}"
        );
    }
}

#[tokio::test]
async fn a_bad_cursor_is_400_e0000029() {
    let e = Emu::start(OrgSize::Tiny, 1).await;
    for path in [
        "/api/v1/users?after=not-a-cursor",
        "/api/v1/groups?after=%24%24",
        "/api/v1/logs?after=xyz",
    ] {
        let r = e.get(path).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.error_code(), "E0000029");
        assert_eq!(r.body["errorSummary"], "Invalid paging request.");
        assert!(r.body["errorId"].as_str().unwrap().starts_with("oae"));
        assert_eq!(r.body["errorCauses"][0]["errorSummary"], "Invalid cursor.");
    }
    let r = e.get("/api/v1/users?limit=abc").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn links_use_the_origin_the_client_called() {
    let e = Emu::start(OrgSize::Tiny, 1).await;
    let r = e
        .http
        .get(e.url("/api/v1/groups?limit=2"))
        .header(
            "Authorization",
            format!("SSWS {}", okta_emulator::config::DEFAULT_TOKEN),
        )
        .header("Host", "okta.example.test:8443")
        .send()
        .await
        .unwrap();
    let links: Vec<String> = r
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    // `self` and `next` (the tiny org has more than two groups)
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("<http://okta.example.test:8443/api/v1/groups?")),
        "{links:?}"
    );
}

#[tokio::test]
async fn last_page_has_no_next_and_groups_members_page_by_user_id() {
    let e = Emu::start(OrgSize::Tiny, 2).await;
    let export = e.export();
    let everyone = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "BUILT_IN")
        .unwrap();
    let gid = everyone["id"].as_str().unwrap();
    let members = e.walk(&format!("/api/v1/groups/{gid}/users?limit=4")).await;
    assert_eq!(
        members.len(),
        export["users"].as_array().unwrap().len(),
        "Everyone holds every user"
    );
    let r = e
        .get(&format!("/api/v1/groups/{gid}/users?limit=1000"))
        .await;
    assert!(r.next().is_none());
    let unknown = e.get("/api/v1/nothing/here").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "E0000007");
}

#[tokio::test]
async fn tls_serves_the_api_with_a_certificate_clients_can_trust() {
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("emulator.pem");
    let emu = okta_emulator::start_tls(okta_emulator::EmulatorConfig::default(), &cert_path)
        .await
        .unwrap();
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let pem = std::fs::read(&cert_path).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/api/v1/users?limit=3", emu.base_url()))
        .header(
            "Authorization",
            format!("SSWS {}", okta_emulator::config::DEFAULT_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let next = r
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(next.len(), 2, "self and next: {next:?}");
    assert!(
        next.iter().all(|l| l.starts_with("<https://127.0.0.1:")),
        "{next:?}"
    );
    emu.shutdown().await;
}
