//! Okta's SCIM-style `filter` and `search` expressions: `attr op "value"` joined by
//! `and`/`or`, with parentheses; `attr pr`.
//!
//! One grammar for both sides of the wire: the emulator answers `filter`/`search` with it (an
//! error is Okta's 400 E0000031), and oktasync evaluates a sync scope's `users` expression
//! with it where Okta cannot (on the members of a group). Each endpoint says which attributes
//! and operators it takes ([`Rules`]); anything else, and any unquoted value (such as a bare
//! timestamp), is an error, as on Okta.
//!
//! Detections written in the System Log's syntax (Okta's own `customer-detections`) also use
//! `not`, `attr in ["a", "b"]` and paths through arrays (`target.displayName` matches any
//! target, `target.0.displayName` the first): [`DETECTION`] allows them, the API rules do not.

mod json;

pub use json::JsonObject;

use chrono::DateTime;

/// Milliseconds since the Unix epoch.
pub type Ts = i64;

/// Parses an RFC 3339 timestamp (what filters and `since`/`until` carry).
pub fn parse_ts(s: &str) -> Option<Ts> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// An expression Okta would refuse, with Okta's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Parses `src` and checks it against `rules`.
pub fn parse(src: &str, rules: &Rules) -> Result<Expr, FilterError> {
    let toks = tokenize(src).map_err(FilterError)?;
    if toks.is_empty() {
        return Err(FilterError("The filter is empty".into()));
    }
    let mut p = Parser { toks, pos: 0 };
    let mut expr = p.or().map_err(FilterError)?;
    if p.pos != p.toks.len() {
        return Err(FilterError(format!(
            "Unexpected input after position {}",
            p.pos
        )));
    }
    check(&mut expr, rules).map_err(FilterError)?;
    Ok(expr)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Sw,
    Co,
    Ew,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "sw" => Op::Sw,
            "co" => Op::Co,
            "ew" => Op::Ew,
            _ => return None,
        })
    }

    fn is_order(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// `not (…)` ([`Rules::extended`] only).
    Not(Box<Expr>),
    Cmp {
        attr: String,
        op: Op,
        value: Value,
        ts: Option<Ts>,
    },
    /// `attr in ["a", "b"]`: equal (as `eq`) to one of them ([`Rules::extended`] only).
    In {
        attr: String,
        values: Vec<Value>,
    },
    Present(String),
}

/// An attribute's value on one object.
#[derive(Debug, Clone, Copy)]
pub enum Attr<'a> {
    Str(&'a str),
    Ts(Ts),
    Bool(bool),
    /// A JSON number (`securityContext.asNumber`); compared with a quoted number.
    Num(f64),
    Missing,
}

/// Something a filter can be evaluated against.
pub trait Filterable {
    fn attr(&self, name: &str) -> Attr<'_>;

    /// Whether any value of a (possibly multi-valued) attribute satisfies `pred`.
    fn any_attr(&self, name: &str, pred: &mut dyn FnMut(Attr<'_>) -> bool) -> bool {
        pred(self.attr(name))
    }
}

/// What one endpoint's filter accepts.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Attributes compared as timestamps (any operator but `sw`/`co`/`ew`).
    pub timestamps: &'static [&'static str],
    /// Other attributes allowed with `eq` (and with `sw`/`co`/`ew` when `text_ops`).
    pub attrs: &'static [&'static str],
    /// Any `profile.*` attribute is allowed (search).
    pub any_profile: bool,
    /// `sw`, `co`, `ew` are allowed on string attributes (search, System Log).
    pub text_ops: bool,
    /// `ne` and order operators on string attributes.
    pub all_ops: bool,
    /// Any attribute path, `not`, and `in [...]`: detection rules, not an API's filter.
    pub extended: bool,
}

