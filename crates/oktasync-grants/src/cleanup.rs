//! Accounts oktasync created for grants (`grant add --create-user`), cleaned up after access
//! ends: `cleanup_after_days` after the account's last grant ended, it is deactivated and
//! then deleted. Accounts oktasync did not create are never touched: only those recorded in
//! `grant_users` are looked at.
//!
//! An account is recorded (`creating`) before Okta is asked to create it. A crash before the
//! answer was recorded is resolved here once the request is old enough to be over: the login
//! is looked up, and an account Okta created for it after the request is adopted; if there is
//! none, the record is dropped.

use crate::enforce::{CLAIM_HOLD, Enforcer};
use crate::error::GrantError;
use chrono::{DateTime, Utc};
use okta_api::Error as OktaError;
use oktasync_store::{AuditNote, GrantFilter, GrantUser, GrantUserState, Grants};

/// Works every account that has something due at `now`; how many were deleted.
pub async fn clean_up(enforcer: &Enforcer<'_>, now: DateTime<Utc>) -> Result<u64, GrantError> {
    let mut deleted = 0;
    for account in enforcer.store.grant_users(enforcer.org).await? {
        match account.state {
            GrantUserState::Creating => resolve_creating(enforcer, &account, now).await?,
            GrantUserState::Created | GrantUserState::Deactivated => {
                if let Some(last_grant) = due(enforcer, &account, now).await?
                    && remove(enforcer, &account, last_grant, now).await?
                {
                    deleted += 1;
                }
            }
            GrantUserState::Deleted => {}
        }
    }
    Ok(deleted)
}

/// Whether the account's time has come: it has a cleanup period, no open grant, and its last
/// grant ended at least that long ago (with no grant at all: since it was asked for). `Some`
/// with its last grant, whose audit records the cleanup.
async fn due(
    enforcer: &Enforcer<'_>,
    account: &GrantUser,
    now: DateTime<Utc>,
) -> Result<Option<Option<i64>>, GrantError> {
    let (Some(days), Some(user_id)) = (account.cleanup_after_days, &account.user_id) else {
        return Ok(None);
    };
    let filter = GrantFilter {
        user_id: Some(user_id.clone()),
        ..Default::default()
    };
    let grants = enforcer.store.grants(enforcer.org, &filter).await?;
    if grants.iter().any(|g| g.state.is_open()) {
        return Ok(None);
    }
    let Some(last_end) = grants
        .iter()
        .filter_map(|g| g.ended_at.as_deref())
        .max()
        .or((grants.is_empty()).then_some(account.requested_at.as_str()))
    else {
        return Ok(None);
    };
    let Ok(last_end) = DateTime::parse_from_rfc3339(last_end) else {
        return Ok(None);
    };
    let cleanup_at = last_end.with_timezone(&Utc) + chrono::Duration::days(days);
    if cleanup_at > now {
        return Ok(None);
    }
    Ok(Some(grants.first().map(|g| g.grant_id)))
}

/// Records a cleanup step on the account's last grant (an account none was recorded for, after
/// a crash, has only the log).
async fn note(
    enforcer: &Enforcer<'_>,
    last_grant: Option<i64>,
    note: AuditNote,
    now: DateTime<Utc>,
) -> Result<(), GrantError> {
    tracing::info!(org = %enforcer.org_name, grant = ?last_grant, detail = ?note.detail, "Cleaned up an account created for a grant.");
    if let Some(grant) = last_grant {
        enforcer
            .store
            .note_grant(enforcer.org, grant, &note, now)
            .await?;
    }
    Ok(())
}

