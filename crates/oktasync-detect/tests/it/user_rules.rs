//! Rules from `rules_dir`: Sigma and Okta filter expressions load and run; a file that cannot
//! be parsed is refused with its name and the reason.

use crate::{E, detect_with, fired};
use oktasync_detect::{Context, DetectionSettings, Detector};

const SIGMA: &str = r#"
title: Okta Admin Activity From Proxy
id: 9bd1a9c5-0a6b-4b0a-9a3b-000000000001
status: test
description: An admin console request through a proxy.
author: A. Person
logsource:
  product: okta
  service: okta
detection:
  selection:
    debugContext.debugData.requestUri|contains: admin
    securityContext.isProxy: 'true'
  condition: selection
level: high
"#;

const OKTA: &str = r#"
title: New Okta API Token Created
id: f0d9c641e55c89527c263090ed2ea0c8
description: |
  Detects a new Okta API token.
author: Okta
detection:
  okta_systemlog:
    OIE: |
      eventType eq "system.api_token.create"
"#;

const FILTER: &str = r#"
title: Sign-in from the lab network
severity: low
filter: eventType eq "user.session.start" and client.ipAddress sw "10.99."
"#;

#[test]
fn sigma_and_okta_filter_rules_load_and_fire() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("admin_proxy.yml"), SIGMA).unwrap();
    std::fs::write(dir.path().join("new_token.yaml"), OKTA).unwrap();
    std::fs::write(dir.path().join("lab.yml"), FILTER).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
    let detector = Detector::from_settings(&DetectionSettings {
        rules_dir: Some(dir.path().to_path_buf()),
        ..DetectionSettings::default()
    })
    .unwrap();
    let ours: Vec<&str> = detector
        .rules()
        .iter()
        .filter(|r| r.id.starts_with("user."))
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ours, ["user.admin_proxy", "user.lab", "user.new_token"]);

    let events = vec![
        E::new(0, "policy.evaluate_sign_on", "ana")
            .debug("requestUri", "/admin/users")
            .proxy(),
        E::new(10, "system.api_token.create", "bo"),
        E::new(20, "user.session.start", "cy").from("10.99.1.5", "United States"),
        E::new(30, "user.session.start", "di").from("10.98.1.5", "United States"),
    ];
    let alerts = detect_with(&detector, events, &Context::default());
    let ids = fired(&alerts);
    for id in ["user.admin_proxy", "user.new_token", "user.lab"] {
        assert!(ids.contains(&id.to_string()), "{id}: {ids:?}");
    }
    let proxy = alerts
        .iter()
        .find(|a| a.rule_id == "user.admin_proxy")
        .unwrap();
    assert_eq!(proxy.severity, "high");
    assert_eq!(
        proxy.detail["author"], "A. Person",
        "Sigma's licence: the author shows"
    );
    let lab: Vec<_> = alerts.iter().filter(|a| a.rule_id == "user.lab").collect();
    assert_eq!(lab.len(), 1, "only the lab address");
}

#[test]
fn a_rule_that_cannot_be_parsed_is_refused_with_its_file_and_reason() {
    for (body, says) in [
        ("title: x\nfilter: eventType eq", "cannot be parsed"),
        (
            "title: x\nlogsource:\n  product: windows\ndetection:\n  s:\n    a: b\n  condition: s\n",
            "product 'windows'",
        ),
        (
            "title: x\ndetection:\n  splunk: index=okta\n",
            "only in SPL",
        ),
        ("filter: eventType eq \"a\"\n", "no `title`"),
        (
            "title: x\nlevel: urgent\nfilter: eventType eq \"a\"\n",
            "unknown severity 'urgent'",
        ),
        ("title: [unclosed\n", "not valid YAML"),
        (
            "title: x\nlogsource:\n  product: okta\ndetection:\n  s:\n    a|base64offset: b\n  condition: s\n",
            "base64offset",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.yml"), body).unwrap();
        let err = Detector::from_settings(&DetectionSettings {
            rules_dir: Some(dir.path().to_path_buf()),
            ..DetectionSettings::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("broken.yml") && err.contains(says),
            "{body}: {err}"
        );
    }
    let err = Detector::from_settings(&DetectionSettings {
        rules_dir: Some("/nonexistent/rules".into()),
        ..DetectionSettings::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/rules"), "{err}");
}
