//! Runs the rules over the kept System Log.
//!
//! Incrementally (after each sync or watch poll): the events stored since the `detect.seq`
//! checkpoint, in batches, each event evaluated once; the batch's alerts and the checkpoint are
//! saved in one transaction, so a crash re-evaluates at most one batch and the re-evaluation
//! merges into the same alerts. Windowed rules read their look-back from the store, so their
//! state is the kept log itself and survives restarts. On demand (`--since`), the same over
//! the events published since a time, leaving the checkpoint alone.

use crate::catalogue;
use crate::error::{DetectError, Result};
use crate::event::Event;
use crate::rule::{AbsenceRule, Context, Finding, Logic, Rule, WindowRule};
use crate::settings::DetectionSettings;
use chrono::{DateTime, Duration, DurationRound, Utc};
use oktasync_store::{Detections, NewAlert, OrgId, SavedAlert};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The checkpoint holding the `seq` of the last event evaluated.
pub const DETECT_CHECKPOINT: &str = "detect.seq";
/// The checkpoint holding when detection last ran (absence rules look up to then).
pub const DETECT_AT_CHECKPOINT: &str = "detect.at";
/// Events read per batch (alerts and the checkpoint saved per batch, in one transaction).
pub const EVENTS_PER_BATCH: u32 = 10_000;
/// A batch is evaluated in time slices of at most this span, oldest first, so that windowed
/// rules slide over the log: each kept event is read into the look-back about once.
const SLICE_SPAN_MINUTES: i64 = 30;
/// How far back absence rules look on a first run.
const FIRST_RUN_LOOKBACK_DAYS: i64 = 90;

/// Which events a run evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// The events stored since the last run (`detect.seq`), moving the checkpoint.
    New,
    /// The events published since a time, leaving the checkpoint alone.
    Since(DateTime<Utc>),
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DetectReport {
    pub events: u64,
    pub rules: usize,
    /// Alerts raised for the first time.
    pub new_alerts: Vec<oktasync_store::StoredAlert>,
    /// Alerts already raised that this run found more events for.
    pub updated_alerts: u64,
}

/// A set of rules, ready to run.
#[derive(Debug, Clone)]
pub struct Detector {
    rules: Vec<Rule>,
}

impl Detector {
    /// The built-in rules.
    pub fn builtin() -> Detector {
        Detector {
            rules: catalogue::builtin(),
        }
    }

