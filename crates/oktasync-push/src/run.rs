//! One push: map and hook the users, plan against the push state (or the target, in a full
//! push), check the deletion limit, then carry the plan out and record what was pushed.
//!
//! Order of execution: users first (creates, updates, deactivations, deletions), then group
//! memberships (a created user needs its id first), then the push state. A user whose call
//! fails keeps its previous record, so the next push tries it again; other users go on.

use crate::config::{ConfigError, TargetConfig, TargetKind, TargetOnlyPolicy};
use crate::hook::{Hook, HookError, HookOutcome};
use crate::mapping::{AttributeMap, Attributes, UnknownField, target_groups};
use crate::plan::{
    self, DesiredUser, HeldUsers, MembershipChange, Plan, PlanRefused, PlanRules, RemovalReason,
    TargetSnapshot, TargetUser,
};
use crate::scim::ScimClient;
use crate::source::SourceUser;
use crate::state::{PushRecord, PushState, StateError};
use crate::transport::{HttpCalls, RetryPolicy, TargetError};
use crate::webhook::{self, WebhookClient};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, stream};
use okta_api::Clock;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Calls to a SCIM target in flight at once. SCIM service providers are often small apps behind per-tenant
/// rate limits, and Okta's own provisioning keeps a few connections per app; four keep a slow
/// target busy without provoking 429s (which are honoured anyway).
pub const CONCURRENT_TARGET_CALLS: usize = 4;

/// Creates in one incremental run above which the target is asked how many users it has
/// (one call): when listing them all takes fewer calls than one `userName` lookup per create,
/// they are listed once instead. A first push of 10,000 users into an empty target then costs
/// one page instead of 10,000 lookups.
pub const LOOKUPS_BEFORE_LISTING: usize = 20;

/// Members added or removed per group PATCH: one call for a typical change, while a first push
/// of a large group stays well under common request-size limits (scim2-server: 1 MiB).
pub const MEMBERS_PER_PATCH: usize = 100;

/// A configured target, ready to push to: configuration checked, token read, hook compiled.
pub struct Target {
    config: TargetConfig,
    attributes: AttributeMap,
    hook: Option<Hook>,
    transport: Transport,
    clock: Arc<dyn Clock>,
}

/// How a target is reached.
enum Transport {
    Scim(ScimClient),
    Webhook(WebhookClient),
}

impl Transport {
    fn calls(&self) -> HttpCalls {
        match self {
            Transport::Scim(client) => client.calls(),
            Transport::Webhook(client) => client.calls(),
        }
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Scim(client) => client.fmt(f),
            Transport::Webhook(client) => client.fmt(f),
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.config.name)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Validates `config`, reads its bearer token and compiles its hook (the `hook` path as
    /// given: the caller resolves it against the config file's directory).
    pub fn new(config: TargetConfig, clock: Arc<dyn Clock>) -> Result<Self, PushError> {
        Target::with_retry_policy(config, clock, RetryPolicy::default())
    }

    /// [`Target::new`] with other retry timings.
    pub fn with_retry_policy(
        config: TargetConfig,
        clock: Arc<dyn Clock>,
        retry: RetryPolicy,
    ) -> Result<Self, PushError> {
        config.validate().map_err(PushError::Config)?;
        let attributes = AttributeMap::new(&config.attributes).map_err(|problem| {
            PushError::Config(vec![ConfigError {
                target: config.name.clone(),
                field: "attributes".into(),
                problem,
            }])
        })?;
        let hook = config.hook.as_deref().map(Hook::load).transpose()?;
        let url = config.url.as_deref().unwrap_or_default();
        let transport = match config.kind {
            TargetKind::Scim => {
                let token = config
                    .bearer_token()
                    .map_err(|e| PushError::Config(vec![e]))?;
                ScimClient::new(url, token, retry, clock.clone()).map(Transport::Scim)
            }
            TargetKind::Webhook => {
                let secret = config
                    .signing_secret()
                    .map_err(|e| PushError::Config(vec![e]))?;
                WebhookClient::new(url, &secret, retry, clock.clone()).map(Transport::Webhook)
            }
        }
        .map_err(|problem| {
            PushError::Config(vec![ConfigError {
                target: config.name.clone(),
                field: "url".into(),
                problem,
            }])
        })?;
        Ok(Target {
            config,
            attributes,
            hook,
            transport,
            clock,
        })
    }

    pub fn config(&self) -> &TargetConfig {
        &self.config
    }
}

/// How one push runs.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Plan only: read what is needed, write nothing to the target or the push state.
    pub dry_run: bool,
    /// Compare everything with the target (list its users and groups) instead of with the push
    /// state; finds drift and target-only accounts.
    pub full: bool,
    /// Allow up to this many deactivations and deletions in this run, instead of
    /// `max_deletions`.
    pub allow_deletions: Option<u64>,
    /// Where `target_only_users = "write-file"` writes the target-only accounts (a JSON array
    /// of `{id, userName, active}`); written by a dry run too, as part of its plan.
    pub write_file_path: Option<PathBuf>,
}