pub const USER_FILTER: Rules = Rules {
    timestamps: &["lastUpdated"],
    attrs: &[
        "status",
        "id",
        "profile.login",
        "profile.email",
        "profile.firstName",
        "profile.lastName",
    ],
    any_profile: false,
    text_ops: false,
    all_ops: false,
    extended: false,
};

pub const USER_SEARCH: Rules = Rules {
    timestamps: &["lastUpdated", "created", "activated", "statusChanged"],
    attrs: &["status", "id", "type.id"],
    any_profile: true,
    text_ops: true,
    all_ops: false,
    extended: false,
};

pub const GROUP_FILTER: Rules = Rules {
    timestamps: &["lastUpdated", "lastMembershipUpdated"],
    attrs: &["type", "id"],
    any_profile: false,
    text_ops: false,
    all_ops: false,
    extended: false,
};

pub const GROUP_SEARCH: Rules = Rules {
    timestamps: &["lastUpdated", "lastMembershipUpdated", "created"],
    attrs: &["type", "id", "source.id"],
    any_profile: true,
    text_ops: true,
    all_ops: false,
    extended: false,
};

pub const LOG_FILTER: Rules = Rules {
    timestamps: &["published"],
    attrs: &["eventType", "target.id", "actor.id"],
    any_profile: false,
    text_ops: true,
    all_ops: true,
    extended: false,
};

/// A detection over System Log events: any field of the event, every operator, `not`, `in`.
pub const DETECTION: Rules = Rules {
    timestamps: &["published"],
    attrs: &[],
    any_profile: false,
    text_ops: true,
    all_ops: true,
    extended: true,
};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Word(String),
    Quoted(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                toks.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                toks.push(Tok::RParen);
            }
            '[' | ']' | ',' => {
                chars.next();
                toks.push(match c {
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    _ => Tok::Comma,
                });
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                v.push(n);
                            }
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                if !closed {
                    return Err("Unterminated string literal".into());
                }
                toks.push(Tok::Quoted(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"' | '[' | ']' | ',') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                toks.push(Tok::Word(w));
            }
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.atom()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.atom()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err("Missing closing parenthesis".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(attr)) => {
                if attr.eq_ignore_ascii_case("not") {
                    self.pos += 1;
                    return Ok(Expr::Not(Box::new(self.atom()?)));
                }
                self.pos += 1;
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(w)) => w.clone(),
                    _ => return Err(format!("Missing operator after '{attr}'")),
                };
                self.pos += 1;
                if op.eq_ignore_ascii_case("pr") {
                    return Ok(Expr::Present(attr));
                }
                if op.eq_ignore_ascii_case("in") {
                    let values = self.list(&attr)?;
                    return Ok(Expr::In { attr, values });
                }
                let op = Op::parse(&op).ok_or_else(|| format!("Unknown operator '{op}'"))?;
                let value = match self.toks.get(self.pos) {
                    Some(Tok::Quoted(v)) => Value::Str(v.clone()),
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                    Some(Tok::Word(w)) => {
                        return Err(format!(
                            "Invalid value {w} for attribute {attr}: string and date values must be quoted"
                        ));
                    }
                    _ => return Err(format!("Missing value for attribute '{attr}'")),
                };
                self.pos += 1;
                Ok(Expr::Cmp {
                    attr,
                    op,
                    value,
                    ts: None,
                })
            }
            _ => Err("Expected an attribute or '('".into()),
        }
    }
}

impl Parser {
    /// `["a", "b"]` after `attr in`.
    fn list(&mut self, attr: &str) -> Result<Vec<Value>, String> {
        if self.toks.get(self.pos) != Some(&Tok::LBracket) {
            return Err(format!("Expected '[' after '{attr} in'"));
        }
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            match self.toks.get(self.pos) {
                Some(Tok::Quoted(v)) => values.push(Value::Str(v.clone())),
                Some(Tok::RBracket) if values.is_empty() => {
                    return Err(format!("The list after '{attr} in' is empty"));
                }
                _ => return Err(format!("Expected a quoted value in the list of '{attr}'")),
            }
            self.pos += 1;
            match self.toks.get(self.pos) {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::RBracket) => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(format!("Missing ']' after the list of '{attr}'")),
            }
        }
    }
}

