//! What a detection rule is: an id, a title, a severity, where its logic comes from, and one of
//! three shapes of logic: a match on one event, an aggregation over a window of events grouped
//! by an entity, or an expected event that did not follow.

use crate::event::Event;
use chrono::Duration;
use okta_filter::{Expr, JsonObject};
use oktasync_store::Severity;
use serde_json::Value;
use std::collections::BTreeMap;
use std::collections::HashMap;

/// A detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable: alerts and settings name rules by it (`okta.mfa.push_bombing`).
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub description: String,
    /// Where the logic comes from: rule sets and files (`Sigma rules/identity/okta/...`).
    pub sources: Vec<String>,
    /// The author to show with every alert (Sigma's licence asks for it).
    pub author: Option<String>,
    pub logic: Logic,
    /// Tunable numbers (thresholds, windows in minutes), defaults first, then settings.
    pub params: Params,
}

#[derive(Debug, Clone)]
pub enum Logic {
    /// Each matching event is a finding about `entity`; findings about one entity within
    /// `dedup_minutes` (a param) are one alert.
    Event { matcher: Matcher, entity: Key },
    /// A group of events (by `key`) inside a sliding window fires when `evaluate` says so.
    Window(WindowRule),
    /// An event `first` not followed, for the same key, by `then` within `within_minutes`.
    Absence(AbsenceRule),
}

/// Which events a rule looks at.
#[derive(Clone)]
pub enum Matcher {
    /// An Okta System Log filter expression (the syntax of Okta's own detections).
    Filter { source: String, expr: Expr },
    /// A Sigma detection (`rules_dir`).
    Sigma(crate::sigma::Detection),
    /// Rust, for what neither can say (comparing two fields of one event).
    Native(fn(&Event, &Context) -> bool),
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Filter { source, .. } => write!(f, "Filter({source})"),
            Matcher::Sigma(d) => write!(f, "Sigma({d:?})"),
            Matcher::Native(_) => f.write_str("Native"),
        }
    }
}

impl Matcher {
    /// A filter expression in the System Log's syntax, or why it cannot be parsed.
    pub fn filter(source: &str) -> Result<Matcher, okta_filter::FilterError> {
        Ok(Matcher::Filter {
            expr: okta_filter::parse(source, &okta_filter::DETECTION)?,
            source: source.to_string(),
        })
    }

    pub fn matches(&self, event: &Event, ctx: &Context) -> bool {
        match self {
            Matcher::Filter { expr, .. } => okta_filter::eval(expr, &JsonObject(&event.raw)),
            Matcher::Sigma(d) => d.matches(&event.raw),
            Matcher::Native(f) => f(event, ctx),
        }
    }
}

/// What an alert is about, read from an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The actor's login (lower case), else its id.
    Actor,
    /// `client.ipAddress`.
    ClientIp,
    /// The first `User` target's login, else the actor.
    TargetUser,
    /// The first `UserGroup` target.
    TargetGroup,
    /// The first `Token` target.
    TargetToken,
    /// `dtHash` and the actor together (a device cookie in one user's hands).
    DeviceAndActor,
    /// The whole org (tenant-wide rules).
    Org,
}

impl Key {
    pub fn of(self, e: &Event) -> Option<String> {
        match self {
            Key::Actor => e.actor(),
            Key::ClientIp => e.ip().map(str::to_string),
            Key::TargetUser => e
                .target_name("User")
                .map(str::to_lowercase)
                .or_else(|| e.actor()),
            Key::TargetGroup => e
                .target_name("UserGroup")
                .map(str::to_string)
                .or_else(|| e.actor()),
            Key::TargetToken => e
                .target_id("Token")
                .map(str::to_string)
                .or_else(|| e.actor()),
            Key::DeviceAndActor => Some(format!("{} {}", e.dt_hash()?, e.actor()?)),
            Key::Org => Some("org".into()),
        }
    }
}

/// A windowed rule: events selected, grouped by key, looked at inside a sliding window.
#[derive(Debug, Clone)]
pub struct WindowRule {
    /// The event types it reads (exact or globs): what is asked of the store.
    pub event_types: &'static [&'static str],
    pub select: fn(&Event) -> bool,
    /// Which selected events may end a window (a sequence ends with its last step).
    pub trigger: fn(&Event) -> bool,
    pub key: Key,
    /// Whether the group's events in the window ending at the last one fire: a finding, or
    /// `None`. The window's length is the `window_minutes` param.
    pub evaluate: fn(&[&Event], &Params) -> Option<Finding>,
}

impl WindowRule {
    /// Whether the rule counts an event: one of its types, and selected.
    pub fn selects(&self, e: &Event) -> bool {
        type_matches(self.event_types, e.event_type()) && (self.select)(e)
    }
}

/// Whether `event_type` is one of `types` (exact, or a prefix ending in `*`).
pub(crate) fn type_matches(types: &[&str], event_type: &str) -> bool {
    types.iter().any(|t| match t.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => *t == event_type,
    })
}

/// An absence rule: `first`, then no `then` for the same key within `within_minutes`.
#[derive(Debug, Clone)]
pub struct AbsenceRule {
    pub event_types: &'static [&'static str],
    pub first: fn(&Event) -> bool,
    pub then: fn(&Event) -> bool,
    pub key: Key,
}

/// What a rule found: a summary, evidence, and which events (indexes into the window) count.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub summary: String,
    pub detail: Value,
    /// Indexes into the events the rule was given; all of them when empty.
    pub events: Vec<usize>,
}

/// A rule's tunable numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(BTreeMap<String, f64>);

impl Params {
    pub fn new(defaults: &[(&str, f64)]) -> Params {
        Params(
            defaults
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
        )
    }

    /// The value of a param; 0 when the rule has none of that name.
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// A count param (rounded).
    pub fn count(&self, name: &str) -> usize {
        self.get(name).max(0.0).round() as usize
    }

    /// A param in minutes, as a duration.
    pub fn minutes(&self, name: &str) -> Duration {
        Duration::milliseconds((self.get(name) * 60_000.0).round() as i64)
    }

    pub fn names(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Sets a param the rule has; `false` when it has none of that name.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        match self.0.get_mut(name) {
            Some(v) => {
                *v = value;
                true
            }
            None => false,
        }
    }
}

/// What rules may look up beyond the event: the mirror's users.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Logins of the mirror's users by their [`login_shape`].
    pub logins_by_shape: HashMap<String, String>,
    /// Logins of the mirror's users (lower case).
    pub logins: std::collections::HashSet<String>,
}

impl Context {
    pub fn with_logins(logins: impl IntoIterator<Item = String>) -> Context {
        let mut ctx = Context::default();
        for login in logins {
            let login = login.to_lowercase();
            ctx.logins_by_shape
                .insert(login_shape(&login), login.clone());
            ctx.logins.insert(login);
        }
        ctx
    }
}

/// A login with the characters look-alikes swap removed: `tracey_stone@acme.io` and
/// `tracey.stone@acme.io` have the same shape.
pub fn login_shape(login: &str) -> String {
    login
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '.' | '_' | '-' | '+'))
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            c => c,
        })
        .collect()
}
