//! Pushing from the mirror: the users a target receives, selected from the store; the push
//! state kept in the store; each run recorded in `push_runs`.

use crate::config::{ConfigError, TargetConfig};
use crate::run::{PushError, PushOptions, PushReport, Target, push};
use crate::source::{SourceGroup, SourceUser};
use crate::state::{PushRecord, PushState, StateError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okta_api::Clock;
use oktasync_store::{
    GroupPattern, Mirror, MirrorReader, OrgId, PushRunRecord, PushSourceUser, PushStates,
    PushedUser, RoleFilter, timestamp,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// [`PushState`] in the mirror's `push_state` table, for one org.
pub struct StorePushState<'a> {
    pub store: &'a dyn PushStates,
    pub org: OrgId,
}

fn state_error(e: impl std::error::Error + Send + Sync + 'static) -> StateError {
    StateError(Box::new(e))
}

#[async_trait]
impl PushState for StorePushState<'_> {
    async fn load(&self, target: &str) -> Result<Vec<PushRecord>, StateError> {
        let stored = self
            .store
            .pushed_users(self.org, target)
            .await
            .map_err(state_error)?;
        stored
            .into_iter()
            .map(|u| {
                Ok(PushRecord {
                    attributes: serde_json::from_value(u.attributes).map_err(state_error)?,
                    pushed_at: DateTime::parse_from_rfc3339(&u.pushed_at)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(state_error)?,
                    okta_user_id: u.okta_user_id,
                    target_user_id: u.target_user_id,
                    user_name: u.user_name,
                    content_hash: u.content_hash,
                    target_groups: u.target_groups.into_iter().collect(),
                })
            })
            .collect()
    }

    async fn save(&self, target: &str, records: &[PushRecord]) -> Result<(), StateError> {
        let users: Vec<PushedUser> = records
            .iter()
            .map(|r| PushedUser {
                okta_user_id: r.okta_user_id.clone(),
                target_user_id: r.target_user_id.clone(),
                user_name: r.user_name.clone(),
                content_hash: r.content_hash.clone(),
                attributes: json!(r.attributes),
                target_groups: r.target_groups.iter().cloned().collect(),
                pushed_at: timestamp(r.pushed_at),
            })
            .collect();
        self.store
            .save_pushed(self.org, target, &users)
            .await
            .map_err(state_error)
    }

    async fn forget(&self, target: &str, okta_user_ids: &[String]) -> Result<(), StateError> {
        self.store
            .forget_pushed(self.org, target, okta_user_ids)
            .await
            .map_err(state_error)
    }
}

/// The users `config` receives: members of the groups its patterns name, and holders of its
/// roles (`role_holders`), each with every group it is in.
pub fn select_users(
    config: &TargetConfig,
    users: Vec<PushSourceUser>,
    role_holders: &BTreeSet<String>,
) -> Result<Vec<SourceUser>, PushError> {
    let patterns = config
        .groups
        .iter()
        .map(|g| GroupPattern::parse(g.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|problem| {
            PushError::Config(vec![ConfigError {
                target: config.name.clone(),
                field: "groups".into(),
                problem,
            }])
        })?;
    Ok(users
        .into_iter()
        .filter(|u| {
            role_holders.contains(&u.id)
                || u.groups
                    .iter()
                    .any(|(id, name)| patterns.iter().any(|p| p.covers(id, Some(name))))
        })
        .map(|u| SourceUser {
            profile: u.raw.get("profile").cloned().unwrap_or(Value::Null),
            groups: u
                .groups
                .into_iter()
                .map(|(id, name)| SourceGroup { id, name })
                .collect(),
            id: u.id,
            status: u.status,
        })
        .collect())
}

/// One push from the mirror, as recorded.
pub struct MirrorPush {
    pub report: PushReport,
    /// The `push_runs` row.
    pub run: PushRunRecord,
    /// Users the target's groups and roles select.
    pub in_scope: usize,
}

/// What a push run is recorded as.
fn outcome(report: &PushReport) -> &'static str {
    if report.refused.is_some() {
        "refused"
    } else if !report.errors.is_empty() {
        "partial"
    } else {
        "succeeded"
    }
}

