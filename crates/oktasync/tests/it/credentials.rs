//! Where credentials and network settings come from, through the real binary: `ca_file` and an
//! emulator over TLS, proxies from the environment, OAuth with a client secret, the Okta SDKs'
//! conventions (`OKTA_CLIENT_*`, `~/.okta/okta.yaml`), the OS keyring, and passwords in org
//! URLs that must never be echoed.

use crate::{Out, emulator, oktasync};
use okta_emulator::config::OAuthClientConfig;
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use serde_json::Value;
use std::path::Path;

/// The last check called `name` in a `doctor --json` report.
fn check(out: &Out, name: &str) -> Value {
    let report = out.json();
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report:#}"))
        .clone()
}

/// The check's detail and fix as one string.
fn said(out: &Out, name: &str) -> String {
    let c = check(out, name);
    format!("{} {}", c["detail"], c["fix"])
}

async fn tls_emulator(seed: u64, cert: &Path) -> RunningEmulator {
    okta_emulator::start_tls(
        EmulatorConfig {
            seed,
            size: OrgSize::Tiny,
            ..EmulatorConfig::default()
        },
        cert,
    )
    .await
    .expect("TLS emulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_the_sync_by_name_and_ca_file_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("emulator-ca.pem");
    let emu = tls_emulator(61, &cert).await;
    assert!(emu.base_url().starts_with("https://"), "{}", emu.base_url());
    // every factor: the export compares them all
    let args = [
        "sync",
        "--org-url",
        &emu.base_url(),
        "--db",
        "m.db",
        "--factors",
        "all",
        "--json",
    ];

    let untrusted = oktasync(dir.path(), &args, &[("OKTASYNC_API_TOKEN", emu.token())]).await;
    assert_eq!(untrusted.code, Some(4), "a network failure: {untrusted:#?}");
    for needle in ["certificate", "not trusted", "ca_file", "OKTASYNC_CA_FILE"] {
        assert!(
            untrusted.stderr.contains(needle),
            "{needle}: {untrusted:#?}"
        );
    }

    let trusted = oktasync(
        dir.path(),
        &args,
        &[
            ("OKTASYNC_API_TOKEN", emu.token()),
            ("OKTASYNC_CA_FILE", cert.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(trusted.expect_ok().json()["kind"], "full");
    let export = oktasync(
        dir.path(),
        &["export", "--format", "json", "--db", "m.db"],
        &[],
    )
    .await;
    assert!(
        export.expect_ok().json() == emu.export(),
        "the mirror differs from the org"
    );

    // ca_file in the config file, relative to the current directory, works the same
    std::fs::write(
        dir.path().join("oktasync.toml"),
        "ca_file = \"emulator-ca.pem\"\n",
    )
    .unwrap();
    oktasync(dir.path(), &args, &[("OKTASYNC_API_TOKEN", emu.token())])
        .await
        .expect_ok();

    // a CA file that cannot be used is named as such: a settings error
    let missing = oktasync(
        dir.path(),
        &args,
        &[
            ("OKTASYNC_API_TOKEN", emu.token()),
            ("OKTASYNC_CA_FILE", "/nonexistent/ca.pem"),
        ],
    )
    .await;
    assert_eq!(missing.code, Some(2), "{missing:#?}");
    assert!(
        missing.stderr.contains("/nonexistent/ca.pem") && missing.stderr.contains("does not exist"),
        "{missing:#?}"
    );
}

/// The README documents SSL_CERT_FILE where the client honours it (Linux: the system roots are
/// read through rustls-native-certs); this holds it to that.
#[cfg(all(unix, not(target_vendor = "apple")))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_cert_file_is_honoured_on_linux() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("bundle.pem");
    let emu = tls_emulator(62, &cert).await;
    let out = oktasync(
        dir.path(),
        &[
            "sync",
            "--org-url",
            &emu.base_url(),
            "--db",
            "m.db",
            "--json",
        ],
        &[
            ("OKTASYNC_API_TOKEN", emu.token()),
            ("SSL_CERT_FILE", cert.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(out.expect_ok().json()["kind"], "full");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_an_untrusted_certificate_and_passes_with_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("ca.pem");
    let emu = tls_emulator(63, &cert).await;
    let args = ["doctor", "--org-url", &emu.base_url(), "--json"];

    let out = oktasync(dir.path(), &args, &[("OKTASYNC_API_TOKEN", emu.token())]).await;
    assert_eq!(out.code, Some(4), "{out:#?}");
    let reach = check(&out, "org reachable");
    assert_eq!(reach["ok"], false, "{reach}");
    let text = said(&out, "org reachable");
    for needle in [
        "certificate of 127.0.0.1",
        "not trusted",
        "ca_file",
        "OKTASYNC_CA_FILE",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // not "the host did not answer" after a passing reachability check
    assert!(!text.contains("did not answer"), "{text}");
    assert_eq!(check(&out, "credentials")["skipped"], true);

    let out = oktasync(
        dir.path(),
        &args,
        &[
            ("OKTASYNC_API_TOKEN", emu.token()),
            ("OKTASYNC_CA_FILE", cert.to_str().unwrap()),
        ],
    )
    .await;
    out.expect_ok();
    let detail = check(&out, "org reachable")["detail"].to_string();
    assert!(
        detail.contains("answered") && detail.contains("ca.pem"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reaches_the_org_through_the_proxy_in_the_environment() {
    let emu = emulator(64, OrgSize::Tiny).await;
    // An org port nothing listens on: only the proxy (the emulator itself, which answers the
    // absolute URLs a plain-HTTP proxy is sent) can answer.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let org = format!("http://127.0.0.1:{}", dead.local_addr().unwrap().port());
    drop(dead);
    let dir = tempfile::tempdir().unwrap();
    let args = ["doctor", "--org-url", &org, "--json", "--db", "x.db"];
    let proxy = emu.base_url();

    let direct = oktasync(dir.path(), &args, &[("OKTASYNC_API_TOKEN", emu.token())]).await;
    assert_eq!(direct.code, Some(4), "{direct:#?}");
    assert!(
        said(&direct, "org reachable").contains("refused"),
        "{direct:#?}"
    );

    let via_proxy = oktasync(
        dir.path(),
        &args,
        &[("OKTASYNC_API_TOKEN", emu.token()), ("HTTP_PROXY", &proxy)],
    )
    .await;
    via_proxy.expect_ok();
    let detail = check(&via_proxy, "org reachable")["detail"].to_string();
    assert!(detail.contains("HTTP_PROXY"), "{detail}");
    assert_eq!(check(&via_proxy, "scope okta.users.read")["ok"], true);

    let exempt = oktasync(
        dir.path(),
        &args,
        &[
            ("OKTASYNC_API_TOKEN", emu.token()),
            ("HTTP_PROXY", &proxy),
            ("NO_PROXY", "127.0.0.1"),
        ],
    )
    .await;
    assert_eq!(
        exempt.code,
        Some(4),
        "NO_PROXY bypassed the proxy: {exempt:#?}"
    );
    let text = said(&exempt, "org reachable");
    assert!(
        text.contains("refused") && text.contains("NO_PROXY"),
        "{text}"
    );
}

const SECRET: &str = "cs-9f2b7c41e0d84a6b";

async fn secret_client_emulator(seed: u64) -> RunningEmulator {
    let scopes = [
        "okta.users.read",
        "okta.groups.read",
        "okta.apps.read",
        "okta.roles.read",
        "okta.idps.read",
        "okta.policies.read",
        "okta.authenticators.read",
        "okta.networkZones.read",
        "okta.apiTokens.read",
        "okta.logStreams.read",
        "okta.threatInsights.read",
        "okta.appGrants.read",
        "okta.logs.read",
    ];
    okta_emulator::start(EmulatorConfig {
        seed,
        size: OrgSize::Tiny,
        oauth_clients: vec![OAuthClientConfig::with_secret("0oasecret", SECRET, &scopes)],
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_client_secret_passes_doctor_and_syncs_and_a_wrong_one_is_named() {
    let emu = secret_client_emulator(65).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(
        dir.path().join("oktasync.toml"),
        format!(
            "org_url = \"{}\"\noauth_client_id = \"0oasecret\"\noauth_client_secret_file = \"secret\"\n",
            emu.base_url()
        ),
    )
    .unwrap();

    let doctor = oktasync(dir.path(), &["doctor", "--json"], &[]).await;
    doctor.expect_ok();
    assert_eq!(
        check(&doctor, "credentials")["detail"],
        "OAuth service app (client secret) accepted (client id 0oasecret; \
         oauth_client_secret_file in oktasync.toml)"
    );
    let sync = oktasync(dir.path(), &["sync", "--factors", "all", "--json"], &[]).await;
    assert_eq!(sync.expect_ok().json()["kind"], "full");
    let export = oktasync(dir.path(), &["export", "--format", "json"], &[]).await;
    assert!(
        export.expect_ok().json() == emu.export(),
        "the mirror differs from the org"
    );

    // a wrong secret: a credentials failure naming the client, never the secret
    let wrong = "cs-wrong-0123456789";
    for args in [&["sync"][..], &["doctor", "--json"][..]] {
        let out = oktasync(dir.path(), args, &[("OKTASYNC_OAUTH_CLIENT_SECRET", wrong)]).await;
        assert_eq!(out.code, Some(3), "{args:?}: {out:#?}");
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains("0oasecret"), "{args:?}: {out:#?}");
        assert!(
            !all.contains(wrong) && !all.contains(SECRET),
            "a secret leaked: {out:#?}"
        );
    }

    // a private key and a client secret together: refused, naming both settings
    let both = oktasync(
        dir.path(),
        &["sync"],
        &[("OKTASYNC_OAUTH_PRIVATE_KEY_FILE", "key.pem")],
    )
    .await;
    assert_eq!(both.code, Some(2), "{both:#?}");
    assert!(
        both.stderr
            .contains("OKTASYNC_OAUTH_PRIVATE_KEY_FILE in the environment")
            && both
                .stderr
                .contains("oauth_client_secret_file in oktasync.toml"),
        "{both:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_okta_sdks_settings_are_a_fallback_that_doctor_names() {
    let emu = emulator(66, OrgSize::Tiny).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".okta")).unwrap();
    let yaml = home.path().join(".okta").join("okta.yaml");
    std::fs::write(
        &yaml,
        format!(
            "okta:\n  client:\n    connectionTimeout: 30\n    orgUrl: \"{}\"\n    token: \"{}\"\n",
            emu.base_url(),
            emu.token()
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home_var = ("HOME", home.path().to_str().unwrap());

    let doctor = oktasync(dir.path(), &["doctor", "--json"], &[home_var]).await;
    doctor.expect_ok();
    let yaml_shown = yaml.display().to_string();
    assert_eq!(
        check(&doctor, "org URL")["detail"],
        format!(
            "{} (from okta.client.orgUrl in {yaml_shown})",
            emu.base_url()
        )
    );
    assert_eq!(
        check(&doctor, "credentials")["detail"],
        format!("API token accepted (okta.client.token in {yaml_shown})")
    );
    let sync = oktasync(dir.path(), &["sync", "--json"], &[home_var]).await;
    assert_eq!(sync.expect_ok().json()["kind"], "full");

    // the environment variables of the SDKs win over their file
    let env = [
        ("HOME", dir.path().to_str().unwrap()),
        ("OKTA_CLIENT_ORGURL", &emu.base_url()),
        ("OKTA_CLIENT_TOKEN", emu.token()),
    ];
    std::fs::write(&yaml, "okta:\n  client:\n    token: \"00-stale-token\"\n").unwrap();
    let doctor = oktasync(dir.path(), &["doctor", "--json"], &env).await;
    doctor.expect_ok();
    assert_eq!(
        check(&doctor, "credentials")["detail"],
        "API token accepted (OKTA_CLIENT_TOKEN in the environment)"
    );
    oktasync(dir.path(), &["sync", "--json"], &env)
        .await
        .expect_ok();

    // and oktasync's own settings win over both: a wrong OKTASYNC_API_TOKEN is used, not the
    // SDKs' right one
    let mut own = env.to_vec();
    own.push(("OKTASYNC_API_TOKEN", "00-wrong-own-token"));
    let out = oktasync(dir.path(), &["sync"], &own).await;
    assert_eq!(out.code, Some(3), "{out:#?}");
    let doctor = oktasync(dir.path(), &["doctor", "--json"], &own).await;
    assert!(
        said(&doctor, "credentials").contains("OKTASYNC_API_TOKEN in the environment"),
        "{doctor:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_org_url_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let password = "hunter2-Pa55";
    let url = format!("https://admin:{password}@acme.okta.com");
    let runs = [
        oktasync(
            dir.path(),
            &["sync", "--org-url", &url, "--db", "m.db"],
            &[("OKTASYNC_API_TOKEN", "00x")],
        )
        .await,
        oktasync(
            dir.path(),
            &["doctor", "--json", "--org-url", &url, "--db", "m.db"],
            &[("OKTASYNC_API_TOKEN", "00x")],
        )
        .await,
        oktasync(
            dir.path(),
            &["doctor", "--db", "m.db"],
            &[("OKTASYNC_API_TOKEN", "00x"), ("OKTASYNC_ORG_URL", &url)],
        )
        .await,
        oktasync(
            dir.path(),
            &["users", "--org-url", &url, "--db", "m.db"],
            &[],
        )
        .await,
        oktasync(
            dir.path(),
            &["watch", "--org-url", &url, "--db", "m.db"],
            &[("OKTASYNC_API_TOKEN", "00x")],
        )
        .await,
    ];
    let mut refused = 0;
    for out in &runs {
        out.expect_failure();
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains(password) && !all.contains("admin:"),
            "{out:#?}"
        );
        refused += usize::from(all.contains("***@acme.okta.com"));
    }
    // sync, both doctors and watch say what was wrong with the URL (users fails on the
    // missing mirror first)
    assert!(refused >= 4, "{runs:#?}");
    let doctor = &runs[1];
    assert_eq!(check(doctor, "org URL")["ok"], false);
    assert!(
        said(doctor, "org URL").contains("user name or password"),
        "{doctor:#?}"
    );
}

/// A keyring entry the test stores and removes again, even when it fails.
#[cfg(target_os = "linux")]
struct StoredSecret(keyring::Entry);

#[cfg(target_os = "linux")]
impl StoredSecret {
    /// Stores `secret` under service "oktasync" and `name`; `None` (said loudly) when this
    /// machine's kernel keyring cannot be used (a container whose seccomp profile refuses
    /// keyctl, for one).
    fn store(name: &str, secret: &str) -> Option<StoredSecret> {
        // as oktasync does (config/secret.rs): a session keyring of this process's own, through
        // which the entry reaches the user's persistent keyring
        let _ = linux_keyutils::KeyRing::from_special_id(
            linux_keyutils::KeyRingIdentifier::Session,
            true,
        );
        let stored = keyring::Entry::new("oktasync", name).and_then(|entry| {
            entry.set_password(secret)?;
            Ok(entry)
        });
        match stored {
            Ok(entry) => Some(StoredSecret(entry)),
            Err(e) => {
                eprintln!(
                    "\n!!! NOT TESTED: the Linux kernel keyring cannot be used on this machine \
                     ({e}); the keyring as a secret source went untested here !!!\n"
                );
                None
            }
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for StoredSecret {
    fn drop(&mut self) {
        let _ = self.0.delete_credential();
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_come_from_the_kernel_keyring() {
    let emu = secret_client_emulator(67).await;
    let dir = tempfile::tempdir().unwrap();
    let token_name = format!("oktasync-it-token-{}", std::process::id());
    let secret_name = format!("oktasync-it-secret-{}", std::process::id());
    let (Some(_token), Some(_secret)) = (
        StoredSecret::store(&token_name, emu.token()),
        StoredSecret::store(&secret_name, SECRET),
    ) else {
        return;
    };
    let org = emu.base_url();

    let out = oktasync(
        dir.path(),
        &["sync", "--org-url", &org, "--db", "t.db", "--json"],
        &[("OKTASYNC_API_TOKEN_KEYRING", &token_name)],
    )
    .await;
    assert_eq!(out.expect_ok().json()["kind"], "full");
    let doctor = oktasync(
        dir.path(),
        &["doctor", "--org-url", &org, "--db", "t.db", "--json"],
        &[("OKTASYNC_API_TOKEN_KEYRING", &token_name)],
    )
    .await;
    doctor.expect_ok();
    assert_eq!(
        check(&doctor, "credentials")["detail"],
        "API token accepted (OKTASYNC_API_TOKEN_KEYRING in the environment)"
    );

    // the client secret too, named in the config file
    std::fs::write(
        dir.path().join("oktasync.toml"),
        format!(
            "org_url = \"{org}\"\noauth_client_id = \"0oasecret\"\n\
             oauth_client_secret_keyring = \"{secret_name}\"\n"
        ),
    )
    .unwrap();
    let out = oktasync(dir.path(), &["sync", "--db", "s.db", "--json"], &[]).await;
    assert_eq!(out.expect_ok().json()["kind"], "full");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(!all.contains(SECRET), "{out:#?}");
}

/// Whether or not this machine has a usable keyring: a name that is not there is a settings
/// error that says what to do instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_keyring_entry_names_the_alternatives() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("oktasync-it-absent-{}", std::process::id());
    let out = oktasync(
        dir.path(),
        &["sync", "--org-url", "http://127.0.0.1:1", "--db", "m.db"],
        &[("OKTASYNC_API_TOKEN_KEYRING", &name)],
    )
    .await;
    assert_eq!(out.code, Some(2), "{out:#?}");
    for needle in [
        name.as_str(),
        "OKTASYNC_API_TOKEN_KEYRING in the environment",
        "OKTASYNC_API_TOKEN_FILE",
        "api_token_file",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {out:#?}");
    }
    assert!(!dir.path().join("m.db").exists(), "nothing is created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_a_redirect_as_a_wrong_org_url() {
    // what a captive portal or a sign-in page answers for every path
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::FOUND,
            [(
                axum::http::header::LOCATION,
                "https://login.example.com/signin?state=s3cret-state",
            )],
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(
        dir.path(),
        &["doctor", "--org-url", &org, "--db", "x.db", "--json"],
        &[("OKTASYNC_API_TOKEN", "00x")],
    )
    .await;
    assert_eq!(out.code, Some(2), "a settings error: {out:#?}");
    let text = said(&out, "org reachable");
    for needle in [
        "redirect (HTTP 302)",
        "https://login.example.com/signin",
        "org URL is probably wrong",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!out.stdout.contains("s3cret-state"), "{out:#?}");
    assert_eq!(check(&out, "credentials")["skipped"], true);
}
