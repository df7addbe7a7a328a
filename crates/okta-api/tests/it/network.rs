//! The network path: TLS trust (ca_file, SSL_CERT_FILE), certificate errors, redirects,
//! proxies from the environment, and the reachability probe that shares all of it.

use crate::{ALL_STATUSES_FILTER, collect, export_ids, fast_config, local_server};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use okta_api::{
    ClientConfig, Credentials, Error, ErrorCategory, OktaClient, OrgUrl, Reachability, SecretString,
};
use okta_emulator::{EmulatorConfig, RunningEmulator};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn tls_emulator(cert: &Path) -> RunningEmulator {
    okta_emulator::start_tls(EmulatorConfig::default(), cert)
        .await
        .expect("TLS emulator starts")
}

fn client_for(base: &str, token: &str, config: ClientConfig) -> OktaClient {
    OktaClient::new(
        OrgUrl::parse(base).expect("org URL"),
        Credentials::ApiToken(SecretString::from(token.to_string())),
        config,
    )
    .expect("client")
}

/// Requests the emulator answered (any status), from its own counters.
fn answered(emu: &RunningEmulator) -> u64 {
    emu.gate().stats()["status"]
        .as_object()
        .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0)
}

#[tokio::test]
async fn an_untrusted_certificate_is_named_after_one_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("emulator.pem");
    let emu = tls_emulator(&cert).await;
    assert!(emu.base_url().starts_with("https://"));
    let client = client_for(&emu.base_url(), emu.token(), fast_config());

    let err = collect(client.list_users(None)).await.unwrap_err();
    println!("{err}");
    let host = emu.base_url().trim_start_matches("https://").to_string();
    match &err {
        Error::Certificate { host: h, detail } => {
            assert_eq!(h, &host);
            assert!(detail.contains("does not trust"), "{detail}");
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("not trusted")
            && text.contains("ca_file")
            && text.contains("OKTASYNC_CA_FILE"),
        "{text}"
    );
    #[cfg(all(unix, not(target_vendor = "apple")))]
    assert!(text.contains("SSL_CERT_FILE"), "{text}");
    assert_eq!(err.category(), ErrorCategory::Network);
    assert_eq!(
        client.metrics().requests,
        1,
        "a certificate error is not retried"
    );
    assert_eq!(answered(&emu), 0, "no request got past the handshake");

    // the OAuth token request meets the same certificate, with the same answer
    let oauth = OktaClient::new(
        OrgUrl::parse(&emu.base_url()).unwrap(),
        Credentials::OAuthSecret(okta_api::OAuthSecretCredentials {
            client_id: "0oatls".into(),
            client_secret: SecretString::from("tls-test-secret".to_string()),
            scopes: vec!["okta.users.read".into()],
            method: Default::default(),
        }),
        fast_config(),
    )
    .unwrap();
    let err = collect(oauth.list_users(None)).await.unwrap_err();
    assert!(matches!(err, Error::Certificate { .. }), "{err:?}");
    assert_eq!(
        oauth.metrics().requests,
        1,
        "the token request is not retried"
    );

    // the probe names it the same way, with or without credentials
    match client.probe_reachability().await {
        Reachability::Certificate { host: h, .. } => assert_eq!(h, host),
        other => panic!("expected a certificate problem, got {other:?}"),
    }
    let org = OrgUrl::parse(&emu.base_url()).unwrap();
    let probe = okta_api::probe_reachability(&org, &fast_config())
        .await
        .unwrap();
    assert!(
        matches!(probe.error(), Some(Error::Certificate { .. })),
        "{probe:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_ca_file_makes_the_certificate_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("emulator.pem");
    let emu = tls_emulator(&cert).await;
    let config = ClientConfig {
        ca_file: Some(cert.clone()),
        ..fast_config()
    };
    let client = client_for(&emu.base_url(), emu.token(), config.clone());

    // a sync's listings: every user, groups with stats, each group's members by its count
    let export = emu.export();
    let users = collect(client.list_users(Some(ALL_STATUSES_FILTER)))
        .await
        .unwrap();
    let ids: BTreeSet<String> = users.into_iter().map(|u| u.id).collect();
    assert_eq!(ids, export_ids(&export, "users"));
    let groups = collect(client.list_groups(None, true)).await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id.clone()).collect::<BTreeSet<_>>(),
        export_ids(&export, "groups")
    );
    let mut members = 0;
    for group in &groups {
        let count = group
            .stats
            .as_ref()
            .and_then(|s| s.users_count)
            .and_then(|n| u64::try_from(n).ok())
            .expect("expand=stats gives usersCount");
        let listed = collect(client.list_group_users_expecting(&group.id, count))
            .await
            .unwrap();
        assert_eq!(listed.len() as u64, count, "group {}", group.id);
        members += listed.len();
    }
    assert!(members > 0, "the org has memberships");
    let probe = client.probe_reachability().await;
    assert!(
        matches!(probe, Reachability::Reachable { .. }) && probe.error().is_none(),
        "the emulator answers the probe over trusted TLS: {probe:?}"
    );
    let org = OrgUrl::parse(&emu.base_url()).unwrap();
    assert!(
        okta_api::probe_reachability(&org, &config)
            .await
            .unwrap()
            .is_reachable()
    );
    emu.shutdown().await;
}

