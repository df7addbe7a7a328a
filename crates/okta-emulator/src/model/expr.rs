//! The subset of the Okta Expression Language that group rules use (SpEL underneath):
//! `user.<attr>` compared with `==` / `!=` to a string, boolean or `null`;
//! `String.stringContains`, `String.startsWith`, `String.endsWith` over a profile attribute;
//! `isMemberOfGroup("00g…")` and `isMemberOfAnyGroup("00g…", …)`; combined with
//! `and`/`or`/`&&`/`||` (keywords in any case), `!`/`not` and parentheses. String literals take
//! double or single quotes, as SpEL does.
//!
//! Expressions are parsed once, when a rule is created or replaced (a syntax error is Okta's
//! 400 E0000001), and evaluated against a user's profile and groups without allocating.

use super::Id;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

/// Profile attributes a rule may read: Okta's base user profile plus the custom attributes
/// the emulator's generated orgs define. Okta refuses a rule naming an attribute its profile
/// schema lacks.
pub const PROFILE_ATTRIBUTES: &[&str] = &[
    "login",
    "email",
    "secondEmail",
    "firstName",
    "lastName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "title",
    "displayName",
    "nickName",
    "profileUrl",
    "primaryPhone",
    "mobilePhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "postalAddress",
    "countryCode",
    "preferredLanguage",
    "locale",
    "timezone",
    "userType",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "managerId",
    "manager",
    // custom attributes of the generated orgs
    "hireDate",
    "githubUsername",
    "isContractor",
];

/// Longest expression accepted: deep nesting is refused before it can exhaust the stack.
pub const MAX_EXPRESSION_LEN: usize = 4_096;
const MAX_DEPTH: usize = 64;

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct ExprError {
    pub message: String,
    /// 1-based character position in the expression.
    pub position: usize,
}

/// A string-valued operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `user.<attr>`
    Attr(String),
    Str(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringTest {
    Contains,
    StartsWith,
    EndsWith,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Eq(Operand, Operand),
    Ne(Operand, Operand),
    /// `String.stringContains(a, b)` and friends.
    Test(StringTest, Operand, Operand),
    /// `isMemberOfGroup` / `isMemberOfAnyGroup`.
    MemberOfAny(Vec<Id>),
    /// A bare operand: true only for a boolean `true` (a boolean attribute or literal).
    Truthy(Operand),
}

/// What an expression reads from one user.
pub struct Subject<'a> {
    pub profile: &'a Map<String, Value>,
    pub groups: Option<&'a BTreeSet<Id>>,
}

enum Resolved<'a> {
    Str(&'a str),
    Bool(bool),
    Num(&'a serde_json::Number),
    Null,
}

impl PartialEq for Resolved<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Resolved::Str(a), Resolved::Str(b)) => a == b,
            (Resolved::Bool(a), Resolved::Bool(b)) => a == b,
            (Resolved::Num(a), Resolved::Num(b)) => a == b,
            (Resolved::Null, Resolved::Null) => true,
            _ => false,
        }
    }
}

fn resolve<'a>(op: &'a Operand, s: &Subject<'a>) -> Resolved<'a> {
    match op {
        Operand::Attr(name) => match s.profile.get(name) {
            Some(Value::String(v)) => Resolved::Str(v),
            Some(Value::Bool(b)) => Resolved::Bool(*b),
            Some(Value::Number(n)) => Resolved::Num(n),
            _ => Resolved::Null,
        },
        Operand::Str(v) => Resolved::Str(v),
        Operand::Bool(b) => Resolved::Bool(*b),
        Operand::Null => Resolved::Null,
    }
}