/// The push could not run at all (per-user failures are in [`PushReport::errors`] instead).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigError>),
    #[error(transparent)]
    UnknownField(#[from] UnknownField),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("reading the target failed: {0}")]
    Target(#[from] TargetError),
    #[error(transparent)]
    Store(#[from] oktasync_store::StoreError),
    #[error(
        "target {target:?} has target_only_users = \"write-file\" but no file was given: pass \
         the path to write the target-only accounts to"
    )]
    MissingWriteFilePath { target: String },
    #[error("cannot write the target-only accounts to {path}: {problem}")]
    WriteFile { path: PathBuf, problem: String },
}

/// What one push did (or, for a dry run or a refused run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    pub target: String,
    pub dry_run: bool,
    pub full: bool,
    pub plan: Plan,
    /// Set when the deletion limit stopped the run before any write.
    pub refused: Option<PlanRefused>,
    /// Operations carried out.
    pub done: DoneCounts,
    /// Users the hook skipped.
    pub skipped: Vec<SkippedUser>,
    /// Users something failed for; the run went on without them.
    pub errors: Vec<UserError>,
    pub http_calls: HttpCalls,
    /// The file the target-only accounts were written to.
    pub target_only_file: Option<PathBuf>,
}

/// Operations carried out, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DoneCounts {
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
    pub deleted: u64,
    pub group_adds: u64,
    pub group_removes: u64,
    pub groups_created: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedUser {
    pub login: String,
    pub reason: Option<String>,
}

/// One user's failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserError {
    /// The Okta login, or the target userName for an account Okta does not have.
    pub login: String,
    pub message: String,
}

