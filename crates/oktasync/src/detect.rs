//! `oktasync detect` (run the detection rules over the kept System Log), `oktasync alerts`
//! (what they raised), and detection after each sync and watch poll.

use crate::cli::{AlertsArgs, DetectArgs, MirrorArgs, OrgArgs, OutputFormat};
use crate::config::Layer;
use crate::history::parse_time;
use crate::output::{Table, print_list};
use crate::{connect, exit};
use anyhow::Result;
use oktasync_detect::{DetectReport, Detector, Logic, Range, Severity};
use oktasync_store::{AlertQuery, Mirror, MirrorReader, OrgId, StoredAlert};
use serde::Serialize;
use std::process::ExitCode;

/// A rule as `detect --list` shows it.
#[derive(Serialize)]
struct RuleRow {
    id: String,
    severity: Severity,
    kind: &'static str,
    title: String,
    params: std::collections::BTreeMap<String, f64>,
    sources: Vec<String>,
    author: Option<String>,
}

fn kind(logic: &Logic) -> &'static str {
    match logic {
        Logic::Event { .. } => "event",
        Logic::Window(_) => "window",
        Logic::Absence(_) => "absence",
    }
}

fn list_rules(detector: &Detector, format: OutputFormat) -> Result<()> {
    let rows: Vec<RuleRow> = detector
        .rules()
        .iter()
        .map(|r| RuleRow {
            id: r.id.clone(),
            severity: r.severity,
            kind: kind(&r.logic),
            title: r.title.clone(),
            params: r.params.names().map(|(k, v)| (k.to_string(), v)).collect(),
            sources: r.sources.clone(),
            author: r.author.clone(),
        })
        .collect();
    let mut t = Table::new(&["id", "severity", "kind", "title", "params", "sources"]);
    for r in &rows {
        let params: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        t.row(vec![
            r.id.clone(),
            r.severity.to_string(),
            r.kind.to_string(),
            r.title.clone(),
            params.join(" "),
            r.sources.join("; "),
        ]);
    }
    print_list(format, &rows, &t, "rules")
}

fn alerts_table(alerts: &[StoredAlert]) -> Table {
    let mut t = Table::new(&[
        "last_event",
        "severity",
        "rule",
        "entity",
        "events",
        "summary",
        "id",
    ]);
    for a in alerts {
        t.row(vec![
            a.last_event.clone(),
            a.severity.clone(),
            a.rule_id.clone(),
            a.entity.clone(),
            a.event_count.to_string(),
            a.summary.clone(),
            a.id.to_string(),
        ]);
    }
    t
}

/// `oktasync detect`: runs the rules and prints the alerts raised for the first time.
pub async fn detect(
    mirror: &MirrorArgs,
    args: &DetectArgs,
    format: OutputFormat,
) -> Result<ExitCode> {
    let settings = crate::load_settings(&OrgArgs::from(mirror), Layer::default())?;
    let detection = crate::config::detection::load(&settings).map_err(exit::config)?;
    let detector = detection.detector().map_err(exit::config)?;
    if args.list {
        list_rules(&detector, format)?;
        return Ok(ExitCode::SUCCESS);
    }
    let clock = crate::sync::sync_options(&settings).clock;
    let now = clock.now();
    let range = match &args.since {
        Some(since) => Range::Since(parse_time(since, now).map_err(exit::config)?),
        None => Range::New,
    };
    let store = connect::open_for_sync(&connect::db_location(&settings)?).await?;
    let result = async {
        let selector = mirror.org.as_deref().or(settings.org_url.as_deref());
        let org = connect::mirror_org(&store, selector).await?;
        let started = std::time::Instant::now();
        let report = detector.run(&store, org, range, now).await?;
        eprintln!("{}", describe(&report, started.elapsed()));
        print_list(
            format,
            &report.new_alerts,
            &alerts_table(&report.new_alerts),
            "alerts",
        )
    }
    .await;
    store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

/// "evaluated 1234 events with 58 rules in 0.4 s (3085 events/s): 2 new alerts, 1 updated".
fn describe(report: &DetectReport, took: std::time::Duration) -> String {
    format!(
        "evaluated {} events with {} rules in {:.1} s ({:.0} events/s): {} new alerts, {} updated",
        report.events,
        report.rules,
        took.as_secs_f64(),
        report.events as f64 / took.as_secs_f64().max(1e-9),
        report.new_alerts.len(),
        report.updated_alerts
    )
}

/// `oktasync alerts`: the stored alerts, newest first.
pub async fn alerts(
    store: &dyn MirrorReader,
    org: OrgId,
    args: &AlertsArgs,
    format: OutputFormat,
) -> Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time(s, chrono::Utc::now()))
        .transpose()
        .map_err(exit::config)?;
    let severities = match &args.severity {
        Some(s) => s
            .parse::<Severity>()
            .map_err(|e| exit::config(e.into()))?
            .and_above()
            .map(|s| s.as_str().to_string())
            .collect(),
        None => Vec::new(),
    };
    let alerts = store
        .alerts(
            org,
            &AlertQuery {
                since,
                severities,
                rule: args.rule.clone(),
                limit: Some(args.limit),
                before: None,
            },
        )
        .await?;
    print_list(format, &alerts, &alerts_table(&alerts), "alerts")
}

