//! The per-user hook: a Rhai script run after mapping, once per user.
//!
//! The script sees four variables:
//! - `user`: the Okta user, `#{id, status, login, profile: #{...}}` (a constant: read only);
//! - `groups`: the names of the user's Okta groups (a constant array of strings);
//! - `attributes`: the mapped SCIM attributes, keyed by attribute path
//!   (`attributes["name.givenName"]`, `attributes.userName`, `attributes.active`); change,
//!   add or remove (`attributes.remove("title")`) entries; a plain string for `emails` or
//!   `phoneNumbers` becomes the primary work value;
//! - `target_groups`: the target group displayNames the user joins (an array of strings).
//!
//! To leave a user out of this push, call `skip()` (or `skip("reason")`): the script stops
//! there and the user is neither created, changed nor removed. A script error (a runtime error,
//! `throw`, or exceeding a limit) names the user and the line, and skips only that user.
//!
//! The sandbox: no module loading (`import`), no `eval`, `print`/`debug` go to the log, and
//! the limits below bound the work one user can cost. Rhai itself has no file, network or
//! process access unless the host registers functions for it, and this host registers none.

use crate::mapping::{self, Attributes};
use crate::source::SourceUser;
use rhai::{AST, Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position, Scope};
use serde_json::Value;
use std::collections::BTreeSet;

/// Operations one user's run may take: a loop over a few hundred groups with string work
/// stays far below; a runaway loop stops within a few milliseconds.
const MAX_OPERATIONS: u64 = 100_000;
/// Expression nesting at global level and inside functions.
const MAX_EXPR_DEPTH: usize = 64;
const MAX_FUNCTION_EXPR_DEPTH: usize = 32;
const MAX_CALL_LEVELS: usize = 32;
/// Large enough for any attribute value; small enough that string doubling stops fast.
const MAX_STRING_SIZE: usize = 64 * 1024;
const MAX_ARRAY_SIZE: usize = 10_000;
const MAX_MAP_SIZE: usize = 10_000;

/// What `skip()` raises to stop the script; not catchable by the script's `try`.
#[derive(Debug, Clone)]
struct SkipRequest(Option<String>);

/// A compiled hook with its sandboxed engine; built once per run, shared by all users.
pub struct Hook {
    name: String,
    engine: Engine,
    ast: AST,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook").field("name", &self.name).finish()
    }
}

/// The hook's verdict for one user.
#[derive(Debug, Clone, PartialEq)]
pub enum HookOutcome {
    Push {
        attributes: Attributes,
        target_groups: BTreeSet<String>,
    },
    Skip {
        reason: Option<String>,
    },
}

/// The hook failed for one user (or could not be compiled: then `login` is empty).
#[derive(Debug, Clone, thiserror::Error)]
#[error("hook {script}{}{}: {message}", user_part(.login), line_part(.line))]
pub struct HookError {
    pub script: String,
    /// The user's Okta login; empty for a compile error.
    pub login: String,
    pub line: Option<usize>,
    pub message: String,
}

fn user_part(login: &str) -> String {
    if login.is_empty() {
        String::new()
    } else {
        format!(" failed for user {login}")
    }
}

