//! What a person (or a program) does with grants: ask for one, approve or deny it, extend it,
//! end it early, end them all. Each is checked, recorded with its audit entry, and followed
//! by an enforcement pass, so Okta reflects it at once. The CLI and the REST API both call
//! these.

use crate::check::{GrantRequest, NewAccount, Principal, check_request};
use crate::enforce::{Enforcer, PassReport};
use crate::error::GrantError;
use crate::policy::Policies;
use chrono::{DateTime, Utc};
use okta_api::OktaClient;
use oktasync_store::{
    AuditNote, Grant, GrantFilter, GrantState, GrantUpdate, GrantUserState, Grants, Mirror,
    NewGrant, OrgId, timestamp,
};

/// The grants of one org, as one actor sees them.
pub struct Grantor<'a> {
    pub client: &'a OktaClient,
    pub store: &'a Mirror,
    pub org: OrgId,
    /// The org's name (metrics).
    pub org_name: String,
    pub policies: &'a Policies,
    pub principal: Principal,
    /// This process as an enforcer (names its claims).
    pub holder: String,
}

/// The states from which a grant can still be extended.
const EXTENDABLE: [GrantState; 4] = [
    GrantState::PendingApproval,
    GrantState::Pending,
    GrantState::Adding,
    GrantState::Active,
];