fn check(expr: &mut Expr, rules: &Rules) -> Result<(), String> {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(a, rules)?;
            check(b, rules)
        }
        Expr::Not(inner) => {
            if !rules.extended {
                return Err("The 'not' operator is not supported".into());
            }
            check(inner, rules)
        }
        Expr::In { attr, .. } => {
            if !rules.extended {
                return Err("Unknown operator 'in'".into());
            }
            if known(attr, rules) {
                Ok(())
            } else {
                Err(format!("Unsupported attribute '{attr}'"))
            }
        }
        Expr::Present(attr) => {
            if known(attr, rules) {
                Ok(())
            } else {
                Err(format!("Unsupported attribute '{attr}'"))
            }
        }
        Expr::Cmp {
            attr,
            op,
            value,
            ts,
        } => {
            if rules.timestamps.contains(&attr.as_str()) {
                if matches!(op, Op::Sw | Op::Co | Op::Ew) {
                    return Err(format!("Operator not supported for attribute '{attr}'"));
                }
                let Value::Str(s) = value else {
                    return Err(format!("Invalid value for attribute '{attr}'"));
                };
                *ts =
                    Some(parse_ts(s).ok_or_else(|| {
                        format!("Invalid date value '{s}' for attribute '{attr}'")
                    })?);
                return Ok(());
            }
            if !known(attr, rules) {
                return Err(format!("Unsupported attribute '{attr}'"));
            }
            let allowed = match op {
                Op::Eq => true,
                Op::Sw | Op::Co | Op::Ew => rules.text_ops,
                Op::Ne => rules.all_ops,
                o if o.is_order() => rules.all_ops,
                _ => false,
            };
            if allowed {
                Ok(())
            } else {
                Err(format!("Operator not supported for attribute '{attr}'"))
            }
        }
    }
}

fn known(attr: &str, rules: &Rules) -> bool {
    (rules.extended && valid_path(attr))
        || rules.attrs.contains(&attr)
        || rules.timestamps.contains(&attr)
        || (rules.any_profile && attr.starts_with("profile.") && attr.len() > 8)
}

/// `a.b.c`: non-empty segments of letters, digits and `_`.
fn valid_path(attr: &str) -> bool {
    attr.split('.')
        .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn text_cmp(have: &str, op: Op, want: &str) -> bool {
    if op == Op::Eq && have.is_ascii() && want.is_ascii() {
        return have.eq_ignore_ascii_case(want);
    }
    let h = have.to_lowercase();
    let w = want.to_lowercase();
    match op {
        Op::Eq => h == w,
        Op::Ne => h != w,
        Op::Sw => h.starts_with(&w),
        Op::Co => h.contains(&w),
        Op::Ew => h.ends_with(&w),
        Op::Gt => h > w,
        Op::Ge => h >= w,
        Op::Lt => h < w,
        Op::Le => h <= w,
    }
}

/// Whether `item` matches `expr`.
pub fn eval(expr: &Expr, item: &impl Filterable) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, item) && eval(b, item),
        Expr::Or(a, b) => eval(a, item) || eval(b, item),
        Expr::Not(inner) => !eval(inner, item),
        Expr::In { attr, values } => item.any_attr(attr, &mut |have| {
            values.iter().any(|v| compare(have, Op::Eq, v, None))
        }),
        Expr::Present(attr) => item.any_attr(attr, &mut |have| !matches!(have, Attr::Missing)),
        Expr::Cmp {
            attr,
            op,
            value,
            ts,
        } => item.any_attr(attr, &mut |have| compare(have, *op, value, *ts)),
    }
}