/// Pushes `users` (the target's scope, selected by the caller) to the target.
pub async fn push(
    target: &Target,
    users: &[SourceUser],
    state: &dyn PushState,
    options: &PushOptions,
) -> Result<PushReport, PushError> {
    let config = &target.config;
    // the client counts for its lifetime; the report counts this run (exact as long as runs of
    // one Target do not overlap)
    let calls_before = target.transport.calls();
    let mut report = PushReport {
        target: config.name.clone(),
        dry_run: options.dry_run,
        full: options.full,
        plan: Plan::default(),
        refused: None,
        done: DoneCounts::default(),
        skipped: Vec::new(),
        errors: Vec::new(),
        http_calls: HttpCalls::default(),
        target_only_file: None,
    };
    if options.full
        && config.target_only_users == TargetOnlyPolicy::WriteFile
        && options.write_file_path.is_none()
    {
        return Err(PushError::MissingWriteFilePath {
            target: config.name.clone(),
        });
    }

    target.attributes.check_fields_present(users)?;
    let (desired, held) = desired_users(target, users, &mut report);
    let records = state.load(&config.name).await?;
    let snapshot = match &target.transport {
        Transport::Scim(client) if options.full => Some(TargetSnapshot {
            users: client.list_users().await?,
            groups: client.list_groups().await?,
        }),
        _ => None,
    };
    // A webhook receiver cannot be listed: its full push sends every user in scope again, as
    // if never pushed; users pushed before and gone from the scope are removed as usual.
    let baseline: Cow<'_, [PushRecord]> = match &target.transport {
        Transport::Webhook(_) if options.full => {
            let in_scope: BTreeSet<&str> =
                desired.iter().map(|d| d.okta_user_id.as_str()).collect();
            Cow::Owned(
                records
                    .iter()
                    .filter(|r| !in_scope.contains(r.okta_user_id.as_str()))
                    .cloned()
                    .collect(),
            )
        }
        _ => Cow::Borrowed(&records),
    };
    let is_excluded = |name: &str| config.is_excluded(name);
    let rules = PlanRules {
        deprovision: config.deprovision,
        target_only: config.target_only_users,
        is_excluded: &is_excluded,
        managed_groups: config.group_map.values().flatten().cloned().collect(),
    };
    report.plan = plan::build_plan(&desired, &held, &baseline, snapshot.as_ref(), &rules);
    let plan = &report.plan;
    tracing::info!(
        target = config.name,
        full = options.full,
        dry_run = options.dry_run,
        creates = plan.creates.len(),
        updates = plan.updates.len(),
        deactivations = plan.deactivations.len(),
        deletions = plan.deletions.len(),
        group_adds = plan.group_adds.len(),
        group_removes = plan.group_removes.len(),
        unchanged = plan.unchanged,
        "push planned"
    );
    let population = snapshot.as_ref().map_or(records.len(), |s| s.users.len());
    if let Err(refused) = plan::check_removals(
        &report.plan,
        config.max_deletions,
        options.allow_deletions,
        population,
    ) {
        tracing::warn!(target = config.name, "{refused}");
        report.refused = Some(refused);
        report.http_calls = target.transport.calls().since(&calls_before);
        return Ok(report);
    }
    if options.full && config.target_only_users == TargetOnlyPolicy::WriteFile {
        report.target_only_file = write_target_only(&report.plan, options)?;
    }
    if options.dry_run {
        report.http_calls = target.transport.calls().since(&calls_before);
        return Ok(report);
    }

    let desired_by_id: BTreeMap<&str, &DesiredUser> = desired
        .iter()
        .map(|d| (d.okta_user_id.as_str(), d))
        .collect();
    let (created, failed) = match &target.transport {
        Transport::Scim(client) => {
            let mut run = Execution {
                client,
                report: &mut report,
                created: BTreeMap::new(),
                failed: BTreeSet::new(),
            };
            run.users(options.full).await;
            run.memberships(snapshot.as_ref()).await;
            (run.created, run.failed)
        }
        Transport::Webhook(client) => {
            deliver_to_webhook(target, client, options.full, &mut report).await
        }
    };
    record(
        target,
        state,
        &report.plan,
        &desired_by_id,
        &records,
        &created,
        &failed,
    )
    .await?;
    report.http_calls = target.transport.calls().since(&calls_before);
    tracing::info!(
        target = config.name,
        created = report.done.created,
        updated = report.done.updated,
        deactivated = report.done.deactivated,
        deleted = report.done.deleted,
        group_adds = report.done.group_adds,
        group_removes = report.done.group_removes,
        failed_users = report.errors.len(),
        http_calls = report.http_calls.total(),
        "push done"
    );
    Ok(report)
}