fn line_part(line: &Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

impl Hook {
    /// Compiles `source`; `name` (the script's file name) appears in errors.
    pub fn compile(name: &str, source: &str) -> Result<Self, HookError> {
        let engine = sandboxed_engine();
        let ast = engine.compile(source).map_err(|e| HookError {
            script: name.to_owned(),
            login: String::new(),
            line: e.position().line(),
            message: format!("does not compile: {}", strip_position(&e.0.to_string())),
        })?;
        Ok(Hook {
            name: name.to_owned(),
            engine,
            ast,
        })
    }

    /// Reads and compiles the script at `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, HookError> {
        let name = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| HookError {
            script: name.clone(),
            login: String::new(),
            line: None,
            message: format!("cannot be read: {e}"),
        })?;
        Hook::compile(&name, &source)
    }

    /// Runs the script for one user.
    pub fn run(
        &self,
        user: &SourceUser,
        attributes: Attributes,
        target_groups: BTreeSet<String>,
    ) -> Result<HookOutcome, HookError> {
        let fail = |line: Option<usize>, message: String| HookError {
            script: self.name.clone(),
            login: user.login().to_owned(),
            line,
            message,
        };
        let mut user_map = Map::new();
        user_map.insert("id".into(), user.id.clone().into());
        user_map.insert("status".into(), user.status.clone().into());
        user_map.insert("login".into(), user.login().to_owned().into());
        user_map.insert("profile".into(), to_dynamic(&user.profile));
        let groups: Array = user.groups.iter().map(|g| g.name.clone().into()).collect();
        let attributes: Map = attributes
            .iter()
            .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
            .collect();
        let target_groups: Array = target_groups.into_iter().map(Dynamic::from).collect();

        let mut scope = Scope::new();
        scope.push_constant("user", user_map);
        scope.push_constant("groups", groups);
        scope.push("attributes", attributes);
        scope.push("target_groups", target_groups);

        if let Err(e) = self.engine.run_ast_with_scope(&mut scope, &self.ast) {
            if let EvalAltResult::ErrorTerminated(token, _) = e.as_ref()
                && let Some(SkipRequest(reason)) = token.clone().try_cast::<SkipRequest>()
            {
                return Ok(HookOutcome::Skip { reason });
            }
            return Err(fail(
                innermost_line(&e),
                strip_position(&e.to_string()).to_owned(),
            ));
        }

        let attributes = scope
            .get_value::<Map>("attributes")
            .ok_or_else(|| fail(None, "`attributes` is no longer a map".into()))?;
        let mut attributes: Attributes = attributes
            .into_iter()
            .filter(|(_, v)| !v.is_unit())
            .map(|(k, v)| {
                let value =
                    from_dynamic(&v).map_err(|m| fail(None, format!("attribute {k}: {m}")))?;
                Ok((k.to_string(), value))
            })
            .collect::<Result<_, HookError>>()?;
        mapping::normalize(&mut attributes);
        mapping::check_attributes(&attributes)
            .map_err(|m| fail(None, format!("the attributes it left are invalid: {m}")))?;
        if !attributes.get("active").is_some_and(Value::is_boolean) {
            return Err(fail(None, "attributes.active must stay a boolean".into()));
        }
        let target_groups = scope
            .get_value::<Array>("target_groups")
            .ok_or_else(|| fail(None, "`target_groups` is no longer an array".into()))?
            .into_iter()
            .map(|g| {
                g.into_immutable_string()
                    .map(|s| s.to_string())
                    .map_err(|t| fail(None, format!("target_groups holds a {t}, not a string")))
            })
            .collect::<Result<BTreeSet<String>, HookError>>()?;
        Ok(HookOutcome::Push {
            attributes,
            target_groups,
        })
    }
}

fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        // Engine::new() resolves `import` from files: refuse every module
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new())
        .on_print(|text| tracing::info!(target: "oktasync_push::hook", "{text}"))
        .on_debug(|text, _, pos| tracing::debug!(target: "oktasync_push::hook", %pos, "{text}"));
    engine.disable_symbol("eval");
    engine.register_fn("skip", || -> Result<(), Box<EvalAltResult>> {
        Err(EvalAltResult::ErrorTerminated(Dynamic::from(SkipRequest(None)), Position::NONE).into())
    });
    engine.register_fn(
        "skip",
        |reason: ImmutableString| -> Result<(), Box<EvalAltResult>> {
            let request = SkipRequest(Some(reason.to_string()));
            Err(EvalAltResult::ErrorTerminated(Dynamic::from(request), Position::NONE).into())
        },
    );
    engine
}

/// The line where the error arose, inside the functions it passed through.
fn innermost_line(e: &EvalAltResult) -> Option<usize> {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, pos) => {
            innermost_line(inner).or(pos.line())
        }
        other => other.position().line(),
    }
}

/// Rhai appends " (line L, position P)"; the error carries the line on its own.
fn strip_position(message: &str) -> &str {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => &message[..i],
        _ => message,
    }
}

fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        Value::String(s) => s.clone().into(),
        Value::Array(a) => Dynamic::from_array(a.iter().map(to_dynamic).collect()),
        Value::Object(o) => Dynamic::from_map(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
                .collect(),
        ),
    }
}

