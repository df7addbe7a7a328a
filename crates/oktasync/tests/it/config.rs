//! Settings layers through the real binary (defaults → file → env → flags), and `init`.

use crate::oktasync;
use serde_json::Value;

/// The detail of a `doctor --json` check.
fn detail(out: &crate::Out, name: &str) -> String {
    let report: Value = out.json();
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report:#}"))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_beat_env_beat_the_file_beat_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("oktasync.toml"),
        "org_url = \"http://127.0.0.1:1\"\ndb = \"from-file.db\"\napi_token = \"file-token\"\n",
    )
    .unwrap();
    let file_only = oktasync(dir.path(), &["doctor", "--json"], &[]).await;
    assert!(detail(&file_only, "org URL").starts_with("http://127.0.0.1:1 (from org_url in "));
    assert!(detail(&file_only, "database").contains("from-file.db"));
    assert!(detail(&file_only, "config").contains("oktasync.toml"));

    let env = [
        ("OKTASYNC_ORG_URL", "http://127.0.0.1:2"),
        ("OKTASYNC_DB", "from-env.db"),
    ];
    let with_env = oktasync(dir.path(), &["doctor", "--json"], &env).await;
    assert_eq!(
        detail(&with_env, "org URL"),
        "http://127.0.0.1:2 (from OKTASYNC_ORG_URL in the environment)"
    );
    assert!(detail(&with_env, "database").contains("from-env.db"));

    let with_flag = oktasync(
        dir.path(),
        &[
            "doctor",
            "--json",
            "--org-url",
            "http://127.0.0.1:3",
            "--db",
            "from-flag.db",
        ],
        &env,
    )
    .await;
    assert_eq!(
        detail(&with_flag, "org URL"),
        "http://127.0.0.1:3 (from --org-url on the command line)"
    );
    assert!(detail(&with_flag, "database").contains("from-flag.db"));

    // No file, no env, no flag: the default database path.
    let empty = tempfile::tempdir().unwrap();
    let defaults = oktasync(empty.path(), &["doctor", "--json"], &[]).await;
    assert!(detail(&defaults, "database").contains("./oktasync.db"));
    assert!(
        !empty.path().join("oktasync.db").exists(),
        "doctor must not create the mirror"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_config_file_must_exist_and_typos_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(dir.path(), &["doctor", "--config", "nope.toml"], &[]).await;
    out.expect_failure();
    assert!(
        out.stderr.contains("oktasync init --config nope.toml"),
        "{}",
        out.stderr
    );

    std::fs::write(
        dir.path().join("o.toml"),
        "org_ulr = \"https://acme.okta.com\"\n",
    )
    .unwrap();
    let out = oktasync(dir.path(), &["doctor", "--config", "o.toml", "--json"], &[]).await;
    out.expect_failure();
    assert!(
        out.stderr.contains("unknown setting org_ulr"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_a_commented_file_that_parses_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    oktasync(dir.path(), &["init"], &[]).await.expect_ok();
    let text = std::fs::read_to_string(dir.path().join("oktasync.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&text).expect("init writes valid TOML");
    assert_eq!(parsed["db"].as_str(), Some("./oktasync.db"));
    assert!(text.contains("# api_token_file"), "{text}");
    assert!(text.contains("# api_token_keyring"), "{text}");
    assert!(text.contains("# oauth_client_secret_file"), "{text}");
    assert!(text.contains("# ca_file"), "{text}");
    assert!(!text.contains("keyring is not supported"), "{text}");

    let again = oktasync(dir.path(), &["init"], &[]).await;
    again.expect_failure();
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    oktasync(dir.path(), &["init", "--force"], &[])
        .await
        .expect_ok();

    oktasync(dir.path(), &["init", "--config", "other.toml"], &[])
        .await
        .expect_ok();
    assert!(dir.path().join("other.toml").exists());

    // The binary reads the written file without complaint (the org URL is overridden so
    // that nothing leaves this machine).
    let out = oktasync(
        dir.path(),
        &["doctor", "--json", "--db", "x.db"],
        &[
            ("OKTASYNC_API_TOKEN", "t"),
            ("OKTASYNC_ORG_URL", "http://127.0.0.1:1"),
        ],
    )
    .await;
    assert!(detail(&out, "config").contains("oktasync.toml"));
    let report = out.json();
    let config_failures = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "config" && c["ok"] == false)
        .count();
    assert_eq!(config_failures, 0, "{report:#}");
}

/// An environment variable that is not UTF-8 (anyone's environment may hold one) is no
/// setting, and no reason to panic.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_that_is_not_utf8_is_ignored() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .current_dir(dir.path())
        .args(["doctor", "--json", "--org-url", "http://127.0.0.1:1"])
        .env("HOME", dir.path())
        .env("NOT_UTF8", std::ffi::OsStr::from_bytes(b"\xff\xfe"))
        .env("OKTASYNC_NOT_UTF8", std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a doctor report");
    assert_eq!(report["checks"][0]["check"], "org URL", "{report:#}");
}