/// Maps every user and runs the hook; users the hook skips or fails for, and users whose
/// userName is missing or taken by another, are held (left alone).
fn desired_users(
    target: &Target,
    users: &[SourceUser],
    report: &mut PushReport,
) -> (Vec<DesiredUser>, HeldUsers) {
    let mut desired = Vec::with_capacity(users.len());
    let mut held = HeldUsers::default();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for user in users {
        let login = user.login().to_owned();
        let attributes = target.attributes.map_user(user);
        let groups = target_groups(&target.config.group_map, user);
        let mapped_name = attributes
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let outcome = match &target.hook {
            Some(hook) => hook.run(user, attributes, groups),
            None => Ok(HookOutcome::Push {
                attributes,
                target_groups: groups,
            }),
        };
        let (attributes, target_groups) = match outcome {
            Ok(HookOutcome::Push {
                attributes,
                target_groups,
            }) => (attributes, target_groups),
            Ok(HookOutcome::Skip { reason }) => {
                report.skipped.push(SkippedUser {
                    login: login.clone(),
                    reason,
                });
                held.hold(&user.id, &[&login, &mapped_name]);
                continue;
            }
            Err(e) => {
                tracing::warn!(target = target.config.name, "{e}");
                report.errors.push(UserError {
                    login: login.clone(),
                    message: e.to_string(),
                });
                held.hold(&user.id, &[&login, &mapped_name]);
                continue;
            }
        };
        let d = DesiredUser {
            okta_user_id: user.id.clone(),
            login: login.clone(),
            attributes,
            target_groups,
        };
        let user_name = d.user_name().to_owned();
        let key = user_name.to_lowercase();
        let problem = if user_name.is_empty() {
            Some(
                "has no userName: its template gave nothing (the default is {profile.login})"
                    .to_owned(),
            )
        } else if let Some(other) = taken.get(&key) {
            Some(format!(
                "maps to userName {user_name:?} as {other} does: only {other} is pushed"
            ))
        } else {
            taken.insert(key, login.clone());
            None
        };
        if let Some(problem) = problem {
            report.errors.push(UserError {
                login: login.clone(),
                message: problem,
            });
            held.hold(&user.id, &[&login, &mapped_name, &user_name]);
            continue;
        }
        desired.push(d);
    }
    (desired, held)
}

/// Posts the plan to a webhook target; a user's "target id" is its Okta id.
async fn deliver_to_webhook(
    target: &Target,
    client: &WebhookClient,
    full: bool,
    report: &mut PushReport,
) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let run_id = target.clock.now().timestamp_millis().to_string();
    let delivered =
        webhook::deliver(client, &target.config.name, full, &run_id, &report.plan).await;
    report.done = delivered.counts;
    let created = report
        .plan
        .creates
        .iter()
        .filter(|c| delivered.sent.contains(&c.okta_user_id))
        .map(|c| (c.okta_user_id.clone(), c.okta_user_id.clone()))
        .collect();
    let mut failed = BTreeSet::new();
    for (key, login, message) in delivered.failed {
        failed.insert(key);
        report.errors.push(UserError { login, message });
    }
    (created, failed)
}

fn write_target_only(plan: &Plan, options: &PushOptions) -> Result<Option<PathBuf>, PushError> {
    let Some(path) = options.write_file_path.clone() else {
        return Ok(None);
    };
    let text =
        serde_json::to_string_pretty(&plan.target_only).map_err(|e| PushError::WriteFile {
            path: path.clone(),
            problem: e.to_string(),
        })?;
    std::fs::write(&path, text + "\n").map_err(|e| PushError::WriteFile {
        path: path.clone(),
        problem: e.to_string(),
    })?;
    Ok(Some(path))
}

/// The state of carrying out one plan.
struct Execution<'a> {
    client: &'a ScimClient,
    report: &'a mut PushReport,
    /// Okta user id → target id of users created (or found) in this run.
    created: BTreeMap<String, String>,
    /// Okta user ids something failed for, and target ids of target-only accounts likewise.
    failed: BTreeSet<String>,
}

/// A user-level call's result.
enum UserCall {
    Created {
        okta_id: String,
        target_id: String,
    },
    Updated,
    Deactivated,
    Deleted,
    Failed {
        key: String,
        login: String,
        error: String,
    },
}

