//! Every auth mode against the emulator's token endpoint and resource checks.

use crate::{Keys, READ_SCOPES, collect, emulator, fast_config, org};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::future::join_all;
use okta_api::{
    ClientConfig, ClientSecretMethod, Clock, Credentials, OAuthCredentials, OAuthSecretCredentials,
    OffsetClock, OktaClient, PrivateKey, SecretString,
};
use okta_emulator::EmulatorConfig;
use okta_emulator::config::OAuthClientConfig;
use parking_lot::Mutex;
use std::sync::Arc;

fn oauth_client(
    emu: &okta_emulator::RunningEmulator,
    client_id: &str,
    key: PrivateKey,
    config: ClientConfig,
) -> OktaClient {
    let creds = OAuthCredentials {
        client_id: client_id.into(),
        private_key: key,
        scopes: READ_SCOPES.iter().map(|s| s.to_string()).collect(),
        key_id: None,
    };
    OktaClient::new(org(emu), Credentials::OAuth(creds), config).expect("client")
}

async fn oauth_emulator(keys: &Keys, require_dpop: bool) -> okta_emulator::RunningEmulator {
    emulator(EmulatorConfig {
        oauth_clients: vec![keys.client_config("0oaservice", READ_SCOPES, require_dpop)],
        ..EmulatorConfig::default()
    })
    .await
}

// ---- key format adapters, for the formats keygen does not write ----

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn pem_der(text: &str) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body.trim()).expect("base64")
}

/// One DER TLV: (tag, content, rest).
fn der_tlv(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = data[0];
    let (len, header) = if data[1] < 0x80 {
        (data[1] as usize, 2)
    } else {
        let n = (data[1] & 0x7f) as usize;
        (
            data[2..2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize),
            2 + n,
        )
    };
    (tag, &data[header..header + len], &data[header + len..])
}

/// PKCS#8 `PrivateKeyInfo` → its inner key (PKCS#1 `RSAPrivateKey` for RSA).
fn pkcs8_inner(pkcs8: &[u8]) -> Vec<u8> {
    let (_, seq, _) = der_tlv(pkcs8);
    let (_, _version, rest) = der_tlv(seq);
    let (_, _alg, rest) = der_tlv(rest);
    let (tag, key, _) = der_tlv(rest);
    assert_eq!(tag, 0x04, "privateKey OCTET STRING");
    key.to_vec()
}

#[tokio::test]
async fn every_key_format_gets_a_token_and_lists_users() {
    let rsa = Keys::generate("RS256");
    let ec = Keys::generate("ES256");
    let rsa_pkcs1 = pem(
        "RSA PRIVATE KEY",
        &pkcs8_inner(&pem_der(&rsa.private_pem())),
    );
    let ec_pair = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &pem_der(&ec.private_pem()),
    )
    .unwrap();
    let sec1_der =
        AsDer::<aws_lc_rs::encoding::EcPrivateKeyRfc5915Der>::as_der(&ec_pair.private_key())
            .unwrap();
    let ec_sec1 = pem("EC PRIVATE KEY", sec1_der.as_ref());
    let cases: Vec<(&str, &Keys, PrivateKey)> = vec![
        (
            "RSA PKCS#8 PEM",
            &rsa,
            PrivateKey::from_pem(&rsa.private_pem()).unwrap(),
        ),
        (
            "RSA PKCS#1 PEM",
            &rsa,
            PrivateKey::from_pem(&rsa_pkcs1).unwrap(),
        ),
        (
            "RSA JWK",
            &rsa,
            PrivateKey::from_jwk_json(&rsa.private_jwk()).unwrap(),
        ),
        (
            "EC PKCS#8 PEM",
            &ec,
            PrivateKey::from_pem(&ec.private_pem()).unwrap(),
        ),
        ("EC SEC1 PEM", &ec, PrivateKey::from_pem(&ec_sec1).unwrap()),
        (
            "EC JWK",
            &ec,
            PrivateKey::from_jwk_json(&ec.private_jwk()).unwrap(),
        ),
    ];
    for (name, keys, key) in cases {
        let emu = oauth_emulator(keys, false).await;
        let client = oauth_client(&emu, "0oaservice", key, fast_config());
        let users = collect(client.list_users(None))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!users.is_empty(), "{name}");
        let groups = collect(client.list_groups(None, true))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!groups.is_empty(), "{name}");
        assert_eq!(client.metrics().tokens_fetched, 1, "{name}");
        emu.shutdown().await;
    }
}

