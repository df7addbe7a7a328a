//! Time-bound group grants: the intent (who, which group, until when, why) committed before
//! Okta is called, where each grant is in its life, and an append-only audit of everything
//! done to it.
//!
//! Okta is called by enforcers (`grant enforce`, `watch`, `serve`), possibly several on one
//! database. An enforcer first *claims* the work it is about to do
//! ([`Grants::claim_grant_work`]): in the org's write transaction (one writer per org on either
//! backend), so two enforcers never claim one grant, and for a while only, so that the work of
//! an enforcer that died is claimed again once its claim runs out. A claim ends with the
//! grant's next state ([`Grants::update_grant`]).
//!
//! Time comes from the caller (`now`), so expiry is testable.

use crate::changelog::{LogEntry, log_entry};
use crate::error::{Result, StoreError};
use crate::mirror::Mirror;
use crate::sql::{Arg, Sql, args};
use crate::types::{OrgId, timestamp};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a grant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Waiting for an approver (the policy requires one).
    PendingApproval,
    /// An approver refused it. Final.
    Denied,
    /// Allowed and recorded; nothing asked of Okta yet.
    Pending,
    /// Whether the user was a member before is recorded (`pre_existing`); the add may or may
    /// not have reached Okta (it is idempotent, so an enforcer repeats it).
    Adding,
    /// The membership is in Okta (or was there before the grant: `pre_existing`).
    Active,
    /// Expired, and the last removal failed; retried at `next_attempt_at`.
    RevokeFailed,
    /// Ended: the membership removed (or left alone because something else holds it). Final.
    Revoked,
    /// Someone else removed the membership before the grant ended. Final.
    EndedExternally,
    /// Okta refused the add for good (the user or group is gone, or not writable). Final.
    Failed,
}

impl GrantState {
    pub const ALL: [GrantState; 9] = [
        GrantState::PendingApproval,
        GrantState::Denied,
        GrantState::Pending,
        GrantState::Adding,
        GrantState::Active,
        GrantState::RevokeFailed,
        GrantState::Revoked,
        GrantState::EndedExternally,
        GrantState::Failed,
    ];

    /// The states from which a grant still has something to do.
    pub const OPEN: [GrantState; 5] = [
        GrantState::PendingApproval,
        GrantState::Pending,
        GrantState::Adding,
        GrantState::Active,
        GrantState::RevokeFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::PendingApproval => "pending_approval",
            GrantState::Denied => "denied",
            GrantState::Pending => "pending",
            GrantState::Adding => "adding",
            GrantState::Active => "active",
            GrantState::RevokeFailed => "revoke_failed",
            GrantState::Revoked => "revoked",
            GrantState::EndedExternally => "ended_externally",
            GrantState::Failed => "failed",
        }
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

impl std::fmt::Display for GrantState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for GrantState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        GrantState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StoreError::Internal(format!("unknown grant state {s:?}")))
    }
}

/// A grant as requested.
#[derive(Debug, Clone, Default)]
pub struct NewGrant {
    pub user_id: String,
    pub group_id: String,
    /// The user's login and the group's name when requested, for people reading the record.
    pub user_login: Option<String>,
    pub group_name: Option<String>,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub requested_by: Option<String>,
    /// The policy that allows it (its groups, as configured).
    pub policy: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Starts `pending_approval` rather than `pending`.
    pub needs_approval: bool,
    /// A client's key for this request: the same key again returns the grant it made.
    pub idempotency_key: Option<String>,
}

/// One grant, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub grant_id: i64,
    pub user_id: String,
    pub group_id: String,
    pub user_login: Option<String>,
    pub group_name: Option<String>,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub requested_by: Option<String>,
    pub policy: Option<String>,
    pub requested_at: String,
    pub expires_at: String,
    pub state: GrantState,
    pub approved_by: Option<String>,
    /// The user was a member before the grant: the membership is never removed for it.
    pub pre_existing: bool,
    /// Failed attempts at the current step (add or removal) in a row.
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub ended_at: Option<String>,
    pub idempotency_key: Option<String>,
}

