//! How configuration names groups: by id, by exact name, or by a glob over the name (`*` any
//! run of characters, `?` any one), in any letter case (Okta compares group names without
//! regard to case). Grant policies and roles both name groups this way.

/// One configured group pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPattern(String);

impl GroupPattern {
    pub fn new(pattern: impl Into<String>) -> Self {
        Self(pattern.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern names the group (by id, exact name, or a glob over the name).
    pub fn covers(&self, group_id: &str, group_name: Option<&str>) -> bool {
        self.0 == group_id || group_name.is_some_and(|name| glob_matches(&self.0, name))
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
        let covers = |p: &str, id: &str, name: Option<&str>| GroupPattern::new(p).covers(id, name);
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
}