/// Deactivates (if not yet) and deletes the account; whether it is gone. A failed step is
/// recorded on the account and tried again on the next pass.
async fn remove(
    enforcer: &Enforcer<'_>,
    account: &GrantUser,
    last_grant: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, GrantError> {
    let Some(user_id) = account.user_id.as_deref() else {
        return Ok(false);
    };
    let days = account.cleanup_after_days.unwrap_or_default();
    if account.state == GrantUserState::Created {
        match enforcer.client.deactivate_user(user_id).await {
            Ok(receipt) => {
                let detail = format!(
                    "the account {} oktasync created for this grant was deactivated, {days} days \
                     after its last grant ended",
                    account.login
                );
                let step = (GrantUserState::Deactivated, "user_deactivated", detail);
                recorded(enforcer, account, step, receipt.request_id, last_grant, now).await?;
            }
            Err(OktaError::NotFound(_)) => return gone(enforcer, account, last_grant, now).await,
            Err(e) => return failed(enforcer, account, e, now).await,
        }
    }
    match enforcer.client.delete_user(user_id).await {
        Ok(receipt) => {
            let detail = format!(
                "the account {} oktasync created for this grant was deleted",
                account.login
            );
            let step = (GrantUserState::Deleted, "user_deleted", detail);
            recorded(enforcer, account, step, receipt.request_id, last_grant, now).await?;
            Ok(true)
        }
        Err(OktaError::NotFound(_)) => gone(enforcer, account, last_grant, now).await,
        Err(e) => failed(enforcer, account, e, now).await,
    }
}

/// Records a cleanup step done: the account's new state, and (state, audit action, detail)
/// on its last grant with the request id of the call.
async fn recorded(
    enforcer: &Enforcer<'_>,
    account: &GrantUser,
    (state, action, detail): (GrantUserState, &str, String),
    okta_request_id: Option<String>,
    last_grant: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), GrantError> {
    enforcer
        .store
        .update_grant_user(enforcer.org, &account.login, None, state, None, now)
        .await?;
    let entry = AuditNote {
        detail: Some(detail),
        okta_request_id,
        ..AuditNote::new(action)
    };
    note(enforcer, last_grant, entry, now).await
}

/// Someone deleted the account already.
async fn gone(
    enforcer: &Enforcer<'_>,
    account: &GrantUser,
    last_grant: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, GrantError> {
    let detail = format!(
        "the account {} oktasync created for this grant was already deleted",
        account.login
    );
    let step = (GrantUserState::Deleted, "user_deleted", detail);
    recorded(enforcer, account, step, None, last_grant, now).await?;
    Ok(true)
}

async fn failed(
    enforcer: &Enforcer<'_>,
    account: &GrantUser,
    error: OktaError,
    now: DateTime<Utc>,
) -> Result<bool, GrantError> {
    tracing::warn!(org = %enforcer.org_name, login = %account.login, error = %error, "Cannot clean up an account created for a grant; the next pass tries again.");
    enforcer
        .store
        .update_grant_user(
            enforcer.org,
            &account.login,
            None,
            account.state,
            Some(&error.to_string()),
            now,
        )
        .await?;
    Ok(false)
}

/// An account whose create was asked but whose answer was not recorded.
async fn resolve_creating(
    enforcer: &Enforcer<'_>,
    account: &GrantUser,
    now: DateTime<Utc>,
) -> Result<(), GrantError> {
    let Ok(asked) = DateTime::parse_from_rfc3339(&account.requested_at) else {
        return Ok(());
    };
    let asked = asked.with_timezone(&Utc);
    // The process that asked may still be waiting for Okta's answer.
    if now - asked < chrono::Duration::from_std(CLAIM_HOLD).unwrap_or_default() {
        return Ok(());
    }
    match enforcer.client.get_user(&account.login).await? {
        // Created by that request (not an account someone made before it).
        Some(user)
            if user
                .created
                .is_some_and(|c| c >= asked - chrono::Duration::minutes(1)) =>
        {
            enforcer
                .store
                .update_grant_user(
                    enforcer.org,
                    &account.login,
                    Some(&user.id),
                    GrantUserState::Created,
                    None,
                    now,
                )
                .await?;
        }
        _ => {
            enforcer
                .store
                .forget_grant_user(enforcer.org, &account.login)
                .await?;
        }
    }
    Ok(())
}