#[tokio::test]
async fn one_token_for_many_concurrent_calls() {
    let keys = Keys::generate("RS256");
    let emu = oauth_emulator(&keys, false).await;
    let client = oauth_client(
        &emu,
        "0oaservice",
        PrivateKey::from_pem(&keys.private_pem()).unwrap(),
        fast_config(),
    );
    let users = collect(client.list_users(None)).await.unwrap();
    assert!(!users.is_empty());
    // 40 requests at once, all before any token exists in a second client sharing nothing
    let fresh = oauth_client(
        &emu,
        "0oaservice",
        PrivateKey::from_pem(&keys.private_pem()).unwrap(),
        fast_config(),
    );
    // (the tiny org has fewer users: some are read twice)
    let calls = users.iter().cycle().take(40).map(|u| {
        let c = fresh.clone();
        let id = u.id.clone();
        async move { c.get_user(&id).await }
    });
    let results = join_all(calls).await;
    assert_eq!(results.len(), 40);
    for result in results {
        assert!(result.unwrap().is_some());
    }
    assert_eq!(
        fresh.metrics().tokens_fetched,
        1,
        "single flight: one token for 40 concurrent calls"
    );
    assert_eq!(client.metrics().tokens_fetched, 1);
    let (token_requests, _) = crate::bucket_stats(&emu, "token");
    assert_eq!(
        token_requests, 2,
        "the emulator saw one token request per client"
    );
}

#[tokio::test]
async fn dpop_nonce_dance_and_bound_tokens() {
    let keys = Keys::generate("ES256");
    let emu = oauth_emulator(&keys, true).await;
    let client = oauth_client(
        &emu,
        "0oaservice",
        PrivateKey::from_jwk_json(&keys.private_jwk()).unwrap(),
        fast_config(),
    );
    let users = collect(client.list_users(None))
        .await
        .expect("DPoP-bound listing");
    assert!(!users.is_empty());
    let user = client
        .get_user(&users[0].id)
        .await
        .unwrap()
        .expect("user exists");
    assert_eq!(user.id, users[0].id);
    let apps = collect(client.list_apps()).await.unwrap();
    assert!(!apps.is_empty());
    assert_eq!(client.metrics().tokens_fetched, 1);
    // a missing proof, then the nonce: Okta's two-step dance, then one token for everything
    let (token_requests, _) = crate::bucket_stats(&emu, "token");
    assert!(token_requests <= 3, "token requests: {token_requests}");
    let status = &emu.gate().stats()["status"];
    assert!(
        status.get("401").is_none(),
        "no resource request was rejected: {status}"
    );
}

/// A clock that can be moved by the test (this machine's clock jumping).
#[derive(Debug, Clone, Default)]
struct ShiftClock(Arc<Mutex<chrono::TimeDelta>>);

impl Clock for ShiftClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + *self.0.lock()
    }
}

#[tokio::test]
async fn token_is_refreshed_before_expiry_and_survives_a_clock_jump() {
    let keys = Keys::generate("RS256");
    let emu = oauth_emulator(&keys, false).await;
    let clock = ShiftClock::default();
    let config = ClientConfig {
        clock: Arc::new(clock.clone()),
        ..fast_config()
    };
    let client = oauth_client(
        &emu,
        "0oaservice",
        PrivateKey::from_pem(&keys.private_pem()).unwrap(),
        config,
    );
    collect(client.list_idps()).await.unwrap();
    collect(client.list_idps()).await.unwrap();
    assert_eq!(
        client.metrics().tokens_fetched,
        1,
        "reused within its lifetime"
    );
    // 56 minutes later (token lifetime 60, refresh margin 5): a new token is fetched first.
    // This machine's clock now disagrees with the emulator's by 56 minutes; the assertion's
    // times are corrected from the server's Date header.
    *clock.0.lock() = chrono::TimeDelta::minutes(56);
    collect(client.list_idps()).await.unwrap();
    assert_eq!(
        client.metrics().tokens_fetched,
        2,
        "refreshed before expiry"
    );
    collect(client.list_idps()).await.unwrap();
    assert_eq!(client.metrics().tokens_fetched, 2);
}

