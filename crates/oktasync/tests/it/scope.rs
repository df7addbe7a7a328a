//! `[scope]`, `OKTASYNC_SCOPE_*` and `--scope-*`: a scoped sync mirrors the groups the scope
//! names and their members only; a higher layer wins; a changed scope is read in full and
//! said so; a scope that cannot be understood is a configuration error naming the setting.

use crate::{emulator, oktasync};
use okta_emulator::OrgSize;
use serde_json::Value;
use std::collections::BTreeSet;

fn names(export: &Value) -> BTreeSet<String> {
    export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["profile"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scope_comes_from_the_file_the_environment_and_flags_and_a_change_is_read_in_full() {
    let emu = emulator(81, OrgSize::Small).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, emu.token()).unwrap();
    std::fs::write(
        dir.path().join("oktasync.toml"),
        format!(
            "org_url = \"{}\"\ndb = \"m.db\"\n\n[scope]\ngroups = [\"re:(?i)approvers\"]\n\
             users = 'status eq \"ACTIVE\"'\n",
            emu.base_url()
        ),
    )
    .unwrap();
    let token = [("OKTASYNC_API_TOKEN_FILE", token_file.to_str().unwrap())];
    let whole = emu.export();
    let export = || async { oktasync(dir.path(), &["export", "--format", "json"], &[]).await };

    let first = oktasync(dir.path(), &["sync", "--json"], &token).await;
    first.expect_ok();
    let mirrored = export().await.expect_ok().json();
    let expected: BTreeSet<String> = names(&whole)
        .into_iter()
        .filter(|n| n.to_lowercase().contains("approvers"))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(names(&mirrored), expected);
    let users = mirrored["users"].as_array().unwrap();
    assert!(!users.is_empty());
    assert!(users.iter().all(|u| u["status"] == "ACTIVE"));
    assert!(users.len() < whole["users"].as_array().unwrap().len());

    // The environment beats the file: a new scope, read in full and reported as such.
    let env = [token[0], ("OKTASYNC_SCOPE_GROUPS", "Everyone")];
    let changed = oktasync(dir.path(), &["sync", "--json"], &env).await;
    changed.expect_ok();
    let summary = changed.json();
    assert_eq!(summary["kind"], "full", "{summary}");
    let reason = summary["fallback"].as_str().unwrap_or_default();
    assert!(
        reason.contains("scope changed") && reason.contains("Everyone"),
        "{summary}"
    );
    assert_eq!(
        names(&export().await.json()),
        BTreeSet::from(["Everyone".to_owned()])
    );

    // A flag beats the environment; the same scope again is incremental.
    let flagged = ["sync", "--json", "--scope-groups", "re:(?i)approvers"];
    oktasync(dir.path(), &flagged, &env).await.expect_ok();
    assert_eq!(names(&export().await.json()), expected);
    let again = oktasync(dir.path(), &flagged, &env).await;
    assert_eq!(again.expect_ok().json()["kind"], "incremental");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_that_cannot_be_understood_is_a_configuration_error_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "users = 'department = Eng'",
            "[scope] users",
            "profile.department eq",
        ),
        (
            "groups = [\"re:team-(\"]",
            "[scope] groups",
            "not a regular expression",
        ),
        ("apps = [\"0oa1\"]", "apps", "scope"),
    ];
    for (line, names, says) in cases {
        std::fs::write(
            dir.path().join("oktasync.toml"),
            format!("org_url = \"http://127.0.0.1:1\"\napi_token = \"x\"\n[scope]\n{line}\n"),
        )
        .unwrap();
        let out = oktasync(dir.path(), &["sync"], &[]).await;
        assert_eq!(out.code, Some(2), "{line}: {out:?}");
        assert!(
            out.stderr.contains(names) && out.stderr.contains(says),
            "{line}: {}",
            out.stderr
        );
    }
    std::fs::remove_file(dir.path().join("oktasync.toml")).unwrap();
    let out = oktasync(
        dir.path(),
        &[
            "sync",
            "--org-url",
            "http://127.0.0.1:1",
            "--scope-users",
            "title eq Director",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("[scope] users"), "{}", out.stderr);
}
