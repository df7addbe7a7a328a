//! The built-in rules. Each names the public rule sets its logic follows (repository, then
//! file); the logic is ours, rewritten, as the sets' licences require (posture.md §2.1).

mod single;
mod windowed;

use crate::rule::Rule;

pub(crate) use single::needs_logins;

pub(crate) const SIGMA: &str = "SigmaHQ/sigma";
pub(crate) const PANTHER: &str = "panther-labs/panther-analysis";
pub(crate) const ELASTIC: &str = "elastic/detection-rules";
pub(crate) const OKTA: &str = "okta/customer-detections";
pub(crate) const CHRONICLE: &str = "chronicle/detection-rules";
pub(crate) const SENTINEL: &str = "Azure/Azure-Sentinel";
pub(crate) const SPLUNK: &str = "splunk/security_content";

/// Every built-in rule: single-event ones, then windowed ones.
pub fn builtin() -> Vec<Rule> {
    let mut rules = single::rules();
    rules.extend(windowed::rules());
    rules
}
