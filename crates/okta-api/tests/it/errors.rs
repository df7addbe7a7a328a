//! Each error a person may meet, with its message.

use crate::{Keys, collect, emulator, fast_config, local_server, org, ssws_client};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use okta_api::{
    ClientConfig, Credentials, Error, OAuthCredentials, OktaClient, OrgUrl, PrivateKey,
    SecretString,
};
use okta_emulator::EmulatorConfig;

#[tokio::test]
async fn invalid_api_token() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = OktaClient::new(
        org(&emu),
        Credentials::ApiToken(SecretString::from("00wrong-token".to_string())),
        fast_config(),
    )
    .unwrap();
    let err = collect(client.list_users(None)).await.unwrap_err();
    println!("{err}");
    assert!(matches!(err, Error::InvalidToken(_)), "{err:?}");
    assert_eq!(err.error_code(), Some("E0000011"));
    assert_eq!(err.status(), Some(401));
    let text = err.to_string();
    assert!(
        text.contains("E0000011") && text.contains("Security > API > Tokens"),
        "{text}"
    );
    assert!(
        err.details().unwrap().request_id.is_some(),
        "X-Okta-Request-Id kept"
    );
    assert_eq!(
        client.metrics().requests,
        1,
        "a 401 is not retried with the same token"
    );
}

/// A bad token is the credentials on every endpoint, the System Log included: never a
/// permission problem that a caller might treat as "the log cannot be read".
#[tokio::test]
async fn a_bad_token_is_a_credentials_error_on_every_endpoint() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = OktaClient::new(
        org(&emu),
        Credentials::ApiToken(SecretString::from("00wrong-token".to_string())),
        fast_config(),
    )
    .unwrap();
    let since = chrono::Utc::now() - chrono::TimeDelta::days(1);
    let errors = [
        collect(client.poll_logs(okta_api::LogStart::Since(since)))
            .await
            .unwrap_err(),
        collect(client.list_users(None)).await.unwrap_err(),
        collect(client.list_groups(None, true)).await.unwrap_err(),
        collect(client.list_role_assignees()).await.unwrap_err(),
        client.list_user_roles("00u1").await.unwrap_err(),
    ];
    for err in &errors {
        assert!(matches!(err, Error::InvalidToken(_)), "{err:?}");
        assert_eq!(
            err.category(),
            okta_api::ErrorCategory::Credentials,
            "{err}"
        );
        assert_eq!(err.error_code(), Some("E0000011"), "{err}");
        assert!(
            err.to_string().contains("Okta rejected the credentials"),
            "{err}"
        );
    }
    assert!(
        errors[0].to_string().contains("GET /api/v1/logs"),
        "{}",
        errors[0]
    );
    assert_eq!(
        client.metrics().requests,
        errors.len() as u64,
        "none retried"
    );
}

#[tokio::test]
async fn missing_oauth_scope_is_named() {
    let keys = Keys::generate("RS256");
    let emu = emulator(EmulatorConfig {
        oauth_clients: vec![keys.client_config("0oausersonly", &["okta.users.read"], false)],
        ..EmulatorConfig::default()
    })
    .await;
    let creds = OAuthCredentials {
        client_id: "0oausersonly".into(),
        private_key: PrivateKey::from_pem(&keys.private_pem()).unwrap(),
        scopes: vec!["okta.users.read".into()],
        key_id: None,
    };
    let client = OktaClient::new(org(&emu), Credentials::OAuth(creds), fast_config()).unwrap();
    assert!(!collect(client.list_users(None)).await.unwrap().is_empty());
    let err = collect(client.list_groups(None, false)).await.unwrap_err();
    println!("{err}");
    match &err {
        Error::MissingScope { scope, .. } => assert_eq!(scope, "okta.groups.read"),
        other => panic!("expected MissingScope, got {other:?}"),
    }
    assert!(
        err.to_string().contains("Grant `okta.groups.read`"),
        "{err}"
    );
    assert_eq!(
        client.metrics().tokens_fetched,
        1,
        "a scope 403 does not refetch the token"
    );
}