impl Expr {
    /// Parses an expression; errors say what is wrong and where.
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        if text.chars().count() > MAX_EXPRESSION_LEN {
            return Err(ExprError {
                message: format!("the expression is longer than {MAX_EXPRESSION_LEN} characters"),
                position: MAX_EXPRESSION_LEN,
            });
        }
        let tokens = lex(text)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
            end: text.chars().count() + 1,
        };
        let expr = p.or()?;
        match p.peek() {
            None => Ok(expr),
            Some(t) => Err(p.error_at(t.position, format!("unexpected {}", t.kind))),
        }
    }

    /// Whether the user matches.
    pub fn eval(&self, s: &Subject<'_>) -> bool {
        match self {
            Expr::And(a, b) => a.eval(s) && b.eval(s),
            Expr::Or(a, b) => a.eval(s) || b.eval(s),
            Expr::Not(a) => !a.eval(s),
            Expr::Eq(a, b) => resolve(a, s) == resolve(b, s),
            Expr::Ne(a, b) => resolve(a, s) != resolve(b, s),
            Expr::Test(kind, a, b) => match (resolve(a, s), resolve(b, s)) {
                // Okta's String functions answer false for a null argument.
                (Resolved::Str(a), Resolved::Str(b)) => match kind {
                    StringTest::Contains => a.contains(b),
                    StringTest::StartsWith => a.starts_with(b),
                    StringTest::EndsWith => a.ends_with(b),
                },
                _ => false,
            },
            Expr::MemberOfAny(ids) => s
                .groups
                .is_some_and(|gs| ids.iter().any(|g| gs.contains(g))),
            Expr::Truthy(a) => matches!(resolve(a, s), Resolved::Bool(true)),
        }
    }

    /// The groups the expression asks about (for `expand=groupIdToGroupNameMap`).
    pub fn group_ids(&self, out: &mut Vec<Id>) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.group_ids(out);
                b.group_ids(out);
            }
            Expr::Not(a) => a.group_ids(out),
            Expr::MemberOfAny(ids) => out.extend(ids.iter().copied()),
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ident(String),
    Str(String),
    Num(String),
    LParen,
    RParen,
    Comma,
    Dot,
    EqEq,
    NotEq,
    Bang,
    AndAnd,
    OrOr,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Ident(s) => write!(f, "'{s}'"),
            Kind::Str(s) => write!(f, "string \"{s}\""),
            Kind::Num(s) => write!(f, "number {s}"),
            Kind::LParen => f.write_str("'('"),
            Kind::RParen => f.write_str("')'"),
            Kind::Comma => f.write_str("','"),
            Kind::Dot => f.write_str("'.'"),
            Kind::EqEq => f.write_str("'=='"),
            Kind::NotEq => f.write_str("'!='"),
            Kind::Bang => f.write_str("'!'"),
            Kind::AndAnd => f.write_str("'&&'"),
            Kind::OrOr => f.write_str("'||'"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    position: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |position: usize, message: String| ExprError {
        message,
        position: position + 1,
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let two = |next: char| chars.get(i + 1) == Some(&next);
        let kind = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Kind::LParen,
            ')' => Kind::RParen,
            ',' => Kind::Comma,
            '.' => Kind::Dot,
            '=' if two('=') => {
                i += 1;
                Kind::EqEq
            }
            '=' => {
                return Err(err(
                    start,
                    "assignment '=' is not allowed; compare with '=='".into(),
                ));
            }
            '!' if two('=') => {
                i += 1;
                Kind::NotEq
            }
            '!' => Kind::Bang,
            '&' if two('&') => {
                i += 1;
                Kind::AndAnd
            }
            '|' if two('|') => {
                i += 1;
                Kind::OrOr
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "unterminated string".into())),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        // SpEL doubles a quote to escape it.
                        Some(&q) if q == quote && chars.get(i + 1) == Some(&quote) => {
                            s.push(quote);
                            i += 2;
                        }
                        Some(&q) if q == quote => break,
                        Some(&other) => {
                            s.push(other);
                            i += 1;
                        }
                    }
                }
                Kind::Str(s)
            }
            c if c.is_ascii_digit() => {
                while chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                }
                Kind::Num(chars[start..=i].iter().collect())
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                while chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_' || *d == '$')
                {
                    i += 1;
                }
                Kind::Ident(chars[start..=i].iter().collect())
            }
            other => return Err(err(start, format!("unexpected character '{other}'"))),
        };
        out.push(Token {
            kind,
            position: start + 1,
        });
        i += 1;
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Position reported for "unexpected end of expression".
    end: usize,
}

