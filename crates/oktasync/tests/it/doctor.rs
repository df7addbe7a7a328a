//! `oktasync doctor`: a healthy setup passes; each common mistake gets a clear message and a
//! non-zero exit.

use crate::{Out, emulator, oktasync};
use okta_emulator::config::OAuthClientConfig;
use okta_emulator::{EmulatorConfig, OrgSize};
use serde_json::Value;

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report:#}"))
}

#[track_caller]
fn failed_with(out: &Out, name: &str, needles: &[&str]) {
    out.expect_failure();
    let report = out.json();
    let c = check(&report, name);
    assert_eq!(c["ok"], false, "{name} should fail: {report:#}");
    let text = format!("{} {}", c["detail"], c["fix"]);
    for needle in needles {
        assert!(
            text.contains(needle),
            "{needle:?} missing from {name}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_setup_passes_every_check() {
    let emu = emulator(21, OrgSize::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(
        dir.path(),
        &["doctor", "--org-url", &emu.base_url(), "--json"],
        &[("OKTASYNC_API_TOKEN", emu.token())],
    )
    .await;
    out.expect_ok();
    let report = out.json();
    assert_eq!(report["ok"], true);
    for scope in [
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
    ] {
        assert_eq!(
            check(&report, &format!("scope {scope}"))["ok"],
            true,
            "{report:#}"
        );
    }
    assert_eq!(check(&report, "credentials")["ok"], true);
    // The table form too.
    let text = oktasync(
        dir.path(),
        &["doctor", "--org-url", &emu.base_url()],
        &[("OKTASYNC_API_TOKEN", emu.token())],
    )
    .await;
    text.expect_ok();
    assert!(text.stdout.contains("All checks passed"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_named_with_its_fix() {
    let emu = emulator(22, OrgSize::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(
        dir.path(),
        &["doctor", "--org-url", &emu.base_url(), "--json"],
        &[("OKTASYNC_API_TOKEN", "00-wrong-token-value")],
    )
    .await;
    failed_with(
        &out,
        "credentials",
        &["Security > API > Tokens", "OKTASYNC_API_TOKEN"],
    );
    assert!(!out.stdout.contains("00-wrong-token-value"));
    assert!(!out.stderr.contains("00-wrong-token-value"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_console_url_is_refused_with_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(
        dir.path(),
        &[
            "doctor",
            "--org-url",
            "https://acme-admin.okta.com",
            "--json",
        ],
        &[("OKTASYNC_API_TOKEN", "x")],
    )
    .await;
    failed_with(&out, "org URL", &["Admin Console", "https://acme.okta.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_host_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(
        dir.path(),
        &["doctor", "--org-url", "http://127.0.0.1:1", "--json"],
        &[("OKTASYNC_API_TOKEN", "x")],
    )
    .await;
    failed_with(
        &out,
        "org reachable",
        &[
            "cannot reach http://127.0.0.1:1",
            "Connection refused",
            "HTTPS_PROXY",
        ],
    );
    let text = oktasync(
        dir.path(),
        &["doctor", "--org-url", "http://127.0.0.1:1"],
        &[("OKTASYNC_API_TOKEN", "x")],
    )
    .await;
    text.expect_failure();
    assert!(text.stdout.contains("FAIL"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_names_every_way_to_give_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(
        dir.path(),
        &["doctor", "--org-url", "http://127.0.0.1:1", "--json"],
        &[],
    )
    .await;
    failed_with(
        &out,
        "credentials",
        &[
            "OKTASYNC_API_TOKEN_FILE",
            "api_token_file",
            "oauth_client_id",
            "oauth_client_secret_file",
            "api_token_keyring",
            "OKTA_CLIENT_TOKEN",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_oauth_scope_is_named_with_how_to_grant_it() {
    let keys = tempfile::tempdir().unwrap();
    okta_emulator::gate::keygen::run(keys.path(), "RS256").expect("keygen");
    let public_jwk: Value = serde_json::from_str(
        &std::fs::read_to_string(keys.path().join(okta_emulator::gate::keygen::PUBLIC_JWK))
            .unwrap(),
    )
    .unwrap();
    let granted = ["okta.users.read", "okta.groups.read", "okta.logs.read"];
    let requested = ["okta.users.read", "okta.groups.read"];
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 23,
        size: OrgSize::Tiny,
        oauth_clients: vec![OAuthClientConfig {
            client_id: "0oadoctor".into(),
            public_jwk: Some(public_jwk),
            public_key_pem_file: None,
            scopes: granted.iter().map(|s| s.to_string()).collect(),
            require_dpop: false,
            client_secret: None,
        }],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = keys.path().join(okta_emulator::gate::keygen::PRIVATE_PEM);
    let out = oktasync(
        dir.path(),
        &["doctor", "--org-url", &emu.base_url(), "--json"],
        &[
            ("OKTASYNC_OAUTH_CLIENT_ID", "0oadoctor"),
            (
                "OKTASYNC_OAUTH_PRIVATE_KEY_FILE",
                key_file.to_str().unwrap(),
            ),
            ("OKTASYNC_OAUTH_SCOPES", &requested.join(",")),
        ],
    )
    .await;
    assert_eq!(out.code, Some(3), "a permission failure: {out:#?}");
    let report = out.json();
    assert_eq!(check(&report, "credentials")["ok"], true, "{report:#}");
    assert_eq!(
        check(&report, "scope okta.users.read")["ok"],
        true,
        "{report:#}"
    );
    failed_with(
        &out,
        "scope okta.apps.read",
        &["okta.apps.read", "Okta API Scopes", "Grant"],
    );
    failed_with(&out, "scope okta.roles.read", &["okta.roles.read"]);
    // The System Log is checked too: without it every sync would be a full one.
    failed_with(
        &out,
        "scope okta.logs.read",
        &["okta.logs.read", "every sync is a full sync"],
    );

    // The same app with only the resources it may read passes.
    let ok = oktasync(
        dir.path(),
        &["doctor", "--org-url", &emu.base_url(), "--json"],
        &[
            ("OKTASYNC_OAUTH_CLIENT_ID", "0oadoctor"),
            (
                "OKTASYNC_OAUTH_PRIVATE_KEY_FILE",
                key_file.to_str().unwrap(),
            ),
            ("OKTASYNC_RESOURCES", "users,groups,memberships"),
        ],
    )
    .await;
    ok.expect_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_service_app_with_a_jwk_key_passes_doctor_and_syncs() {
    let keys = tempfile::tempdir().unwrap();
    okta_emulator::gate::keygen::run(keys.path(), "ES256").expect("keygen");
    let public_jwk: Value = serde_json::from_str(
        &std::fs::read_to_string(keys.path().join(okta_emulator::gate::keygen::PUBLIC_JWK))
            .unwrap(),
    )
    .unwrap();
    let all_scopes = [
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
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 24,
        size: OrgSize::Tiny,
        oauth_clients: vec![OAuthClientConfig {
            client_id: "0oajwk".into(),
            public_jwk: Some(public_jwk),
            public_key_pem_file: None,
            scopes: all_scopes.iter().map(|s| s.to_string()).collect(),
            require_dpop: false,
            client_secret: None,
        }],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = keys.path().join(okta_emulator::gate::keygen::PRIVATE_JWK);
    // The client id and key come from the config file this time.
    std::fs::write(
        dir.path().join("oktasync.toml"),
        format!(
            "org_url = \"{}\"\noauth_client_id = \"0oajwk\"\noauth_private_key_file = \"{}\"\n",
            emu.base_url(),
            key_file.display()
        ),
    )
    .unwrap();
    let out = oktasync(dir.path(), &["doctor", "--json"], &[]).await;
    out.expect_ok();
    assert_eq!(
        check(&out.json(), "credentials")["detail"],
        "OAuth service app (private key) accepted (client id 0oajwk; oauth_private_key_file in \
         oktasync.toml)"
    );

    let first = oktasync(dir.path(), &["sync", "--json"], &[]).await;
    assert_eq!(first.expect_ok().json()["kind"], "full");
    let export = oktasync(dir.path(), &["export", "--format", "json"], &[]).await;
    assert_eq!(export.expect_ok().json(), emu.export());
    // No oauth_scopes set: the default includes okta.logs.read, so the next sync follows the
    // System Log instead of reading everything again.
    let second = oktasync(dir.path(), &["sync", "--json"], &[]).await;
    let second = second.expect_ok().json();
    assert_eq!(second["kind"], "incremental", "{second}");
    assert_eq!(second["fallback"], Value::Null, "{second}");
    let private_key = std::fs::read_to_string(&key_file).unwrap();
    let d = serde_json::from_str::<Value>(&private_key).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !out.stdout.contains(&d) && !out.stderr.contains(&d),
        "the key leaked"
    );
}

/// A path this process cannot write, by its permissions or, for root (whom permissions do not
/// stop), by the immutable attribute; put back as it was when dropped.
#[cfg(unix)]
struct Unwritable {
    path: std::path::PathBuf,
    mode: u32,
    immutable: bool,
}

#[cfg(unix)]
impl Unwritable {
    /// `None`, said loudly, when neither way makes `path` unwritable here.
    fn make(path: &std::path::Path) -> Option<Unwritable> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        let ro = if path.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(ro)).unwrap();
        let mut made = Unwritable {
            path: path.to_path_buf(),
            mode,
            immutable: false,
        };
        if made.holds() {
            return Some(made);
        }
        // root: permissions do not apply, the immutable attribute does
        let chattr = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status();
        made.immutable = chattr.is_ok_and(|s| s.success());
        if made.immutable && made.holds() {
            return Some(made);
        }
        eprintln!(
            "\n!!! NOT TESTED: cannot make {} unwritable here (running as root on a file system \
             without chattr +i?); the read-only case went untested !!!\n",
            path.display()
        );
        None
    }

    /// Whether writing really fails now.
    fn holds(&self) -> bool {
        if self.path.is_dir() {
            let probe = self.path.join("probe");
            let created = std::fs::write(&probe, b"").is_ok();
            let _ = std::fs::remove_file(&probe);
            !created
        } else {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&self.path)
                .is_err()
        }
    }
}

#[cfg(unix)]
impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.path)
                .status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(self.mode));
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_mirrors_and_directories_are_named_with_the_cause() {
    let emu = emulator(25, OrgSize::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mirrors")).unwrap();
    let env = [("OKTASYNC_API_TOKEN", emu.token())];
    let org = emu.base_url();
    let sync = |db: &'static str| {
        let org = org.clone();
        let path = dir.path().to_path_buf();
        async move { oktasync(&path, &["sync", "--org-url", &org, "--db", db], &env).await }
    };
    sync("mirrors/m.db").await.expect_ok();
    let before = std::fs::read(dir.path().join("mirrors/m.db")).unwrap();

    // a read-only mirror: sync and doctor name the file and the cause
    if let Some(_ro) = Unwritable::make(&dir.path().join("mirrors/m.db")) {
        let out = sync("mirrors/m.db").await;
        assert_eq!(out.code, Some(6), "{out:#?}");
        assert!(
            out.stderr.contains("cannot write the mirror mirrors/m.db")
                && out.stderr.contains("permission denied"),
            "{out:#?}"
        );
        let doctor = oktasync(
            dir.path(),
            &[
                "doctor",
                "--org-url",
                &org,
                "--db",
                "mirrors/m.db",
                "--json",
            ],
            &env,
        )
        .await;
        failed_with(
            &doctor,
            "database writable",
            &["mirrors/m.db", "permission denied"],
        );
    }
    assert_eq!(
        std::fs::read(dir.path().join("mirrors/m.db")).unwrap(),
        before,
        "the mirror was changed"
    );

    // a read-only directory: a new mirror cannot be created there, an old one not written
    if let Some(_ro) = Unwritable::make(&dir.path().join("mirrors")) {
        for db in ["mirrors/new.db", "mirrors/m.db"] {
            let out = sync(db).await;
            assert_eq!(out.code, Some(6), "{out:#?}");
            assert!(
                out.stderr.contains(&format!(
                    "cannot write in mirrors, the directory of the mirror {db}"
                )) && out.stderr.contains("permission denied"),
                "{out:#?}"
            );
        }
        assert!(!dir.path().join("mirrors/new.db").exists());
    }

    // a directory named as the mirror, and a path below a file
    let out = sync("mirrors").await;
    assert_eq!(out.code, Some(6), "{out:#?}");
    assert!(out.stderr.contains("it is a directory"), "{out:#?}");
    let out = sync("mirrors/m.db/x.db").await;
    assert_eq!(out.code, Some(6), "{out:#?}");
    assert!(
        out.stderr.contains("mirrors/m.db is not a directory"),
        "{out:#?}"
    );
}

/// A full disk, made with a tiny tmpfs in a mount namespace of the sync's own (root only: said
/// loudly and skipped where that cannot be done).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_named_with_the_mirror_path() {
    let emu = emulator(26, OrgSize::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let out = tokio::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=96k tmpfs \"$1\" && echo MOUNTED >&2 && \
             exec \"$2\" sync --org-url \"$3\" --db \"$1/m.db\"",
            "sh",
        ])
        .arg(&disk)
        .arg(env!("CARGO_BIN_EXE_oktasync"))
        .arg(emu.base_url())
        .current_dir(dir.path())
        .env("OKTASYNC_API_TOKEN", emu.token())
        .env("HOME", dir.path())
        .output()
        .await;
    let out = match out {
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("MOUNTED") => out,
        other => {
            eprintln!(
                "\n!!! NOT TESTED: no tiny file system could be mounted here (needs root and \
                 unshare): {other:?}; the full-disk case went untested !!!\n"
            );
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(&format!("{}/m.db", disk.display())) && stderr.contains("full"),
        "{stderr}"
    );
}
