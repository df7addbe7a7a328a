//! Properties of the `filter`/`search` parser (`okta_emulator::api::filter`): an expression
//! printed the way clients write it (any letter case of keywords and operators, any spacing,
//! parentheses only where precedence needs them or anywhere else) parses back to the same
//! tree, and selects the objects Okta's rules say it does; `and` binds tighter than `or`;
//! whatever the input, the parser answers with a tree or Okta's E0000031, never a panic.

use okta_emulator::api::filter::{
    self, Attr, Expr, Filterable, GROUP_FILTER, GROUP_SEARCH, LOG_FILTER, Op, Rules, USER_FILTER,
    USER_SEARCH, Value,
};
use okta_emulator::model::{Ts, parse_ts};
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::BTreeMap;

/// The endpoints' rules, by name (for failure messages).
const RULES: &[(&str, Rules)] = &[
    ("users filter", USER_FILTER),
    ("users search", USER_SEARCH),
    ("groups filter", GROUP_FILTER),
    ("groups search", GROUP_SEARCH),
    ("logs filter", LOG_FILTER),
];

/// A few timestamps, so that comparisons both match and miss.
const TIMES: &[&str] = &[
    "2024-01-01T00:00:00.000Z",
    "2024-06-15T12:30:00.000Z",
    "2025-03-01T08:00:00.000Z",
    "2025-03-01T08:00:00.001Z",
];

/// A few strings, with what the printer must escape (`"` and `\`), spaces, parentheses,
/// keywords, letters beyond ASCII, and the same words in other letter cases.
const WORDS: &[&str] = &[
    "ACTIVE",
    "active",
    "Act",
    "tive",
    "Ana@Example.com",
    "ana@example.COM",
    "example",
    "Björn",
    "BJÖRN",
    "jörn",
    "",
    "a\"b",
    "A\"B",
    "back\\slash",
    "two words",
    "(paren)",
    "and",
    "OR",
];

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "eq",
        Op::Ne => "ne",
        Op::Gt => "gt",
        Op::Ge => "ge",
        Op::Lt => "lt",
        Op::Le => "le",
        Op::Sw => "sw",
        Op::Co => "co",
        Op::Ew => "ew",
    }
}

/// One comparison or presence test the endpoint accepts.
fn leaf(rules: Rules) -> BoxedStrategy<Expr> {
    let mut attrs: Vec<String> = rules.attrs.iter().map(|a| a.to_string()).collect();
    if rules.any_profile {
        attrs.extend(["profile.login", "profile.department", "profile.city"].map(String::from));
    }
    let mut ops = vec![Op::Eq];
    if rules.text_ops {
        ops.extend([Op::Sw, Op::Co, Op::Ew]);
    }
    if rules.all_ops {
        ops.extend([Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le]);
    }
    let value = prop_oneof![
        6 => select(WORDS).prop_map(|w| Value::Str(w.to_owned())),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ];
    let compare =
        (select(attrs.clone()), select(ops), value).prop_map(|(attr, op, value)| Expr::Cmp {
            attr,
            op,
            value,
            ts: None,
        });
    let stamps: Vec<String> = rules.timestamps.iter().map(|a| a.to_string()).collect();
    let dated = (
        select(stamps.clone()),
        select(vec![Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le]),
        select(TIMES),
    )
        .prop_map(|(attr, op, t)| Expr::Cmp {
            attr,
            op,
            value: Value::Str(t.to_owned()),
            ts: parse_ts(t),
        });
    let present = select([attrs, stamps].concat()).prop_map(Expr::Present);
    prop_oneof![4 => compare, 3 => dated, 1 => present].boxed()
}

/// A tree of `and`/`or` over leaves the endpoint accepts.
fn expression(rules: Rules) -> impl Strategy<Value = Expr> {
    leaf(rules).prop_recursive(4, 24, 2, |inner| {
        (inner.clone(), inner, any::<bool>()).prop_map(|(a, b, and)| {
            if and {
                Expr::And(Box::new(a), Box::new(b))
            } else {
                Expr::Or(Box::new(a), Box::new(b))
            }
        })
    })
}

/// How to print: letter case, spacing, extra parentheses.
#[derive(Debug, Clone)]
struct Style {
    choices: Vec<u8>,
    at: usize,
}

impl Style {
    fn next(&mut self) -> u8 {
        let c = self.choices[self.at % self.choices.len()];
        self.at += 1;
        c
    }