fn keyword(t: &Token, word: &str) -> bool {
    matches!(&t.kind, Kind::Ident(s) if s.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Result<Token, ExprError> {
        let t = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| self.error_at(self.end, "unexpected end of expression".into()))?;
        self.pos += 1;
        Ok(t)
    }

    fn error_at(&self, position: usize, message: String) -> ExprError {
        ExprError { message, position }
    }

    fn expect(&mut self, kind: Kind) -> Result<(), ExprError> {
        if self.peek().is_none() {
            return Err(self.error_at(
                self.end,
                format!("expected {kind}, found the end of the expression"),
            ));
        }
        let t = self.next()?;
        if t.kind == kind {
            Ok(())
        } else {
            Err(self.error_at(t.position, format!("expected {kind}, found {}", t.kind)))
        }
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self.peek().map_or(self.end, |t| t.position);
            return Err(self.error_at(at, "the expression is nested too deeply".into()));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.enter()?;
        let mut left = self.and()?;
        while let Some(t) = self.peek() {
            if t.kind == Kind::OrOr || keyword(t, "or") {
                self.pos += 1;
                let right = self.and()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while let Some(t) = self.peek() {
            if t.kind == Kind::AndAnd || keyword(t, "and") {
                self.pos += 1;
                let right = self.unary()?;
                left = Expr::And(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        match self.peek() {
            Some(t) if t.kind == Kind::Bang || keyword(t, "not") => {
                self.pos += 1;
                self.enter()?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        if self.peek().is_some_and(|t| t.kind == Kind::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Kind::RParen)?;
            return Ok(inner);
        }
        let left = match self.term()? {
            Term::Expr(e) => return Ok(e),
            Term::Operand(o) => o,
        };
        let op = match self.peek().map(|t| t.kind.clone()) {
            Some(Kind::EqEq) => true,
            Some(Kind::NotEq) => false,
            _ => return Ok(Expr::Truthy(left)),
        };
        self.pos += 1;
        let right = match self.term()? {
            Term::Operand(o) => o,
            Term::Expr(_) => {
                let at = self.tokens[self.pos - 1].position;
                return Err(self.error_at(
                    at,
                    "a function returning a boolean cannot be compared".into(),
                ));
            }
        };
        Ok(if op {
            Expr::Eq(left, right)
        } else {
            Expr::Ne(left, right)
        })
    }

    /// An operand, or a boolean function call.
    fn term(&mut self) -> Result<Term, ExprError> {
        let t = self.next()?;
        match t.kind {
            Kind::Str(s) => Ok(Term::Operand(Operand::Str(s))),
            Kind::Num(n) => Ok(Term::Operand(Operand::Str(n))),
            Kind::Ident(word) => match word.as_str() {
                "true" | "TRUE" => Ok(Term::Operand(Operand::Bool(true))),
                "false" | "FALSE" => Ok(Term::Operand(Operand::Bool(false))),
                "null" => Ok(Term::Operand(Operand::Null)),
                "user" => {
                    self.expect(Kind::Dot)?;
                    let attr = self.next()?;
                    match attr.kind {
                        Kind::Ident(name) if PROFILE_ATTRIBUTES.contains(&name.as_str()) => {
                            Ok(Term::Operand(Operand::Attr(name)))
                        }
                        Kind::Ident(name) => Err(self.error_at(
                            attr.position,
                            format!("user.{name}: the user profile has no attribute {name}"),
                        )),
                        other => Err(self.error_at(
                            attr.position,
                            format!("expected an attribute name after 'user.', found {other}"),
                        )),
                    }
                }
                "String" => {
                    self.expect(Kind::Dot)?;
                    let f = self.next()?;
                    let kind = match &f.kind {
                        Kind::Ident(n) if n == "stringContains" => StringTest::Contains,
                        Kind::Ident(n) if n == "startsWith" => StringTest::StartsWith,
                        Kind::Ident(n) if n == "endsWith" => StringTest::EndsWith,
                        other => {
                            return Err(self.error_at(
                                f.position,
                                format!("String.{other} is not a function group rules support (stringContains, startsWith, endsWith)")
                                    .replace('\'', ""),
                            ));
                        }
                    };
                    let args = self.args(t.position)?;
                    let [a, b]: [Operand; 2] = args.try_into().map_err(|args: Vec<Operand>| {
                        self.error_at(
                            f.position,
                            format!("this function takes 2 arguments, {} given", args.len()),
                        )
                    })?;
                    Ok(Term::Expr(Expr::Test(kind, a, b)))
                }
                "isMemberOfGroup" | "isMemberOfAnyGroup" => {
                    let args = self.args(t.position)?;
                    if args.is_empty() || (word == "isMemberOfGroup" && args.len() != 1) {
                        return Err(self.error_at(
                            t.position,
                            format!(
                                "{word} takes {} group id",
                                if word == "isMemberOfGroup" {
                                    "one"
                                } else {
                                    "at least one"
                                }
                            ),
                        ));
                    }
                    let mut ids = Vec::with_capacity(args.len());
                    for a in args {
                        match a {
                            Operand::Str(s) => match Id::parse(&s) {
                                Some(id) => ids.push(id),
                                None => {
                                    return Err(self.error_at(
                                        t.position,
                                        format!("{word}: \"{s}\" is not a group id"),
                                    ));
                                }
                            },
                            _ => {
                                return Err(self.error_at(
                                    t.position,
                                    format!("{word} takes group ids as string literals"),
                                ));
                            }
                        }
                    }
                    Ok(Term::Expr(Expr::MemberOfAny(ids)))
                }
                other => Err(self.error_at(
                    t.position,
                    format!("'{other}' is not supported in group rules"),
                )),
            },
            other => Err(self.error_at(t.position, format!("unexpected {other}"))),
        }
    }

    /// `( operand, … )`
    fn args(&mut self, at: usize) -> Result<Vec<Operand>, ExprError> {
        self.expect(Kind::LParen)?;
        let mut out = Vec::new();
        if self.peek().is_some_and(|t| t.kind == Kind::RParen) {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            match self.term()? {
                Term::Operand(o) => out.push(o),
                Term::Expr(_) => {
                    return Err(
                        self.error_at(at, "a boolean function is not a valid argument".into())
                    );
                }
            }
            let t = self.next()?;
            match t.kind {
                Kind::Comma => continue,
                Kind::RParen => return Ok(out),
                other => {
                    return Err(
                        self.error_at(t.position, format!("expected ',' or ')', found {other}"))
                    );
                }
            }
        }
    }
}

enum Term {
    Operand(Operand),
    Expr(Expr),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subject(profile: Value) -> Map<String, Value> {
        profile.as_object().cloned().unwrap()
    }

    fn eval(expr: &str, profile: &Map<String, Value>, groups: &[&str]) -> bool {
        let groups: BTreeSet<Id> = groups.iter().map(|g| Id::parse(g).unwrap()).collect();
        Expr::parse(expr).unwrap().eval(&Subject {
            profile,
            groups: Some(&groups),
        })
    }

    #[test]
    fn operators_and_functions_evaluate_like_okta() {
        let p = subject(
            json!({"department": "Engineering", "title": "Staff Engineer",
            "city": "San Francisco", "isContractor": false, "mobilePhone": null}),
        );
        let g = "00g000000000000000g1";
        for (expr, want) in [
            (r#"user.department == "Engineering""#, true),
            (r#"user.department=="engineering""#, false),
            (r#"user.department != "Sales""#, true),
            (r#"user.mobilePhone == null"#, true),
            (r#"user.costCenter != "CC-1""#, true),
            (r#"String.stringContains(user.title, "Engineer")"#, true),
            (r#"String.startsWith(user.city, 'San')"#, true),
            (r#"String.endsWith(user.city, "Jose")"#, false),
            (r#"String.stringContains(user.nickName, "x")"#, false),
            (&format!(r#"isMemberOfGroup("{g}")"#), true),
            (
                r#"isMemberOfAnyGroup("00g000000000000000g2", "00g000000000000000g1")"#,
                true,
            ),
            (r#"isMemberOfAnyGroup("00g000000000000000g2")"#, false),
            (
                r#"user.department == "Sales" or user.title == "Staff Engineer""#,
                true,
            ),
            (
                r#"user.department == "Sales" OR user.title == "Nope""#,
                false,
            ),
            (
                r#"user.department == "Engineering" AND user.city == "San Francisco""#,
                true,
            ),
            (
                r#"user.department == "Engineering" && !(user.city == "San Francisco")"#,
                false,
            ),
            (
                r#"user.department == "Sales" || not user.isContractor"#,
                true,
            ),
            (r#"user.isContractor"#, false),
            (
                r#"!user.isContractor && (user.department == "Sales" || user.department == "Engineering")"#,
                true,
            ),
        ] {
            assert_eq!(eval(expr, &p, &[g]), want, "{expr}");
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        for (expr, needle) in [
            (
                r#"user.department == "Engineering" AND"#,
                "end of expression",
            ),
            (r#"user.department = "x""#, "'=='"),
            (r#"(user.department == "x""#, "expected ')'"),
            (r#"user.department == "x"#, "unterminated"),
            (r#"profile.department == "x""#, "not supported"),
            (r#"user.favouriteColour == "x""#, "no attribute"),
            (r#"String.toUpperCase(user.title)"#, "not a function"),
            (r#"String.stringContains(user.title)"#, "2 arguments"),
            (r#"isMemberOfAnyGroup()"#, "at least one"),
            (r#"isMemberOfGroup("nope")"#, "not a group id"),
            (r#"user.title == "a" user.city == "b""#, "unexpected"),
            ("", "end of expression"),
            ("user.title == #", "unexpected character"),
        ] {
            let e = Expr::parse(expr).expect_err(expr);
            assert!(e.to_string().contains(needle), "{expr}: {e}");
        }
        let deep = format!("{}user.title == \"a\"{}", "(".repeat(500), ")".repeat(500));
        assert!(Expr::parse(&deep).is_err());
        let long = "!".repeat(5_000);
        assert!(Expr::parse(&long).is_err());
    }
}
