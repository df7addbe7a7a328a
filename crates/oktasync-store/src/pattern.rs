//! How configuration names groups: by id, by exact name, by a glob over the name (`*` any
//! run of characters, `?` any one), in any letter case (Okta compares group names without
//! regard to case), or by a regular expression over the name (`re:^team-`). Grant policies,
//! roles and the sync scope all name groups this way.

use regex::Regex;

/// One configured group pattern.
#[derive(Debug, Clone)]
pub struct GroupPattern {
    text: String,
    regex: Option<Regex>,
}

impl PartialEq for GroupPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for GroupPattern {}

/// The prefix of a pattern that is a regular expression.
pub const REGEX_PREFIX: &str = "re:";

impl GroupPattern {
    /// The pattern written as `text`; an error (to show as it is) when `re:` is followed by
    /// something that is not a regular expression.
    pub fn parse(text: impl Into<String>) -> Result<Self, String> {
        let text = text.into();
        let regex = match text.strip_prefix(REGEX_PREFIX) {
            Some(re) => Some(Regex::new(re).map_err(|e| {
                format!("{text:?} is not a regular expression after \"{REGEX_PREFIX}\": {e}")
            })?),
            None => None,
        };
        Ok(Self { text, regex })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern names the group (by id, exact name, a glob or a regular expression
    /// over the name).
    pub fn covers(&self, group_id: &str, group_name: Option<&str>) -> bool {
        match &self.regex {
            Some(re) => group_name.is_some_and(|name| re.is_match(name)),
            None => {
                self.text == group_id
                    || group_name.is_some_and(|name| glob_matches(&self.text, name))
            }
        }
    }
}

/// `*` matches any run of characters, `?` any one; everything else itself, in any letter case.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_match_by_id_name_or_glob_in_any_case() {
        let covers = |p: &str, id: &str, name: Option<&str>| {
            GroupPattern::parse(p).unwrap().covers(id, name)
        };
        assert!(covers("JIT-*", "00gX", Some("JIT-payments")));
        assert!(covers("JIT-*", "00gX", Some("jit-")));
        assert!(covers("Prod DB readers", "00gX", Some("prod db READERS")));
        assert!(covers("00gABC", "00gABC", None));
        assert!(covers("team-?", "00gX", Some("team-a")));
        assert!(!covers("team-?", "00gX", Some("team-ab")));
        assert!(!covers(
            "Prod DB readers",
            "00gX",
            Some("Prod DB readers 2")
        ));
        assert!(!covers("JIT-*", "00gX", Some("xJIT-payments")));
        assert!(!covers("00gABC", "00gABCD", None));
        assert!(glob_matches("*a*b*", "xxaxxbxx"));
        assert!(!glob_matches("*a*b", "xxaxxbxxc"));
    }

    #[test]
    fn re_prefixed_patterns_are_regular_expressions_over_the_name() {
        let team = GroupPattern::parse("re:^team-[a-z]+$").unwrap();
        assert!(team.covers("00gX", Some("team-payments")));
        assert!(!team.covers("00gX", Some("Team-payments")));
        assert!(!team.covers("re:^team-[a-z]+$", None));
        let err = GroupPattern::parse("re:team-(").unwrap_err();
        assert!(err.contains("not a regular expression"), "{err}");
    }
}