#[tokio::test]
async fn oauth_token_errors_say_what_to_check() {
    let registered = Keys::generate("RS256");
    let other = Keys::generate("RS256");
    let emu = emulator(EmulatorConfig {
        oauth_clients: vec![registered.client_config("0oaservice", &["okta.users.read"], false)],
        ..EmulatorConfig::default()
    })
    .await;
    let client_with = |client_id: &str, keys: &Keys, scopes: &[&str]| {
        let creds = OAuthCredentials {
            client_id: client_id.into(),
            private_key: PrivateKey::from_pem(&keys.private_pem()).unwrap(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            key_id: None,
        };
        OktaClient::new(org(&emu), Credentials::OAuth(creds), fast_config()).unwrap()
    };
    let wrong_key =
        collect(client_with("0oaservice", &other, &["okta.users.read"]).list_users(None))
            .await
            .unwrap_err();
    println!("{wrong_key}");
    assert!(
        matches!(wrong_key, Error::OAuth { ref error, .. } if error == "invalid_client"),
        "{wrong_key:?}"
    );
    assert!(
        wrong_key.to_string().contains("registered public key"),
        "{wrong_key}"
    );

    // many requests at once with a bad key: one token request, one error for all
    let bad = client_with("0oaservice", &other, &["okta.users.read"]);
    let (before, _) = crate::bucket_stats(&emu, "token");
    let calls = (0..20).map(|i| {
        let c = bad.clone();
        async move { c.get_user(&format!("00u{i}")).await }
    });
    for result in futures::future::join_all(calls).await {
        assert!(matches!(result, Err(Error::OAuth { .. })));
    }
    let (after, _) = crate::bucket_stats(&emu, "token");
    assert_eq!(after - before, 1, "waiting requests share the failed fetch");

    let unknown_scope =
        collect(client_with("0oaservice", &registered, &["okta.groups.read"]).list_users(None))
            .await
            .unwrap_err();
    println!("{unknown_scope}");
    assert!(
        matches!(unknown_scope, Error::OAuth { ref error, .. } if error == "invalid_scope"),
        "{unknown_scope:?}"
    );
    assert!(
        unknown_scope.to_string().contains("Okta API Scopes"),
        "{unknown_scope}"
    );
}

#[tokio::test]
async fn forbidden_and_not_found() {
    let emu = emulator(EmulatorConfig {
        size: okta_emulator::OrgSize::Small,
        ..EmulatorConfig::default()
    })
    .await;
    let client = ssws_client(&emu, fast_config());
    let app_group = collect(client.list_groups(Some("type eq \"APP_GROUP\""), false))
        .await
        .unwrap()
        .remove(0);
    let user = collect(client.list_users(None)).await.unwrap().remove(0);
    let err = client
        .add_group_member(&app_group.id, &user.id)
        .await
        .unwrap_err();
    println!("{err}");
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    assert_eq!(err.error_code(), Some("E0000006"));
    assert!(err.to_string().contains("assign a role"), "{err}");

    let err = collect(client.list_group_users("00gmissing"))
        .await
        .unwrap_err();
    println!("{err}");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.error_code(), Some("E0000007"));
    assert!(
        err.to_string().contains("/api/v1/groups/00gmissing/users"),
        "{err}"
    );
}

fn okta_error_body(code: &str, summary: &str) -> String {
    serde_json::json!({"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "oaeTEST", "errorCauses": []}).to_string()
}

#[tokio::test]
async fn rate_limited_beyond_retries() {
    let base = local_server(axum::Router::new().fallback(|| async {
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", HeaderValue::from(10));
        h.insert("x-rate-limit-remaining", HeaderValue::from(0));
        let reset = chrono::Utc::now().timestamp() + 1;
        h.insert("x-rate-limit-reset", HeaderValue::from(reset));
        h.insert("x-okta-request-id", HeaderValue::from_static("req429"));
        (
            StatusCode::TOO_MANY_REQUESTS,
            h,
            okta_error_body(
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
            ),
        )
    }))
    .await;
    let config = ClientConfig {
        max_retries: 2,
        ..fast_config()
    };
    let client = OktaClient::new(
        OrgUrl::parse(&base).unwrap(),
        Credentials::ApiToken(SecretString::from("00x".to_string())),
        config,
    )
    .unwrap();
    let err = collect(client.list_users(None)).await.unwrap_err();
    println!("{err}");
    assert!(
        matches!(err, Error::RateLimited { retries: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("bucket `users`")
            && err.to_string().contains("lower max_concurrency"),
        "{err}"
    );
    assert_eq!(err.error_code(), Some("E0000047"));
    let m = client.metrics();
    assert_eq!((m.requests, m.http_429, m.retries), (3, 3, 2));
    assert!(
        m.rate_limit_wait > 0.5,
        "waited for the resets: {}",
        m.rate_limit_wait
    );
}

#[tokio::test]
async fn server_errors_after_retries() {
    let base = local_server(axum::Router::new().fallback(|| async {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            okta_error_body("E0000010", "Service is in read only mode"),
        )
    }))
    .await;
    let config = ClientConfig {
        max_retries: 3,
        ..fast_config()
    };
    let client = OktaClient::new(
        OrgUrl::parse(&base).unwrap(),
        Credentials::ApiToken(SecretString::from("00x".to_string())),
        config,
    )
    .unwrap();
    let err = client.get_user("00u1").await.unwrap_err();
    println!("{err}");
    assert!(matches!(err, Error::Server { retries: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("status.okta.com"), "{err}");
    assert_eq!(client.metrics().requests, 4);
}

#[tokio::test]
async fn unreachable_org() {
    // a port nothing listens on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = ClientConfig {
        max_retries: 1,
        ..fast_config()
    };
    let client = OktaClient::new(
        OrgUrl::parse(&base).unwrap(),
        Credentials::ApiToken(SecretString::from("00x".to_string())),
        config,
    )
    .unwrap();
    let err = collect(client.list_apps()).await.unwrap_err();
    println!("{err}");
    assert!(
        matches!(err, Error::Transport { retries: 1, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("the network") && text.contains("HTTPS_PROXY") && text.contains("ca_file"),
        "{text}"
    );
    assert!(
        !text.contains("ca_bundle"),
        "no setting that does not exist: {text}"
    );
    assert_eq!(err.category(), okta_api::ErrorCategory::Network);
}