    fn case(&mut self, word: &str) -> String {
        match self.next() % 3 {
            0 => word.to_ascii_lowercase(),
            1 => word.to_ascii_uppercase(),
            _ => {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            }
        }
    }

    fn space(&mut self) -> &'static str {
        [" ", "  ", "\t", " \n "][usize::from(self.next() % 4)]
    }

    fn around(&mut self) -> &'static str {
        ["", "", " ", "\t"][usize::from(self.next() % 4)]
    }

    fn extra_parens(&mut self) -> bool {
        self.next().is_multiple_of(5)
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Prints `e` in a context of precedence `context` (0 anywhere, 1 the right side of `or`,
/// 2 the right side of `and`): parentheses where the parser would otherwise group differently
/// (it reads `a or b and c` as `a or (b and c)`, and both operators from the left).
fn print(e: &Expr, context: u8, style: &mut Style) -> String {
    let (own, text) = match e {
        Expr::Or(a, b) => {
            let (l, sp1, kw, sp2, r) = (
                print(a, 0, style),
                style.space(),
                style.case("or"),
                style.space(),
                print(b, 1, style),
            );
            (0, format!("{l}{sp1}{kw}{sp2}{r}"))
        }
        Expr::And(a, b) => {
            let l = print(a, 1, style);
            let (sp1, kw, sp2) = (style.space(), style.case("and"), style.space());
            let r = print(b, 2, style);
            (1, format!("{l}{sp1}{kw}{sp2}{r}"))
        }
        Expr::Present(attr) => {
            let (sp, kw) = (style.space(), style.case("pr"));
            (3, format!("{attr}{sp}{kw}"))
        }
        Expr::Cmp {
            attr, op, value, ..
        } => {
            let (sp1, op, sp2) = (style.space(), style.case(op_text(*op)), style.space());
            let value = match value {
                Value::Str(s) => quoted(s),
                Value::Bool(b) => style.case(&b.to_string()),
                Value::Null => style.case("null"),
            };
            (3, format!("{attr}{sp1}{op}{sp2}{value}"))
        }
        // API filters, the only ones generated here, have neither.
        Expr::Not(_) | Expr::In { .. } => unreachable!("not an API filter: {e:?}"),
    };
    if own < context || style.extra_parens() {
        let (a, b) = (style.around(), style.around());
        format!("({a}{text}{b})")
    } else {
        text
    }
}

/// An attribute's value on a generated object.
#[derive(Debug, Clone)]
enum Held {
    Str(String),
    Ts(Ts),
    Bool(bool),
}

#[derive(Debug, Clone)]
struct Obj(BTreeMap<String, Held>);

impl Filterable for Obj {
    fn attr(&self, name: &str) -> Attr<'_> {
        match self.0.get(name) {
            Some(Held::Str(s)) => Attr::Str(s),
            Some(Held::Ts(t)) => Attr::Ts(*t),
            Some(Held::Bool(b)) => Attr::Bool(*b),
            None => Attr::Missing,
        }
    }
}

/// Objects holding some of the endpoint's attributes, with values the leaves use.
fn objects(rules: Rules) -> impl Strategy<Value = Vec<Obj>> {
    let mut names: Vec<String> = rules.attrs.iter().map(|a| a.to_string()).collect();
    names.extend(["profile.login", "profile.department", "profile.city"].map(String::from));
    let stamps: Vec<String> = rules.timestamps.iter().map(|a| a.to_string()).collect();
    let value = prop_oneof![
        4 => select(WORDS).prop_map(|w| Held::Str(w.to_owned())),
        1 => any::<bool>().prop_map(Held::Bool),
    ];
    let time = select(TIMES).prop_map(|t| Held::Ts(parse_ts(t).unwrap()));
    let obj = (
        proptest::collection::btree_map(select(names), value, 0..6),
        proptest::collection::btree_map(select(stamps), time, 0..3),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            Obj(a)
        });
    proptest::collection::vec(obj, 1..12)
}