/// One entry of a grant's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub grant_id: i64,
    pub at: String,
    /// `requested`, `approved`, `denied`, `added`, `add_failed`, `extended`, `revoked`,
    /// `revoke_failed`, `kept`, `ended_externally`, ...
    pub action: String,
    /// Who did it: the requester, the approver, or the enforcer.
    pub actor: Option<String>,
    /// Free text: the reason, the error, what was kept and why.
    pub detail: Option<String>,
    /// Okta's `X-Okta-Request-Id` of the call this entry records.
    pub okta_request_id: Option<String>,
    /// The System Log event that shows the call, once seen.
    pub log_event_uuid: Option<String>,
}

/// What to record with a change of a grant.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub action: String,
    pub actor: Option<String>,
    pub detail: Option<String>,
    pub okta_request_id: Option<String>,
}

impl AuditNote {
    pub fn new(action: &str) -> Self {
        Self {
            action: action.to_owned(),
            ..Default::default()
        }
    }
}

/// A change to a grant: the fields given are set, the others left as they are. Every update
/// also ends the enforcer's claim.
#[derive(Debug, Clone, Default)]
pub struct GrantUpdate {
    pub state: Option<GrantState>,
    pub expires_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub pre_existing: Option<bool>,
    /// `Some(0)` resets the count; `Some(n)` sets it.
    pub attempts: Option<i64>,
    /// `Some(None)` clears it.
    pub next_attempt_at: Option<Option<DateTime<Utc>>>,
    pub last_error: Option<Option<String>>,
    /// Sets `ended_at` to now.
    pub ended: bool,
    /// Keeps the enforcer's claim (a step that goes on to call Okta), where every other
    /// update ends it.
    pub keep_claim: bool,
}

/// Which grants to list.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    /// Only open ones (pending approval, pending, active, revoke failed).
    pub open: bool,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
}

/// An Okta account oktasync created for a grant (`grant add --create-user`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantUser {
    pub login: String,
    /// `None` until Okta's answer to the create is recorded.
    pub user_id: Option<String>,
    pub state: GrantUserState,
    /// When the account was asked for (before the create call).
    pub requested_at: String,
    pub created_by: Option<String>,
    /// Days after its last grant ended that the account is deactivated and deleted; `None`:
    /// never.
    pub cleanup_after_days: Option<i64>,
    pub deactivated_at: Option<String>,
    pub deleted_at: Option<String>,
    pub last_error: Option<String>,
}

/// Where an account oktasync created is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantUserState {
    /// Asked of Okta; the answer is not recorded (a crash in between is resolved by looking
    /// the login up).
    Creating,
    Created,
    Deactivated,
    Deleted,
}

impl GrantUserState {
    pub const ALL: [GrantUserState; 4] = [
        GrantUserState::Creating,
        GrantUserState::Created,
        GrantUserState::Deactivated,
        GrantUserState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantUserState::Creating => "creating",
            GrantUserState::Created => "created",
            GrantUserState::Deactivated => "deactivated",
            GrantUserState::Deleted => "deleted",
        }
    }
}

impl std::str::FromStr for GrantUserState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        GrantUserState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StoreError::Internal(format!("unknown account state {s:?}")))
    }
}

/// The grants of a mirror.
#[async_trait]
pub trait Grants: Send + Sync {
    /// Records a requested grant and its `requested` audit entry in one transaction; returns
    /// it and whether it is new. A request with an idempotency key this org has seen returns
    /// the grant that key made, unchanged.
    async fn request_grant(
        &self,
        org: OrgId,
        new: &NewGrant,
        now: DateTime<Utc>,
    ) -> Result<(Grant, bool)>;

    async fn grant(&self, org: OrgId, grant_id: i64) -> Result<Option<Grant>>;

