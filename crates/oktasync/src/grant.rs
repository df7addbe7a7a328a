//! `oktasync grant`: time-bound group grants. The decisions are `oktasync-grants`'s; this is
//! the command line around them: settings, the client and the mirror, and what is printed.

use crate::cli::{GrantCommand, OrgArgs};
use crate::config::Layer;
use crate::output::{Table, opt, print_json, print_list};
use crate::{connect, exit};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use okta_api::OktaClient;
use oktasync_grants::GrantError;
use oktasync_grants::check::{GrantRequest, check_request};
use oktasync_grants::enforce::{Enforcer, PassReport};
use oktasync_store::{
    AuditNote, Grant, GrantFilter, GrantState, GrantUpdate, Grants, Mirror, MirrorReader, OrgId,
};
use serde_json::json;
use std::process::ExitCode;

/// The org's client and mirror (the org must have been synced: grants are checked against
/// the mirror).
struct OrgContext {
    client: OktaClient,
    store: Mirror,
    org: OrgId,
    settings: crate::config::Settings,
}

async fn open(org: &OrgArgs) -> Result<OrgContext> {
    let settings = crate::org_settings(org, Layer::default()).await?;
    let client = connect::client(&settings)?;
    let store = connect::open_for_sync(&connect::db_location(&settings)?).await?;
    let origin = client.org().origin();
    let Some(id) = store.find_org(&origin).await? else {
        store.close().await;
        bail!(
            "the mirror has no org {origin} yet: grants are checked against the mirror, so sync \
             it first (`oktasync sync`)"
        );
    };
    Ok(OrgContext {
        client,
        store,
        org: id,
        settings,
    })
}

/// This process, as an enforcer naming its claims.
pub(crate) fn holder() -> String {
    format!(
        "pid {} at {}",
        std::process::id(),
        oktasync_store::timestamp(Utc::now())
    )
}

fn refused(e: GrantError) -> anyhow::Error {
    match e {
        GrantError::Refused(_) | GrantError::Policy(_) => exit::config(e.into()),
        other => other.into(),
    }
}