fn from_dynamic(d: &Dynamic) -> Result<Value, String> {
    if d.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = d.as_float() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} is not a JSON number"));
    }
    if let Ok(c) = d.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if d.is_string() {
        return Ok(Value::String(d.clone().into_string().unwrap_or_default()));
    }
    if let Some(a) = d.read_lock::<Array>() {
        return a
            .iter()
            .map(from_dynamic)
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Some(m) = d.read_lock::<Map>() {
        return m
            .iter()
            .map(|(k, v)| Ok((k.to_string(), from_dynamic(v)?)))
            .collect::<Result<serde_json::Map<_, _>, String>>()
            .map(Value::Object);
    }
    Err(format!(
        "holds a {}, which is not a JSON value",
        d.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceGroup;
    use serde_json::json;

    fn user() -> SourceUser {
        SourceUser {
            id: "00u1".into(),
            status: "ACTIVE".into(),
            profile: json!({"login": "jo@x.com", "department": "Eng", "level": 3}),
            groups: vec![SourceGroup {
                id: "00g1".into(),
                name: "Engineering".into(),
            }],
        }
    }

    fn attrs() -> Attributes {
        [
            ("userName".to_owned(), json!("jo@x.com")),
            ("active".to_owned(), json!(true)),
        ]
        .into()
    }

    fn run(script: &str) -> Result<HookOutcome, HookError> {
        Hook::compile("adjust.rhai", script).unwrap().run(
            &user(),
            attrs(),
            ["eng".to_owned()].into(),
        )
    }

    #[test]
    fn changes_attributes_and_groups() {
        let out = run(r#"
            let name = user.profile.login;
            name.replace("@x.com", "@y.com");
            attributes.userName = name;
            attributes["title"] = `L${user.profile.level}`;
            attributes.emails = user.login;
            if "Engineering" in groups { target_groups.push("devs"); }
            target_groups.retain(|g| g != "eng");
        "#)
        .unwrap();
        let HookOutcome::Push {
            attributes,
            target_groups,
        } = out
        else {
            panic!("{out:?}")
        };
        assert_eq!(attributes["userName"], json!("jo@y.com"));
        assert_eq!(attributes["title"], json!("L3"));
        assert_eq!(attributes["emails"][0]["value"], json!("jo@x.com"));
        assert_eq!(target_groups, ["devs".to_owned()].into());
    }

    #[test]
    fn skip_stops_the_script_and_cannot_be_caught() {
        assert_eq!(
            run("skip(); throw \"not reached\";").unwrap(),
            HookOutcome::Skip { reason: None }
        );
        assert_eq!(
            run("try { skip(\"contractor\"); } catch { }").unwrap(),
            HookOutcome::Skip {
                reason: Some("contractor".into())
            }
        );
    }

    #[test]
    fn errors_name_user_and_line() {
        let e = run("let a = 1;\n\nthrow \"no department\";").unwrap_err();
        assert_eq!(e.line, Some(3));
        let text = e.to_string();
        assert!(
            text.contains("jo@x.com") && text.contains("line 3"),
            "{text}"
        );
        assert!(text.contains("no department"), "{text}");

        let e = run("fn f(x) {\n  x.nope()\n}\nf(1);").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");

        let e = Hook::compile("adjust.rhai", "let x = ;").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.to_string().contains("does not compile"), "{e}");
    }

    #[test]
    fn sandbox_limits_hold() {
        let e = run("loop { }").unwrap_err();
        assert!(e.message.contains("Too many operations"), "{e}");
        let e = run("let s = \"x\"; loop { s += s; }").unwrap_err();
        assert!(e.message.to_lowercase().contains("too large"), "{e}");
        let e = run("import \"os\" as os;").unwrap_err();
        assert!(e.message.contains("os"), "{e}");
        assert!(Hook::compile("h", "eval(\"1\")").is_err());
    }

    #[test]
    fn invalid_results_are_errors() {
        let e = run("attributes.remove(\"userName\");").unwrap_err();
        assert!(e.message.contains("userName"), "{e}");
        let e = run("attributes.active = \"yes\";").unwrap_err();
        assert!(e.message.contains("active"), "{e}");
        let e = run("target_groups.push(3);").unwrap_err();
        assert!(e.message.contains("not a string"), "{e}");
    }
}
