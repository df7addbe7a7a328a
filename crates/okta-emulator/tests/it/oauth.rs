//! OAuth 2.0 service apps over real HTTP: `private_key_jwt` client assertions at
//! `POST /oauth2/v1/token`, scopes per route, token lifetime, DPoP with the nonce dance.
//! Assertions and proofs are signed with `jsonwebtoken` (ES512 with aws-lc-rs, which
//! jsonwebtoken lacks), an implementation independent of the emulator's verifier.

use crate::gate::{TestServer, assert_okta_headers, header};
use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use okta_emulator::config::OAuthClientConfig;
use okta_emulator::gate::keygen::{self, KeyMaterial};
use okta_emulator::{Clock, EmulatorConfig, ManualClock};
use serde_json::{Value, json};
use std::sync::Arc;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The secret of the fixture's `client_secret` client (shaped like Okta's: 64 characters of
/// letters, digits, `-` and `_`).
const CLIENT_SECRET: &str = "sEcReT-0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU";

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// Signs `claims` with `key` under `alg`, adding `extra` header members.
fn sign(alg: &str, key: &KeyMaterial, extra: Value, claims: &Value) -> String {
    if alg == "ES512" {
        let mut header = json!({"alg": "ES512", "kid": key.kid});
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_FIXED_SIGNING, &pem_der(&key.private_pem))
                .unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        return format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
    }
    let algorithm: Algorithm = alg.parse().unwrap();
    let mut header = Header::new(algorithm);
    header.kid = Some(key.kid.clone());
    if let Some(typ) = extra.get("typ").and_then(Value::as_str) {
        header.typ = Some(typ.into());
    }
    if let Some(jwk) = extra.get("jwk") {
        header.jwk = Some(serde_json::from_value::<Jwk>(jwk.clone()).unwrap());
    }
    let encoding = if alg.starts_with("RS") {
        EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).unwrap()
    } else {
        EncodingKey::from_ec_pem(key.private_pem.as_bytes()).unwrap()
    };
    jsonwebtoken::encode(&header, claims, &encoding).unwrap()
}