pub async fn run(command: GrantCommand) -> Result<ExitCode> {
    match command {
        GrantCommand::Add {
            user,
            group,
            duration,
            until,
            reason,
            ticket,
            requested_by,
            org,
            out,
        } => {
            let now = Utc::now();
            let until = match (duration, until) {
                (Some(d), _) => {
                    let d = humantime::parse_duration(d.trim()).map_err(|e| {
                        exit::config(anyhow!(
                            "--for {d:?} is not a duration ({e}); write it as 2h, 30m or 90s"
                        ))
                    })?;
                    now + chrono::Duration::from_std(d)
                        .map_err(|_| exit::config(anyhow!("--for is too long")))?
                }
                (None, Some(t)) => DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| {
                        exit::config(anyhow!(
                            "--until {t:?} is not an RFC 3339 time such as 2026-12-01T18:00:00Z"
                        ))
                    })?
                    .with_timezone(&Utc),
                (None, None) => bail!("give --for DURATION or --until TIME"),
            };
            let ctx = open(&org).await?;
            let result = add(&ctx, user, group, until, reason, ticket, requested_by, now).await;
            ctx.store.close().await;
            let (grant, report) = result?;
            if out.json {
                print_json(&json!({"grant": grant, "enforcement": report}))?;
            } else {
                eprintln!("{}", describe(&grant));
                println!("{}", grant.grant_id);
            }
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::List {
            active,
            user,
            group,
            org,
            out,
        } => {
            let ctx = open(&org).await?;
            let filter = GrantFilter {
                open: active,
                user_id: match user {
                    Some(u) => Some(resolve_user(&ctx, &u).await?),
                    None => None,
                },
                group_id: match group {
                    Some(g) => Some(resolve_group(&ctx, &g).await?),
                    None => None,
                },
            };
            let grants = ctx.store.grants(ctx.org, &filter).await;
            ctx.store.close().await;
            let grants = grants?;
            let mut table = Table::new(&["id", "state", "user", "group", "expires", "reason"]);
            for g in &grants {
                table.row(vec![
                    g.grant_id.to_string(),
                    g.state.to_string(),
                    opt(g.user_login.as_ref()),
                    opt(g.group_name.as_ref()),
                    g.expires_at.clone(),
                    opt(g.reason.as_ref()),
                ]);
            }
            print_list(out.format(), &grants, &table, "grants")?;
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Show { id, org, out } => {
            let ctx = open(&org).await?;
            let found = ctx.store.grant(ctx.org, id).await;
            let audit = ctx.store.grant_audit(ctx.org, id).await;
            ctx.store.close().await;
            let grant = found?.ok_or_else(|| exit::config(GrantError::NoSuchGrant(id).into()))?;
            let audit = audit?;
            if out.json {
                print_json(&json!({"grant": grant, "audit": audit}))?;
            } else {
                println!("{}", describe(&grant));
                if let Some(error) = &grant.last_error {
                    println!("last error: {error}");
                }
                let mut table = Table::new(&["at", "action", "actor", "okta request", "detail"]);
                for a in &audit {
                    table.row(vec![
                        a.at.clone(),
                        a.action.clone(),
                        opt(a.actor.as_ref()),
                        opt(a.okta_request_id.as_ref()),
                        opt(a.detail.as_ref()),
                    ]);
                }
                table.print()?;
            }
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Revoke {
            id,
            all,
            group,
            org,
            out,
        } => {
            let ctx = open(&org).await?;
            let result = match id {
                Some(id) if !all => revoke(&ctx, id, Utc::now())
                    .await
                    .map(|(grant, report)| (vec![grant], report)),
                _ => revoke_all(&ctx, group.as_deref(), Utc::now()).await,
            };
            ctx.store.close().await;
            let (grants, report) = result?;
            print_grants(&grants, &report, out.json)?;
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Extend {
            id,
            duration,
            org,
            out,
        } => {
            let by = humantime::parse_duration(duration.trim()).map_err(|e| {
                exit::config(anyhow!(
                    "--for {duration:?} is not a duration ({e}); write it as 1h or 30m"
                ))
            })?;
            let ctx = open(&org).await?;
            let result = extend(&ctx, id, by, Utc::now()).await;
            ctx.store.close().await;
            print_grants(&[result?], &PassReport::default(), out.json)?;
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Approve { id, by, org, out } => {
            let ctx = open(&org).await?;
            let result = approve(&ctx, id, by, Utc::now()).await;
            ctx.store.close().await;
            let (grant, report) = result?;
            print_grants(&[grant], &report, out.json)?;
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Deny {
            id,
            by,
            reason,
            org,
            out,
        } => {
            let ctx = open(&org).await?;
            let update = GrantUpdate {
                state: Some(GrantState::Denied),
                ended: true,
                ..Default::default()
            };
            let note = AuditNote {
                actor: by.or_else(|| std::env::var("USER").ok()),
                detail: reason,
                ..AuditNote::new("denied")
            };
            let result = change(
                &ctx,
                id,
                &[GrantState::PendingApproval],
                &update,
                &note,
                "denied",
            )
            .await;
            ctx.store.close().await;
            print_grants(&[result?], &PassReport::default(), out.json)?;
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Enforce { org, out } => {
            let ctx = open(&org).await?;
            let report = enforcer(&ctx).pass(Utc::now()).await;
            ctx.store.close().await;
            let report = report?;
            if out.json {
                print_json(&report)?;
            } else {
                println!(
                    "added {}, revoked {}, kept {} (membership there before, or held by another grant), failed {}, retrying {}",
                    report.added, report.revoked, report.kept, report.failed, report.retrying
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn enforcer(ctx: &OrgContext) -> Enforcer<'_> {
    Enforcer {
        client: &ctx.client,
        store: &ctx.store,
        org: ctx.org,
        holder: holder(),
        org_name: ctx.settings.org_name.clone().unwrap_or_default(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn add(
    ctx: &OrgContext,
    user: String,
    group: String,
    until: DateTime<Utc>,
    reason: Option<String>,
    ticket: Option<String>,
    requested_by: Option<String>,
    now: DateTime<Utc>,
) -> Result<(Grant, PassReport)> {
    let (policies, principal) = crate::config::grants::load(&ctx.settings).map_err(exit::config)?;
    let request = GrantRequest {
        user,
        group,
        until: Some(until),
        reason,
        ticket,
        requested_by: requested_by.or_else(|| std::env::var("USER").ok()),
        idempotency_key: None,
    };
    let new = check_request(&ctx.store, ctx.org, &policies, principal, &request, now)
        .await
        .map_err(refused)?;
    let (grant, _) = ctx.store.request_grant(ctx.org, &new, now).await?;
    // Recorded: now add it (a failure here leaves it for the next pass, which retries).
    let report = enforcer(ctx).pass(now).await?;
    let grant = ctx
        .store
        .grant(ctx.org, grant.grant_id)
        .await?
        .context("the grant just recorded is gone")?;
    Ok((grant, report))
}

async fn revoke(ctx: &OrgContext, id: i64, now: DateTime<Utc>) -> Result<(Grant, PassReport)> {
    let grant = ctx
        .store
        .grant(ctx.org, id)
        .await?
        .ok_or_else(|| exit::config(GrantError::NoSuchGrant(id).into()))?;
    if !grant.state.is_open() {
        return Err(exit::config(
            GrantError::WrongState {
                id,
                state: grant.state,
                what: "revoked (it has ended)",
            }
            .into(),
        ));
    }
    let by = std::env::var("USER").ok();
    if grant.state == GrantState::PendingApproval {
        let update = GrantUpdate {
            state: Some(GrantState::Revoked),
            ended: true,
            ..Default::default()
        };
        let note = AuditNote {
            actor: by,
            detail: Some("revoked before approval".into()),
            ..AuditNote::new("revoked")
        };
        let ended = ctx
            .store
            .update_grant(
                ctx.org,
                id,
                &[GrantState::PendingApproval],
                &update,
                &note,
                now,
            )
            .await?
            .context("the grant changed meanwhile; look again with `oktasync grant show`")?;
        return Ok((ended, PassReport::default()));
    }
    // Due now: the pass ends it as it ends any expired grant.
    let update = GrantUpdate {
        expires_at: Some(now),
        ..Default::default()
    };
    let note = AuditNote {
        actor: by,
        detail: Some("ended early".into()),
        ..AuditNote::new("revoke_requested")
    };
    ctx.store
        .update_grant(ctx.org, id, &GrantState::OPEN, &update, &note, now)
        .await?
        .context("the grant changed meanwhile; look again with `oktasync grant show`")?;
    let report = enforcer(ctx).pass(now).await?;
    let grant = ctx
        .store
        .grant(ctx.org, id)
        .await?
        .context("the grant is gone")?;
    Ok((grant, report))
}

fn print_grants(grants: &[Grant], report: &PassReport, json: bool) -> Result<()> {
    if json {
        return print_json(&json!({"grants": grants, "enforcement": report}));
    }
    for grant in grants {
        println!("{}", describe(grant));
    }
    Ok(())
}

/// Applies `update` to a grant in one of `from`, or says why it cannot.
async fn change(
    ctx: &OrgContext,
    id: i64,
    from: &[GrantState],
    update: &GrantUpdate,
    note: &AuditNote,
    what: &'static str,
) -> Result<Grant> {
    let grant = ctx
        .store
        .grant(ctx.org, id)
        .await?
        .ok_or_else(|| exit::config(GrantError::NoSuchGrant(id).into()))?;
    if !from.contains(&grant.state) {
        return Err(exit::config(
            GrantError::WrongState {
                id,
                state: grant.state,
                what,
            }
            .into(),
        ));
    }
    ctx.store
        .update_grant(ctx.org, id, from, update, note, Utc::now())
        .await?
        .ok_or_else(|| {
            anyhow!("grant {id} changed meanwhile; look again with `oktasync grant show {id}`")
        })
}

async fn approve(
    ctx: &OrgContext,
    id: i64,
    by: Option<String>,
    now: DateTime<Utc>,
) -> Result<(Grant, PassReport)> {
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .ok_or_else(|| exit::config(anyhow!("say who approves: --by WHO")))?;
    let grant = ctx
        .store
        .grant(ctx.org, id)
        .await?
        .ok_or_else(|| exit::config(GrantError::NoSuchGrant(id).into()))?;
    if grant.requested_by.as_deref() == Some(by.as_str()) {
        return Err(exit::config(anyhow!(
            "{by} asked for grant {id} and cannot approve it too: another person must"
        )));
    }
    let update = GrantUpdate {
        state: Some(GrantState::Pending),
        approved_by: Some(by.clone()),
        ..Default::default()
    };
    let note = AuditNote {
        actor: Some(by),
        ..AuditNote::new("approved")
    };
    change(
        ctx,
        id,
        &[GrantState::PendingApproval],
        &update,
        &note,
        "approved",
    )
    .await?;
    let report = enforcer(ctx).pass(now).await?;
    let grant = ctx
        .store
        .grant(ctx.org, id)
        .await?
        .context("the grant is gone")?;
    Ok((grant, report))
}

async fn extend(
    ctx: &OrgContext,
    id: i64,
    by: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Grant> {
    let grant = ctx
        .store
        .grant(ctx.org, id)
        .await?
        .ok_or_else(|| exit::config(GrantError::NoSuchGrant(id).into()))?;
    let end = DateTime::parse_from_rfc3339(&grant.expires_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
        .max(now);
    let until = end
        + chrono::Duration::from_std(by).map_err(|_| exit::config(anyhow!("--for is too long")))?;
    let (policies, _) = crate::config::grants::load(&ctx.settings).map_err(exit::config)?;
    let policy = policies
        .for_group(&grant.group_id, grant.group_name.as_deref())
        .ok_or_else(|| {
            exit::config(anyhow!(
                "no [[grant_policies]] entry names the group {:?} any more: it cannot be extended",
                grant.group_name.as_deref().unwrap_or(&grant.group_id)
            ))
        })?;
    if (until - now).to_std().unwrap_or_default() > policy.max_duration {
        return Err(exit::config(anyhow!(
            "the grant would end {} from now, more than the max_duration {} of the policy for {}",
            humantime::format_duration(std::time::Duration::from_secs(
                (until - now).num_seconds().max(0) as u64
            )),
            humantime::format_duration(policy.max_duration),
            policy.label()
        )));
    }
    let update = GrantUpdate {
        expires_at: Some(until),
        ..Default::default()
    };
    let note = AuditNote {
        actor: std::env::var("USER").ok(),
        detail: Some(format!(
            "from {} to {}",
            grant.expires_at,
            oktasync_store::timestamp(until)
        )),
        ..AuditNote::new("extended")
    };
    change(
        ctx,
        id,
        &[
            GrantState::PendingApproval,
            GrantState::Pending,
            GrantState::Adding,
            GrantState::Active,
        ],
        &update,
        &note,
        "extended (it has ended, or its removal has begun)",
    )
    .await
}

/// Ends every open grant (of `group`) now: the panic button.
async fn revoke_all(
    ctx: &OrgContext,
    group: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Vec<Grant>, PassReport)> {
    let filter = GrantFilter {
        open: true,
        group_id: match group {
            Some(g) => Some(resolve_group(ctx, g).await?),
            None => None,
        },
        ..Default::default()
    };
    let open = ctx.store.grants(ctx.org, &filter).await?;
    let by = std::env::var("USER").ok();
    for grant in &open {
        let (update, note) = if grant.state == GrantState::PendingApproval {
            (
                GrantUpdate {
                    state: Some(GrantState::Revoked),
                    ended: true,
                    ..Default::default()
                },
                AuditNote {
                    actor: by.clone(),
                    detail: Some("revoked with all the others, before approval".into()),
                    ..AuditNote::new("revoked")
                },
            )
        } else {
            (
                GrantUpdate {
                    expires_at: Some(now),
                    ..Default::default()
                },
                AuditNote {
                    actor: by.clone(),
                    detail: Some("ended early with all the others (revoke --all)".into()),
                    ..AuditNote::new("revoke_requested")
                },
            )
        };
        ctx.store
            .update_grant(
                ctx.org,
                grant.grant_id,
                &GrantState::OPEN,
                &update,
                &note,
                now,
            )
            .await?;
    }
    let report = enforcer(ctx).pass(now).await?;
    let mut ended = Vec::new();
    for grant in &open {
        if let Some(g) = ctx.store.grant(ctx.org, grant.grant_id).await? {
            ended.push(g);
        }
    }
    Ok((ended, report))
}

async fn resolve_user(ctx: &OrgContext, user: &str) -> Result<String> {
    Ok(ctx
        .store
        .user(ctx.org, user)
        .await?
        .map_or_else(|| user.to_owned(), |u| u.user.id))
}

async fn resolve_group(ctx: &OrgContext, group: &str) -> Result<String> {
    Ok(ctx
        .store
        .find_group(ctx.org, group)
        .await?
        .map_or_else(|| group.to_owned(), |g| g.id))
}

fn describe(g: &Grant) -> String {
    let who = g.user_login.clone().unwrap_or_else(|| g.user_id.clone());
    let group = g.group_name.clone().unwrap_or_else(|| g.group_id.clone());
    let mut text = format!(
        "grant {}: {who} in {group:?} until {} — {}",
        g.grant_id, g.expires_at, g.state
    );
    if g.pre_existing {
        text.push_str(" (a member before the grant: the membership stays)");
    }
    text
}