/// The rules to run after syncs, or `None` when detection is turned off. A rule that cannot be
/// loaded is a configuration error: found at start, not after the first sync.
pub fn after_sync_detector(settings: &crate::config::Settings) -> Result<Option<Detector>> {
    let detection = crate::config::detection::load(settings).map_err(exit::config)?;
    if !detection.enabled {
        return Ok(None);
    }
    detection.detector().map(Some).map_err(exit::config)
}

/// Most new alerts a sync prints, the most severe first.
const ALERT_LINES: usize = 20;

/// One line per new alert, for stderr.
pub fn alert_line(a: &StoredAlert) -> String {
    format!(
        "alert [{}] {} {}: {} ({})",
        a.severity, a.rule_id, a.entity, a.title, a.summary
    )
}

/// Runs detection over what a sync just stored and prints the new alerts on stderr; a
/// failure is logged and left for the next run (the checkpoint did not move).
pub async fn after_sync(
    store: &Mirror,
    origin: &str,
    detector: &Detector,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<DetectReport> {
    let org = match MirrorReader::find_org(store, origin).await {
        Ok(Some(org)) => org,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "Detection did not run: cannot find the org in the mirror.");
            return None;
        }
    };
    match detector.run(store, org, Range::New, now).await {
        Ok(report) => {
            // Most severe first; a first sync over a backfilled log may raise many.
            let mut alerts: Vec<&StoredAlert> = report.new_alerts.iter().collect();
            alerts.sort_by_key(|a| std::cmp::Reverse(a.severity.parse::<Severity>().ok()));
            for a in alerts.iter().take(ALERT_LINES) {
                eprintln!("{}", alert_line(a));
            }
            if alerts.len() > ALERT_LINES {
                eprintln!(
                    "... and {} more new alerts: `oktasync alerts` lists them",
                    alerts.len() - ALERT_LINES
                );
            }
            Some(report)
        }
        Err(e) => {
            tracing::warn!(error = %e, "Detection failed; the next run evaluates these events again.");
            None
        }
    }
}

/// Detection after each of serve's scheduled runs; new alerts are logged (the change feed
/// carries them too).
pub struct DetectAfterRuns {
    pub detector: Detector,
    pub clock: std::sync::Arc<dyn oktasync_engine::Clock>,
}

#[async_trait::async_trait]
impl oktasync_serve::AfterChanges for DetectAfterRuns {
    async fn after_changes(&self, store: &Mirror, org: OrgId) {
        match self
            .detector
            .run(store, org, Range::New, self.clock.now())
            .await
        {
            Ok(report) => {
                for a in &report.new_alerts {
                    tracing::warn!(
                        severity = %a.severity,
                        rule = %a.rule_id,
                        entity = %a.entity,
                        "Alert: {} ({})",
                        a.title,
                        a.summary
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Detection failed; the next run evaluates these events again.");
            }
        }
    }
}
