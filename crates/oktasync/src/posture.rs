//! `oktasync posture`: the posture checks run on the mirror (no Okta calls), their findings
//! kept, and what is new and what was fixed said.

use crate::cli::{MirrorArgs, OrgArgs, PostureArgs, PostureFormat};
use crate::config::Layer;
use crate::output::{Table, print_json, write_stdout};
use crate::{connect, exit};
use anyhow::Result;
use oktasync_posture::{CheckStatus, Posture, PostureReport, sarif};
use oktasync_store::Severity;
use serde::Serialize;
use std::process::ExitCode;

/// A check as `posture --list` shows it.
#[derive(Serialize)]
struct CheckRow<'a> {
    id: &'a str,
    severity: Severity,
    title: &'a str,
    sources: &'a [&'a str],
    params: &'a std::collections::BTreeMap<String, f64>,
    sql: &'a str,
}

pub async fn run(mirror: &MirrorArgs, args: &PostureArgs) -> Result<ExitCode> {
    let settings = crate::load_settings(&OrgArgs::from(mirror), Layer::default())?;
    let posture = crate::config::posture::load(&settings).map_err(exit::config)?;
    let min = args
        .min_severity
        .as_deref()
        .map(str::parse::<Severity>)
        .transpose()
        .map_err(|e| exit::config(e.into()))?
        .unwrap_or(Severity::Info);
    let format = if args.json {
        PostureFormat::Json
    } else {
        args.format
    };
    if args.list {
        return list(&posture, format).map(|()| ExitCode::SUCCESS);
    }
    let now = crate::sync::sync_options(&settings).clock.now();
    let store = connect::open_for_sync(&connect::db_location(&settings)?).await?;
    let result = async {
        let selector = mirror.org.as_deref().or(settings.org_url.as_deref());
        let org = connect::mirror_org(&store, selector).await?;
        let started = std::time::Instant::now();
        let mut report = posture.run(&store, org, now, true).await?;
        let took = started.elapsed();
        report.checks.retain(|c| c.severity >= min);
        eprintln!("{}", summary(&report, took));
        let origin = oktasync_store::MirrorReader::org_list(&store)
            .await?
            .into_iter()
            .find(|o| o.id == org)
            .map_or_else(|| "okta".to_string(), |o| o.url);
        match format {
            PostureFormat::Table => write_stdout(&table(&report).render()),
            PostureFormat::Json => print_json(&report),
            PostureFormat::Sarif => print_json(&sarif::to_sarif(&report, &origin)),
        }
    }
    .await;
    store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

fn list(posture: &Posture, format: PostureFormat) -> Result<()> {
    let rows: Vec<CheckRow> = posture
        .checks()
        .iter()
        .map(|c| CheckRow {
            id: c.id,
            severity: c.severity,
            title: c.title,
            sources: c.sources,
            params: &c.params,
            sql: c.sql,
        })
        .collect();
    if format != PostureFormat::Table {
        return print_json(&rows);
    }
    let mut t = Table::new(&["id", "severity", "title", "params", "sources"]);
    for r in &rows {
        let params: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        t.row(vec![
            r.id.to_string(),
            r.severity.to_string(),
            r.title.to_string(),
            params.join(" "),
            r.sources.join("; "),
        ]);
    }
    write_stdout(&t.render())
}

/// "31 checks in 0.2 s: 6 failing (14 findings, 3 new, 1 resolved), 2 not applicable".
fn summary(report: &PostureReport, took: std::time::Duration) -> String {
    let findings: usize = report.checks.iter().map(|c| c.findings.len()).sum();
    let new: usize = report
        .checks
        .iter()
        .flat_map(|c| &c.findings)
        .filter(|f| f.new)
        .count();
    let resolved: usize = report.checks.iter().map(|c| c.resolved.len()).sum();
    let not_applicable = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::NotApplicable)
        .count();
    format!(
        "{} checks in {:.1} s: {} failing ({findings} findings, {new} new, {resolved} resolved), \
         {not_applicable} not applicable",
        report.checks.len(),
        took.as_secs_f64(),
        report.failing()
    )
}

/// One row per failing, fixed or inapplicable check, most severe first.
fn table(report: &PostureReport) -> Table {
    let mut checks: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Pass || !c.resolved.is_empty())
        .collect();
    checks.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    let mut t = Table::new(&[
        "severity", "check", "status", "findings", "new", "resolved", "subjects",
    ]);
    for c in checks {
        let status = match c.status {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "FAIL",
            CheckStatus::NotApplicable => "n/a",
        };
        let mut subjects: Vec<&str> = c.findings.iter().map(|f| f.subject.as_str()).collect();
        let more = subjects.len().saturating_sub(3);
        subjects.truncate(3);
        let mut shown = subjects.join(", ");
        if more > 0 {
            shown.push_str(&format!(" and {more} more"));
        }
        if c.status == CheckStatus::NotApplicable {
            shown = c.reason.clone().unwrap_or_default();
        }
        t.row(vec![
            c.severity.to_string(),
            c.id.clone(),
            status.to_string(),
            c.findings.len().to_string(),
            c.findings.iter().filter(|f| f.new).count().to_string(),
            c.resolved.len().to_string(),
            shown,
        ]);
    }
    t
}

/// Posture after each of serve's runs that changed the mirror: the findings are kept (serve's
/// `GET /v1/orgs/{org}/posture` reads them).
pub struct PostureAfterChanges {
    pub posture: Posture,
    pub clock: std::sync::Arc<dyn oktasync_engine::Clock>,
}

#[async_trait::async_trait]
impl oktasync_serve::AfterChanges for PostureAfterChanges {
    async fn after_changes(&self, store: &oktasync_store::Mirror, org: oktasync_store::OrgId) {
        if let Err(e) = self.posture.run(store, org, self.clock.now(), true).await {
            tracing::warn!(error = %e, "Posture checks failed; the next run tries again.");
        }
    }
}
