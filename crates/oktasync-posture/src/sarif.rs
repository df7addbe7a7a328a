//! A posture run as SARIF 2.1.0 (the format code-scanning tools read): each check a rule,
//! each finding a result located at its subject.

use crate::runner::{CheckStatus, PostureReport};
use oktasync_store::Severity;
use serde_json::{Value, json};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF's level for a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The run as one SARIF log; `org` names where the findings are (the org's URL or name).
pub fn to_sarif(report: &PostureReport, org: &str) -> Value {
    let rules: Vec<Value> = report
        .checks
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.title,
                "shortDescription": {"text": c.title},
                "fullDescription": {"text": c.rationale},
                "help": {"text": c.remediation},
                "defaultConfiguration": {"level": level(c.severity)},
                "properties": {"severity": c.severity, "sources": c.sources, "params": c.params},
            })
        })
        .collect();
    let mut results = Vec::new();
    for (index, c) in report.checks.iter().enumerate() {
        if c.status != CheckStatus::Fail {
            continue;
        }
        for f in &c.findings {
            results.push(json!({
                "ruleId": c.id,
                "ruleIndex": index,
                "level": level(c.severity),
                "message": {"text": format!("{}: {}", c.title, f.subject)},
                "locations": [{"logicalLocations": [{
                    "name": f.subject,
                    "fullyQualifiedName": format!("{org}/{}", f.subject),
                    "kind": "resource",
                }]}],
                "partialFingerprints": {"subject": f.subject},
                "properties": {"evidence": f.evidence, "new": f.new},
            }));
        }
    }
    let not_applicable: Vec<Value> = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::NotApplicable)
        .map(|c| {
            json!({
                "level": "note",
                "message": {"text": format!("{} not evaluated: {}", c.id,
                    c.reason.as_deref().unwrap_or(""))},
                "descriptor": {"id": c.id},
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "oktasync",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": report.at,
                "toolConfigurationNotifications": not_applicable,
            }],
            "results": results,
        }]
    })
}
