//! The part of Sigma that Okta rules use, evaluated on raw System Log events.
//!
//! Selections are maps (every field must match) or lists of maps (any map); a field's list of
//! values matches when any value does (`|all`: every one). Modifiers: `contains`, `startswith`,
//! `endswith`, `re`, `all`, `cased`. Plain values take `*` and `?` wildcards and compare without
//! case; booleans and numbers compare as their text (`isProxy: 'true'` matches `true`); `null`
//! matches a missing or null field. A field path goes through arrays, any element matching
//! (`target.displayName`). Conditions: selection names, `and`, `or`, `not`, parentheses,
//! `1 of sel*`, `all of sel*`, `1 of them`, `all of them`. Aggregations (`| count()`),
//! correlations and the other modifiers are refused with a message naming them.

use regex::Regex;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use yaml_serde::Value as Yaml;

/// A compiled `detection` block.
#[derive(Debug, Clone)]
pub struct Detection {
    selections: BTreeMap<String, Selection>,
    condition: Cond,
}

#[derive(Debug, Clone)]
enum Selection {
    /// Every field matches.
    All(Vec<FieldMatch>),
    /// Any of the maps matches.
    Any(Vec<Vec<FieldMatch>>),
}

#[derive(Debug, Clone)]
struct FieldMatch {
    path: Vec<String>,
    all: bool,
    values: Vec<Pattern>,
}

#[derive(Debug, Clone)]
enum Pattern {
    Text(Regex),
    Null,
}

#[derive(Debug, Clone)]
enum Cond {
    Name(String),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    OneOf(Vec<String>),
    AllOf(Vec<String>),
}

impl Detection {
    /// Compiles a Sigma `detection` mapping.
    pub fn compile(detection: &Yaml) -> Result<Detection, String> {
        let Yaml::Mapping(map) = detection else {
            return Err("`detection` must be a mapping of selections and a condition".into());
        };
        let mut selections = BTreeMap::new();
        let mut condition = None;
        for (name, body) in map {
            let name = name
                .as_str()
                .ok_or("selection names must be strings")?
                .to_string();
            if name == "condition" {
                let text = match body {
                    Yaml::String(s) => s.clone(),
                    Yaml::Sequence(list) if list.len() == 1 => list[0]
                        .as_str()
                        .ok_or("`condition` must be a string")?
                        .to_string(),
                    _ => return Err("`condition` must be one string".into()),
                };
                condition = Some(text);
            } else if name == "timeframe" {
                return Err("`timeframe` (aggregations over time) is not supported".into());
            } else {
                selections.insert(name.clone(), selection(&name, body)?);
            }
        }
        let condition = condition.ok_or("`detection` has no `condition`")?;
        let names: Vec<String> = selections.keys().cloned().collect();
        let condition = parse_condition(&condition, &names)?;
        Ok(Detection {
            selections,
            condition,
        })
    }

    pub fn matches(&self, event: &Json) -> bool {
        self.eval(&self.condition, event)
    }

    fn eval(&self, cond: &Cond, event: &Json) -> bool {
        match cond {
            Cond::Name(n) => self.selections.get(n).is_some_and(|s| s.matches(event)),
            Cond::Not(c) => !self.eval(c, event),
            Cond::And(a, b) => self.eval(a, event) && self.eval(b, event),
            Cond::Or(a, b) => self.eval(a, event) || self.eval(b, event),
            Cond::OneOf(names) => names
                .iter()
                .any(|n| self.selections.get(n).is_some_and(|s| s.matches(event))),
            Cond::AllOf(names) => names
                .iter()
                .all(|n| self.selections.get(n).is_some_and(|s| s.matches(event))),
        }
    }
}

impl Selection {
    fn matches(&self, event: &Json) -> bool {
        match self {
            Selection::All(fields) => fields.iter().all(|f| f.matches(event)),
            Selection::Any(maps) => maps.iter().any(|m| m.iter().all(|f| f.matches(event))),
        }
    }
}

impl FieldMatch {
    fn matches(&self, event: &Json) -> bool {
        let mut found = Vec::new();
        collect(event, &self.path, &mut found);
        let test = |p: &Pattern| match p {
            Pattern::Null => found.iter().all(|v| v.is_null()),
            Pattern::Text(re) => found.iter().any(|v| match text(v) {
                Some(t) => re.is_match(&t),
                None => false,
            }),
        };
        if self.all {
            self.values.iter().all(test)
        } else {
            self.values.iter().any(test)
        }
    }
}