    /// The grant a request with this idempotency key made.
    async fn grant_by_key(&self, org: OrgId, key: &str) -> Result<Option<Grant>>;

    /// Grants matching `filter`, newest first.
    async fn grants(&self, org: OrgId, filter: &GrantFilter) -> Result<Vec<Grant>>;

    /// The audit trail of a grant, oldest first.
    async fn grant_audit(&self, org: OrgId, grant_id: i64) -> Result<Vec<AuditEntry>>;

    /// Applies `update` to the grant if it is in one of the states `from`, with an audit
    /// entry, in one transaction. `None` (and nothing written) when it is not.
    async fn update_grant(
        &self,
        org: OrgId,
        grant_id: i64,
        from: &[GrantState],
        update: &GrantUpdate,
        note: &AuditNote,
        now: DateTime<Utc>,
    ) -> Result<Option<Grant>>;

    /// Adds an audit entry (and its change-log record) to a grant without changing it: what
    /// was noticed about it (a membership re-added after it ended, an account cleaned up).
    async fn note_grant(
        &self,
        org: OrgId,
        grant_id: i64,
        note: &AuditNote,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Ties the audit entries that recorded the call with `request_id` to the System Log
    /// event that shows it; the grant they belong to, if any (the change was a grant's).
    async fn link_grant_event(
        &self,
        org: OrgId,
        request_id: &str,
        event_uuid: Option<&str>,
    ) -> Result<Option<i64>>;

    /// Records that an account with `login` is about to be created for a grant, before the
    /// call. Fails if oktasync already created (or is creating) one with that login.
    async fn grant_user_requested(
        &self,
        org: OrgId,
        login: &str,
        created_by: Option<&str>,
        cleanup_after_days: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Moves an account to `state` (with its id once known; `error` records a failed step,
    /// `None` clears it). Deactivation and deletion times are set from `now`.
    async fn update_grant_user(
        &self,
        org: OrgId,
        login: &str,
        user_id: Option<&str>,
        state: GrantUserState,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Forgets an account whose create never reached Okta.
    async fn forget_grant_user(&self, org: OrgId, login: &str) -> Result<()>;

    /// The accounts oktasync created for grants, by login.
    async fn grant_users(&self, org: OrgId) -> Result<Vec<GrantUser>>;

    /// Claims up to `limit` grants that need Okta now, for `holder` until `now + hold`:
    /// pending and adding ones (the add to make or confirm, or, past their expiry, to end),
    /// active ones past their expiry, and failed removals whose retry time has come. Grants another holder claimed
    /// and still holds are left out. Due ones first, oldest expiry first.
    async fn claim_grant_work(
        &self,
        org: OrgId,
        holder: &str,
        now: DateTime<Utc>,
        hold: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Grant>>;
}

const GRANT_COLUMNS: &str = "grant_id, user_id, group_id, user_login, group_name, reason, ticket, \
     requested_by, policy, requested_at, expires_at, state, approved_by, pre_existing, attempts, \
     next_attempt_at, last_error, ended_at, idempotency_key";

#[derive(Deserialize)]
struct GrantRow {
    grant_id: i64,
    user_id: String,
    group_id: String,
    user_login: Option<String>,
    group_name: Option<String>,
    reason: Option<String>,
    ticket: Option<String>,
    requested_by: Option<String>,
    policy: Option<String>,
    requested_at: String,
    expires_at: String,
    state: String,
    approved_by: Option<String>,
    pre_existing: i64,
    attempts: i64,
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    ended_at: Option<String>,
    idempotency_key: Option<String>,
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(r: GrantRow) -> Result<Self> {
        Ok(Grant {
            state: r.state.parse()?,
            grant_id: r.grant_id,
            user_id: r.user_id,
            group_id: r.group_id,
            user_login: r.user_login,
            group_name: r.group_name,
            reason: r.reason,
            ticket: r.ticket,
            requested_by: r.requested_by,
            policy: r.policy,
            requested_at: r.requested_at,
            expires_at: r.expires_at,
            approved_by: r.approved_by,
            pre_existing: r.pre_existing != 0,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            ended_at: r.ended_at,
            idempotency_key: r.idempotency_key,
        })
    }
}

async fn select_grant(conn: &mut dyn Sql, org: OrgId, grant_id: i64) -> Result<Option<Grant>> {
    conn.fetch_optional(
        &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1 AND grant_id = $2"),
        args![org, grant_id],
    )
    .await?
    .map(|row| row.decode::<GrantRow>()?.try_into())
    .transpose()
}

async fn select_grant_by_key(conn: &mut dyn Sql, org: OrgId, key: &str) -> Result<Option<Grant>> {
    conn.fetch_optional(
        &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1 AND idempotency_key = $2"),
        args![org, key],
    )
    .await?
    .map(|row| row.decode::<GrantRow>()?.try_into())
    .transpose()
}

async fn audit(
    conn: &mut dyn Sql,
    org: OrgId,
    grant_id: i64,
    note: &AuditNote,
    now: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO grant_audit (org_id, grant_id, at, action, actor, detail, okta_request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            org,
            grant_id,
            now,
            note.action.as_str(),
            note.actor.as_deref(),
            note.detail.as_deref(),
            note.okta_request_id.as_deref()
        ],
    )
    .await?;
    Ok(())
}

/// Records a change of a grant: its audit entry, and a `grants` row in the change log, so that
/// `changes` and the change feed carry what grants do. `before` is the grant before the
/// change (`None`: just requested); `after` as it is now.
async fn record(
    conn: &mut dyn Sql,
    org: OrgId,
    before: Option<&Grant>,
    after: &Grant,
    note: &AuditNote,
    now: &str,
) -> Result<()> {
    audit(conn, org, after.grant_id, note, now).await?;
    let after_json = serde_json::to_value(after)?;
    let (op, fields, old, mut new) = match before {
        None => ("add", Vec::new(), None, after_json),
        Some(before) => {
            let before_json = serde_json::to_value(before)?;
            let mut fields = Vec::new();
            let mut old = serde_json::Map::new();
            let mut new = serde_json::Map::new();
            if let (Some(was), Some(is)) = (before_json.as_object(), after_json.as_object()) {
                for (key, value) in is {
                    if was.get(key) != Some(value) {
                        fields.push(key.clone());
                        old.insert(key.clone(), was.get(key).cloned().unwrap_or_default());
                        new.insert(key.clone(), value.clone());
                    }
                }
            }
            (
                "update",
                fields,
                Some(Value::Object(old)),
                Value::Object(new),
            )
        }
    };
    // What happened, as the audit says it: a change of state alone does not tell a retry
    // from a first failure, or a removal from a membership left alone.
    if let Some(new) = new.as_object_mut() {
        new.insert("action".into(), note.action.clone().into());
        if let Some(detail) = &note.detail {
            new.insert("detail".into(), detail.clone().into());
        }
    }
    let entry = LogEntry {
        user_id: Some(after.user_id.clone()),
        group_id: Some(after.group_id.clone()),
        changed_fields: fields,
        old,
        new: Some(new),
        actor: note.actor.as_deref(),
        okta_request_id: note.okta_request_id.as_deref(),
        ..LogEntry::own(org, now, "grant", "grants", after.grant_id.to_string(), op)
    };
    log_entry(conn, entry).await
}

fn state_list(states: &[GrantState]) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Grants for Mirror {
    async fn request_grant(
        &self,
        org: OrgId,
        new: &NewGrant,
        now: DateTime<Utc>,
    ) -> Result<(Grant, bool)> {
        let expires_at = new
            .expires_at
            .ok_or_else(|| StoreError::Internal("a grant needs an expiry".to_owned()))?;
        let now_text = timestamp(now);
        let mut tx = self.backend.write(Some(org)).await?;
        if let Some(key) = &new.idempotency_key
            && let Some(grant) = select_grant_by_key(tx.as_mut(), org, key).await?
        {
            tx.commit().await?;
            return Ok((grant, false));
        }
        let state = if new.needs_approval {
            GrantState::PendingApproval
        } else {
            GrantState::Pending
        };
        let row = tx
            .fetch_one(
                "INSERT INTO grants (org_id, user_id, group_id, user_login, group_name, reason, \
                   ticket, requested_by, policy, requested_at, expires_at, state, idempotency_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING grant_id",
                args![
                    org,
                    new.user_id.as_str(),
                    new.group_id.as_str(),
                    new.user_login.as_deref(),
                    new.group_name.as_deref(),
                    new.reason.as_deref(),
                    new.ticket.as_deref(),
                    new.requested_by.as_deref(),
                    new.policy.as_deref(),
                    now_text.as_str(),
                    timestamp(expires_at),
                    state.as_str(),
                    new.idempotency_key.as_deref()
                ],
            )
            .await?;
        let grant_id: i64 = row.get(0)?;
        let note = AuditNote {
            action: "requested".to_owned(),
            actor: new.requested_by.clone(),
            detail: new.reason.clone(),
            okta_request_id: None,
        };
        let grant = select_grant(tx.as_mut(), org, grant_id)
            .await?
            .ok_or_else(|| StoreError::Internal("a grant just recorded is gone".to_owned()))?;
        record(tx.as_mut(), org, None, &grant, &note, &now_text).await?;
        tx.commit().await?;
        Ok((grant, true))
    }

    async fn grant(&self, org: OrgId, grant_id: i64) -> Result<Option<Grant>> {
        let mut conn = self.backend.conn().await?;
        select_grant(conn.as_mut(), org, grant_id).await
    }

    async fn grant_by_key(&self, org: OrgId, key: &str) -> Result<Option<Grant>> {
        let mut conn = self.backend.conn().await?;
        select_grant_by_key(conn.as_mut(), org, key).await
    }

    async fn grants(&self, org: OrgId, filter: &GrantFilter) -> Result<Vec<Grant>> {
        let mut sql = format!("SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1");
        let mut args = vec![Arg::from(org)];
        if filter.open {
            sql.push_str(&format!(
                " AND state IN ({})",
                state_list(&GrantState::OPEN)
            ));
        }
        if let Some(user) = &filter.user_id {
            args.push(user.into());
            sql.push_str(&format!(" AND user_id = ${}", args.len()));
        }
        if let Some(group) = &filter.group_id {
            args.push(group.into());
            sql.push_str(&format!(" AND group_id = ${}", args.len()));
        }
        sql.push_str(" ORDER BY grant_id DESC");
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(&sql, &args)
            .await?
            .into_iter()
            .map(|row| row.decode::<GrantRow>()?.try_into())
            .collect()
    }

    async fn grant_audit(&self, org: OrgId, grant_id: i64) -> Result<Vec<AuditEntry>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            "SELECT seq, grant_id, at, action, actor, detail, okta_request_id, log_event_uuid \
             FROM grant_audit WHERE org_id = $1 AND grant_id = $2 ORDER BY seq",
            args![org, grant_id],
        )
        .await?
        .iter()
        .map(|row| row.decode())
        .collect()
    }

    async fn update_grant(
        &self,
        org: OrgId,
        grant_id: i64,
        from: &[GrantState],
        update: &GrantUpdate,
        note: &AuditNote,
        now: DateTime<Utc>,
    ) -> Result<Option<Grant>> {
        let now_text = timestamp(now);
        let mut sets = if update.keep_claim {
            Vec::new()
        } else {
            vec![
                "claimed_by = NULL".to_owned(),
                "claimed_until = NULL".to_owned(),
                "claimed_host = NULL".to_owned(),
                "claimed_pid = NULL".to_owned(),
            ]
        };
        let mut args = vec![Arg::from(org), Arg::from(grant_id)];
        let mut set = |column: &str, value: Arg, args: &mut Vec<Arg>| {
            args.push(value);
            sets.push(format!("{column} = ${}", args.len()));
        };
        if let Some(state) = update.state {
            set("state", state.as_str().into(), &mut args);
        }
        if let Some(at) = update.expires_at {
            set("expires_at", timestamp(at).into(), &mut args);
        }
        if let Some(by) = &update.approved_by {
            set("approved_by", by.into(), &mut args);
        }
        if let Some(pre) = update.pre_existing {
            set("pre_existing", i64::from(pre).into(), &mut args);
        }
        if let Some(n) = update.attempts {
            set("attempts", n.into(), &mut args);
        }
        if let Some(at) = &update.next_attempt_at {
            set("next_attempt_at", at.map(timestamp).into(), &mut args);
        }
        if let Some(error) = &update.last_error {
            set("last_error", error.as_deref().into(), &mut args);
        }
        if update.ended {
            set("ended_at", now_text.as_str().into(), &mut args);
        }
        let sql = format!(
            "UPDATE grants SET {} WHERE org_id = $1 AND grant_id = $2 AND state IN ({})",
            sets.join(", "),
            state_list(from)
        );
        let mut tx = self.backend.write(Some(org)).await?;
        let before = select_grant(tx.as_mut(), org, grant_id).await?;
        if tx.execute(&sql, &args).await? == 0 {
            tx.commit().await?;
            return Ok(None);
        }
        let after = select_grant(tx.as_mut(), org, grant_id)
            .await?
            .ok_or_else(|| StoreError::Internal("a grant just updated is gone".to_owned()))?;
        record(tx.as_mut(), org, before.as_ref(), &after, note, &now_text).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    async fn note_grant(
        &self,
        org: OrgId,
        grant_id: i64,
        note: &AuditNote,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.backend.write(Some(org)).await?;
        let grant = select_grant(tx.as_mut(), org, grant_id)
            .await?
            .ok_or_else(|| StoreError::Internal(format!("no grant {grant_id} to note")))?;
        record(
            tx.as_mut(),
            org,
            Some(&grant),
            &grant,
            note,
            &timestamp(now),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn link_grant_event(
        &self,
        org: OrgId,
        request_id: &str,
        event_uuid: Option<&str>,
    ) -> Result<Option<i64>> {
        let mut tx = self.backend.write(Some(org)).await?;
        if let Some(uuid) = event_uuid {
            tx.execute(
                "UPDATE grant_audit SET log_event_uuid = $3 \
                 WHERE org_id = $1 AND okta_request_id = $2 AND log_event_uuid IS NULL",
                args![org, request_id, uuid],
            )
            .await?;
        }
        let grant: Option<i64> = crate::sql::scalar(
            tx.as_mut(),
            "SELECT MIN(grant_id) FROM grant_audit WHERE org_id = $1 AND okta_request_id = $2",
            args![org, request_id],
        )
        .await?;
        tx.commit().await?;
        Ok(grant)
    }

    async fn grant_user_requested(
        &self,
        org: OrgId,
        login: &str,
        created_by: Option<&str>,
        cleanup_after_days: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.backend.write(Some(org)).await?;
        let known: Option<String> = tx
            .fetch_optional(
                "SELECT state FROM grant_users WHERE org_id = $1 AND login = $2",
                args![org, login],
            )
            .await?
            .map(|row| row.get(0))
            .transpose()?;
        if let Some(state) = known {
            return Err(StoreError::Conflict(format!(
                "oktasync already created an account {login:?} for a grant (it is {state}); \
                 grant it without --create-user"
            )));
        }
        tx.execute(
            "INSERT INTO grant_users (org_id, login, state, requested_at, created_by, \
               cleanup_after_days) VALUES ($1, $2, 'creating', $3, $4, $5)",
            args![org, login, timestamp(now), created_by, cleanup_after_days],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_grant_user(
        &self,
        org: OrgId,
        login: &str,
        user_id: Option<&str>,
        state: GrantUserState,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = timestamp(now);
        let mut tx = self.backend.write(Some(org)).await?;
        tx.execute(
            "UPDATE grant_users SET state = $3, user_id = COALESCE($4, user_id), \
               last_error = $5, \
               deactivated_at = CASE WHEN $3 = 'deactivated' THEN $6 ELSE deactivated_at END, \
               deleted_at = CASE WHEN $3 = 'deleted' THEN $6 ELSE deleted_at END \
             WHERE org_id = $1 AND login = $2",
            args![org, login, state.as_str(), user_id, error, now.as_str()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn forget_grant_user(&self, org: OrgId, login: &str) -> Result<()> {
        let mut tx = self.backend.write(Some(org)).await?;
        tx.execute(
            "DELETE FROM grant_users WHERE org_id = $1 AND login = $2 AND state = 'creating'",
            args![org, login],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn grant_users(&self, org: OrgId) -> Result<Vec<GrantUser>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            "SELECT login, user_id, state, requested_at, created_by, cleanup_after_days, \
               deactivated_at, deleted_at, last_error \
             FROM grant_users WHERE org_id = $1 ORDER BY login",
            args![org],
        )
        .await?
        .into_iter()
        .map(|row| row.decode())
        .collect()
    }

    async fn claim_grant_work(
        &self,
        org: OrgId,
        holder: &str,
        now: DateTime<Utc>,
        hold: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Grant>> {
        let now_text = timestamp(now);
        let until = timestamp(
            now.checked_add_signed(chrono::Duration::from_std(hold).unwrap_or_default())
                .unwrap_or(now),
        );
        let mut tx = self.backend.write(Some(org)).await?;
        // Claims of enforcers on this machine whose process is gone (killed, crashed) are let
        // go at once: a restarted enforcer's first pass takes their work up.
        let holders = tx
            .fetch_all(
                "SELECT DISTINCT claimed_pid FROM grants \
                 WHERE org_id = $1 AND claimed_until > $2 AND claimed_host = $3",
                args![org, now_text.as_str(), self.host()],
            )
            .await?;
        for row in holders {
            let pid: Option<i64> = row.get(0)?;
            if crate::runlog::process_gone(self.host(), pid, self.host()) {
                tx.execute(
                    "UPDATE grants SET claimed_by = NULL, claimed_until = NULL, \
                       claimed_host = NULL, claimed_pid = NULL \
                     WHERE org_id = $1 AND claimed_host = $2 AND claimed_pid = $3",
                    args![org, self.host(), pid],
                )
                .await?;
            }
        }
        // Due first (a removal late is a guarantee broken; an add late only a wait).
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1 \
                       AND (claimed_until IS NULL OR claimed_until <= $2) \
                       AND (next_attempt_at IS NULL OR next_attempt_at <= $2) \
                       AND (state IN ('pending', 'adding', 'revoke_failed') \
                            OR (state = 'active' AND expires_at <= $2)) \
                     ORDER BY CASE WHEN expires_at <= $2 THEN 0 ELSE 1 END, expires_at, grant_id \
                     LIMIT $3"
                ),
                args![org, now_text.as_str(), i64::from(limit)],
            )
            .await?;
        let grants: Vec<Grant> = rows
            .into_iter()
            .map(|row| row.decode::<GrantRow>()?.try_into())
            .collect::<Result<_>>()?;
        for grant in &grants {
            tx.execute(
                "UPDATE grants SET claimed_by = $3, claimed_until = $4, claimed_host = $5, \
                   claimed_pid = $6 \
                 WHERE org_id = $1 AND grant_id = $2",
                args![
                    org,
                    grant.grant_id,
                    holder,
                    until.as_str(),
                    self.host(),
                    i64::from(std::process::id())
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(grants)
    }
}
