//! One `[[targets]]` entry of the configuration, as typed values, and its validation.
//!
//! Deserializing checks the shape (unknown keys, types, enum values, `max_deletions`);
//! [`TargetConfig::validate`] checks what depends on several fields or on parsing a value
//! further (templates, patterns, URLs), and names the target and the field in every error.

use crate::mapping::{AttributePath, Template};
use oktasync_store::GroupPattern;
use regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One push target: where users go, which users, and how they are shaped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The target's name; keys its push state.
    pub name: String,
    pub kind: TargetKind,
    /// Okta groups whose members this target receives: names, globs (`Eng*`), `re:` regular
    /// expressions or ids, as roles and the sync scope name them.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Roles (`[[roles]]` names) whose holders this target receives.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Okta group (name or id) → the target groups (displayNames) its members join.
    #[serde(default)]
    pub group_map: BTreeMap<String, Vec<String>>,
    /// `scim`: the service provider's base URL (the one `/Users` is under); `webhook`: where
    /// the batches are posted.
    pub url: Option<String>,
    /// `scim` only.
    pub bearer_token: Option<SecretString>,
    /// A file holding the bearer token (surrounding whitespace is ignored).
    pub bearer_token_file: Option<PathBuf>,
    /// `webhook` only: the Standard Webhooks signing secret (`whsec_` and base64, or any text),
    /// as serve's `[[webhooks]]` take it.
    pub secret: Option<SecretString>,
    /// A file holding the signing secret.
    pub secret_file: Option<PathBuf>,
    /// SCIM attribute path → template over the Okta user; merged over the defaults
    /// ([`crate::mapping::DEFAULT_ATTRIBUTES`]). An empty template drops a default.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// A Rhai script run per user after mapping ([`crate::hook`]).
    pub hook: Option<PathBuf>,
    /// Most deactivations and deletions together one run may make; absent: no limit.
    pub max_deletions: Option<MaxDeletions>,
    #[serde(default)]
    pub target_only_users: TargetOnlyPolicy,
    /// Users never created, changed or removed: `re:`-prefixed regexes, globs (`*`, `?`) or
    /// exact names, matched against the Okta login and the target userName.
    #[serde(default)]
    pub exclude_users: Vec<UserPattern>,
    /// What happens to a pushed user who leaves the target's scope.
    #[serde(default)]
    pub deprovision: Deprovision,
    /// Push after each `watch` or `serve` run that changed the mirror.
    #[serde(default)]
    pub push_after_sync: bool,
}

/// The kind of system a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A SCIM 2.0 service provider (RFC 7643/7644).
    Scim,
    /// A URL that receives the plan as signed JSON batches ([`crate::webhook`]).
    Webhook,
}

/// What to do with accounts in the target that are not in Okta's scope and were never pushed.
/// Only a full push sees them: an incremental push does not list the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetOnlyPolicy {
    /// Leave them alone.
    #[default]
    Preserve,
    /// Set `active=false`.
    Deactivate,
    /// Remove them from the target groups this target manages.
    RemoveGroups,
    /// `DELETE` them.
    Delete,
    /// List them in a JSON file whose path the caller gives ([`crate::PushOptions`]).
    WriteFile,
}

/// How a pushed user who left the scope is removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deprovision {
    /// `PATCH active=false`, as Okta's and Entra's provisioning do: reversible.
    #[default]
    Deactivate,
    /// `DELETE /Users/{id}`.
    Delete,
}

/// The most deactivations and deletions one run may make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxDeletions {
    Count(u64),
    /// A percentage (0 to 100) of the users the run starts from: the target's users in a full
    /// push, the pushed users in an incremental one; rounded down.
    Percent(f64),
}

impl MaxDeletions {
    /// The limit for a run starting from `population` users.
    pub fn limit_for(&self, population: usize) -> u64 {
        match *self {
            MaxDeletions::Count(n) => n,
            // at most 100% of a usize, so the cast back cannot overflow
            MaxDeletions::Percent(p) => ((population as f64) * p / 100.0).floor() as u64,
        }
    }
}

impl fmt::Display for MaxDeletions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxDeletions::Count(n) => write!(f, "{n}"),
            MaxDeletions::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for MaxDeletions {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "max_deletions = {s:?} is neither a count nor a percentage: write a whole number \
                 (max_deletions = 10) or a percentage in quotes (max_deletions = \"5%\")"
            )
        };
        match s.strip_suffix('%') {
            Some(number) => {
                let p: f64 = number.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&p) || !p.is_finite() {
                    return Err(format!(
                        "max_deletions = {s:?} is not between 0% and 100%: give a percentage \
                         of the users in the target, such as \"5%\""
                    ));
                }
                Ok(MaxDeletions::Percent(p))
            }
            None => s.parse().map(MaxDeletions::Count).map_err(|_| bad()),
        }
    }
}

