//! From an Okta user to the SCIM attributes and target groups it should have.
//!
//! Attributes are kept flat, keyed by their SCIM attribute path (`userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`): the same keys the
//! configuration, the hook, the plan's changed paths and the PATCH operations use.
//! [`scim_resource`] nests them into the JSON a SCIM service provider expects.

use crate::source::SourceUser;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// SCIM attribute path → value, flat. `active` is always present.
pub type Attributes = BTreeMap<String, Value>;

/// The SCIM core User schema.
pub const CORE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The mapping used for a path the configuration does not name; a configured empty template
/// drops one. `active` is not a template: it follows the Okta status ([`SourceUser::is_active`]).
pub const DEFAULT_ATTRIBUTES: [(&str, &str); 5] = [
    ("userName", "{profile.login}"),
    ("name.givenName", "{profile.firstName}"),
    ("name.familyName", "{profile.lastName}"),
    ("displayName", "{profile.firstName} {profile.lastName}"),
    ("emails", "{profile.email}"),
];

/// Multi-valued attributes a single value is wrapped for, as the one primary work value.
const PRIMARY_WORK_VALUED: [&str; 2] = ["emails", "phoneNumbers"];

/// A SCIM attribute path: an optional schema URN (extension attributes) and the dotted
/// attribute names inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributePath {
    pub schema: Option<String>,
    pub names: Vec<String>,
}

impl AttributePath {
    pub fn parse(path: &str) -> Result<Self, String> {
        let (schema, rest) = match path.rsplit_once(':') {
            Some((schema, rest)) if path.starts_with("urn:") => (Some(schema.to_owned()), rest),
            _ => (None, path),
        };
        let names: Vec<String> = rest.split('.').map(str::to_owned).collect();
        let valid = |n: &String| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !names.iter().all(valid) {
            return Err(format!(
                "{path:?} is not a SCIM attribute path: write attribute names separated by dots \
                 (name.givenName), after the schema URN for an extension \
                 (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department)"
            ));
        }
        Ok(AttributePath { schema, names })
    }

    /// The keys from the resource's root: the schema URN (if any), then the names.
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.schema
            .as_deref()
            .into_iter()
            .chain(self.names.iter().map(String::as_str))
    }

    /// The value at this path in a SCIM resource, if present.
    pub fn lookup<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        let mut at = resource;
        for key in self.keys() {
            at = at.get(key)?;
        }
        Some(at)
    }
}

/// A template: literal text with `{dotted.path}` placeholders; `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq)]
enum TemplatePart {
    Literal(String),
    Field(Vec<String>),
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut field = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => field.push(c),
                            None => {
                                return Err(format!(
                                    "template {text:?} opens a placeholder that is not closed: \
                                     write {{profile.login}}, or {{{{ for a literal brace"
                                ));
                            }
                        }
                    }
                    let names: Vec<String> = field.trim().split('.').map(str::to_owned).collect();
                    if names.iter().any(|n| n.is_empty() || n.contains(['{', ' '])) {
                        return Err(format!(
                            "template {text:?} has a placeholder {{{field}}} that is not a dotted \
                             field name such as {{profile.login}}"
                        ));
                    }
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(TemplatePart::Field(names));
                }
                '}' => {
                    return Err(format!(
                        "template {text:?} has a '}}' that closes nothing: write }}}} for a \
                         literal brace"
                    ));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Literal(literal));
        }
        Ok(Template { parts })
    }

    fn fields(&self) -> impl Iterator<Item = &[String]> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Field(f) => Some(f.as_slice()),
            TemplatePart::Literal(_) => None,
        })
    }

    /// The value for one user; `None` when a placeholder's value is missing, null or empty
    /// (the attribute is then omitted). A template that is one placeholder keeps the value's
    /// JSON type (a number, a boolean, an array); otherwise the parts are joined as text.
    pub fn render(&self, root: &Value) -> Option<Value> {
        if let [TemplatePart::Field(f)] = self.parts.as_slice() {
            return lookup(root, f).filter(|v| !is_empty(v)).cloned();
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal(l) => out.push_str(l),
                TemplatePart::Field(f) => match lookup(root, f).filter(|v| !is_empty(v))? {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                },
            }
        }
        (!out.is_empty()).then_some(Value::String(out))
    }
}

fn lookup<'a>(root: &'a Value, names: &[String]) -> Option<&'a Value> {
    names.iter().try_fold(root, |at, n| at.get(n))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A template naming a field that no user of the batch has: almost surely a typo.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "attributes.{path:?} = {template:?}: no user in this push has the field {field}; check its \
     spelling against the Okta profile (Directory > Profile Editor), or remove the attribute"
)]
pub struct UnknownField {
    pub path: String,
    pub template: String,
    pub field: String,
}

/// The target's attribute mapping: the defaults merged with the configured templates.
#[derive(Debug, Clone)]
pub struct AttributeMap {
    entries: Vec<MappedAttribute>,
}