struct Fixture {
    server: TestServer,
    clock: ManualClock,
    keys: std::collections::HashMap<&'static str, KeyMaterial>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// `bare`: the gate around a router that echoes the principal (see `TestServer::bare`).
    async fn start(bare: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The RS256 client registers the PEM file `okta-emulator keygen` writes.
        keygen::run(dir.path(), "RS256").unwrap();
        for file in [
            keygen::PRIVATE_PEM,
            keygen::PUBLIC_PEM,
            keygen::PRIVATE_JWK,
            keygen::PUBLIC_JWK,
        ] {
            assert!(dir.path().join(file).is_file(), "{file}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(keygen::PRIVATE_PEM))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "private key is owner-only");
        }
        let private_jwk: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(keygen::PRIVATE_JWK)).unwrap(),
        )
        .unwrap();
        let rs256 = KeyMaterial {
            alg: "RS256",
            kid: private_jwk["kid"].as_str().unwrap().to_string(),
            private_pem: std::fs::read_to_string(dir.path().join(keygen::PRIVATE_PEM)).unwrap(),
            public_pem: std::fs::read_to_string(dir.path().join(keygen::PUBLIC_PEM)).unwrap(),
            public_jwk: serde_json::from_str(
                &std::fs::read_to_string(dir.path().join(keygen::PUBLIC_JWK)).unwrap(),
            )
            .unwrap(),
            private_jwk,
        };
        let mut keys = std::collections::HashMap::new();
        keys.insert("rs256", rs256);
        for (name, alg) in [
            ("es256", "ES256"),
            ("es384", "ES384"),
            ("es512", "ES512"),
            ("dpop-client", "ES256"),
            ("other", "ES256"),
        ] {
            keys.insert(name, keygen::generate(alg).unwrap());
        }
        let jwk_client = |id: &str, key: &str, scopes: &[&str], require_dpop| OAuthClientConfig {
            client_id: id.into(),
            public_jwk: Some(keys[key].public_jwk.clone()),
            public_key_pem_file: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            require_dpop,
            client_secret: None,
        };
        let clients = vec![
            OAuthClientConfig {
                client_id: "0oa-rs256".into(),
                public_jwk: None,
                public_key_pem_file: Some(dir.path().join(keygen::PUBLIC_PEM)),
                scopes: vec!["okta.users.read".into(), "okta.groups.manage".into()],
                require_dpop: false,
                client_secret: None,
            },
            jwk_client("0oa-es256", "es256", &["okta.users.read"], false),
            jwk_client("0oa-es384", "es384", &["okta.users.read"], false),
            jwk_client("0oa-es512", "es512", &["okta.users.read"], false),
            jwk_client("0oa-dpop", "dpop-client", &["okta.users.read"], true),
            OAuthClientConfig::with_secret("0oa-secret", CLIENT_SECRET, &["okta.users.read"]),
        ];
        let start = DateTime::parse_from_rfc3339("2026-05-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        let config = EmulatorConfig {
            oauth_clients: clients,
            clock: Arc::new(clock.clone()),
            ..Default::default()
        };
        let server = if bare {
            TestServer::bare(config).await
        } else {
            TestServer::start(config).await
        };
        Self {
            server,
            clock,
            keys,
            _dir: dir,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn claims(&self, client_id: &str) -> Value {
        json!({
            "aud": format!("{}/oauth2/v1/token", self.server.base),
            "iss": client_id,
            "sub": client_id,
            "iat": self.now(),
            "exp": self.now() + 300,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    fn assertion(&self, client_id: &str, key: &str, alg: &str) -> String {
        sign(alg, &self.keys[key], json!({}), &self.claims(client_id))
    }

    async fn token_request(
        &self,
        assertion: &str,
        scope: &str,
        dpop: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .server
            .http
            .post(format!("{}/oauth2/v1/token", self.server.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
            ]);
        if let Some(proof) = dpop {
            req = req.header("DPoP", proof);
        }
        req.send().await.unwrap()
    }

    async fn access_token(&self, client_id: &str, key: &str, alg: &str, scope: &str) -> String {
        let resp = self
            .token_request(&self.assertion(client_id, key, alg), scope, None)
            .await;
        assert_eq!(resp.status(), 200, "{alg}: {}", resp.text().await.unwrap());
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], scope);
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn bearer_get(&self, path: &str, token: &str) -> reqwest::Response {
        self.server
            .get(path)
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
    }

    /// A DPoP proof signed by `key` for `method url`.
    fn proof(
        &self,
        key: &str,
        method: &str,
        url: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> String {
        let mut claims = json!({"htm": method, "htu": url, "iat": self.now(), "jti": uuid::Uuid::new_v4().to_string()});
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = access_token {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, t.as_bytes());
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(digest.as_ref()));
        }
        let key = &self.keys[key];
        sign(
            "ES256",
            key,
            json!({"typ": "dpop+jwt", "jwk": key.public_jwk}),
            &claims,
        )
    }
}

/// A token request authenticated by a client secret: `basic` in the Authorization header,
/// else in the body.
async fn secret_token_request(
    fx: &Fixture,
    client_id: &str,
    secret: &str,
    basic: bool,
) -> reqwest::Response {
    let url = format!("{}/oauth2/v1/token", fx.server.base);
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read"),
    ];
    let req = if basic {
        fx.server
            .http
            .post(url)
            .basic_auth(client_id, Some(secret))
            .form(&form)
    } else {
        let mut form = form.to_vec();
        form.extend([("client_id", client_id), ("client_secret", secret)]);
        fx.server.http.post(url).form(&form)
    };
    req.send().await.unwrap()
}

async fn oauth_error(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap().into(),
        body["error_description"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn private_key_jwt_for_every_key_type_gives_working_bearer_tokens() {
    let f = Fixture::start(true).await;
    for (client, key, alg) in [
        ("0oa-rs256", "rs256", "RS256"),
        ("0oa-rs256", "rs256", "RS384"),
        ("0oa-rs256", "rs256", "RS512"),
        ("0oa-es256", "es256", "ES256"),
        ("0oa-es384", "es384", "ES384"),
        ("0oa-es512", "es512", "ES512"),
    ] {
        let token = f.access_token(client, key, alg, "okta.users.read").await;
        let resp = f.bearer_get("/api/v1/users", &token).await;
        assert_eq!(resp.status(), 200, "{alg}");
        assert_okta_headers(&resp);
        let who: Value = resp.json().await.unwrap();
        assert_eq!(
            who,
            json!({"client_id": client, "scopes": ["okta.users.read"]})
        );
    }
    // The token endpoint answers with OAuth headers and its own bucket.
    let resp = f
        .token_request(
            &f.assertion("0oa-es256", "es256", "ES256"),
            "okta.users.read",
            None,
        )
        .await;
    assert_okta_headers(&resp);
    assert_eq!(header(&resp, "cache-control"), "no-cache, no-store");
    let stats = f.server.gate.stats(); // the bare server has no control routes
    assert_eq!(stats["buckets"]["token"]["requests"], 7);
    assert_eq!(stats["buckets"]["token"]["limit"], 2_500_000 * 2);
}

#[tokio::test]
async fn client_assertions_are_checked() {
    let f = Fixture::start(false).await;
    let aud = format!("{}/oauth2/v1/token", f.server.base);
    let with = |changes: Value| {
        let mut claims = f.claims("0oa-es256");
        claims
            .as_object_mut()
            .unwrap()
            .extend(changes.as_object().unwrap().clone());
        sign("ES256", &f.keys["es256"], json!({}), &claims)
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "signed by another key",
            sign("ES256", &f.keys["other"], json!({}), &f.claims("0oa-es256")),
            "signature",
        ),
        (
            "wrong aud",
            with(json!({"aud": "https://example.okta.com/oauth2/v1/token"})),
            "audience",
        ),
        (
            "aud of another endpoint",
            with(json!({"aud": format!("{}/oauth2/default/v1/token", f.server.base)})),
            "audience",
        ),
        (
            "exp more than an hour ahead",
            with(json!({"exp": f.now() + 3601})),
            "too far",
        ),
        ("expired", with(json!({"exp": f.now() - 1})), "expired"),
        (
            "sub is not the client",
            with(json!({"sub": "0oa-other"})),
            "sub",
        ),
        (
            "unknown client",
            with(json!({"iss": "0oa-nobody", "sub": "0oa-nobody"})),
            "client_id",
        ),
        ("not a JWT", "not-a-jwt".into(), "malformed"),
    ];
    for (what, assertion, needle) in cases {
        let (status, error, description) =
            oauth_error(f.token_request(&assertion, "okta.users.read", None).await).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"), "{what}");
        assert!(description.contains(needle), "{what}: {description}");
    }
    // an hour exactly is fine; the same jti a second time is not
    let assertion = with(json!({"exp": f.now() + 3600}));
    assert_eq!(
        f.token_request(&assertion, "okta.users.read", None)
            .await
            .status(),
        200
    );
    let (status, error, description) =
        oauth_error(f.token_request(&assertion, "okta.users.read", None).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(description.contains("already been used"), "{description}");
    // HMAC is not a private_key_jwt algorithm
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &f.claims("0oa-es256"),
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert_eq!(
        oauth_error(f.token_request(&hs, "okta.users.read", None).await)
            .await
            .1,
        "invalid_client"
    );
    // scopes: a subset of the granted ones, and at least one
    for (scope, error) in [
        ("okta.users.read okta.groups.read", "invalid_scope"),
        ("", "invalid_scope"),
    ] {
        let (status, got, _) =
            oauth_error(f.token_request(&with(json!({})), scope, None).await).await;
        assert_eq!((status, got.as_str()), (400, error), "{scope:?}");
    }
    // the form itself
    let resp = f
        .server
        .http
        .post(&aud)
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(resp).await.1, "unsupported_grant_type");
    let resp = f
        .server
        .http
        .post(&aud)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "0oa-es256"),
            ("client_secret", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(resp).await.1, "invalid_client");
}

#[tokio::test]
async fn scopes_are_enforced_per_route_with_okta_challenge() {
    let f = Fixture::start(false).await;
    let token = f
        .access_token("0oa-rs256", "rs256", "RS256", "okta.users.read")
        .await;
    let resp = f.bearer_get("/api/v1/groups", &token).await;
    assert_eq!(resp.status(), 403);
    assert_okta_headers(&resp);
    let host = f.server.base.trim_start_matches("http://");
    assert_eq!(
        header(&resp, "www-authenticate"),
        format!(
            "Bearer authorization_uri=\"http://{host}/oauth2/v1/authorize\", realm=\"IdentityServer\", \
             scope=\"okta.groups.read\", error=\"insufficient_scope\", \
             error_description=\"The access token provided does not contain the required scopes.\", \
             resource=\"/api/v1/groups\""
        )
    );
    assert!(resp.bytes().await.unwrap().is_empty(), "403 has no body");
    // a write needs the manage scope; manage covers read
    let resp = f
        .server
        .http
        .post(format!("{}/api/v1/users", f.server.base))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(header(&resp, "www-authenticate").contains("scope=\"okta.users.manage\""));
    let token = f
        .access_token("0oa-rs256", "rs256", "RS256", "okta.groups.manage")
        .await;
    assert_eq!(
        f.bearer_get("/api/v1/groups?limit=2", &token)
            .await
            .status(),
        200
    );
    assert_eq!(f.bearer_get("/api/v1/users", &token).await.status(), 403);
    // control endpoints need a credential, no scope
    assert_eq!(
        f.bearer_get("/__emulator/stats", &token).await.status(),
        200
    );
    // a forged or altered token is refused
    let mut forged = token.clone();
    forged.insert(forged.len() - 5, 'x');
    let resp = f.bearer_get("/api/v1/groups", &forged).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000011");
}

/// HTTP/2 has no `Host` header (`:authority` instead): `aud` and the challenges still work.
#[tokio::test]
async fn oauth_works_over_http2() {
    let mut f = Fixture::start(false).await;
    f.server.http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let token = f
        .access_token("0oa-es256", "es256", "ES256", "okta.users.read")
        .await;
    let resp = f.bearer_get("/api/v1/users", &token).await;
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    assert_okta_headers(&resp);
    let resp = f.bearer_get("/api/v1/groups", &token).await;
    assert_eq!(resp.status(), 403);
    let host = f.server.base.trim_start_matches("http://");
    assert!(
        header(&resp, "www-authenticate").contains(&format!(
            "authorization_uri=\"http://{host}/oauth2/v1/authorize\""
        )),
        "{}",
        header(&resp, "www-authenticate")
    );
}

#[tokio::test]
async fn access_tokens_last_one_hour_by_the_injected_clock() {
    let f = Fixture::start(false).await;
    let token = f
        .access_token("0oa-es256", "es256", "ES256", "okta.users.read")
        .await;
    f.clock.advance(Duration::seconds(3599));
    assert_eq!(f.bearer_get("/api/v1/users", &token).await.status(), 200);
    f.clock.advance(Duration::seconds(1));
    let resp = f.bearer_get("/api/v1/users", &token).await;
    assert_eq!(resp.status(), 401);
    assert!(header(&resp, "www-authenticate").contains("error=\"invalid_token\""));
    assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000011");
}

#[tokio::test]
async fn dpop_nonce_dance_and_resource_proofs() {
    let f = Fixture::start(true).await;
    let token_url = format!("{}/oauth2/v1/token", f.server.base);
    let users_url = format!("{}/api/v1/users", f.server.base);
    let assertion = f.assertion("0oa-dpop", "dpop-client", "ES256");

    // no proof at all
    let (status, error, _) =
        oauth_error(f.token_request(&assertion, "okta.users.read", None).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_dpop_proof"));
    // a proof without nonce: use_dpop_nonce with the nonce in a header
    let proof = f.proof("dpop-client", "POST", &token_url, None, None);
    let resp = f
        .token_request(&assertion, "okta.users.read", Some(&proof))
        .await;
    let nonce = header(&resp, "dpop-nonce").to_string();
    let (status, error, description) = oauth_error(resp).await;
    assert_eq!((status, error.as_str()), (400, "use_dpop_nonce"));
    assert_eq!(
        description,
        "Authorization server requires nonce in DPoP proof."
    );
    // proof problems at the token endpoint
    let bad_proofs = [
        (
            "wrong htm",
            f.proof("dpop-client", "GET", &token_url, Some(&nonce), None),
        ),
        (
            "wrong htu",
            f.proof("dpop-client", "POST", &users_url, Some(&nonce), None),
        ),
        (
            "wrong typ",
            sign(
                "ES256",
                &f.keys["dpop-client"],
                json!({"typ": "JWT", "jwk": f.keys["dpop-client"].public_jwk}),
                &json!({"htm": "POST", "htu": token_url, "iat": f.now(), "jti": "j1", "nonce": nonce}),
            ),
        ),
        (
            "no jwk",
            sign(
                "ES256",
                &f.keys["dpop-client"],
                json!({"typ": "dpop+jwt"}),
                &json!({"htm": "POST", "htu": token_url, "iat": f.now(), "jti": "j2", "nonce": nonce}),
            ),
        ),
        (
            "old iat",
            sign(
                "ES256",
                &f.keys["dpop-client"],
                json!({"typ": "dpop+jwt", "jwk": f.keys["dpop-client"].public_jwk}),
                &json!({"htm": "POST", "htu": token_url, "iat": f.now() - 3600, "jti": "j3", "nonce": nonce}),
            ),
        ),
        (
            "jwk of another key",
            sign(
                "ES256",
                &f.keys["dpop-client"],
                json!({"typ": "dpop+jwt", "jwk": f.keys["other"].public_jwk}),
                &json!({"htm": "POST", "htu": token_url, "iat": f.now(), "jti": "j4", "nonce": nonce}),
            ),
        ),
    ];
    for (what, proof) in bad_proofs {
        let (status, error, _) = oauth_error(
            f.token_request(&assertion, "okta.users.read", Some(&proof))
                .await,
        )
        .await;
        assert_eq!(
            (status, error.as_str()),
            (400, "invalid_dpop_proof"),
            "{what}"
        );
    }
    let made_up = f.proof("dpop-client", "POST", &token_url, Some("made-up"), None);
    assert_eq!(
        oauth_error(
            f.token_request(&assertion, "okta.users.read", Some(&made_up))
                .await
        )
        .await
        .1,
        "use_dpop_nonce"
    );

    // the retry with the nonce (same assertion, fresh proof) gets a DPoP token
    let proof = f.proof("dpop-client", "POST", &token_url, Some(&nonce), None);
    let resp = f
        .token_request(&assertion, "okta.users.read", Some(&proof))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "dpop-nonce"), nonce);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap().to_string();
    // The token is a JWT bound to the proof key (cnf.jkt = its RFC 7638 thumbprint, which
    // keygen uses as the kid), issued by the origin the client called.
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["cnf"]["jkt"], json!(f.keys["dpop-client"].kid));
    assert_eq!(payload["iss"], json!(f.server.base));
    assert_eq!(payload["cid"], "0oa-dpop");
    assert_eq!(payload["scp"], json!(["okta.users.read"]));
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        3600
    );
    // a replayed proof is refused
    let (status, error, _) = oauth_error(
        f.token_request(
            &f.assertion("0oa-dpop", "dpop-client", "ES256"),
            "okta.users.read",
            Some(&proof),
        )
        .await,
    )
    .await;
    assert_eq!((status, error.as_str()), (400, "invalid_dpop_proof"));

    // resource requests: Authorization: DPoP plus a proof with ath; htu compared without query
    let dpop_get = |path: &str, proof: Option<String>, scheme: &str| {
        let mut req = f
            .server
            .get(path)
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send()
    };
    let good = f.proof("dpop-client", "GET", &users_url, None, Some(&token));
    let resp = dpop_get("/api/v1/users?limit=2", Some(good.clone()), "DPoP")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["client_id"], "0oa-dpop");
    let failures = [
        ("replayed proof", Some(good), "DPoP"),
        ("no proof", None, "DPoP"),
        (
            "ath of another token",
            Some(f.proof(
                "dpop-client",
                "GET",
                &users_url,
                None,
                Some("another-token"),
            )),
            "DPoP",
        ),
        (
            "no ath",
            Some(f.proof("dpop-client", "GET", &users_url, None, None)),
            "DPoP",
        ),
        (
            "proof by another key",
            Some(f.proof("other", "GET", &users_url, None, Some(&token))),
            "DPoP",
        ),
        (
            "wrong htm",
            Some(f.proof("dpop-client", "POST", &users_url, None, Some(&token))),
            "DPoP",
        ),
        (
            "bound token as Bearer",
            Some(f.proof("dpop-client", "GET", &users_url, None, Some(&token))),
            "Bearer",
        ),
    ];
    for (what, proof, scheme) in failures {
        let resp = dpop_get("/api/v1/users", proof, scheme).await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        assert_okta_headers(&resp);
        assert_eq!(
            resp.json::<Value>().await.unwrap()["errorCode"],
            "E0000011",
            "{what}"
        );
    }
    // A fault answered before authentication does not spend the proof: the SDKs resend the
    // same request (and proof) after a 5xx or 429.
    let faults_only_503 = json!({"fault_rate": 1.0,
        "kinds": {"500": 0, "502": 0, "504": 0, "drop": 0, "truncate": 0, "slow": 0}});
    f.server.gate.set_faults(faults_only_503).unwrap();
    let proof = f.proof("dpop-client", "GET", &users_url, None, Some(&token));
    let resp = dpop_get("/api/v1/users", Some(proof.clone()), "DPoP")
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_okta_headers(&resp);
    f.server
        .gate
        .set_faults(json!({"fault_rate": 0.0}))
        .unwrap();
    let resp = dpop_get("/api/v1/users", Some(proof.clone()), "DPoP")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = dpop_get("/api/v1/users", Some(proof), "DPoP")
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "spent once it was authenticated");

    // insufficient scope on a DPoP token: the DPoP challenge
    let groups_url = format!("{}/api/v1/groups", f.server.base);
    let resp = dpop_get(
        "/api/v1/groups",
        Some(f.proof("dpop-client", "GET", &groups_url, None, Some(&token))),
        "DPoP",
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);
    let challenge = header(&resp, "www-authenticate");
    assert!(
        challenge
            .starts_with("DPoP algs=\"RS256 RS384 RS512 ES256 ES384 ES512\", authorization_uri="),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"okta.groups.read\", error=\"insufficient_scope\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn client_secrets_in_the_header_or_the_body_give_working_tokens() {
    let fx = Fixture::start(false).await;
    for basic in [true, false] {
        let resp = secret_token_request(&fx, "0oa-secret", CLIENT_SECRET, basic).await;
        assert_eq!(resp.status(), 200, "basic={basic}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "okta.users.read");
        let token = body["access_token"].as_str().unwrap();
        let users = fx.bearer_get("/api/v1/users?limit=2", token).await;
        assert_eq!(users.status(), 200, "basic={basic}");
        // scopes still apply
        let groups = fx.bearer_get("/api/v1/groups", token).await;
        assert_eq!(groups.status(), 403);
    }
}

#[tokio::test]
async fn wrong_secrets_and_unknown_clients_get_okta_errors() {
    let fx = Fixture::start(false).await;
    let wrong = "not-the-secret-0123456789";
    for basic in [true, false] {
        let resp = secret_token_request(&fx, "0oa-secret", wrong, basic).await;
        assert_eq!(header(&resp, "cache-control"), "no-cache, no-store");
        let (status, error, description) = oauth_error(resp).await;
        assert_eq!(
            (status, error.as_str()),
            (401, "invalid_client"),
            "basic={basic}"
        );
        assert_eq!(
            description,
            "The client secret supplied for a confidential client is invalid."
        );
        assert!(!description.contains(wrong));

        let (status, error, description) =
            oauth_error(secret_token_request(&fx, "0oa-nobody", CLIENT_SECRET, basic).await).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"));
        assert_eq!(description, "The client_id provided is invalid.");

        // a key-pair client cannot use a secret, and a secret client cannot sign assertions
        let (status, error, _) =
            oauth_error(secret_token_request(&fx, "0oa-es256", CLIENT_SECRET, basic).await).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"));
    }
    let assertion = fx.assertion("0oa-secret", "es256", "ES256");
    let (status, error, description) =
        oauth_error(fx.token_request(&assertion, "okta.users.read", None).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(description.contains("client secret"), "{description}");

    // two authentication methods at once are refused
    let resp = fx
        .server
        .http
        .post(format!("{}/oauth2/v1/token", fx.server.base))
        .basic_auth("0oa-secret", Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "okta.users.read"),
            ("client_id", "0oa-secret"),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(resp).await;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
}

#[test]
fn a_client_secret_comes_from_toml_and_never_shows_in_debug() {
    let config: OAuthClientConfig = toml::from_str(&format!(
        "client_id = \"0oa-toml\"\nscopes = [\"okta.users.read\"]\nclient_secret = \"{CLIENT_SECRET}\"\n"
    ))
    .unwrap();
    assert_eq!(config.client_secret.as_deref(), Some(CLIENT_SECRET));
    let emulator_config = EmulatorConfig {
        oauth_clients: vec![config.clone()],
        ..Default::default()
    };
    let gate = okta_emulator::gate::Gate::new(&emulator_config).unwrap();
    for debug in [
        format!("{config:?}"),
        format!("{emulator_config:?}"),
        format!("{gate:?}"),
    ] {
        assert!(!debug.contains(CLIENT_SECRET), "{debug}");
    }
    assert!(format!("{config:?}").contains("[redacted]"));

    // a key and a secret at once, or neither, is a configuration error naming the client
    let mut both = config.clone();
    both.public_jwk = Some(json!({"kty": "EC"}));
    let err = okta_emulator::gate::Gate::new(&EmulatorConfig {
        oauth_clients: vec![both],
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("0oa-toml") && err.contains("not both"),
        "{err}"
    );
    let mut neither = config;
    neither.client_secret = None;
    let err = okta_emulator::gate::Gate::new(&EmulatorConfig {
        oauth_clients: vec![neither],
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("client_secret"), "{err}");
}
