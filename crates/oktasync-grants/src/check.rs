//! A grant request checked before anything is recorded or called: the user and group as the
//! mirror knows them, the policy that covers the group, and the refusals that keep a grant
//! from doing harm (groups Okta will not change, groups a rule feeds, admin groups, users who
//! are not active).

use crate::error::{GrantError, Refusal};
use crate::policy::Policies;
use chrono::{DateTime, Utc};
use oktasync_store::{MirrorReader, NewGrant, OrgId};

/// A grant as asked for.
#[derive(Debug, Clone, Default)]
pub struct GrantRequest {
    /// The user's id or login.
    pub user: String,
    /// The group's id or name.
    pub group: String,
    pub until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub requested_by: Option<String>,
    pub idempotency_key: Option<String>,
    /// Create the user in Okta for this grant (`user` is then the new login): the account is
    /// oktasync's, and may be cleaned up after its last grant (`cleanup_after_days`).
    pub create_user: Option<NewAccount>,
}

/// An account to create for a grant.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// What oktasync's own Okta principal may do, as configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Principal {
    /// It holds Super Admin: it may change the members of groups that hold admin roles.
    pub super_admin: bool,
}

/// The grant to record for `request`, or why it is refused.
pub async fn check_request(
    store: &dyn MirrorReader,
    org: OrgId,
    policies: &Policies,
    principal: Principal,
    request: &GrantRequest,
    now: DateTime<Utc>,
) -> Result<NewGrant, GrantError> {
    let until = request
        .until
        .ok_or_else(|| Refusal::NotInFuture("no time given".to_owned()))?;
    if until <= now {
        return Err(Refusal::NotInFuture(oktasync_store::timestamp(until)).into());
    }
    let known = store.user(org, &request.user).await?.map(|u| u.user);
    let user = match (known, &request.create_user) {
        (Some(user), None) => Some(user),
        (None, None) => return Err(Refusal::UnknownUser(request.user.clone()).into()),
        (Some(user), Some(_)) => {
            return Err(
                Refusal::UserExists(user.login.clone().unwrap_or_else(|| user.id.clone())).into(),
            );
        }
        // Created once every check has passed.
        (None, Some(_)) => None,
    };
    let group = store
        .group_summary(org, &request.group)
        .await?
        .ok_or_else(|| Refusal::UnknownGroup(request.group.clone()))?;
    let group_name = group.group.name.clone().unwrap_or_default();
    let group_id = group.group.id.clone();
    let policy = policies
        .for_group(&group_id, group.group.name.as_deref())
        .ok_or_else(|| Refusal::NoPolicy {
            name: group_name.clone(),
            id: group_id.clone(),
        })?;
    let asked = (until - now).to_std().unwrap_or_default();
    if asked > policy.max_duration {
        return Err(Refusal::TooLong {
            asked: humantime::format_duration(round_seconds(asked)).to_string(),
            max: humantime::format_duration(policy.max_duration).to_string(),
            policy: policy.label(),
        }
        .into());
    }
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if policy.require_reason && reason.is_none() {
        return Err(Refusal::ReasonRequired {
            policy: policy.label(),
        }
        .into());
    }
    let kind = group.group.group_type.clone().unwrap_or_default();
    if kind != "OKTA_GROUP" {
        return Err(Refusal::NotAnOktaGroup {
            name: group_name,
            kind,
        }
        .into());
    }
    if let Some(user) = &user {
        let status = user.status.clone().unwrap_or_default();
        if status != "ACTIVE" {
            return Err(Refusal::UserNotActive {
                login: user.login.clone().unwrap_or_else(|| user.id.clone()),
                status,
            }
            .into());
        }
    }
    if let Some((rule_id, rule_name)) = store
        .active_rules_feeding(org, &group_id)
        .await?
        .into_iter()
        .next()
    {
        return Err(Refusal::RuleTarget {
            name: group_name,
            rule: rule_name.unwrap_or(rule_id),
        }
        .into());
    }
    if !group.roles.is_empty() && !principal.super_admin {
        let roles: Vec<String> = group
            .roles
            .iter()
            .filter_map(|r| r.role_type.clone())
            .collect();
        return Err(Refusal::AdminGroup {
            name: group_name,
            roles: roles.join(", "),
        }
        .into());
    }
    Ok(NewGrant {
        // Empty for an account still to create: its id comes from Okta.
        user_id: user.as_ref().map(|u| u.id.clone()).unwrap_or_default(),
        group_id,
        user_login: match &user {
            Some(user) => user.login.clone(),
            None => Some(request.user.clone()),
        },
        group_name: group.group.name.clone(),
        reason: reason.map(str::to_owned),
        ticket: request.ticket.clone(),
        requested_by: request.requested_by.clone(),
        policy: Some(policy.label()),
        expires_at: Some(until),
        needs_approval: policy.require_approval,
        idempotency_key: request.idempotency_key.clone(),
    })
}

fn round_seconds(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs())
}
