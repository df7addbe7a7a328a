//! Rules users add without rebuilding: the `*.yml`/`*.yaml` files of `rules_dir`, each one
//! rule, in one of two shapes:
//!
//! - **Sigma** (a `logsource` with `product: okta`, and a `detection`): see [`crate::sigma`].
//! - **Okta System Log filter expressions**, as Okta's `customer-detections` write them
//!   (`detection.okta_systemlog.OIE`, or `.Classic`), or simply a top-level `filter`.
//!
//! Both take `title`, `description`, `author`, `references`, and a severity in `level` (Sigma's
//! name) or `severity`. A rule's id is `user.` and the file's stem. A file that cannot be read
//! or parsed stops the load with an error naming the file and what is wrong.

use crate::error::{DetectError, Result};
use crate::rule::{Key, Logic, Matcher, Params, Rule};
use crate::sigma::Detection;
use oktasync_store::Severity;
use std::path::Path;
use yaml_serde::Value as Yaml;

/// Alerts of a user rule about one actor within this many minutes are one alert.
const USER_RULE_DEDUP_MINUTES: f64 = 60.0;

/// The rules of a folder, in file name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>> {
    let entries = std::fs::read_dir(dir).map_err(|source| DetectError::RulesDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                })
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

/// One rule file.
pub fn load_file(path: &Path) -> Result<Rule> {
    let fail = |message: String| DetectError::RuleFile {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let doc: Yaml =
        yaml_serde::from_str(&text).map_err(|e| fail(format!("not valid YAML: {e}")))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("rule")
        .to_string();
    parse_rule(&stem, &doc).map_err(fail)
}

/// A rule from its YAML; `stem` names it.
pub fn parse_rule(stem: &str, doc: &Yaml) -> std::result::Result<Rule, String> {
    if !matches!(doc, Yaml::Mapping(_)) {
        return Err("a rule file holds one mapping (title, detection, ...)".into());
    }
    let text = |key: &str| doc.get(key).and_then(Yaml::as_str).map(str::to_string);
    let title = text("title").ok_or("the rule has no `title`")?;
    let severity = match text("level").or_else(|| text("severity")) {
        Some(s) => s.parse::<Severity>().map_err(|e| e.to_string())?,
        None => Severity::Medium,
    };
    let mut sources = Vec::new();
    if let Some(id) = text("id") {
        sources.push(format!("{stem} (id {id})"));
    }
    if let Some(Yaml::Sequence(refs)) = doc.get("references") {
        sources.extend(refs.iter().filter_map(Yaml::as_str).map(str::to_string));
    }
    let matcher = if let Some(logsource) = doc.get("logsource") {
        let product = logsource.get("product").and_then(Yaml::as_str);
        if !product.is_some_and(|p| p.eq_ignore_ascii_case("okta")) {
            return Err(format!(
                "a Sigma rule for product '{}': only `product: okta` rules run on the System Log; \
                 move it out of rules_dir",
                product.unwrap_or("(none)")
            ));
        }
        let detection = doc
            .get("detection")
            .ok_or("the Sigma rule has no `detection`")?;
        Matcher::Sigma(Detection::compile(detection)?)
    } else {
        let expression = text("filter")
            .or_else(|| {
                let okta = doc.get("detection")?.get("okta_systemlog")?;
                okta.get("OIE")
                    .or_else(|| okta.get("Classic"))
                    .and_then(Yaml::as_str)
                    .map(str::to_string)
            })
            .ok_or(
                "no rule found: expected a Sigma rule (`logsource`, `detection`), a `filter` \
                 expression, or `detection.okta_systemlog.OIE` (rules given only in SPL cannot run)",
            )?;
        Matcher::filter(expression.trim())
            .map_err(|e| format!("the filter expression cannot be parsed: {e}"))?
    };
    Ok(Rule {
        id: format!("user.{stem}"),
        title,
        severity,
        description: text("description").unwrap_or_default().trim().to_string(),
        sources,
        author: text("author"),
        logic: Logic::Event {
            matcher,
            entity: Key::Actor,
        },
        params: Params::new(&[("dedup_minutes", USER_RULE_DEDUP_MINUTES)]),
    })
}