#[derive(Debug, Clone)]
struct MappedAttribute {
    path: String,
    text: String,
    template: Template,
    /// From the configuration (checked against the batch), not a default.
    configured: bool,
}

impl AttributeMap {
    /// Merges `configured` over [`DEFAULT_ATTRIBUTES`]; checks every path and template, and that
    /// no path is inside another (`name` and `name.givenName`).
    pub fn new(configured: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut merged: BTreeMap<String, (String, bool)> = DEFAULT_ATTRIBUTES
            .iter()
            .map(|(p, t)| ((*p).to_owned(), ((*t).to_owned(), false)))
            .collect();
        for (path, text) in configured {
            merged.insert(path.clone(), (text.clone(), true));
        }
        merged.retain(|_, (text, _)| !text.is_empty());
        let mut parsed_paths = Vec::new();
        let mut entries = Vec::new();
        for (path, (text, configured)) in merged {
            parsed_paths.push((path.clone(), AttributePath::parse(&path)?));
            entries.push(MappedAttribute {
                template: Template::parse(&text)?,
                path,
                text,
                configured,
            });
        }
        parsed_paths.push(("active".into(), AttributePath::parse("active")?));
        check_no_nesting(&parsed_paths)?;
        Ok(AttributeMap { entries })
    }

    /// Every configured template's placeholders must be present (non-null) for at least one
    /// user of a non-empty batch.
    pub fn check_fields_present(&self, users: &[SourceUser]) -> Result<(), UnknownField> {
        if users.is_empty() {
            return Ok(());
        }
        let roots: Vec<Value> = users.iter().map(SourceUser::template_root).collect();
        for entry in self.entries.iter().filter(|e| e.configured) {
            for field in entry.template.fields() {
                let present = roots
                    .iter()
                    .any(|r| lookup(r, field).is_some_and(|v| !v.is_null()));
                if !present {
                    return Err(UnknownField {
                        path: entry.path.clone(),
                        template: entry.text.clone(),
                        field: field.join("."),
                    });
                }
            }
        }
        Ok(())
    }

    /// The user's attributes: each template's value (omitted when empty) and `active`.
    pub fn map_user(&self, user: &SourceUser) -> Attributes {
        let root = user.template_root();
        let mut out: Attributes = self
            .entries
            .iter()
            .filter_map(|e| Some((e.path.clone(), e.template.render(&root)?)))
            .collect();
        out.insert("active".into(), Value::Bool(user.is_active()));
        normalize(&mut out);
        out
    }
}

/// Wraps a single email or phone number as the primary work value; what the mapping and the
/// hook produce goes through this, so both may write a plain string.
pub fn normalize(attributes: &mut Attributes) {
    for name in PRIMARY_WORK_VALUED {
        if let Some(v) = attributes.get_mut(name)
            && !v.is_array()
        {
            let value = std::mem::take(v);
            *v = serde_json::json!([{ "value": value, "primary": true, "type": "work" }]);
        }
    }
}

fn check_no_nesting(paths: &[(String, AttributePath)]) -> Result<(), String> {
    for (a, pa) in paths {
        for (b, pb) in paths {
            let (ka, kb): (Vec<&str>, Vec<&str>) = (pa.keys().collect(), pb.keys().collect());
            if a != b && ka.len() < kb.len() && kb.starts_with(&ka) {
                return Err(format!(
                    "{a:?} and {b:?} are both mapped, but {b:?} is inside {a:?}: map one of them \
                     (set the other to \"\" to drop a default)"
                ));
            }
        }
    }
    Ok(())
}

/// Checks attributes a hook returned: valid paths, none inside another.
pub fn check_attributes(attributes: &Attributes) -> Result<(), String> {
    let paths = attributes
        .keys()
        .map(|k| AttributePath::parse(k).map(|p| (k.clone(), p)))
        .collect::<Result<Vec<_>, _>>()?;
    check_no_nesting(&paths)?;
    match attributes.get("userName") {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        _ => Err("userName is missing or not a non-empty string".into()),
    }
}

/// The SCIM User resource for flat attributes: nested objects, extension attributes under
/// their schema, and `schemas` naming the core schema and every extension used.
pub fn scim_resource(attributes: &Attributes) -> Value {
    let mut root = Map::new();
    let mut schemas = vec![CORE_USER_SCHEMA.to_owned()];
    for (path, value) in attributes {
        let Ok(parsed) = AttributePath::parse(path) else {
            continue;
        };
        if let Some(schema) = &parsed.schema
            && !schemas.contains(schema)
        {
            schemas.push(schema.clone());
        }
        let keys: Vec<&str> = parsed.keys().collect();
        insert_nested(&mut root, &keys, value.clone());
    }
    root.insert(
        "schemas".into(),
        Value::Array(schemas.into_iter().map(Value::String).collect()),
    );
    Value::Object(root)
}

fn insert_nested(map: &mut Map<String, Value>, keys: &[&str], value: Value) {
    match keys {
        [] => {}
        [last] => {
            map.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let child = map
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                insert_nested(child, rest, value);
            }
        }
    }
}