/// Every value at `path` (arrays fan out; keys compare without case, as Sigma's Okta rules
/// spell `eventtype` for `eventType`).
fn collect<'a>(value: &'a Json, path: &[String], out: &mut Vec<&'a Json>) {
    let Some((key, rest)) = path.split_first() else {
        match value {
            Json::Array(items) => out.extend(items.iter()),
            v => out.push(v),
        }
        return;
    };
    match value {
        Json::Object(map) => {
            let next = map.get(key.as_str()).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            });
            if let Some(next) = next {
                collect(next, rest, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                collect(item, path, out);
            }
        }
        _ => {}
    }
}

fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn selection(name: &str, body: &Yaml) -> Result<Selection, String> {
    match body {
        Yaml::Mapping(_) => Ok(Selection::All(fields(name, body)?)),
        Yaml::Sequence(items) if items.iter().all(|i| matches!(i, Yaml::Mapping(_))) => {
            Ok(Selection::Any(
                items
                    .iter()
                    .map(|i| fields(name, i))
                    .collect::<Result<_, _>>()?,
            ))
        }
        _ => Err(format!(
            "selection '{name}': keyword lists (values without a field) are not supported; \
             name the field"
        )),
    }
}

fn fields(name: &str, map: &Yaml) -> Result<Vec<FieldMatch>, String> {
    let Yaml::Mapping(map) = map else {
        return Err(format!("selection '{name}' must be a mapping"));
    };
    let mut out = Vec::new();
    for (key, value) in map {
        let key = key
            .as_str()
            .ok_or_else(|| format!("selection '{name}': field names must be strings"))?;
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default();
        if field.is_empty() {
            return Err(format!("selection '{name}': a field name is empty"));
        }
        let (mut kind, mut all, mut cased) = (Kind::Equals, false, false);
        for modifier in parts {
            match modifier {
                "contains" => kind = Kind::Contains,
                "startswith" => kind = Kind::StartsWith,
                "endswith" => kind = Kind::EndsWith,
                "re" => kind = Kind::Re,
                "all" => all = true,
                "cased" => cased = true,
                other => {
                    return Err(format!(
                        "selection '{name}', field '{field}': the modifier '{other}' is not \
                         supported (contains, startswith, endswith, re, all, cased are)"
                    ));
                }
            }
        }
        let values = match value {
            Yaml::Sequence(items) => items.iter().collect::<Vec<_>>(),
            v => vec![v],
        };
        let values = values
            .into_iter()
            .map(|v| pattern(v, kind, cased))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("selection '{name}', field '{field}': {e}"))?;
        out.push(FieldMatch {
            path: field.split('.').map(str::to_string).collect(),
            all,
            values,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    Re,
}

fn pattern(value: &Yaml, kind: Kind, cased: bool) -> Result<Pattern, String> {
    let text = match value {
        Yaml::Null => return Ok(Pattern::Null),
        Yaml::String(s) => s.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        _ => return Err("values must be strings, numbers, booleans or null".into()),
    };
    let flags = if cased { "" } else { "(?i)" };
    let source = match kind {
        Kind::Re => text,
        Kind::Equals => format!("{flags}^{}$", wildcard(&text)),
        Kind::Contains => format!("{flags}{}", wildcard(&text)),
        Kind::StartsWith => format!("{flags}^{}", wildcard(&text)),
        Kind::EndsWith => format!("{flags}{}$", wildcard(&text)),
    };
    Regex::new(&source)
        .map(Pattern::Text)
        .map_err(|e| format!("bad pattern: {e}"))
}

/// A Sigma value as a regex: `*` any run, `?` one character, `\*` a literal star.
fn wildcard(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match chars.next() {
                Some(n) => out.push_str(&regex::escape(&n.to_string())),
                None => out.push_str(&regex::escape("\\")),
            },
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

fn parse_condition(src: &str, names: &[String]) -> Result<Cond, String> {
    if src.contains('|') {
        return Err(format!(
            "condition '{src}': aggregations (`| count() ...`) are not supported"
        ));
    }
    let tokens: Vec<String> = src
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut p = CondParser {
        tokens,
        pos: 0,
        names,
    };
    let cond = p.or()?;
    if p.pos != p.tokens.len() {
        return Err(format!(
            "condition '{src}': unexpected '{}'",
            p.tokens[p.pos]
        ));
    }
    Ok(cond)
}

struct CondParser<'a> {
    tokens: Vec<String>,
    pos: usize,
    names: &'a [String],
}

impl CondParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn is(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut left = self.and()?;
        while self.is("or") {
            self.pos += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut left = self.unary()?;
        while self.is("and") {
            self.pos += 1;
            left = Cond::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Cond, String> {
        if self.is("not") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        let Some(token) = self.peek().map(str::to_string) else {
            return Err("the condition ends too early".into());
        };
        self.pos += 1;
        if token == "(" {
            let inner = self.or()?;
            if self.peek() != Some(")") {
                return Err("a '(' in the condition is not closed".into());
            }
            self.pos += 1;
            return Ok(inner);
        }
        if token == "1" || token.eq_ignore_ascii_case("all") || token.eq_ignore_ascii_case("any") {
            if !self.is("of") {
                return Err(format!("expected 'of' after '{token}'"));
            }
            self.pos += 1;
            let target = self
                .peek()
                .ok_or("expected selections after 'of'")?
                .to_string();
            self.pos += 1;
            let matched = self.expand(&target)?;
            return Ok(if token.eq_ignore_ascii_case("all") {
                Cond::AllOf(matched)
            } else {
                Cond::OneOf(matched)
            });
        }
        if self.names.contains(&token) {
            Ok(Cond::Name(token))
        } else {
            Err(format!(
                "the condition names '{token}', which is not a selection"
            ))
        }
    }

    /// `them`, or a name pattern with `*`.
    fn expand(&self, target: &str) -> Result<Vec<String>, String> {
        let matched: Vec<String> = if target == "them" {
            self.names
                .iter()
                .filter(|n| !n.starts_with('_'))
                .cloned()
                .collect()
        } else {
            let re = Regex::new(&format!("^{}$", wildcard(target)))
                .map_err(|e| format!("bad selection pattern '{target}': {e}"))?;
            self.names
                .iter()
                .filter(|n| re.is_match(n))
                .cloned()
                .collect()
        };
        if matched.is_empty() {
            return Err(format!("'{target}' matches no selection"));
        }
        Ok(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detection(src: &str) -> Result<Detection, String> {
        let yaml: Yaml = yaml_serde::from_str(src).map_err(|e| e.to_string())?;
        Detection::compile(&yaml)
    }

    #[test]
    fn selections_modifiers_and_conditions() {
        let d = detection(
            r#"
selection_event:
  eventType: policy.evaluate_sign_on
  target.displayName: Okta Admin Console
selection_positive:
  - debugContext.debugData.behaviors|contains: New Device=POSITIVE
  - debugContext.debugData.logOnlySecurityData|contains: '"New Device":"POSITIVE"'
filter:
  actor.alternateId|endswith: '@okta.com'
condition: all of selection_* and not filter
"#,
        )
        .unwrap();
        let hit = json!({
            "eventType": "policy.evaluate_sign_on",
            "actor": {"alternateId": "ana@example.com"},
            "target": [{"displayName": "Okta Dashboard"}, {"displayName": "okta admin console"}],
            "debugContext": {"debugData": {"behaviors": "{New Device=POSITIVE, New IP=NEGATIVE}"}}
        });
        assert!(d.matches(&hit));
        let mut from_okta = hit.clone();
        from_okta["actor"]["alternateId"] = json!("system@okta.com");
        assert!(!d.matches(&from_okta));
        let mut no_behaviour = hit.clone();
        no_behaviour["debugContext"]["debugData"]["behaviors"] = json!("{New Device=NEGATIVE}");
        assert!(!d.matches(&no_behaviour));
    }

    #[test]
    fn booleans_wildcards_nulls_lists_and_lowercase_field_names() {
        let d = detection(
            "sel:\n  eventtype: [user.session.start, 'user.authentication.*']\n  securityContext.isProxy: 'true'\n  client.zone: null\ncondition: sel\n",
        )
        .unwrap();
        assert!(d.matches(&json!({
            "eventType": "user.authentication.sso",
            "securityContext": {"isProxy": true}
        })));
        assert!(!d.matches(&json!({
            "eventType": "user.session.start",
            "securityContext": {"isProxy": false}
        })));
        assert!(!d.matches(&json!({
            "eventType": "user.session.start",
            "securityContext": {"isProxy": "true"},
            "client": {"zone": "office"}
        })));
    }

    #[test]
    fn what_is_not_supported_says_so() {
        for (src, says) in [
            ("sel:\n  a|expand: x\ncondition: sel\n", "modifier 'expand'"),
            (
                "sel:\n  a: x\ncondition: sel | count() > 5\n",
                "aggregations",
            ),
            ("sel:\n  - foo\n  - bar\ncondition: sel\n", "keyword lists"),
            ("sel:\n  a: x\ncondition: other\n", "not a selection"),
            ("sel:\n  a: x\n", "no `condition`"),
            ("sel:\n  a: x\ncondition: (sel\n", "not closed"),
            (
                "sel:\n  a: x\ncondition: 1 of nothing*\n",
                "matches no selection",
            ),
        ] {
            let err = detection(src).unwrap_err();
            assert!(err.contains(says), "{src}: {err}");
        }
    }
}