fn compare(have: Attr<'_>, op: Op, value: &Value, ts: Option<Ts>) -> bool {
    match (have, value, ts) {
        (Attr::Ts(have), _, Some(want)) => match op {
            Op::Eq => have == want,
            Op::Ne => have != want,
            Op::Gt => have > want,
            Op::Ge => have >= want,
            Op::Lt => have < want,
            Op::Le => have <= want,
            _ => false,
        },
        (Attr::Str(have), Value::Str(want), _) => text_cmp(have, op, want),
        (Attr::Bool(have), Value::Bool(want), _) => match op {
            Op::Eq => have == *want,
            Op::Ne => have != *want,
            _ => false,
        },
        // Detections write `isProxy eq "true"`: Okta sends a boolean, sometimes a string.
        (Attr::Bool(have), Value::Str(want), _) => {
            text_cmp(if have { "true" } else { "false" }, op, want)
        }
        (Attr::Str(have), Value::Bool(want), _) => match op {
            Op::Eq => have.eq_ignore_ascii_case(if *want { "true" } else { "false" }),
            Op::Ne => !have.eq_ignore_ascii_case(if *want { "true" } else { "false" }),
            _ => false,
        },
        (Attr::Num(have), Value::Str(want), _) => match want.trim().parse::<f64>() {
            Ok(want) => match op {
                Op::Eq => have == want,
                Op::Ne => have != want,
                Op::Gt => have > want,
                Op::Ge => have >= want,
                Op::Lt => have < want,
                Op::Le => have <= want,
                _ => text_cmp(&have.to_string(), op, &want.to_string()),
            },
            Err(_) => op == Op::Ne,
        },
        (Attr::Missing, Value::Null, _) => op == Op::Eq,
        (Attr::Missing, _, _) => op == Op::Ne,
        _ => false,
    }
}

/// Finds a top-level `attr eq "value"` (possibly inside an `and`) to narrow a scan.
pub fn find_eq<'a>(expr: &'a Expr, attr_name: &str) -> Option<&'a str> {
    match expr {
        Expr::And(a, b) => find_eq(a, attr_name).or_else(|| find_eq(b, attr_name)),
        Expr::Cmp {
            attr,
            op: Op::Eq,
            value: Value::Str(v),
            ..
        } if attr == attr_name => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Obj;
    impl Filterable for Obj {
        fn attr(&self, name: &str) -> Attr<'_> {
            match name {
                "status" => Attr::Str("ACTIVE"),
                "lastUpdated" => Attr::Ts(parse_ts("2024-01-02T00:00:00.000Z").unwrap()),
                "profile.login" => Attr::Str("Ana@example.com"),
                _ => Attr::Missing,
            }
        }
    }

    #[test]
    fn parses_and_or_with_parentheses() {
        let e = parse(
            r#"(status eq "ACTIVE" or status eq "STAGED") and lastUpdated gt "2024-01-01T00:00:00.000Z""#,
            &USER_FILTER,
        )
        .unwrap();
        assert!(eval(&e, &Obj));
        let e = parse(
            r#"status eq "SUSPENDED" or lastUpdated lt "2024-01-01T00:00:00.000Z""#,
            &USER_FILTER,
        )
        .unwrap();
        assert!(!eval(&e, &Obj));
    }

    #[test]
    fn rejects_unquoted_timestamps_unknown_attrs_and_operators() {
        for bad in [
            "lastUpdated gt 2024-01-01T00:00:00.000Z",
            r#"profile.city eq "Paris""#,
            r#"status sw "ACT""#,
            r#"lastUpdated gt "yesterday""#,
            r#"status eq "ACTIVE" and"#,
            r#"not status eq "ACTIVE""#,
        ] {
            assert!(parse(bad, &USER_FILTER).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_allows_profile_attributes_and_text_operators() {
        let e = parse(r#"profile.login sw "ana""#, &USER_SEARCH).unwrap();
        assert!(eval(&e, &Obj));
    }
}