impl<'de> Deserialize<'de> for MaxDeletions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(i64),
            Text(String),
        }
        let raw = Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "max_deletions must be a whole number (max_deletions = 10) or a percentage in \
                 quotes (max_deletions = \"5%\")",
            )
        })?;
        match raw {
            Raw::Count(n) => u64::try_from(n).map(MaxDeletions::Count).map_err(|_| {
                serde::de::Error::custom(format!(
                    "max_deletions = {n} is negative: give 0 or more (0 refuses every removal)"
                ))
            }),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// One `exclude_users` entry.
#[derive(Clone)]
pub enum UserPattern {
    Exact(String),
    /// `*` matches any run of characters, `?` one character.
    Glob(String),
    Regex(Regex),
}

impl UserPattern {
    /// Parses `re:<regex>`, a glob (has `*` or `?`) or an exact name.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(re) = s.strip_prefix("re:") {
            return Regex::new(re)
                .map(UserPattern::Regex)
                .map_err(|e| format!("{s:?} is not a valid regular expression: {e}"));
        }
        if s.contains(['*', '?']) {
            return Ok(UserPattern::Glob(s.to_owned()));
        }
        Ok(UserPattern::Exact(s.to_owned()))
    }

    /// Case-insensitive for exact names and globs, as logins and userNames are.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            UserPattern::Exact(e) => e.eq_ignore_ascii_case(name),
            UserPattern::Glob(g) => glob_matches(&g.to_lowercase(), &name.to_lowercase()),
            UserPattern::Regex(r) => r.is_match(name),
        }
    }
}

impl fmt::Debug for UserPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserPattern::Exact(s) | UserPattern::Glob(s) => write!(f, "{s:?}"),
            UserPattern::Regex(r) => write!(f, "\"re:{}\"", r.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for UserPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UserPattern::parse(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "exclude_users: {e}; write `re:` before a regex, or use `*` and `?` as a glob"
            ))
        })
    }
}

/// Glob matching over chars with backtracking to the last `*` (linear in practice).
fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A target's configuration is wrong, or its secret cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("target {target:?}: `{field}`: {problem}")]
pub struct ConfigError {
    pub target: String,
    pub field: String,
    pub problem: String,
}

