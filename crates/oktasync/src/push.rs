//! `oktasync push TARGET`: the users of a `[[targets]]` entry, from the mirror, into another
//! system; and the pushes after `watch` and `serve` runs (`push_after_sync`).

use crate::cli::{MirrorArgs, OrgArgs, OutputFormat};
use crate::config::Layer;
use crate::output::{Table, opt, print_json, print_list};
use crate::{connect, exit};
use anyhow::{Result, anyhow};
use oktasync_push::{MirrorPush, PushError, PushOptions, Target, TargetConfig, push_from_mirror};
use oktasync_store::{Mirror, OrgId, PushStates, RoleSpec};
use std::process::ExitCode;
use std::sync::Arc;

/// What `oktasync push` was asked.
pub struct Request {
    pub target: String,
    pub options: PushOptions,
    /// List the target's push runs instead.
    pub history: bool,
}

/// Push runs `--history` lists.
const HISTORY_RUNS: u32 = 20;

/// A target's configuration made ready to push (token read, hook compiled).
pub fn ready(config: TargetConfig) -> Result<Target> {
    Target::new(config, Arc::new(okta_api::SystemClock)).map_err(|e| exit::config(anyhow!(e)))
}

/// The push error as the CLI reports it: a configuration problem exits 2.
fn failed(e: PushError) -> anyhow::Error {
    match e {
        PushError::Config(_) | PushError::UnknownField(_) | PushError::Hook(_) => {
            exit::config(anyhow!(e))
        }
        PushError::MissingWriteFilePath { .. } => exit::config(anyhow!(e)),
        other => anyhow!(other),
    }
}

/// Pushes `target` from the org's mirror, after applying the configured roles (a target may
/// receive a role's holders).
pub async fn push_target(
    store: &Mirror,
    org: OrgId,
    target: &Target,
    roles: &[RoleSpec],
    options: &PushOptions,
) -> Result<MirrorPush> {
    if !target.config().roles.is_empty() {
        crate::roles::apply(store, org, roles).await?;
    }
    push_from_mirror(target, store, org, options, &okta_api::SystemClock)
        .await
        .map_err(failed)
}

pub async fn run(mirror: &MirrorArgs, request: Request, format: OutputFormat) -> Result<ExitCode> {
    let settings = crate::load_settings(&OrgArgs::from(mirror), Layer::default())?;
    let mut targets = crate::config::targets::load(&settings).map_err(exit::config)?;
    let Some(found) = targets.iter().position(|t| t.name == request.target) else {
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        let known = if names.is_empty() {
            "no target is configured: add a [[targets]] table (name, kind, url, \
             bearer_token_file, groups) to the config file"
                .to_owned()
        } else {
            format!("the targets are: {}", names.join(", "))
        };
        return Err(exit::config(anyhow!(
            "no target {:?} is configured; {known}",
            request.target
        )));
    };
    let config = targets.swap_remove(found);
    let roles = crate::config::roles::load(&settings).map_err(exit::config)?;
    let missing: Vec<&String> = config
        .roles
        .iter()
        .filter(|r| !roles.iter().any(|spec| &spec.name == *r))
        .collect();
    if !missing.is_empty() {
        return Err(exit::config(anyhow!(
            "target {:?} names roles that are not configured: {:?}; add them as [[roles]]",
            config.name,
            missing
        )));
    }
    let store = connect::open_for_sync(&connect::db_location(&settings)?).await?;
    let result = async {
        let selector = mirror.org.as_deref().or(settings.org_url.as_deref());
        let org = connect::mirror_org(&store, selector).await?;
        if request.history {
            let runs = store
                .push_runs(org, Some(&config.name), HISTORY_RUNS)
                .await?;
            let mut t = Table::new(&[
                "id",
                "started_at",
                "mode",
                "outcome",
                "done",
                "failed",
                "calls",
            ]);
            for r in &runs {
                let mode = match (r.dry_run, r.full) {
                    (true, true) => "dry-run full",
                    (true, false) => "dry-run",
                    (false, true) => "full",
                    (false, false) => "incremental",
                };
                t.row(vec![
                    r.id.to_string(),
                    r.started_at.clone(),
                    mode.to_owned(),
                    r.outcome.clone(),
                    r.counts["done"].to_string(),
                    opt(r.counts["failed"].as_u64()),
                    r.http_calls["by_operation"]
                        .as_object()
                        .map(|calls| calls.values().filter_map(|v| v.as_u64()).sum::<u64>())
                        .unwrap_or(0)
                        .to_string(),
                ]);
            }
            print_list(format, &runs, &t, "push runs")?;
            return Ok(ExitCode::SUCCESS);
        }
        let target = ready(config)?;
        let pushed = push_target(&store, org, &target, &roles, &request.options).await?;
        report(&pushed, format)?;
        Ok(
            if pushed.report.refused.is_some() || !pushed.report.errors.is_empty() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            },
        )
    }
    .await;
    store.close().await;
    result
}

