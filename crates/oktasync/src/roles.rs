//! `oktasync roles`: who holds each configured role (`[[roles]]`), and through which groups or
//! apps. The roles are applied to the mirror first (as after every sync), so the answer follows
//! the configuration as it is now, and any role gained or lost since the last application is
//! recorded in the change log.

use crate::cli::MirrorArgs;
use crate::cli::OutputFormat;
use crate::config::Layer;
use crate::history::resolve_user;
use crate::output::{Table, opt, print_list};
use crate::{connect, exit};
use anyhow::{Result, bail};
use chrono::Utc;
use oktasync_store::{Mirror, MirrorReader, OrgId, RoleFilter, RoleSpec, Roles, RolesApplied};

/// Applies `roles` to the org, saying on stderr what is worth knowing (roles naming nothing).
pub async fn apply(store: &Mirror, org: OrgId, roles: &[RoleSpec]) -> Result<RolesApplied> {
    let applied = store.apply_roles(org, roles, Utc::now()).await?;
    for role in &applied.empty_roles {
        tracing::warn!(role = %role, "The role's groups and apps name nothing in the mirror: no one holds it.");
    }
    Ok(applied)
}

/// Applies the configured roles (if any) to the org `origin` after a sync changed the mirror,
/// so that role changes follow the membership changes the run brought in. A failure is
/// reported, not fatal: the sync itself succeeded.
pub async fn apply_after_sync(store: &Mirror, origin: &str, roles: &[RoleSpec]) {
    if roles.is_empty() {
        return;
    }
    let result = async {
        let Some(org) = store.find_org(origin).await? else {
            return Ok(RolesApplied::default());
        };
        apply(store, org, roles).await
    }
    .await;
    match result {
        Ok(applied) if !applied.gained.is_empty() || !applied.lost.is_empty() => {
            tracing::info!(
                gained = applied.gained.len(),
                lost = applied.lost.len(),
                "Roles applied."
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "Cannot apply the configured roles; the next run tries again.")
        }
    }
}

pub async fn run(
    mirror: &MirrorArgs,
    user: Option<&str>,
    role: Option<&str>,
    format: OutputFormat,
) -> Result<()> {
    let settings = crate::load_settings(&crate::cli::OrgArgs::from(mirror), Layer::default())?;
    let roles = crate::config::roles::load(&settings).map_err(exit::config)?;
    if roles.is_empty() {
        bail!(exit::config(anyhow::anyhow!(
            "no roles are configured: add [[roles]] tables (name, groups, apps) to the config file"
        )));
    }
    if let Some(role) = role
        && !roles.iter().any(|r| r.name == role)
    {
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        bail!(exit::config(anyhow::anyhow!(
            "no role {role:?} is configured; the roles are: {}",
            names.join(", ")
        )));
    }
    let store = connect::open_for_sync(&connect::db_location(&settings)?).await?;
    let result = async {
        let selector = mirror.org.as_deref().or(settings.org_url.as_deref());
        let org = connect::mirror_org(&store, selector).await?;
        apply(&store, org, &roles).await?;
        let filter = RoleFilter {
            role: role.map(str::to_owned),
            user_id: match user {
                Some(u) => Some(resolve_user(&store, org, u).await?),
                None => None,
            },
        };
        let rows = store.user_roles(org, &filter).await?;
        let mut t = Table::new(&["role", "login", "user_id", "via", "via_id", "via_name"]);
        for r in &rows {
            t.row(vec![
                r.role.clone(),
                opt(r.login.as_ref()),
                r.user_id.clone(),
                r.via.clone(),
                r.via_id.clone(),
                opt(r.via_name.as_ref()),
            ]);
        }
        print_list(format, &rows, &t, "role holders")
    }
    .await;
    store.close().await;
    result
}