fn counts(report: &PushReport, in_scope: usize) -> Value {
    let plan = &report.plan;
    json!({
        "in_scope": in_scope,
        "planned": {
            "creates": plan.creates.len(),
            "updates": plan.updates.len(),
            "deactivations": plan.deactivations.len(),
            "deletions": plan.deletions.len(),
            "group_adds": plan.group_adds.len(),
            "group_removes": plan.group_removes.len(),
            "target_only": plan.target_only.len(),
            "excluded": plan.excluded.len(),
            "unchanged": plan.unchanged,
        },
        "done": report.done,
        "skipped": report.skipped.len(),
        "failed": report.errors.len(),
    })
}

/// Pushes the target's users from the org's mirror and records the run (a failed run too,
/// with its cause), timed by `clock`.
pub async fn push_from_mirror(
    target: &Target,
    store: &Mirror,
    org: OrgId,
    options: &PushOptions,
    clock: &dyn Clock,
) -> Result<MirrorPush, PushError> {
    let started_at = timestamp(clock.now());
    let config = target.config();
    let mut record = PushRunRecord {
        id: 0,
        target: config.name.clone(),
        started_at,
        ended_at: String::new(),
        dry_run: options.dry_run,
        full: options.full,
        outcome: "failed".into(),
        counts: json!({}),
        errors: json!([]),
        http_calls: json!({}),
        message: None,
    };
    let result = async {
        let mut holders = BTreeSet::new();
        for role in &config.roles {
            let filter = RoleFilter {
                role: Some(role.clone()),
                user_id: None,
            };
            holders.extend(
                store
                    .user_roles(org, &filter)
                    .await?
                    .into_iter()
                    .map(|r| r.user_id),
            );
        }
        let users = select_users(config, store.push_source(org).await?, &holders)?;
        let state = StorePushState { store, org };
        let report = push(target, &users, &state, options).await?;
        Ok::<_, PushError>((report, users.len()))
    }
    .await;
    record.ended_at = timestamp(clock.now());
    match result {
        Ok((report, in_scope)) => {
            record.outcome = outcome(&report).into();
            record.counts = counts(&report, in_scope);
            record.errors = json!(report.errors);
            record.http_calls = json!(report.http_calls);
            record.message = report.refused.as_ref().map(ToString::to_string);
            record.id = store.record_push_run(org, &record).await?;
            Ok(MirrorPush {
                report,
                run: record,
                in_scope,
            })
        }
        Err(e) => {
            record.message = Some(e.to_string());
            if let Err(store_error) = store.record_push_run(org, &record).await {
                tracing::warn!(error = %store_error, "Cannot record the failed push run.");
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, groups: &[(&str, &str)]) -> PushSourceUser {
        PushSourceUser {
            id: id.into(),
            status: "ACTIVE".into(),
            raw: json!({"id": id, "profile": {"login": format!("{id}@example.com")}}),
            groups: groups
                .iter()
                .map(|(i, n)| ((*i).to_owned(), (*n).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn members_of_named_groups_and_role_holders_are_selected() {
        let config: TargetConfig = toml::from_str(
            "name = \"t\"\nkind = \"scim\"\nurl = \"http://127.0.0.1:1\"\n\
             bearer_token = \"x\"\ngroups = [\"Eng*\", \"re:^ops-\"]\n",
        )
        .unwrap();
        let users = vec![
            source("u1", &[("g1", "Engineering")]),
            source("u2", &[("g2", "ops-oncall")]),
            source("u3", &[("g3", "Sales")]),
            source("u4", &[]),
        ];
        let holders = BTreeSet::from(["u4".to_owned()]);
        let selected: Vec<String> = select_users(&config, users, &holders)
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(selected, ["u1", "u2", "u4"]);
    }
}
