//! `oktasync posture` on a synced emulator org: every check runs on the mirror alone, the
//! findings are kept (a second run finds nothing new), `--min-severity`, `--list`, SARIF, and
//! `[posture]` settings.

use crate::Synced;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posture_runs_on_the_mirror_keeps_findings_and_speaks_sarif() {
    let s = Synced::tiny(44).await;
    let first = s.ask(&["posture", "--format", "json"]).await;
    first.expect_ok();
    let report = first.json();
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.len() >= 30, "{}", checks.len());
    for c in checks {
        assert!(
            ["pass", "fail", "not_applicable"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["sources"].as_array().unwrap().is_empty(), "{}", c["id"]);
        assert!(!c["remediation"].as_str().unwrap().is_empty());
    }
    let failing: Vec<&serde_json::Value> =
        checks.iter().filter(|c| c["status"] == "fail").collect();
    assert!(!failing.is_empty(), "a generated org has something to fix");
    assert!(failing.iter().all(|c| {
        c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["new"] == true)
    }));
    assert!(first.stderr.contains("checks in"), "{}", first.stderr);
    // The emulator configures every org unsafely on purpose (its generate/posture.rs lists
    // each setting): the sync mirrors the configuration, and each such check fails on it.
    let status = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no check {id}"))
    };
    for id in [
        "okta.policies.weak_password",
        "okta.policies.password_age",
        "okta.policies.account_lockout",
        "okta.policies.weak_session",
        "okta.admin_console.single_factor",
        "okta.admin_console.not_phishing_resistant",
        "okta.threat_insight.not_blocking",
        "okta.zones.no_anonymizer_block",
        "okta.log.not_streamed",
        "okta.api_tokens.usable_anywhere",
        "okta.api_tokens.owned_by_super_admin",
        "okta.apps.admin_scopes_granted",
        "okta.authenticators.weak_enabled",
        "okta.authenticators.okta_verify_not_fips",
    ] {
        assert_eq!(status(id)["status"], "fail", "{id}: {}", status(id));
    }
    let subjects = |id: &str| -> Vec<String> {
        status(id)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["subject"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        subjects("okta.apps.admin_scopes_granted"),
        ["Provisioning Automation"]
    );
    assert!(
        subjects("okta.api_tokens.usable_anywhere")
            .iter()
            .any(|t| t.starts_with("Terraform Cloud (00T")),
        "{:?}",
        subjects("okta.api_tokens.usable_anywhere")
    );

    // The second run: the same findings, none new.
    let second = s.ask(&["posture", "--format", "json"]).await;
    second.expect_ok();
    let again = second.json();
    let new: usize = again["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .filter(|f| f["new"] == true)
        .count();
    assert_eq!(new, 0, "{}", second.stderr);
    assert!(second.stderr.contains(" 0 new"), "{}", second.stderr);

    let high = s
        .ask(&["posture", "--min-severity", "high", "--format", "json"])
        .await;
    assert!(
        high.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| ["high", "critical"].contains(&c["severity"].as_str().unwrap()))
    );
    let table = s.ask(&["posture"]).await;
    table.expect_ok();
    assert!(table.stdout.contains("FAIL"), "{}", table.stdout);

    let sarif = s.ask(&["posture", "--format", "sarif"]).await;
    sarif.expect_ok();
    let doc = sarif.json();
    assert_eq!(doc["version"], "2.1.0");
    let findings: usize = failing
        .iter()
        .map(|c| c["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        doc["runs"][0]["results"].as_array().unwrap().len(),
        findings
    );

    let list = s.ask(&["posture", "--list", "--format", "json"]).await;
    list.expect_ok();
    assert!(
        list.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["sql"].as_str().unwrap().contains("$1"))
    );

    // Settings: a check turned off, a threshold changed; an unknown check is refused.
    std::fs::write(
        s.dir.path().join("oktasync.toml"),
        "[posture]\ndisabled = [\"okta.groups.orphaned\"]\n\n[posture.params.\"okta.users.inactive\"]\ninactive_days = 35\n",
    )
    .unwrap();
    let tuned = s.ask(&["posture", "--format", "json"]).await;
    tuned.expect_ok();
    let tuned = tuned.json();
    let ids: Vec<&str> = tuned["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"okta.groups.orphaned"));
    let inactive = tuned["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "okta.users.inactive")
        .unwrap();
    assert_eq!(inactive["params"]["inactive_days"], 35.0);
    std::fs::write(
        s.dir.path().join("oktasync.toml"),
        "[posture]\ndisabled = [\"okta.nope\"]\n",
    )
    .unwrap();
    let bad = s.ask(&["posture"]).await;
    assert_eq!(bad.code, Some(2), "{bad:#?}");
    assert!(bad.stderr.contains("okta.nope"), "{}", bad.stderr);
}