impl Execution<'_> {
    async fn users(&mut self, full: bool) {
        let client = self.client;
        let plan = &self.report.plan;
        // Where an account with a create's userName is looked for: nowhere after a full push's
        // listing, in one listing made now when that is cheaper, else one lookup per create.
        let existing: Existing = if full {
            Existing::Listed(BTreeMap::new())
        } else {
            list_if_cheaper(client, plan.creates.len()).await
        };
        let existing = &existing;
        let fail = |key: &str, login: &str, e: TargetError| UserCall::Failed {
            key: key.to_owned(),
            login: login.to_owned(),
            error: match e.status() {
                // the push state knows an account the target no longer has
                Some(404) if !full => format!(
                    "{e}; the account is gone from the target: a full push creates it again"
                ),
                _ => e.to_string(),
            },
        };
        let creates = plan.creates.iter().map(|c| {
            async move {
                match create_or_adopt(client, &c.attributes, existing).await {
                    Ok(target_id) => UserCall::Created {
                        okta_id: c.okta_user_id.clone(),
                        target_id,
                    },
                    Err(e) => fail(&c.okta_user_id, &c.login, e),
                }
            }
            .boxed()
        });
        let updates = plan.updates.iter().map(|u| {
            async move {
                match client.update_user(&u.target_user_id, &u.changes).await {
                    Ok(()) => UserCall::Updated,
                    Err(e) => fail(&u.okta_user_id, &u.login, e),
                }
            }
            .boxed()
        });
        let deactivations = plan.deactivations.iter().map(|r| {
            async move {
                match client.deactivate_user(&r.target_user_id).await {
                    Ok(()) => UserCall::Deactivated,
                    Err(e) => fail(r.key(), &r.user_name, e),
                }
            }
            .boxed()
        });
        let deletions = plan.deletions.iter().map(|r| {
            async move {
                match client.delete_user(&r.target_user_id).await {
                    Ok(()) => UserCall::Deleted,
                    Err(e) => fail(r.key(), &r.user_name, e),
                }
            }
            .boxed()
        });
        // Collected first: futures made by closures over borrowed plans are then `Send` for
        // any lifetime, as a push spawned by serve's scheduler needs.
        let calls: Vec<BoxFuture<'_, UserCall>> = creates
            .chain(updates)
            .chain(deactivations)
            .chain(deletions)
            .collect();
        let calls: Vec<UserCall> = stream::iter(calls)
            .buffer_unordered(CONCURRENT_TARGET_CALLS)
            .collect()
            .await;
        for call in calls {
            let done = &mut self.report.done;
            match call {
                UserCall::Created { okta_id, target_id } => {
                    done.created += 1;
                    self.created.insert(okta_id, target_id);
                }
                UserCall::Updated => done.updated += 1,
                UserCall::Deactivated => done.deactivated += 1,
                UserCall::Deleted => done.deleted += 1,
                UserCall::Failed { key, login, error } => {
                    self.failed.insert(key);
                    self.report.errors.push(UserError {
                        login,
                        message: error,
                    });
                }
            }
        }
    }

    async fn memberships(&mut self, snapshot: Option<&TargetSnapshot>) {
        let plan = &self.report.plan;
        // group displayName → (users to add, users to remove), by target id
        let mut per_group: BTreeMap<&str, (Vec<&MembershipChange>, Vec<&MembershipChange>)> =
            BTreeMap::new();
        for m in &plan.group_adds {
            per_group.entry(&m.group).or_default().0.push(m);
        }
        for m in &plan.group_removes {
            per_group.entry(&m.group).or_default().1.push(m);
        }
        if per_group.is_empty() {
            return;
        }
        let known: BTreeMap<&str, &str> = snapshot
            .map(|s| {
                s.groups
                    .iter()
                    .map(|g| (g.display_name.as_str(), g.id.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let client = self.client;
        let created = &self.created;
        let failed = &self.failed;
        let full = snapshot.is_some();
        let target_id_of = |m: &MembershipChange| -> Option<String> {
            if let Some(okta) = &m.okta_user_id
                && failed.contains(okta)
            {
                return None;
            }
            m.target_user_id.clone().or_else(|| {
                m.okta_user_id
                    .as_ref()
                    .and_then(|okta| created.get(okta).cloned())
            })
        };
        let jobs = per_group.into_iter().map(|(group, (adds, removes))| {
            let known_id = known.get(group).map(|id| (*id).to_owned());
            let adds: Vec<(String, &MembershipChange)> = adds
                .into_iter()
                .filter_map(|m| Some((target_id_of(m)?, m)))
                .collect();
            let removes: Vec<(String, &MembershipChange)> = removes
                .into_iter()
                .filter_map(|m| Some((target_id_of(m)?, m)))
                .collect();
            async move { group_job(client, group, known_id, full, adds, removes).await }.boxed()
        });
        let jobs: Vec<BoxFuture<'_, GroupResult<'_>>> = jobs.collect();
        let results: Vec<GroupResult<'_>> = stream::iter(jobs)
            .buffer_unordered(CONCURRENT_TARGET_CALLS)
            .collect()
            .await;
        for r in results {
            let done = &mut self.report.done;
            done.groups_created += u64::from(r.created_group);
            done.group_adds += r.added;
            done.group_removes += r.removed;
            for (m, error) in r.failures {
                self.failed.insert(m.key().to_owned());
                self.report.errors.push(UserError {
                    login: m.user_name.clone(),
                    message: format!("target group {:?}: {error}", m.group),
                });
            }
        }
    }
}

struct GroupResult<'a> {
    created_group: bool,
    added: u64,
    removed: u64,
    failures: Vec<(&'a MembershipChange, String)>,
}

async fn group_job<'a>(
    client: &ScimClient,
    group: &str,
    known_id: Option<String>,
    full: bool,
    adds: Vec<(String, &'a MembershipChange)>,
    removes: Vec<(String, &'a MembershipChange)>,
) -> GroupResult<'a> {
    let mut result = GroupResult {
        created_group: false,
        added: 0,
        removed: 0,
        failures: Vec::new(),
    };
    let fail_all = |result: &mut GroupResult<'a>, error: &str| {
        for (_, m) in adds.iter().chain(&removes) {
            result.failures.push((m, error.to_owned()));
        }
    };
    // a full push listed every group; otherwise look the group up by name
    let found = match known_id {
        Some(id) => Some(id),
        None if full => None,
        None => match client.find_group(group).await {
            Ok(g) => g.map(|g| g.id),
            Err(e) => {
                fail_all(&mut result, &e.to_string());
                return result;
            }
        },
    };
    let group_id = match found {
        Some(id) => id,
        // nobody to remove from a group that does not exist
        None if adds.is_empty() => return result,
        None => match client.create_group(group).await {
            Ok(g) => {
                result.created_group = true;
                g.id
            }
            Err(e) => {
                fail_all(&mut result, &e.to_string());
                return result;
            }
        },
    };
    for chunk in adds.chunks(MEMBERS_PER_PATCH) {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
        match client.add_members(&group_id, &ids).await {
            Ok(()) => result.added += chunk.len() as u64,
            Err(e) => result
                .failures
                .extend(chunk.iter().map(|(_, m)| (*m, e.to_string()))),
        }
    }
    for chunk in removes.chunks(MEMBERS_PER_PATCH) {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
        match client.remove_members(&group_id, &ids).await {
            Ok(()) => result.removed += chunk.len() as u64,
            Err(e) => result
                .failures
                .extend(chunk.iter().map(|(_, m)| (*m, e.to_string()))),
        }
    }
    result
}

/// The target's accounts as far as creates need them.
enum Existing {
    /// Listed in this run (by lower-cased userName): what is not here is not there.
    Listed(BTreeMap<String, TargetUser>),
    /// Looked up per create.
    LookUp,
}

/// Lists the target's users when that costs fewer calls than `creates` lookups.
async fn list_if_cheaper(client: &ScimClient, creates: usize) -> Existing {
    if creates <= LOOKUPS_BEFORE_LISTING {
        return Existing::LookUp;
    }
    let listed = async {
        let total = client.count_users().await?;
        if total == 0 {
            return Ok(Some(Vec::new()));
        }
        if ScimClient::pages_to_list(total) >= creates as u64 {
            return Ok(None);
        }
        client.list_users().await.map(Some)
    };
    match listed.await {
        Ok(Some(users)) => Existing::Listed(
            users
                .into_iter()
                .map(|u| (u.user_name.to_lowercase(), u))
                .collect(),
        ),
        Ok(None) => Existing::LookUp,
        Err(e) => {
            tracing::warn!("listing the target's users failed ({e}); looking each create up");
            Existing::LookUp
        }
    }
}

/// Creates the user, or takes over an account that already has its userName (a first push to
/// a target that has users, or a create retried after the first attempt got through) and
/// brings it to the desired attributes.
async fn create_or_adopt(
    client: &ScimClient,
    attributes: &Attributes,
    existing: &Existing,
) -> Result<String, TargetError> {
    let user_name = attributes
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let found = match existing {
        Existing::Listed(users) => users.get(&user_name.to_lowercase()).cloned(),
        Existing::LookUp => client.find_user(user_name).await?,
    };
    if let Some(found) = found {
        return adopt(client, attributes, found).await;
    }
    match client.create_user(attributes).await {
        Ok(created) => Ok(created.id),
        Err(e) if e.status() == Some(409) => match client.find_user(user_name).await? {
            Some(existing) => adopt(client, attributes, existing).await,
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

async fn adopt(
    client: &ScimClient,
    attributes: &Attributes,
    existing: TargetUser,
) -> Result<String, TargetError> {
    let changes = plan::diff_attributes(
        attributes,
        |path| {
            crate::mapping::AttributePath::parse(path)
                .ok()
                .and_then(|p| p.lookup(&existing.resource))
        },
        &BTreeSet::new(),
    );
    if !changes.is_empty() {
        client.update_user(&existing.id, &changes).await?;
    }
    Ok(existing.id)
}

/// Saves the records of users pushed without failure, marks deactivated ones, forgets deleted
/// ones and those gone from both sides.
async fn record(
    target: &Target,
    state: &dyn PushState,
    plan: &Plan,
    desired: &BTreeMap<&str, &DesiredUser>,
    records: &[PushRecord],
    created: &BTreeMap<String, String>,
    failed: &BTreeSet<String>,
) -> Result<(), PushError> {
    let now = target.clock.now();
    let make = |d: &DesiredUser, target_id: &str| PushRecord {
        okta_user_id: d.okta_user_id.clone(),
        target_user_id: target_id.to_owned(),
        user_name: d.user_name().to_owned(),
        content_hash: d.content_hash(),
        attributes: d.attributes.clone(),
        target_groups: d.target_groups.clone(),
        pushed_at: now,
    };
    // every desired user the plan touched, with the target id it has now
    let mut touched: BTreeMap<&str, String> = BTreeMap::new();
    for u in &plan.updates {
        touched.insert(&u.okta_user_id, u.target_user_id.clone());
    }
    for m in plan.group_adds.iter().chain(&plan.group_removes) {
        if let (Some(okta), Some(tid)) = (&m.okta_user_id, &m.target_user_id)
            && desired.contains_key(okta.as_str())
        {
            touched.insert(okta, tid.clone());
        }
    }
    for (okta, tid) in created {
        touched.insert(okta, tid.clone());
    }
    let mut save: Vec<PushRecord> = touched
        .into_iter()
        .filter(|(okta, _)| !failed.contains(*okta))
        .filter_map(|(okta, tid)| Some(make(desired.get(okta)?, &tid)))
        .collect();
    save.extend(plan.adopted.iter().map(|(d, tid)| make(d, tid)));

    let by_okta: BTreeMap<&str, &PushRecord> = records
        .iter()
        .map(|r| (r.okta_user_id.as_str(), r))
        .collect();
    let mut forget = plan.forget.clone();
    for r in &plan.deactivations {
        if let (RemovalReason::LeftScope, Some(okta)) = (r.reason, &r.okta_user_id)
            && !failed.contains(okta)
            && let Some(old) = by_okta.get(okta.as_str())
        {
            let mut attributes = old.attributes.clone();
            attributes.insert("active".into(), Value::Bool(false));
            save.push(PushRecord {
                content_hash: plan::content_hash(&attributes, &old.target_groups),
                attributes,
                pushed_at: now,
                ..(*old).clone()
            });
        }
    }
    for r in &plan.deletions {
        if let Some(okta) = &r.okta_user_id
            && !failed.contains(okta)
        {
            forget.push(okta.clone());
        }
    }
    let name = &target.config.name;
    if !save.is_empty() {
        state.save(name, &save).await?;
    }
    if !forget.is_empty() {
        state.forget(name, &forget).await?;
    }
    Ok(())
}