impl Grantor<'_> {
    /// An enforcer of the same org, as the same process.
    pub fn enforcer(&self) -> Enforcer<'_> {
        Enforcer {
            client: self.client,
            store: self.store,
            org: self.org,
            holder: self.holder.clone(),
            org_name: self.org_name.clone(),
        }
    }

    async fn get(&self, id: i64) -> Result<Grant, GrantError> {
        self.store
            .grant(self.org, id)
            .await?
            .ok_or(GrantError::NoSuchGrant(id))
    }

    /// Applies `update` to a grant in one of `from`, or says why it cannot.
    async fn change(
        &self,
        id: i64,
        from: &[GrantState],
        update: &GrantUpdate,
        note: &AuditNote,
        what: &'static str,
        now: DateTime<Utc>,
    ) -> Result<Grant, GrantError> {
        let grant = self.get(id).await?;
        if !from.contains(&grant.state) {
            return Err(GrantError::WrongState {
                id,
                state: grant.state,
                what,
            });
        }
        self.store
            .update_grant(self.org, id, from, update, note, now)
            .await?
            .ok_or(GrantError::Changed(id))
    }

    /// Checks and records a request, then adds the membership (unless approval is needed).
    /// With an idempotency key already used, the grant that key made, untouched.
    pub async fn request(
        &self,
        request: &GrantRequest,
        now: DateTime<Utc>,
    ) -> Result<(Grant, bool, PassReport), GrantError> {
        if let Some(key) = &request.idempotency_key
            && let Some(earlier) = self.store.grant_by_key(self.org, key).await?
        {
            return Ok((earlier, false, PassReport::default()));
        }
        let mut new = check_request(
            self.store,
            self.org,
            self.policies,
            self.principal,
            request,
            now,
        )
        .await?;
        if let Some(account) = &request.create_user {
            new.user_id = self.create_account(request, account, &new, now).await?;
        }
        let (grant, created) = self.store.request_grant(self.org, &new, now).await?;
        if !created {
            return Ok((grant, false, PassReport::default()));
        }
        let report = self.enforcer().pass(now).await?;
        Ok((self.get(grant.grant_id).await?, true, report))
    }

    /// Creates the account a grant is for, recorded as oktasync's before the call (so that a
    /// crash leaves a record to resolve, never an account nobody knows oktasync made); its id.
    async fn create_account(
        &self,
        request: &GrantRequest,
        account: &NewAccount,
        new: &NewGrant,
        now: DateTime<Utc>,
    ) -> Result<String, GrantError> {
        let cleanup = self
            .policies
            .for_group(&new.group_id, new.group_name.as_deref())
            .and_then(|p| p.cleanup_after_days)
            .map(i64::from);
        let login = request.user.as_str();
        self.store
            .grant_user_requested(
                self.org,
                login,
                request.requested_by.as_deref(),
                cleanup,
                now,
            )
            .await?;
        let profile = serde_json::json!({
            "login": login,
            "email": account.email,
            "firstName": account.first_name,
            "lastName": account.last_name,
        });
        match self.client.create_user(&profile, true).await {
            Ok((user, _)) => {
                self.store
                    .update_grant_user(
                        self.org,
                        login,
                        Some(&user.id),
                        GrantUserState::Created,
                        None,
                        now,
                    )
                    .await?;
                Ok(user.id)
            }
            Err(e) => {
                // Okta refused it: nothing was created.
                use okta_api::Error as E;
                if matches!(
                    e,
                    E::Api(_)
                        | E::NotFound(_)
                        | E::Forbidden(_)
                        | E::MissingScope { .. }
                        | E::InvalidToken(_)
                ) {
                    self.store.forget_grant_user(self.org, login).await?;
                }
                Err(e.into())
            }
        }
    }

    /// Approves a grant waiting for approval, then adds it. The approver must not be the
    /// requester.
    pub async fn approve(
        &self,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(Grant, PassReport), GrantError> {
        let grant = self.get(id).await?;
        if grant.requested_by.as_deref() == Some(by) {
            return Err(GrantError::SelfApproval {
                id,
                who: by.to_owned(),
            });
        }
        let update = GrantUpdate {
            state: Some(GrantState::Pending),
            approved_by: Some(by.to_owned()),
            ..Default::default()
        };
        let note = AuditNote {
            actor: Some(by.to_owned()),
            ..AuditNote::new("approved")
        };
        self.change(
            id,
            &[GrantState::PendingApproval],
            &update,
            &note,
            "approved",
            now,
        )
        .await?;
        let report = self.enforcer().pass(now).await?;
        Ok((self.get(id).await?, report))
    }

    /// Refuses a grant waiting for approval.
    pub async fn deny(
        &self,
        id: i64,
        by: Option<String>,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Grant, GrantError> {
        let update = GrantUpdate {
            state: Some(GrantState::Denied),
            ended: true,
            ..Default::default()
        };
        let note = AuditNote {
            actor: by,
            detail: reason,
            ..AuditNote::new("denied")
        };
        self.change(
            id,
            &[GrantState::PendingApproval],
            &update,
            &note,
            "denied",
            now,
        )
        .await
    }

    /// Moves a grant's end by `by` (from its end, or from now if that is past), within the
    /// max_duration from now of the policy that covers its group today.
    pub async fn extend(
        &self,
        id: i64,
        by: std::time::Duration,
        actor: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Grant, GrantError> {
        let grant = self.get(id).await?;
        let end = DateTime::parse_from_rfc3339(&grant.expires_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now)
            .max(now);
        let policy = self
            .policies
            .for_group(&grant.group_id, grant.group_name.as_deref())
            .ok_or_else(|| crate::Refusal::NoPolicy {
                name: grant.group_name.clone().unwrap_or_default(),
                id: grant.group_id.clone(),
            })?;
        let until = chrono::Duration::from_std(by)
            .ok()
            .and_then(|by| end.checked_add_signed(by))
            .filter(|until| (*until - now).to_std().unwrap_or_default() <= policy.max_duration)
            .ok_or_else(|| crate::Refusal::TooLong {
                asked: format!("ending {} from now", humantime::format_duration(by)),
                max: humantime::format_duration(policy.max_duration).to_string(),
                policy: policy.label(),
            })?;
        let update = GrantUpdate {
            expires_at: Some(until),
            ..Default::default()
        };
        let note = AuditNote {
            actor,
            detail: Some(format!("from {} to {}", grant.expires_at, timestamp(until))),
            ..AuditNote::new("extended")
        };
        self.change(
            id,
            &EXTENDABLE,
            &update,
            &note,
            "extended (it has ended, or its removal has begun)",
            now,
        )
        .await
    }

    /// Ends a grant now (its membership goes unless it was there before or another grant
    /// holds it).
    pub async fn revoke(
        &self,
        id: i64,
        actor: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(Grant, PassReport), GrantError> {
        let grant = self.get(id).await?;
        if !grant.state.is_open() {
            return Err(GrantError::WrongState {
                id,
                state: grant.state,
                what: "revoked (it has ended)",
            });
        }
        self.end_early(&grant, actor, "ended early", now).await?;
        let report = self.enforcer().pass(now).await?;
        Ok((self.get(id).await?, report))
    }

    /// Ends every open grant (of the group with this id) now: the panic button.
    pub async fn revoke_all(
        &self,
        group_id: Option<String>,
        actor: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Grant>, PassReport), GrantError> {
        let filter = GrantFilter {
            open: true,
            group_id,
            ..Default::default()
        };
        let open = self.store.grants(self.org, &filter).await?;
        for grant in &open {
            self.end_early(grant, actor.clone(), "ended early with all the others", now)
                .await?;
        }
        let report = self.enforcer().pass(now).await?;
        let mut ended = Vec::with_capacity(open.len());
        for grant in &open {
            ended.push(self.get(grant.grant_id).await?);
        }
        Ok((ended, report))
    }

    /// A grant still waiting for approval simply ends; any other becomes due now, and the
    /// next pass ends it as it ends any expired grant.
    async fn end_early(
        &self,
        grant: &Grant,
        actor: Option<String>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), GrantError> {
        let (update, note) = if grant.state == GrantState::PendingApproval {
            (
                GrantUpdate {
                    state: Some(GrantState::Revoked),
                    ended: true,
                    ..Default::default()
                },
                AuditNote {
                    actor,
                    detail: Some(format!("{why}, before approval")),
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
                    actor,
                    detail: Some(why.to_owned()),
                    ..AuditNote::new("revoke_requested")
                },
            )
        };
        self.store
            .update_grant(
                self.org,
                grant.grant_id,
                &GrantState::OPEN,
                &update,
                &note,
                now,
            )
            .await?;
        Ok(())
    }
}