/// What `e` selects, by Okta's rules written out: `and`/`or` as logic, `pr` for a value that
/// is there, strings compared without letter case (beyond ASCII too), timestamps by time,
/// booleans by `eq`/`ne`, a missing value equal to `null` and unequal to anything else.
fn selects(e: &Expr, obj: &Obj) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let by_order = |op: Op, order: std::cmp::Ordering| match op {
        Op::Eq => order == Equal,
        Op::Ne => order != Equal,
        Op::Gt => order == Greater,
        Op::Ge => order != Less,
        Op::Lt => order == Less,
        Op::Le => order != Greater,
        Op::Sw | Op::Co | Op::Ew => false,
    };
    let text = |op: Op, have: &str, want: &str| {
        let (have, want) = (have.to_lowercase(), want.to_lowercase());
        match op {
            Op::Sw => have.starts_with(&want),
            Op::Co => have.contains(&want),
            Op::Ew => have.ends_with(&want),
            _ => by_order(op, have.cmp(&want)),
        }
    };
    match e {
        Expr::And(a, b) => selects(a, obj) && selects(b, obj),
        Expr::Or(a, b) => selects(a, obj) || selects(b, obj),
        Expr::Present(attr) => obj.0.contains_key(attr),
        Expr::Cmp {
            attr,
            op,
            value,
            ts,
        } => match (obj.0.get(attr), value, ts) {
            (Some(Held::Ts(have)), _, Some(want)) => by_order(*op, have.cmp(want)),
            (Some(Held::Str(have)), Value::Str(want), _) => text(*op, have, want),
            // A boolean compares with a quoted "true" or "false" as text, and a string with
            // a bare true or false as that word (detections write `isProxy eq "true"`).
            (Some(Held::Bool(have)), Value::Str(want), _) => text(*op, &have.to_string(), want),
            (Some(Held::Str(have)), Value::Bool(want), _) => match op {
                Op::Eq => have.eq_ignore_ascii_case(&want.to_string()),
                Op::Ne => !have.eq_ignore_ascii_case(&want.to_string()),
                _ => false,
            },
            (Some(Held::Bool(have)), Value::Bool(want), _) => match op {
                Op::Eq => have == want,
                Op::Ne => have != want,
                _ => false,
            },
            (None, Value::Null, _) => *op == Op::Eq,
            (None, _, _) => *op == Op::Ne,
            _ => false,
        },
        Expr::Not(_) | Expr::In { .. } => unreachable!("not an API filter: {e:?}"),
    }
}

fn with_rules() -> impl Strategy<Value = (&'static str, Rules, Expr, Vec<Obj>)> {
    select(RULES)
        .prop_flat_map(|(name, rules)| (Just(name), Just(rules), expression(rules), objects(rules)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_printed_expression_parses_back_to_itself_and_selects_the_same(
        (name, rules, expr, objs) in with_rules(),
        choices in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let text = print(&expr, 0, &mut Style { choices, at: 0 });
        let parsed = filter::parse(&text, &rules)
            .map_err(|e| TestCaseError::fail(format!("{name}: {text:?} refused: {e:?}")))?;
        prop_assert_eq!(&parsed, &expr, "{}: {:?}", name, text);
        let want: Vec<bool> = objs.iter().map(|o| selects(&expr, o)).collect();
        let got: Vec<bool> = objs.iter().map(|o| filter::eval(&parsed, o)).collect();
        prop_assert_eq!(got, want, "{}: {:?} over {:?}", name, text, objs);
    }

    #[test]
    fn any_input_is_a_tree_or_e0000031(
        text in prop_oneof![
            ".{0,60}",
            "[a-zA-Z. ()\"\\\\]{0,60}",
            // near misses of real expressions
            "(status|lastUpdated|profile\\.login|eventType) (eq|gt|sw|pr|xx) (\"[a-z0-9:.-]{0,20}\"?|true|null|[0-9-]{0,12})( (and|or|AND) .{0,20})?",
        ],
        rules in select(RULES),
    ) {
        if let Err(e) = filter::parse(&text, &rules.1) {
            prop_assert_eq!(e.code, "E0000031", "{:?}", text);
        }
    }
}

#[test]
fn and_binds_tighter_than_or() {
    let t = "2024-01-01T00:00:00.000Z";
    let e = filter::parse(
        &format!(r#"status eq "A" or status eq "B" and lastUpdated gt "{t}""#),
        &USER_FILTER,
    )
    .unwrap();
    let cmp = |attr: &str, value: &str, op, ts| Expr::Cmp {
        attr: attr.into(),
        op,
        value: Value::Str(value.into()),
        ts,
    };
    assert_eq!(
        e,
        Expr::Or(
            Box::new(cmp("status", "A", Op::Eq, None)),
            Box::new(Expr::And(
                Box::new(cmp("status", "B", Op::Eq, None)),
                Box::new(cmp("lastUpdated", t, Op::Gt, parse_ts(t))),
            )),
        )
    );
}