/// Prints what a push planned and did: JSON (the report and the run), or lines for people.
fn report(pushed: &MirrorPush, format: OutputFormat) -> Result<()> {
    let report = &pushed.report;
    if format == OutputFormat::Json {
        return print_json(&serde_json::json!({
            "run_id": pushed.run.id,
            "outcome": pushed.run.outcome,
            "in_scope": pushed.in_scope,
            "report": report,
        }));
    }
    let plan = &report.plan;
    let mut t = Table::new(&["operation", "user", "detail"]);
    for c in &plan.creates {
        t.row(vec!["create".into(), c.login.clone(), String::new()]);
    }
    for u in &plan.updates {
        let paths: Vec<&str> = u.changes.iter().map(|c| c.path()).collect();
        t.row(vec!["update".into(), u.login.clone(), paths.join(", ")]);
    }
    for d in &plan.deactivations {
        t.row(vec![
            "deactivate".into(),
            d.user_name.clone(),
            format!("{:?}", d.reason),
        ]);
    }
    for d in &plan.deletions {
        t.row(vec![
            "delete".into(),
            d.user_name.clone(),
            format!("{:?}", d.reason),
        ]);
    }
    for g in &plan.group_adds {
        t.row(vec![
            "group add".into(),
            g.user_name.clone(),
            g.group.clone(),
        ]);
    }
    for g in &plan.group_removes {
        t.row(vec![
            "group remove".into(),
            g.user_name.clone(),
            g.group.clone(),
        ]);
    }
    for e in &report.errors {
        t.row(vec!["failed".into(), e.login.clone(), e.message.clone()]);
    }
    if format == OutputFormat::Csv {
        return crate::output::write_stdout(&t.to_csv(false));
    }
    t.print()?;
    let verb = if report.dry_run {
        "would push"
    } else {
        "pushed"
    };
    eprintln!(
        "{verb} to {}: {} users in scope, {} to create, {} to update, {} to deactivate, {} to \
         delete, {} group adds, {} group removes, {} unchanged, {} skipped by the hook, {} \
         failed; {} target calls (run {})",
        report.target,
        pushed.in_scope,
        plan.creates.len(),
        plan.updates.len(),
        plan.deactivations.len(),
        plan.deletions.len(),
        plan.group_adds.len(),
        plan.group_removes.len(),
        plan.unchanged,
        report.skipped.len(),
        report.errors.len(),
        report.http_calls.total(),
        pushed.run.id
    );
    if let Some(refused) = &report.refused {
        eprintln!("error: {refused} (--allow-deletions {})", refused.removals);
    }
    Ok(())
}

/// The targets that push after each run that changed the mirror (`push_after_sync`), made
/// ready (a configuration error stops the command that runs them before it starts).
pub fn after_sync_targets(settings: &crate::config::Settings) -> Result<Vec<Arc<Target>>> {
    crate::config::targets::load(settings)
        .map_err(exit::config)?
        .into_iter()
        .filter(|t| t.push_after_sync)
        .map(|t| ready(t).map(Arc::new))
        .collect()
}

/// Pushes `targets` from the org's mirror after a run changed it; failures are logged, not
/// fatal (the run succeeded; the next one pushes again).
pub async fn push_after_sync(
    store: &Mirror,
    org: OrgId,
    targets: &[Arc<Target>],
    roles: &[RoleSpec],
) {
    for target in targets {
        let name = &target.config().name;
        // A push logs its plan, its outcome and a refusal itself; only a failure to run is
        // left to say.
        if let Err(e) = push_target(store, org, target, roles, &PushOptions::default()).await {
            tracing::warn!(target = %name, error = %format!("{e:#}"), "Push failed; the next run that changes the mirror pushes again.");
        }
    }
}

/// [`push_after_sync`] for `serve`'s scheduler.
pub struct PushAfterChanges {
    pub targets: Vec<Arc<Target>>,
    pub roles: Vec<RoleSpec>,
}

#[async_trait::async_trait]
impl oktasync_serve::AfterChanges for PushAfterChanges {
    async fn after_changes(&self, store: &Mirror, org: OrgId) {
        push_after_sync(store, org, &self.targets, &self.roles).await;
    }
}