// ---- SSL_CERT_FILE and proxies: environment variables, so each runs in a child process ----

/// Runs the ignored test `name` of this binary in a child process with `env` set (and the
/// proxy and certificate variables of this process removed). Returns its stdout.
fn run_child(name: &str, env: &[(&str, String)]) -> String {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = std::process::Command::new(exe);
    command.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUEST_METHOD",
    ] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child ran: {stdout}");
    stdout
}

/// A variable the parent set for the child; `None` when not running as a child.
fn child_env(name: &str) -> Option<String> {
    std::env::var_os("OKTA_API_NETWORK_CHILD")?;
    std::env::var(name).ok()
}

/// On Linux the client's roots come from rustls-native-certs, which reads `SSL_CERT_FILE`:
/// pointing it at the emulator's certificate makes it trusted without ca_file.
#[cfg(all(unix, not(target_vendor = "apple")))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_cert_file_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("emulator.pem");
    let emu = tls_emulator(&cert).await;
    let env = [
        ("OKTA_API_NETWORK_CHILD", "1".to_string()),
        ("CHILD_ORG", emu.base_url()),
        ("CHILD_TOKEN", emu.token().to_string()),
        ("SSL_CERT_FILE", cert.display().to_string()),
    ];
    tokio::task::spawn_blocking(move || run_child("network::ssl_cert_file_child", &env))
        .await
        .unwrap();
    assert!(
        answered(&emu) >= 1,
        "the child's requests reached the emulator"
    );
    emu.shutdown().await;
}

#[tokio::test]
#[ignore = "run by ssl_cert_file_is_honoured in its own process"]
async fn ssl_cert_file_child() {
    let (Some(org), Some(token)) = (child_env("CHILD_ORG"), child_env("CHILD_TOKEN")) else {
        return;
    };
    let client = client_for(&org, &token, fast_config());
    let users = collect(client.list_users(None)).await.unwrap();
    assert!(!users.is_empty());
    assert_eq!(client.metrics().requests, 1);
}

/// `HTTP_PROXY` (and `HTTPS_PROXY` for https, the same code in reqwest) is used by the client
/// and by the probe; `NO_PROXY` exempts a host. The "proxy" here is a local server that answers
/// what it is asked (a plain-HTTP proxy gets the absolute URL and answers it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_from_the_environment_are_used() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let proxy = local_server(axum::Router::new().fallback(move |uri: axum::http::Uri| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if uri.path() == "/api/v1/users" {
                (StatusCode::OK, r#"[{"id":"00uproxied"}]"#).into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
    }))
    .await;
    // an org port nothing listens on: only the proxy can answer
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let org = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let via_proxy = [
        ("OKTA_API_NETWORK_CHILD", "1".to_string()),
        ("CHILD_ORG", org.clone()),
        ("CHILD_EXPECT", "proxied".to_string()),
        ("HTTP_PROXY", proxy.clone()),
    ];
    tokio::task::spawn_blocking(move || run_child("network::proxy_child", &via_proxy))
        .await
        .unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "the listing and the probe went through the proxy"
    );

    let host = org
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap()
        .to_string();
    let exempt = [
        ("OKTA_API_NETWORK_CHILD", "1".to_string()),
        ("CHILD_ORG", org),
        ("CHILD_EXPECT", "direct".to_string()),
        ("HTTP_PROXY", proxy),
        ("NO_PROXY", host),
    ];
    tokio::task::spawn_blocking(move || run_child("network::proxy_child", &exempt))
        .await
        .unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "NO_PROXY bypassed the proxy"
    );
}