impl TargetConfig {
    fn error(&self, field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            target: self.name.clone(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// Checks what deserializing cannot; returns every problem found, each naming the target
    /// and the field and saying what to do.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(self.error("name", "is empty: give the target a name"));
        }
        if self.groups.is_empty() && self.roles.is_empty() {
            errors.push(self.error(
                "groups",
                "the target receives nobody: list the Okta groups (groups = [\"Engineering\"]) \
                 or roles (roles = [\"admin\"]) whose members it receives",
            ));
        }
        for pattern in &self.groups {
            if let Err(problem) = GroupPattern::parse(pattern.trim()) {
                errors.push(self.error("groups", problem));
            }
        }
        match self.url.as_deref() {
            None => errors.push(self.error(
                "url",
                match self.kind {
                    TargetKind::Scim => {
                        "is missing: give the SCIM service provider's base URL, the one /Users \
                         is under"
                    }
                    TargetKind::Webhook => "is missing: give the URL the batches are posted to",
                },
            )),
            Some(u) => match url::Url::parse(u) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                    if !parsed.username().is_empty() || parsed.password().is_some() {
                        errors.push(self.error(
                            "url",
                            "carries credentials: remove them (a SCIM target takes \
                             bearer_token_file; a webhook target is authenticated by its \
                             signature)",
                        ));
                    }
                }
                Ok(_) => errors.push(self.error("url", "must be an http:// or https:// URL")),
                Err(e) => errors.push(self.error("url", format!("is not a URL ({e})"))),
            },
        }
        match self.kind {
            TargetKind::Scim => self.validate_scim(&mut errors),
            TargetKind::Webhook => self.validate_webhook(&mut errors),
        }
        for (path, template) in &self.attributes {
            if let Err(e) = AttributePath::parse(path) {
                errors.push(self.error(format!("attributes.{path:?}"), e));
            }
            if path == "active" {
                errors.push(self.error(
                    "attributes.active",
                    "active follows the Okta status (ACTIVE, PASSWORD_EXPIRED, LOCKED_OUT and \
                     RECOVERY are active): remove it, or set it in the hook",
                ));
            }
            if let Err(e) = Template::parse(template) {
                errors.push(self.error(format!("attributes.{path:?}"), e));
            }
        }
        if let Err(e) = crate::mapping::AttributeMap::new(&self.attributes) {
            errors.push(self.error("attributes", e));
        }
        if self
            .attributes
            .get("userName")
            .is_some_and(|t| t.is_empty())
        {
            errors.push(self.error(
                "attributes.userName",
                "is empty: every SCIM user needs a userName (the default is {profile.login})",
            ));
        }
        for (group, targets) in &self.group_map {
            if targets.iter().any(|t| t.trim().is_empty()) {
                errors.push(self.error(
                    format!("group_map.{group:?}"),
                    "names an empty target group: give target group displayNames",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn validate_scim(&self, errors: &mut Vec<ConfigError>) {
        match (&self.bearer_token, &self.bearer_token_file) {
            (Some(_), Some(_)) => errors.push(self.error(
                "bearer_token",
                "and bearer_token_file are both set: keep one (bearer_token_file keeps the \
                 secret out of the config file)",
            )),
            (None, None) => errors.push(self.error(
                "bearer_token_file",
                "is missing: give the file holding the SCIM bearer token (or bearer_token, or the \
                 environment variable OKTASYNC_TARGET_<NAME>_BEARER_TOKEN)",
            )),
            (Some(t), None) if t.expose_secret().trim().is_empty() => {
                errors.push(self.error("bearer_token", "is empty"))
            }
            _ => {}
        }
        if self.secret.is_some() || self.secret_file.is_some() {
            errors.push(self.error(
                "secret",
                "is for kind = \"webhook\" targets: a SCIM target authenticates with \
                 bearer_token_file",
            ));
        }
    }

    fn validate_webhook(&self, errors: &mut Vec<ConfigError>) {
        match (&self.secret, &self.secret_file) {
            (Some(_), Some(_)) => errors.push(self.error(
                "secret",
                "and secret_file are both set: keep one (secret_file keeps the secret out of \
                 the config file)",
            )),
            (None, None) => errors.push(self.error(
                "secret_file",
                "is missing: give the file holding the signing secret the receiver verifies \
                 with (or secret, or the environment variable OKTASYNC_TARGET_<NAME>_SECRET)",
            )),
            (Some(t), None) if t.expose_secret().trim().is_empty() => {
                errors.push(self.error("secret", "is empty"))
            }
            _ => {}
        }
        if self.bearer_token.is_some() || self.bearer_token_file.is_some() {
            errors.push(self.error(
                "bearer_token",
                "is for kind = \"scim\" targets: a webhook target signs its batches with \
                 secret_file instead",
            ));
        }
        if self.target_only_users != TargetOnlyPolicy::Preserve {
            errors.push(self.error(
                "target_only_users",
                "needs a target whose accounts can be listed (kind = \"scim\"): a webhook \
                 target only receives; remove it",
            ));
        }
    }

    /// The webhook signing secret, from `secret` or read from `secret_file`.
    pub fn signing_secret(&self) -> Result<SecretString, ConfigError> {
        if let Some(secret) = &self.secret {
            return Ok(secret.clone());
        }
        let path = self.secret_file.as_deref().ok_or_else(|| {
            self.error(
                "secret_file",
                "is missing: give the file holding the secret",
            )
        })?;
        read_secret_file(path, "the signing secret")
            .map_err(|problem| self.error("secret_file", problem))
    }

    /// The bearer token, from `bearer_token` or read from `bearer_token_file`.
    pub fn bearer_token(&self) -> Result<SecretString, ConfigError> {
        if let Some(token) = &self.bearer_token {
            return Ok(token.clone());
        }
        let path = self.bearer_token_file.as_deref().ok_or_else(|| {
            self.error(
                "bearer_token_file",
                "is missing: give the file holding the token",
            )
        })?;
        read_secret_file(path, "the bearer token")
            .map_err(|problem| self.error("bearer_token_file", problem))
    }

    /// Whether `exclude_users` names this login or userName.
    pub fn is_excluded(&self, name: &str) -> bool {
        self.exclude_users.iter().any(|p| p.matches(name))
    }
}

fn read_secret_file(path: &Path, what: &str) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("{} is empty: put {what} in it", path.display()));
    }
    Ok(SecretString::from(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<TargetConfig, String> {
        toml::from_str(toml_text).map_err(|e| e.to_string())
    }

    const MINIMAL: &str = r#"
        name = "hr"
        kind = "scim"
        groups = ["Engineering"]
        url = "https://scim.example.com/v2"
        bearer_token = "s3cret"
    "#;

    #[test]
    fn parses_a_full_target() {
        let t = parse(
            r#"
            name = "hr"
            kind = "scim"
            groups = ["Engineering", "00g1"]
            url = "https://scim.example.com/v2"
            bearer_token_file = "/run/secrets/hr"
            hook = "adjust.rhai"
            max_deletions = "5%"
            target_only_users = "remove-groups"
            exclude_users = ["re:^svc-", "admin*@example.com", "root@example.com"]
            deprovision = "delete"
            [group_map]
            "Engineering" = ["eng", "all-staff"]
            [attributes]
            "name.givenName" = "{profile.firstName}"
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" = "{profile.department}"
            "#,
        )
        .unwrap();
        assert_eq!(t.kind, TargetKind::Scim);
        assert_eq!(t.max_deletions, Some(MaxDeletions::Percent(5.0)));
        assert_eq!(t.target_only_users, TargetOnlyPolicy::RemoveGroups);
        assert_eq!(t.deprovision, Deprovision::Delete);
        assert_eq!(t.group_map["Engineering"], vec!["eng", "all-staff"]);
        assert!(t.is_excluded("svc-backup"));
        assert!(t.is_excluded("Admin.Jo@example.com"));
        assert!(t.is_excluded("ROOT@example.com"));
        assert!(!t.is_excluded("jo@example.com"));
        assert!(t.validate().is_ok(), "{:?}", t.validate());
    }

    #[test]
    fn defaults() {
        let t = parse(MINIMAL).unwrap();
        assert_eq!(t.target_only_users, TargetOnlyPolicy::Preserve);
        assert_eq!(t.deprovision, Deprovision::Deactivate);
        assert_eq!(t.max_deletions, None);
        assert!(t.validate().is_ok());
    }

    #[test]
    fn max_deletions_forms() {
        let with = |v: &str| parse(&format!("{MINIMAL}\nmax_deletions = {v}"));
        assert_eq!(
            with("10").unwrap().max_deletions,
            Some(MaxDeletions::Count(10))
        );
        assert_eq!(
            with("\"2.5%\"").unwrap().max_deletions,
            Some(MaxDeletions::Percent(2.5))
        );
        assert_eq!(
            with("\"7\"").unwrap().max_deletions,
            Some(MaxDeletions::Count(7))
        );
        for (bad, says) in [
            ("-1", "negative"),
            ("\"150%\"", "between 0% and 100%"),
            ("\"many\"", "neither a count nor a percentage"),
            ("1.5", "whole number"),
        ] {
            let e = with(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert_eq!(MaxDeletions::Percent(5.0).limit_for(30), 1);
        assert_eq!(MaxDeletions::Percent(5.0).limit_for(19), 0);
        assert_eq!(MaxDeletions::Count(3).limit_for(0), 3);
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        let e = parse(&format!("{MINIMAL}\nmax_deletion = 3")).unwrap_err();
        assert!(e.contains("max_deletion"), "{e}");
        let e = parse(&MINIMAL.replace("\"scim\"", "\"ldap\"")).unwrap_err();
        assert!(e.contains("scim"), "{e}");
        let e = parse(&format!("{MINIMAL}\ntarget_only_users = \"purge\"")).unwrap_err();
        assert!(e.contains("write-file"), "{e}");
        let e = parse(&format!("{MINIMAL}\nexclude_users = [\"re:(\"]")).unwrap_err();
        assert!(e.contains("regular expression"), "{e}");
    }

    #[test]
    fn validate_names_target_and_field() {
        let t = parse(
            r#"
            name = "hr"
            kind = "scim"
            url = "ftp://x"
            [attributes]
            "name.givenName" = "{profile.firstName"
            active = "{profile.x}"
            "#,
        )
        .unwrap();
        let errors: Vec<String> = t
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        let all = errors.join("\n");
        for expected in [
            "target \"hr\": `groups`",
            "target \"hr\": `url`: must be an http",
            "target \"hr\": `bearer_token_file`: is missing",
            "`attributes.\"name.givenName\"`",
            "`attributes.active`",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
    }

    #[test]
    fn conflicting_attribute_paths_are_refused() {
        let t = parse(&format!(
            "{MINIMAL}\n[attributes]\nname = \"{{profile.x}}\""
        ))
        .unwrap();
        let all = format!("{:?}", t.validate().unwrap_err());
        assert!(all.contains("is inside \\\"name\\\""), "{all}");
    }

    #[test]
    fn token_never_in_debug_and_read_from_file() {
        let t = parse(MINIMAL).unwrap();
        assert!(!format!("{t:?}").contains("s3cret"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "tok-from-file\n").unwrap();
        let t = parse(&format!(
            "name = \"hr\"\nkind = \"scim\"\ngroups = [\"g\"]\nurl = \"http://x\"\nbearer_token_file = {:?}",
            file.display().to_string()
        ))
        .unwrap();
        assert_eq!(t.bearer_token().unwrap().expose_secret(), "tok-from-file");
        std::fs::write(&file, " \n").unwrap();
        let e = t.bearer_token().unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
    }

    #[test]
    fn globs() {
        assert!(glob_matches("a*c", "abbbc"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "abbc"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("*@x.com", "jo@x.com"));
        assert!(!glob_matches("*@x.com", "jo@y.com"));
    }
}