/// The target groups for a user: the `group_map` entries naming its groups by name or id.
pub fn target_groups(
    group_map: &BTreeMap<String, Vec<String>>,
    user: &SourceUser,
) -> BTreeSet<String> {
    user.groups
        .iter()
        .flat_map(|g| {
            group_map
                .get(&g.name)
                .into_iter()
                .chain(group_map.get(&g.id))
                .flatten()
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceGroup;
    use serde_json::json;

    const DEPT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

    fn user(profile: Value) -> SourceUser {
        SourceUser {
            id: "00u1".into(),
            status: "ACTIVE".into(),
            profile,
            groups: vec![SourceGroup {
                id: "00g1".into(),
                name: "Engineering".into(),
            }],
        }
    }

    fn map(configured: &[(&str, &str)]) -> AttributeMap {
        let c = configured
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        AttributeMap::new(&c).unwrap()
    }

    #[test]
    fn defaults_map_core_attributes() {
        let u = user(
            json!({"login": "jo@x.com", "firstName": "Jo", "lastName": "Lee",
                             "email": "jo@x.com"}),
        );
        let a = map(&[]).map_user(&u);
        assert_eq!(a["userName"], json!("jo@x.com"));
        assert_eq!(a["name.givenName"], json!("Jo"));
        assert_eq!(a["displayName"], json!("Jo Lee"));
        assert_eq!(
            a["emails"],
            json!([{"value": "jo@x.com", "primary": true, "type": "work"}])
        );
        assert_eq!(a["active"], json!(true));
        let r = scim_resource(&a);
        assert_eq!(r["name"], json!({"givenName": "Jo", "familyName": "Lee"}));
        assert_eq!(r["schemas"], json!([CORE_USER_SCHEMA]));
    }

    #[test]
    fn missing_values_omit_the_attribute_and_status_sets_active() {
        let mut u = user(json!({"login": "jo@x.com", "firstName": "Jo", "lastName": ""}));
        u.status = "SUSPENDED".into();
        let a = map(&[]).map_user(&u);
        assert!(!a.contains_key("name.familyName"));
        assert!(!a.contains_key("displayName"), "{a:?}");
        assert!(!a.contains_key("emails"));
        assert_eq!(a["active"], json!(false));
    }

    #[test]
    fn templates_with_text_extension_and_types() {
        let m = map(&[
            (DEPT, "{profile.department}"),
            ("title", "{profile.title} ({profile.department})"),
            ("displayName", ""),
            ("x-count", "{profile.count}"),
            ("nickName", "{{{profile.nick}}}"),
        ]);
        let u = user(
            json!({"login": "jo@x.com", "department": "Eng", "title": "Dev",
                             "count": 3, "nick": "j"}),
        );
        let a = m.map_user(&u);
        assert_eq!(a["title"], json!("Dev (Eng)"));
        assert_eq!(a["x-count"], json!(3));
        assert_eq!(a["nickName"], json!("{j}"));
        assert!(!a.contains_key("displayName"));
        let r = scim_resource(&a);
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"department": "Eng"})
        );
        assert_eq!(
            r["schemas"],
            json!([
                CORE_USER_SCHEMA,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ])
        );
        let path = AttributePath::parse(DEPT).unwrap();
        assert_eq!(path.lookup(&r), Some(&json!("Eng")));
    }

    #[test]
    fn a_field_no_user_has_is_an_error_naming_the_template() {
        let m = map(&[(DEPT, "{profile.departmnt}")]);
        let users = [
            user(json!({"login": "a", "department": "Eng"})),
            user(json!({"login": "b"})),
        ];
        let e = m.check_fields_present(&users).unwrap_err().to_string();
        assert!(e.contains("{profile.departmnt}"), "{e}");
        assert!(e.contains("profile.departmnt"), "{e}");
        // one user having it is enough; defaults are never checked
        let m = map(&[(DEPT, "{profile.department}")]);
        m.check_fields_present(&users).unwrap();
        m.check_fields_present(&[]).unwrap();
    }

    #[test]
    fn bad_templates_and_paths() {
        for bad in ["{profile.login", "x}", "{}", "{a..b}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        for bad in ["", "name..x", "9x", "name givenName"] {
            assert!(AttributePath::parse(bad).is_err(), "{bad:?}");
        }
        let c = [("name".to_owned(), "{profile.x}".to_owned())].into();
        assert!(AttributeMap::new(&c).unwrap_err().contains("inside"));
    }

    #[test]
    fn group_map_by_name_or_id() {
        let u = user(json!({}));
        let gm: BTreeMap<String, Vec<String>> = [
            ("Engineering".to_owned(), vec!["eng".to_owned()]),
            ("00g1".to_owned(), vec!["all".to_owned(), "eng".to_owned()]),
            ("Sales".to_owned(), vec!["sales".to_owned()]),
        ]
        .into();
        assert_eq!(
            target_groups(&gm, &u),
            ["all".to_owned(), "eng".to_owned()].into()
        );
    }
}