#[tokio::test]
#[ignore = "run by proxies_from_the_environment_are_used in its own process"]
async fn proxy_child() {
    let (Some(org), Some(expect)) = (child_env("CHILD_ORG"), child_env("CHILD_EXPECT")) else {
        return;
    };
    let config = ClientConfig {
        max_retries: 0,
        ..fast_config()
    };
    let client = client_for(&org, "00proxy-test-token", config);
    let listed = collect(client.list_users(None)).await;
    let probe = client.probe_reachability().await;
    if expect == "proxied" {
        assert_eq!(listed.unwrap()[0].id, "00uproxied");
        assert_eq!(probe, Reachability::Reachable { status: 404 });
    } else {
        let err = listed.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        assert!(
            matches!(probe, Reachability::Unreachable { .. }),
            "{probe:?}"
        );
        assert!(matches!(probe.error(), Some(Error::Transport { .. })));
    }
}

// ---- redirects ----

#[tokio::test]
async fn a_redirect_is_named_and_never_followed() {
    // where the redirect points: records whether anything ever reached it
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let counter = elsewhere_hits.clone();
    let elsewhere = local_server(axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "[]" }
    }))
    .await;
    let org_hits = Arc::new(AtomicUsize::new(0));
    let counter = org_hits.clone();
    let location = format!("{elsewhere}/login/default?fromURI=%2Fsecret-state");
    let org = local_server(axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let location = location.clone();
        async move {
            let mut headers = HeaderMap::new();
            headers.insert("location", HeaderValue::from_str(&location).unwrap());
            (StatusCode::FOUND, headers, "<html>sign in</html>").into_response()
        }
    }))
    .await;
    let client = client_for(&org, "00redirect-test-token", fast_config());

    let err = collect(client.list_users(None)).await.unwrap_err();
    println!("{err}");
    match &err {
        Error::Redirect {
            target,
            status,
            location,
        } => {
            assert_eq!(target, "GET /api/v1/users");
            assert_eq!(*status, 302);
            assert_eq!(location, &format!("{elsewhere}/login/default?…"));
        }
        other => panic!("expected a redirect error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("redirect") && text.contains("org URL is probably wrong"),
        "{text}"
    );
    assert!(
        !text.contains("secret-state"),
        "the query is left out: {text}"
    );
    assert_eq!(err.category(), ErrorCategory::Config);
    assert_eq!(client.metrics().requests, 1, "a redirect is not retried");
    assert_eq!(org_hits.load(Ordering::SeqCst), 1);

    // the OAuth token request is not retried or followed either
    let oauth = OktaClient::new(
        OrgUrl::parse(&org).unwrap(),
        Credentials::OAuthSecret(okta_api::OAuthSecretCredentials {
            client_id: "0oaredirected".into(),
            client_secret: SecretString::from("redirect-test-secret".to_string()),
            scopes: vec!["okta.users.read".into()],
            method: Default::default(),
        }),
        fast_config(),
    )
    .unwrap();
    let err = collect(oauth.list_users(None)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Redirect { target, .. } if target == "POST /oauth2/v1/token"),
        "{err:?}"
    );
    assert_eq!(org_hits.load(Ordering::SeqCst), 2);

    // the probe reports it too
    match client.probe_reachability().await {
        Reachability::Redirect {
            status: 302,
            location,
        } => {
            assert!(location.starts_with(&elsewhere), "{location}")
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "nothing followed the redirect"
    );
}