    /// The built-in rules, plus those of `rules_dir`, less the disabled ones, with the
    /// settings' params.
    pub fn from_settings(settings: &DetectionSettings) -> Result<Detector> {
        let mut rules = catalogue::builtin();
        if let Some(dir) = &settings.rules_dir {
            rules.extend(crate::user_rules::load_dir(dir)?);
        }
        let mut seen = HashSet::new();
        for r in &rules {
            if !seen.insert(r.id.clone()) {
                return Err(DetectError::DuplicateRule(r.id.clone()));
            }
        }
        for id in &settings.disabled {
            if !seen.contains(id) {
                return Err(DetectError::UnknownRule(id.clone()));
            }
        }
        rules.retain(|r| !settings.disabled.contains(&r.id));
        for (id, params) in &settings.params {
            let rule = rules
                .iter_mut()
                .find(|r| &r.id == id)
                .ok_or_else(|| DetectError::UnknownRule(id.clone()))?;
            for (name, value) in params {
                if !rule.params.set(name, *value) {
                    return Err(DetectError::UnknownParam {
                        rule: id.clone(),
                        param: name.clone(),
                        known: rule
                            .params
                            .names()
                            .map(|(n, _)| n.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
        Ok(Detector { rules })
    }

    pub fn new(rules: Vec<Rule>) -> Detector {
        Detector { rules }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Runs the rules over the kept log of `org` and saves what they find.
    pub async fn run(
        &self,
        store: &dyn Detections,
        org: OrgId,
        range: Range,
        now: DateTime<Utc>,
    ) -> Result<DetectReport> {
        let mut report = DetectReport {
            rules: self.rules.len(),
            ..DetectReport::default()
        };
        let (mut after, since) = match range {
            Range::New => (
                store
                    .checkpoint(org, DETECT_CHECKPOINT)
                    .await?
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0),
                None,
            ),
            Range::Since(t) => (0, Some(t)),
        };
        // Events stored before this run were evaluated by earlier runs: a late event (published
        // before them) re-opens the windows that end at them.
        let evaluated_before = match range {
            Range::New if after > 0 => Some(after),
            _ => None,
        };
        let mut ctx: Option<Context> = None;
        let mut lookback = Lookback::default();
        loop {
            let batch = store
                .log_events_after(org, after, since, EVENTS_PER_BATCH)
                .await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.seq;
            let mut events: Vec<Event> = batch.into_iter().filter_map(Event::from_logged).collect();
            events.sort_by_key(|e| (e.published, e.seq));
            report.events += events.len() as u64;
            if ctx.is_none() && self.needs_logins(&events) {
                ctx = Some(Context::with_logins(store.user_logins(org).await?));
            }
            let ctx = ctx.as_ref().unwrap_or(&EMPTY);
            let mut alerts = Vec::new();
            for slice in slices(&events) {
                let history = self
                    .history(store, org, slice, &mut lookback, evaluated_before)
                    .await?;
                alerts.extend(self.evaluate_refs(slice, history, ctx));
            }
            let mut checkpoints = BTreeMap::new();
            if range == Range::New {
                checkpoints.insert(DETECT_CHECKPOINT.to_string(), after.to_string());
            }
            let saved = store.save_alerts(org, &alerts, &checkpoints, now).await?;
            tally(&mut report, saved);
        }
        let absence_from = match range {
            Range::New => store
                .checkpoint(org, DETECT_AT_CHECKPOINT)
                .await?
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now - Duration::days(FIRST_RUN_LOOKBACK_DAYS)),
            Range::Since(t) => t,
        };
        let mut alerts = Vec::new();
        for rule in &self.rules {
            if let Logic::Absence(absence) = &rule.logic {
                alerts.extend(
                    self.absences(store, org, rule, absence, absence_from, now)
                        .await?,
                );
            }
        }
        let mut checkpoints = BTreeMap::new();
        if range == Range::New {
            checkpoints.insert(
                DETECT_AT_CHECKPOINT.to_string(),
                now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
        }
        let saved = store.save_alerts(org, &alerts, &checkpoints, now).await?;
        tally(&mut report, saved);
        Ok(report)
    }

    fn needs_logins(&self, events: &[Event]) -> bool {
        self.rules.iter().any(|r| catalogue::needs_logins(&r.id))
            && events
                .iter()
                .any(|e| e.event_type() == "user.session.start" && e.outcome() == "FAILURE")
    }

    /// The kept events windowed rules need around a slice of new events: the longest window
    /// before it (slid forward from the previous slice's), and, after it, the events earlier
    /// runs evaluated (a window ending at one of them may now hold a late event).
    async fn history<'a>(
        &self,
        store: &dyn Detections,
        org: OrgId,
        slice: &[Event],
        lookback: &'a mut Lookback,
        evaluated_before: Option<i64>,
    ) -> Result<Vec<&'a Event>> {
        let windowed: Vec<(&Rule, &WindowRule)> = self.windowed().collect();
        let Some(longest) = windowed
            .iter()
            .map(|(r, _)| r.params.minutes("window_minutes"))
            .max()
        else {
            return Ok(Vec::new());
        };
        let (Some(first), Some(last)) = (slice.first(), slice.last()) else {
            return Ok(Vec::new());
        };
        let mut types: Vec<String> = windowed
            .iter()
            .flat_map(|(_, w)| w.event_types.iter().map(|t| t.to_string()))
            .collect();
        types.sort();
        types.dedup();
        lookback
            .cover(
                store,
                org,
                &types,
                first.published - longest,
                last.published,
            )
            .await?;
        lookback.ahead.clear();
        if let Some(max_seq) = evaluated_before {
            let later = store
                .log_events_between(
                    org,
                    last.published,
                    last.published + longest,
                    &types,
                    Some(max_seq),
                )
                .await?;
            let seen = &lookback.seqs;
            let ahead: Vec<Event> = later
                .into_iter()
                .filter(|row| !seen.contains(&row.seq))
                .filter_map(Event::slim_from_logged)
                .collect();
            lookback.ahead = ahead;
        }
        Ok(lookback.events.iter().chain(&lookback.ahead).collect())
    }

    fn windowed(&self) -> impl Iterator<Item = (&Rule, &WindowRule)> {
        self.rules.iter().filter_map(|r| match &r.logic {
            Logic::Window(w) => Some((r, w)),
            _ => None,
        })
    }

    /// The alerts single-event and windowed rules raise for `new` events, with `history`
    /// (kept events around them, which may include them) as the windows' look-back.
    pub fn evaluate(&self, new: &[Event], history: &[Event], ctx: &Context) -> Vec<NewAlert> {
        self.evaluate_refs(new, history.iter().collect(), ctx)
    }

    fn evaluate_refs<'a>(
        &self,
        new: &'a [Event],
        history: Vec<&'a Event>,
        ctx: &Context,
    ) -> Vec<NewAlert> {
        let mut found = Alerts::default();
        let new_seqs: HashSet<i64> = new.iter().map(|e| e.seq).collect();
        let kept: HashSet<i64> = history.iter().map(|e| e.seq).collect();
        let mut all = history;
        all.extend(new.iter().filter(|e| !kept.contains(&e.seq)));
        for rule in &self.rules {
            match &rule.logic {
                Logic::Event { matcher, entity } => {
                    let dedup = rule.params.minutes("dedup_minutes");
                    for e in new.iter().filter(|e| matcher.matches(e, ctx)) {
                        let entity = entity.of(e).unwrap_or_else(|| "-".into());
                        let finding = Finding {
                            summary: summary_of(e),
                            detail: serde_json::json!({
                                "eventType": e.event_type(),
                                "actor": e.actor(),
                                "ip": e.ip(),
                                "country": e.country(),
                            }),
                            events: vec![],
                        };
                        found.add(rule, entity, dedup, &[e], finding);
                    }
                }
                Logic::Window(w) => window_alerts(rule, w, &all, &new_seqs, &mut found),
                Logic::Absence(_) => {}
            }
        }
        found.into_vec()
    }

    /// Alerts of an absence rule whose deadline passed in `(from - within, now - within]`.
    async fn absences(
        &self,
        store: &dyn Detections,
        org: OrgId,
        rule: &Rule,
        absence: &AbsenceRule,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<NewAlert>> {
        let within = rule.params.minutes("within_minutes");
        let (start, end) = (from - within, now - within);
        if start >= end {
            return Ok(Vec::new());
        }
        let types: Vec<String> = absence.event_types.iter().map(|t| t.to_string()).collect();
        let events: Vec<Event> = store
            .log_events_between(org, start, now, &types, None)
            .await?
            .into_iter()
            .filter_map(Event::slim_from_logged)
            .collect();
        Ok(absence_alerts(rule, absence, &events, start, end))
    }
}

static EMPTY: std::sync::LazyLock<Context> = std::sync::LazyLock::new(Context::default);

/// Consecutive runs of `events` (sorted by time) spanning at most [`SLICE_SPAN_MINUTES`].
fn slices(events: &[Event]) -> impl Iterator<Item = &[Event]> {
    let span = Duration::minutes(SLICE_SPAN_MINUTES);
    let mut rest = events;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let end = rest
            .iter()
            .position(|e| e.published > first.published + span)
            .unwrap_or(rest.len());
        let (slice, tail) = rest.split_at(end);
        rest = tail;
        Some(slice)
    })
}

/// The kept events of a time range, slid forward as slices advance: events leaving the range
/// are dropped, only the part newly covered is read.
#[derive(Default)]
struct Lookback {
    events: std::collections::VecDeque<Event>,
    seqs: HashSet<i64>,
    covered: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Events after the slice that earlier runs evaluated (read per slice).
    ahead: Vec<Event>,
}

impl Lookback {
    async fn cover(
        &mut self,
        store: &dyn Detections,
        org: OrgId,
        types: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<()> {
        let read_from = match self.covered {
            Some((start, end)) if from >= start && from <= end => {
                while self.events.front().is_some_and(|e| e.published < from) {
                    if let Some(e) = self.events.pop_front() {
                        self.seqs.remove(&e.seq);
                    }
                }
                if to <= end {
                    self.covered = Some((from, end));
                    return Ok(());
                }
                end
            }
            _ => {
                self.events.clear();
                self.seqs.clear();
                from
            }
        };
        let rows = store
            .log_events_between(org, read_from, to, types, None)
            .await?;
        for row in rows {
            if !self.seqs.contains(&row.seq)
                && let Some(e) = Event::slim_from_logged(row)
            {
                self.seqs.insert(e.seq);
                self.events.push_back(e);
            }
        }
        let end = self.covered.map_or(to, |(_, end)| end.max(to));
        self.covered = Some((from, end));
        Ok(())
    }
}

fn tally(report: &mut DetectReport, saved: Vec<SavedAlert>) {
    for s in saved {
        if s.new {
            report.new_alerts.push(s.alert);
        } else {
            report.updated_alerts += 1;
        }
    }
}

/// "ana@example.com: user.session.start from 192.0.2.1 (France)".
fn summary_of(e: &Event) -> String {
    let mut s = format!(
        "{}: {}",
        e.actor().unwrap_or_else(|| "someone".into()),
        e.event_type()
    );
    if let Some(target) = e.targets().first().and_then(|t| {
        t.get("alternateId")
            .or_else(|| t.get("displayName"))
            .and_then(|v| v.as_str())
    }) {
        s.push_str(&format!(" on {target}"));
    }
    if let Some(ip) = e.ip() {
        s.push_str(&format!(" from {ip}"));
        if let Some(country) = e.country() {
            s.push_str(&format!(" ({country})"));
        }
    }
    s
}

/// Windowed rule evaluation: every window that ends at a trigger event and holds a new event.
fn window_alerts(
    rule: &Rule,
    w: &WindowRule,
    all: &[&Event],
    new: &HashSet<i64>,
    found: &mut Alerts,
) {
    let window = rule.params.minutes("window_minutes");
    let mut groups: HashMap<String, Vec<&Event>> = HashMap::new();
    for e in all.iter().copied().filter(|e| w.selects(e)) {
        if let Some(key) = w.key.of(e) {
            groups.entry(key).or_default().push(e);
        }
    }
    for (key, mut group) in groups {
        if !group.iter().any(|e| new.contains(&e.seq)) {
            continue;
        }
        group.sort_by_key(|e| (e.published, e.seq));
        let mut start = 0;
        let mut new_in_window = 0usize;
        for i in 0..group.len() {
            if new.contains(&group[i].seq) {
                new_in_window += 1;
            }
            while group[start].published < group[i].published - window {
                if new.contains(&group[start].seq) {
                    new_in_window -= 1;
                }
                start += 1;
            }
            if new_in_window == 0 || !(w.trigger)(group[i]) {
                continue;
            }
            let slice = &group[start..=i];
            if let Some(finding) = (w.evaluate)(slice, &rule.params) {
                found.add(rule, key.clone(), window, slice, finding);
            }
        }
    }
}

fn absence_alerts(
    rule: &Rule,
    absence: &AbsenceRule,
    events: &[Event],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<NewAlert> {
    let within = rule.params.minutes("within_minutes");
    let mut found = Alerts::default();
    for first in events
        .iter()
        .filter(|e| (absence.first)(e) && e.published > start && e.published <= end)
    {
        let Some(key) = absence.key.of(first) else {
            continue;
        };
        let followed = events.iter().any(|then| {
            (absence.then)(then)
                && then.published > first.published
                && then.published <= first.published + within
                && absence.key.of(then).as_ref() == Some(&key)
        });
        if !followed {
            let finding = Finding {
                summary: format!(
                    "{}: {} and nothing activated in the {} hours after",
                    key,
                    first.event_type(),
                    within.num_hours()
                ),
                detail: serde_json::json!({"user": key, "removed": first.event_type()}),
                events: vec![],
            };
            found.add(rule, key, within, &[first], finding);
        }
    }
    found.into_vec()
}

/// Alerts found in one evaluation, merged by rule, entity and window.
#[derive(Default)]
struct Alerts {
    by_key: BTreeMap<(String, String, DateTime<Utc>), NewAlert>,
}

impl Alerts {
    fn add(&mut self, rule: &Rule, entity: String, dedup: Duration, events: &[&Event], f: Finding) {
        let picked: Vec<&Event> = if f.events.is_empty() {
            events.to_vec()
        } else {
            f.events
                .iter()
                .filter_map(|i| events.get(*i).copied())
                .collect()
        };
        let (Some(first), Some(last)) = (
            picked.iter().map(|e| e.published).min(),
            picked.iter().map(|e| e.published).max(),
        ) else {
            return;
        };
        let window_start = bucket(last, dedup);
        let uuids: Vec<String> = picked
            .iter()
            .filter_map(|e| e.uuid().map(str::to_string))
            .collect();
        let mut detail = f.detail;
        if let Some(obj) = detail.as_object_mut() {
            obj.insert("sources".into(), serde_json::json!(rule.sources));
            if let Some(author) = &rule.author {
                obj.insert("author".into(), author.clone().into());
            }
        }
        let key = (rule.id.clone(), entity.clone(), window_start);
        match self.by_key.get_mut(&key) {
            Some(alert) => {
                alert.first_event = alert.first_event.min(first);
                alert.last_event = alert.last_event.max(last);
                for u in uuids {
                    if !alert.event_uuids.contains(&u) {
                        alert.event_uuids.push(u);
                    }
                }
                alert.summary = f.summary;
                alert.detail = detail;
            }
            None => {
                self.by_key.insert(
                    key,
                    NewAlert {
                        rule_id: rule.id.clone(),
                        severity: rule.severity.as_str().into(),
                        title: rule.title.clone(),
                        entity,
                        window_start,
                        first_event: first,
                        last_event: last,
                        event_uuids: uuids,
                        summary: f.summary,
                        detail,
                    },
                );
            }
        }
    }

    fn into_vec(self) -> Vec<NewAlert> {
        self.by_key.into_values().collect()
    }
}

/// The start of the deduplication window `t` falls in (windows aligned to the Unix epoch).
fn bucket(t: DateTime<Utc>, width: Duration) -> DateTime<Utc> {
    if width <= Duration::zero() {
        return t;
    }
    t.duration_trunc(width).unwrap_or(t)
}