#[tokio::test]
async fn a_wrong_local_clock_is_corrected_from_the_date_header() {
    let keys = Keys::generate("ES256");
    let emu = oauth_emulator(&keys, false).await;
    let config = ClientConfig {
        clock: Arc::new(OffsetClock(chrono::TimeDelta::hours(2))),
        ..fast_config()
    };
    let client = oauth_client(
        &emu,
        "0oaservice",
        PrivateKey::from_pem(&keys.private_pem()).unwrap(),
        config,
    );
    let users = collect(client.list_users(None))
        .await
        .expect("token despite a clock two hours fast");
    assert!(!users.is_empty());
    assert_eq!(client.metrics().tokens_fetched, 1);
}

#[tokio::test]
async fn ssws_token_works_with_the_emulator() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = crate::ssws_client(&emu, fast_config());
    let users = collect(client.list_users(None)).await.unwrap();
    assert!(!users.is_empty());
    assert_eq!(client.metrics().tokens_fetched, 0);
}

#[tokio::test]
async fn a_token_pasted_with_its_ssws_scheme_works() {
    let emu = emulator(EmulatorConfig::default()).await;
    for pasted in [
        format!("SSWS {}", emu.token()),
        format!("  ssws\t{}\r\n", emu.token()),
        format!("{}\n", emu.token()),
    ] {
        let client = OktaClient::new(
            org(&emu),
            Credentials::ApiToken(SecretString::from(pasted.clone())),
            fast_config(),
        )
        .unwrap();
        let users = collect(client.list_users(None))
            .await
            .unwrap_or_else(|e| panic!("{pasted:?}: {e}"));
        assert!(!users.is_empty());
    }
    let status = &emu.gate().stats()["status"];
    assert_eq!(status["200"], 3, "{status}");
    assert!(status.get("401").is_none(), "{status}");

    // an OAuth access token pasted where the API token goes is explained, not sent
    let err = OktaClient::new(
        org(&emu),
        Credentials::ApiToken(SecretString::from("Bearer eyJhbGciOi.x.y".to_string())),
        fast_config(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("OAuth access token") && !text.contains("eyJ"),
        "{text}"
    );
}

#[tokio::test]
async fn a_token_the_server_no_longer_accepts_is_replaced_once() {
    // the emulator's clock jumps past the token's expiry while this machine's does not: the
    // cached token looks valid here, Okta answers 401, the client fetches a new one and retries
    let keys = Keys::generate("RS256");
    let server_clock = okta_emulator::ManualClock::new(chrono::Utc::now());
    let emu = emulator(EmulatorConfig {
        oauth_clients: vec![keys.client_config("0oaservice", READ_SCOPES, false)],
        clock: Arc::new(server_clock.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    let client = oauth_client(
        &emu,
        "0oaservice",
        PrivateKey::from_pem(&keys.private_pem()).unwrap(),
        fast_config(),
    );
    collect(client.list_idps()).await.unwrap();
    server_clock.advance(chrono::TimeDelta::minutes(61));
    collect(client.list_idps())
        .await
        .expect("recovers with a new token");
    assert_eq!(client.metrics().tokens_fetched, 2);
    let status = &emu.gate().stats()["status"];
    assert_eq!(status["401"], 1, "one rejected attempt: {status}");
}

// ---- OAuth with a client secret (Okta Integration Network API service integrations) ----

/// Shaped like an Okta client secret: 64 characters of letters, digits, `-` and `_`.
const CLIENT_SECRET: &str = "OiN-sEcReT_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR";
const WRONG_SECRET: &str = "wRoNg-SeCrEt_9876543210zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLK";

fn secret_client(
    emu: &okta_emulator::RunningEmulator,
    client_id: &str,
    secret: &str,
    method: ClientSecretMethod,
) -> OktaClient {
    let creds = OAuthSecretCredentials {
        client_id: client_id.into(),
        client_secret: SecretString::from(secret.to_string()),
        scopes: READ_SCOPES.iter().map(|s| s.to_string()).collect(),
        method,
    };
    OktaClient::new(org(emu), Credentials::OAuthSecret(creds), fast_config()).expect("client")
}

async fn secret_emulator() -> okta_emulator::RunningEmulator {
    let mut dpop = OAuthClientConfig::with_secret("0oasecretdpop", CLIENT_SECRET, READ_SCOPES);
    dpop.require_dpop = true;
    emulator(EmulatorConfig {
        oauth_clients: vec![
            OAuthClientConfig::with_secret("0oasecret", CLIENT_SECRET, READ_SCOPES),
            dpop,
        ],
        ..EmulatorConfig::default()
    })
    .await
}

#[tokio::test]
async fn a_client_secret_gets_a_token_and_lists() {
    let emu = secret_emulator().await;
    let export = emu.export();
    for method in [ClientSecretMethod::Basic, ClientSecretMethod::Post] {
        let client = secret_client(&emu, "0oasecret", CLIENT_SECRET, method);
        let users = collect(client.list_users(Some(crate::ALL_STATUSES_FILTER)))
            .await
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        let ids: std::collections::BTreeSet<String> = users.into_iter().map(|u| u.id).collect();
        assert_eq!(ids, crate::export_ids(&export, "users"), "{method:?}");
        assert!(
            !collect(client.list_groups(None, true))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(client.metrics().tokens_fetched, 1, "{method:?}");
    }
    // a secret pasted with a newline, DPoP required: the nonce dance, then bound tokens
    let pasted = format!(" {CLIENT_SECRET}\n");
    let client = secret_client(&emu, "0oasecretdpop", &pasted, ClientSecretMethod::Basic);
    assert!(!collect(client.list_users(None)).await.unwrap().is_empty());
    assert!(!collect(client.list_apps()).await.unwrap().is_empty());
    assert_eq!(client.metrics().tokens_fetched, 1);
    let status = &emu.gate().stats()["status"];
    assert!(
        status.get("401").is_none(),
        "nothing was rejected: {status}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_names_the_client_never_the_secret() {
    let emu = secret_emulator().await;
    for method in [ClientSecretMethod::Basic, ClientSecretMethod::Post] {
        let client = secret_client(&emu, "0oasecret", WRONG_SECRET, method);
        let err = collect(client.list_users(None)).await.unwrap_err();
        println!("{err}");
        match &err {
            okta_api::Error::OAuth {
                client_id,
                status,
                error,
                ..
            } => {
                assert_eq!(client_id, "0oasecret");
                assert_eq!((*status, error.as_str()), (401, "invalid_client"));
            }
            other => panic!("expected an OAuth error, got {other:?}"),
        }
        assert_eq!(err.category(), okta_api::ErrorCategory::Credentials);
        let (text, debug) = (err.to_string(), format!("{err:?} {client:?}"));
        assert!(
            text.contains("client 0oasecret") && text.contains("client secret"),
            "{text}"
        );
        for shown in [&text, &debug] {
            assert!(
                !shown.contains(WRONG_SECRET) && !shown.contains(CLIENT_SECRET),
                "{shown}"
            );
        }
        assert_eq!(
            client.metrics().requests,
            1,
            "a refused secret is not retried"
        );
    }
    let unknown = secret_client(&emu, "0oanobody", CLIENT_SECRET, ClientSecretMethod::Basic);
    let err = collect(unknown.list_users(None)).await.unwrap_err();
    assert!(err.to_string().contains("client 0oanobody"), "{err}");

    // Debug of the credentials shows the client, never the secret
    let creds = Credentials::OAuthSecret(OAuthSecretCredentials {
        client_id: "0oasecret".into(),
        client_secret: SecretString::from(CLIENT_SECRET.to_string()),
        scopes: vec!["okta.users.read".into()],
        method: ClientSecretMethod::Post,
    });
    let debug = format!("{creds:?}");
    assert!(
        debug.contains("0oasecret") && !debug.contains(CLIENT_SECRET),
        "{debug}"
    );

    // an empty secret is refused before any request, naming the client
    let err = OktaClient::new(
        org(&emu),
        Credentials::OAuthSecret(OAuthSecretCredentials {
            client_id: "0oasecret".into(),
            client_secret: SecretString::from(" \n".to_string()),
            scopes: vec!["okta.users.read".into()],
            method: ClientSecretMethod::Basic,
        }),
        fast_config(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("0oasecret"), "{err}");
}
