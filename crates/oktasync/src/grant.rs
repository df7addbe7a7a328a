//! `oktasync grant`: time-bound group grants. The decisions are `oktasync-grants`'s; this is
//! the command line around them: settings, the client and the mirror, and what is printed.

use crate::cli::{GrantCommand, OrgArgs};
use crate::config::Layer;
use crate::history::{resolve_group, resolve_user};
use crate::output::{Table, opt, print_json, print_list};
use crate::{connect, exit};
use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Utc};
use okta_api::OktaClient;
use oktasync_grants::GrantError;
use oktasync_grants::actions::Grantor;
use oktasync_grants::check::{GrantRequest, NewAccount, Principal};
use oktasync_grants::enforce::PassReport;
use oktasync_grants::policy::Policies;
use oktasync_store::{Grant, GrantFilter, Grants, Mirror, MirrorReader, OrgId};
use serde_json::json;
use std::process::ExitCode;

/// The org's client and mirror (the org must have been synced: grants are checked against
/// the mirror).
struct OrgContext {
    client: OktaClient,
    store: Mirror,
    org: OrgId,
    settings: crate::config::Settings,
    policies: Policies,
    principal: Principal,
}

impl OrgContext {
    fn grantor(&self) -> Grantor<'_> {
        Grantor {
            client: &self.client,
            store: &self.store,
            org: self.org,
            org_name: self.settings.org_name.clone().unwrap_or_default(),
            policies: &self.policies,
            principal: self.principal,
            holder: oktasync_grants::enforce::holder("cli"),
        }
    }
}

async fn open(org: &OrgArgs) -> Result<OrgContext> {
    let settings = crate::org_settings(org, Layer::default()).await?;
    let (policies, principal) = crate::config::grants::load(&settings).map_err(exit::config)?;
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
        policies,
        principal,
    })
}

fn refused(e: GrantError) -> anyhow::Error {
    match e {
        // What the person asked cannot be done: exit 2, with why.
        GrantError::Refused(_)
        | GrantError::Policy(_)
        | GrantError::NoSuchGrant(_)
        | GrantError::WrongState { .. }
        | GrantError::SelfApproval { .. } => exit::config(e.into()),
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
            create_user,
            email,
            first_name,
            last_name,
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
            let request = GrantRequest {
                user,
                group,
                until: Some(until),
                reason,
                ticket,
                requested_by: requested_by.or_else(|| std::env::var("USER").ok()),
                idempotency_key: None,
                create_user: create_user.then(|| NewAccount {
                    email: email.unwrap_or_default(),
                    first_name: first_name.unwrap_or_default(),
                    last_name: last_name.unwrap_or_default(),
                }),
            };
            let result =
                async { ctx.grantor().request(&request, now).await.map_err(refused) }.await;
            ctx.store.close().await;
            let (grant, _, report) = result?;
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
                    Some(u) => Some(resolve_user(&ctx.store, ctx.org, &u).await?),
                    None => None,
                },
                group_id: match group {
                    Some(g) => Some(resolve_group(&ctx.store, ctx.org, &g).await?),
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
            let result = async {
                let grantor = ctx.grantor();
                let actor = std::env::var("USER").ok();
                match id {
                    Some(id) if !all => grantor
                        .revoke(id, actor, Utc::now())
                        .await
                        .map(|(grant, report)| (vec![grant], report)),
                    _ => {
                        let group = match group {
                            Some(g) => Some(resolve_group(&ctx.store, ctx.org, &g).await?),
                            None => None,
                        };
                        grantor.revoke_all(group, actor, Utc::now()).await
                    }
                }
                .map_err(refused)
            }
            .await;
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
            let result = async {
                ctx.grantor()
                    .extend(id, by, std::env::var("USER").ok(), Utc::now())
                    .await
                    .map_err(refused)
            }
            .await;
            ctx.store.close().await;
            print_grants(&[result?], &PassReport::default(), out.json)?;
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Approve { id, by, org, out } => {
            let by = by
                .or_else(|| std::env::var("USER").ok())
                .ok_or_else(|| exit::config(anyhow!("say who approves: --by WHO")))?;
            let ctx = open(&org).await?;
            let result = async {
                ctx.grantor()
                    .approve(id, &by, Utc::now())
                    .await
                    .map_err(refused)
            }
            .await;
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
            let by = by.or_else(|| std::env::var("USER").ok());
            let result = async {
                ctx.grantor()
                    .deny(id, by, reason, Utc::now())
                    .await
                    .map_err(refused)
            }
            .await;
            ctx.store.close().await;
            print_grants(&[result?], &PassReport::default(), out.json)?;
            Ok(ExitCode::SUCCESS)
        }
        GrantCommand::Enforce { org, out } => {
            let ctx = open(&org).await?;
            let report = ctx.grantor().enforcer().pass(Utc::now()).await;
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

fn print_grants(grants: &[Grant], report: &PassReport, json: bool) -> Result<()> {
    if json {
        return print_json(&json!({"grants": grants, "enforcement": report}));
    }
    for grant in grants {
        println!("{}", describe(grant));
    }
    Ok(())
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
