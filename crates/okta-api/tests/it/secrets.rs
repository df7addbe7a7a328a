//! No secret in any log line (TRACE, this crate and the HTTP stack), nor in any error's
//! `Display` or `Debug`, nor in the `Debug` of credentials and clients.

use crate::{Keys, READ_SCOPES, collect, emulator, fast_config, org};
use okta_api::{Credentials, OAuthCredentials, OktaClient, PrivateKey, SecretString};
use okta_emulator::EmulatorConfig;
use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

const API_TOKEN: &str = "00SsWsTokenValue-2b7e151628aed2a6abf7158809cf4f3c";
const WRONG_TOKEN: &str = "00WrongTokenValue-3243f6a8885a308d313198a2e0370734";
const CLIENT_SECRET: &str = "ClientSecretValue-7d9a3c1e5b2f4a6c8e0d1b3f5a7c9e2d4f6b8a0c1e3d5f7b";
const WRONG_SECRET: &str = "WrongSecretValue-0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tracing caches per call site whether anyone listens; other tests in this binary run on
/// other threads without a subscriber and may settle that first. So the capture runs in a
/// child process that runs only [`capture_in_child`].
#[test]
fn no_secret_in_logs_errors_or_debug() {
    let exe = std::env::current_exe().expect("test binary");
    let output = std::process::Command::new(exe)
        .args([
            "secrets::capture_in_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OKTA_API_SECRETS_CHILD", "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the capture: {stdout}"
    );
}

#[tokio::test]
#[ignore = "run by no_secret_in_logs_errors_or_debug in its own process"]
async fn capture_in_child() {
    if std::env::var_os("OKTA_API_SECRETS_CHILD").is_none() {
        return;
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let targets = tracing_subscriber::filter::Targets::new()
        .with_target("okta_api", tracing::Level::TRACE)
        .with_target("reqwest", tracing::Level::TRACE)
        .with_target("hyper", tracing::Level::TRACE)
        .with_target("hyper_util", tracing::Level::TRACE)
        .with_target("rustls", tracing::Level::TRACE);
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(targets),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let rsa = Keys::generate("RS256");
    let ec = Keys::generate("ES256");
    let emu = emulator(EmulatorConfig {
        tokens: vec![API_TOKEN.into()],
        oauth_clients: vec![
            rsa.client_config("0oarsa", READ_SCOPES, false),
            ec.client_config("0oadpop", &["okta.users.read"], true),
            okta_emulator::config::OAuthClientConfig::with_secret(
                "0oasecret",
                CLIENT_SECRET,
                READ_SCOPES,
            ),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    let mut texts: Vec<String> = Vec::new();
    let mut record_err = |e: okta_api::Error| {
        texts.push(e.to_string());
        texts.push(format!("{e:?}"));
    };

    // SSWS: success, not found, invalid token
    let ssws = OktaClient::new(
        org(&emu),
        Credentials::ApiToken(SecretString::from(API_TOKEN.to_string())),
        fast_config(),
    )
    .unwrap();
    let users = collect(ssws.list_users(None)).await.unwrap();
    assert!(ssws.get_user("00unothere").await.unwrap().is_none());
    record_err(
        collect(ssws.list_group_users("00gnothere"))
            .await
            .unwrap_err(),
    );
    let wrong = OktaClient::new(
        org(&emu),
        Credentials::ApiToken(SecretString::from(WRONG_TOKEN.to_string())),
        fast_config(),
    )
    .unwrap();
    record_err(collect(wrong.list_users(None)).await.unwrap_err());

    // OAuth with a PEM key (Bearer), with a JWK key and DPoP, with the wrong key, missing scope
    let rsa_creds = Credentials::OAuth(OAuthCredentials {
        client_id: "0oarsa".into(),
        private_key: PrivateKey::from_pem(&rsa.private_pem()).unwrap(),
        scopes: READ_SCOPES.iter().map(|s| s.to_string()).collect(),
        key_id: None,
    });
    let dpop_creds = Credentials::OAuth(OAuthCredentials {
        client_id: "0oadpop".into(),
        private_key: PrivateKey::from_jwk_json(&ec.private_jwk()).unwrap(),
        scopes: vec!["okta.users.read".into()],
        key_id: Some("kid-1".into()),
    });
    let oauth = OktaClient::new(org(&emu), rsa_creds.clone(), fast_config()).unwrap();
    assert!(
        !collect(oauth.list_groups(None, true))
            .await
            .unwrap()
            .is_empty()
    );
    let dpop = OktaClient::new(org(&emu), dpop_creds.clone(), fast_config()).unwrap();
    assert_eq!(
        collect(dpop.list_users(None)).await.unwrap().len(),
        users.len()
    );
    record_err(collect(dpop.list_apps()).await.unwrap_err());
    let wrong_key = Credentials::OAuth(OAuthCredentials {
        client_id: "0oarsa".into(),
        private_key: PrivateKey::from_pem(&ec.private_pem()).unwrap(),
        scopes: vec!["okta.users.read".into()],
        key_id: None,
    });
    let wrong_key_client = OktaClient::new(org(&emu), wrong_key.clone(), fast_config()).unwrap();
    record_err(
        collect(wrong_key_client.list_users(None))
            .await
            .unwrap_err(),
    );
    record_err(
        PrivateKey::from_pem(&rsa.private_pem().replace("PRIVATE KEY", "PUBLIC KEY")).unwrap_err(),
    );
    record_err(
        PrivateKey::from_jwk_json(&rsa.private_jwk().replace("\"d\"", "\"x\"")).unwrap_err(),
    );

    // OAuth with a client secret, in the header and in the body, right and wrong
    let mut secret_texts = Vec::new();
    for (secret, method) in [
        (CLIENT_SECRET, okta_api::ClientSecretMethod::Basic),
        (CLIENT_SECRET, okta_api::ClientSecretMethod::Post),
        (WRONG_SECRET, okta_api::ClientSecretMethod::Basic),
        (WRONG_SECRET, okta_api::ClientSecretMethod::Post),
    ] {
        let creds = Credentials::OAuthSecret(okta_api::OAuthSecretCredentials {
            client_id: "0oasecret".into(),
            client_secret: SecretString::from(secret.to_string()),
            scopes: READ_SCOPES.iter().map(|s| s.to_string()).collect(),
            method,
        });
        let client = OktaClient::new(org(&emu), creds.clone(), fast_config()).unwrap();
        match collect(client.list_users(None)).await {
            Ok(users) => assert!(secret == CLIENT_SECRET && !users.is_empty()),
            Err(e) => {
                assert_eq!(secret, WRONG_SECRET, "{e}");
                secret_texts.push(e.to_string());
                secret_texts.push(format!("{e:?}"));
            }
        }
        secret_texts.push(format!("{creds:?}"));
        secret_texts.push(format!("{client:?}"));
    }
    assert_eq!(secret_texts.len(), 12, "both wrong secrets failed");
    texts.extend(secret_texts);

    for debug in [
        format!("{rsa_creds:?}"),
        format!("{dpop_creds:?}"),
        format!("{wrong_key:?}"),
        format!("{oauth:?}"),
        format!("{dpop:?}"),
        format!("{ssws:?}"),
        format!(
            "{:?}",
            Credentials::ApiToken(SecretString::from(API_TOKEN.to_string()))
        ),
        format!("{:?}", okta_api::ClientConfig::default()),
    ] {
        texts.push(debug);
    }
    emu.shutdown().await;

    let log = String::from_utf8(captured.0.lock().clone()).unwrap();
    assert!(
        log.contains("TRACE") && log.contains("sending"),
        "trace logging was captured: {}",
        &log[..log.len().min(2000)]
    );
    let all = format!("{log}\n{}", texts.join("\n"));
    let mut secrets: Vec<String> = vec![
        API_TOKEN.into(),
        WRONG_TOKEN.into(),
        CLIENT_SECRET.into(),
        WRONG_SECRET.into(),
    ];
    // and the Basic credentials as they travel
    for secret in [CLIENT_SECRET, WRONG_SECRET] {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("0oasecret:{secret}"));
        secrets.push(basic[..basic.len() - 4].to_string());
    }
    for keys in [&rsa, &ec] {
        // every line of the PEM body, and every private JWK member
        let before = secrets.len();
        secrets.extend(
            keys.private_pem()
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(str::to_string),
        );
        let jwk: serde_json::Value = serde_json::from_str(&keys.private_jwk()).unwrap();
        for member in ["d", "p", "q", "dp", "dq", "qi"] {
            if let Some(v) = jwk[member].as_str() {
                secrets.push(v.to_string());
            }
        }
        assert!(
            jwk["d"].is_string(),
            "the private JWK has its private member"
        );
        assert!(
            secrets.len() >= before + 3,
            "PEM lines and JWK members of each key"
        );
    }
    for secret in &secrets {
        assert!(
            !all.contains(secret.as_str()),
            "a secret leaked: {}...",
            &secret[..8]
        );
    }
    // access tokens, client assertions and DPoP proofs are JWTs: base64 of '{"' starts "eyJ"
    assert!(!all.contains("eyJ"), "a JWT leaked");
    println!(
        "checked {} secrets against {} bytes of TRACE log and {} error/debug texts",
        secrets.len(),
        log.len(),
        texts.len()
    );
}
