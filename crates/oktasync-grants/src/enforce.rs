//! One enforcement pass: every grant that needs Okta now is claimed, then worked:
//!
//! - `pending` (nothing asked yet): whether the user is already a member is read from Okta
//!   and recorded (`adding`, with `pre_existing`) *before* the add, so that a crash after the
//!   add never makes oktasync's own membership look like someone else's; then the add.
//! - `adding`: the add again (idempotent), then `active`.
//! - due (past `expires_at`): removed, unless the membership was there before the grant, or
//!   another open grant still holds it (overlapping grants: the last one to end removes it).
//!   A removal is done on 204, or on 404 with E0000007 (already gone); anything else leaves
//!   the grant `revoke_failed`, retried with backoff.
//!
//! Every step is one store transaction with its audit entry; Okta's request id goes with it.

use crate::error::GrantError;
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use okta_api::{Error as OktaError, ErrorCategory, OktaClient};
use oktasync_store::{
    AuditNote, Grant, GrantFilter, GrantState, GrantUpdate, Grants, Mirror, MirrorReader, OrgId,
    timestamp,
};
use serde::Serialize;
use std::time::Duration;

/// How long an enforcer's claim on a grant holds: far more than a claimed batch takes at
/// Okta's pace (50 grants, about 12 s at 250 membership writes a minute), so a live enforcer
/// never loses one; the work of an enforcer that died is taken up after it, in time for a
/// grant it held to end within the minute (plus a pass interval).
pub const CLAIM_HOLD: Duration = Duration::from_secs(45);

/// Grants claimed at once; a pass claims again until nothing is left.
pub const CLAIM_BATCH: u32 = 50;

/// Memberships worked at once within a claimed batch (the grants of one membership in order,
/// since whether a removal is due depends on the others). The client's governor still paces
/// the calls to the rate-limit share; this only keeps round trips from adding up.
pub const CONCURRENT_MEMBERSHIPS: usize = 8;

/// The longest wait between attempts at a failing step.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// Memberships added (or found already there) for grants that start.
    pub added: u64,
    /// Grants ended with their membership removed.
    pub revoked: u64,
    /// Grants ended leaving the membership (there before the grant, or held by another).
    pub kept: u64,
    /// Grants Okta refused for good.
    pub failed: u64,
    /// Steps that failed and will be retried.
    pub retrying: u64,
    /// Grants ended because someone else removed their membership early.
    pub ended_externally: u64,
    /// Ended grants whose membership someone else added again (reported once each).
    pub re_added: u64,
    /// Accounts created for grants, deactivated and deleted after their last grant.
    pub users_cleaned_up: u64,
}

/// The wait before attempt `attempts + 1`: 2 s, doubling, at most [`MAX_RETRY_WAIT`].
pub fn retry_wait(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 16)).unwrap_or(16);
    Duration::from_secs(1u64 << exponent).min(MAX_RETRY_WAIT)
}

/// How often `watch` and `serve` run a pass: a grant ends at most this long (plus the pass)
/// after its time, well within the minute promised, as long as the removals due in a minute
/// fit the membership-write rate limit left to oktasync's credential (Workforce: 500 a minute
/// for the org; about 245 at the default 50 % share). Beyond that Okta's limit, not the
/// enforcer, sets the lag (see the `expiry` bench).
pub const ENFORCE_EVERY: Duration = Duration::from_secs(10);

/// A name for this process as an enforcer (`role`: `cli`, `watch`, `serve`), unique enough
/// that its claims are told from another process's.
pub fn holder(role: &str) -> String {
    format!(
        "{role} pid {} since {}",
        std::process::id(),
        timestamp(Utc::now())
    )
}

/// Runs passes for one org as `holder` (a name unique to this process).
pub struct Enforcer<'a> {
    pub client: &'a OktaClient,
    pub store: &'a Mirror,
    pub org: OrgId,
    pub holder: String,
    /// The org's name in metrics.
    pub org_name: String,
}

/// Runs a pass every `every` for the org `client` reaches (once the mirror has it) until
/// `stop` resolves. A failed pass is logged and the next one tries again.
pub async fn enforce_continuously(
    client: &OktaClient,
    store: &Mirror,
    org_name: &str,
    holder: &str,
    every: Duration,
    clock: &dyn okta_api::Clock,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let origin = client.org().origin();
    loop {
        match store.find_org(&origin).await {
            Ok(Some(org)) => {
                let enforcer = Enforcer {
                    client,
                    store,
                    org,
                    holder: holder.to_owned(),
                    org_name: org_name.to_owned(),
                };
                match enforcer.pass(clock.now()).await {
                    Ok(report) if report != PassReport::default() => {
                        tracing::info!(org = org_name, ?report, "Enforced grants.");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(org = org_name, error = %e, "A grant enforcement pass failed; the next one retries.");
                    }
                }
            }
            // Not synced yet: nothing can have been granted.
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(org = org_name, error = %e, "Cannot read the mirror to enforce grants; retrying.");
            }
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

impl PassReport {
    fn absorb(&mut self, other: PassReport) {
        self.added += other.added;
        self.revoked += other.revoked;
        self.kept += other.kept;
        self.failed += other.failed;
        self.retrying += other.retrying;
        self.ended_externally += other.ended_externally;
        self.re_added += other.re_added;
        self.users_cleaned_up += other.users_cleaned_up;
    }
}

/// The time within a pass: the `now` it was given, moved on by the time the pass has taken,
/// so that what a long pass records (an end, a retry time, a claim) is when it happened, and
/// what falls due during the pass is claimed by its next batch.
#[derive(Clone, Copy)]
struct PassClock {
    start: DateTime<Utc>,
    started: std::time::Instant,
}

impl PassClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

impl Enforcer<'_> {
    /// One pass at `now`: reads what others changed (drift), then claims and works every
    /// grant that needs Okta, then cleans up accounts created for grants that are over.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<PassReport, GrantError> {
        let drift = crate::drift::follow(self.store, self.org, &self.org_name, now).await?;
        let mut report = PassReport {
            ended_externally: drift.ended_externally,
            re_added: drift.re_added,
            ..Default::default()
        };
        let clock = PassClock {
            start: now,
            started: std::time::Instant::now(),
        };
        self.claim_and_work(clock, &mut report).await?;
        let now = clock.now();
        report.users_cleaned_up = crate::cleanup::clean_up(self, now).await?;
        self.publish_open(&report).await?;
        Ok(report)
    }

    /// The open grants by state as gauges (`oktasync_grants`), and this pass's failures.
    async fn publish_open(&self, report: &PassReport) -> Result<(), GrantError> {
        let open = self.store.open_grants(self.org).await?;
        for state in GrantState::OPEN {
            let n = open.iter().filter(|g| g.state == state).count();
            metrics::gauge!("oktasync_grants", "org" => self.org_name.clone(), "state" => state.as_str())
                .set(n as f64);
        }
        if report.retrying > 0 {
            metrics::counter!("oktasync_grant_step_failures_total", "org" => self.org_name.clone())
                .increment(report.retrying);
        }
        Ok(())
    }

    async fn claim_and_work(
        &self,
        clock: PassClock,
        report: &mut PassReport,
    ) -> Result<(), GrantError> {
        use futures::StreamExt as _;
        loop {
            let claimed = self
                .store
                .claim_grant_work(self.org, &self.holder, clock.now(), CLAIM_HOLD, CLAIM_BATCH)
                .await?;
            let more = claimed.len() == CLAIM_BATCH as usize;
            let mut by_membership: std::collections::BTreeMap<(String, String), Vec<Grant>> =
                std::collections::BTreeMap::new();
            for grant in claimed {
                by_membership
                    .entry((grant.user_id.clone(), grant.group_id.clone()))
                    .or_default()
                    .push(grant);
            }
            let reports: Vec<PassReport> = futures::stream::iter(by_membership.into_values())
                .map(|grants| async move {
                    let mut report = PassReport::default();
                    for grant in grants {
                        self.work(grant, clock, &mut report).await?;
                    }
                    Ok::<_, GrantError>(report)
                })
                .buffer_unordered(CONCURRENT_MEMBERSHIPS)
                .try_collect()
                .await?;
            for one in reports {
                report.absorb(one);
            }
            if !more {
                return Ok(());
            }
        }
    }

    async fn work(
        &self,
        grant: Grant,
        clock: PassClock,
        report: &mut PassReport,
    ) -> Result<(), GrantError> {
        let due = grant.expires_at <= timestamp(clock.now());
        match (grant.state, due) {
            (GrantState::Pending, false) => self.check_membership(grant, clock, report).await,
            (GrantState::Adding, false) => self.add(grant, clock, report).await,
            // Expired before anything was asked of Okta: nothing to undo.
            (GrantState::Pending, true) => {
                self.end(
                    &grant,
                    GrantState::Revoked,
                    AuditNote {
                        detail: Some("expired before the membership was added".into()),
                        ..AuditNote::new("expired")
                    },
                    clock,
                )
                .await?;
                report.kept += 1;
                Ok(())
            }
            (GrantState::Adding | GrantState::Active | GrantState::RevokeFailed, true) => {
                self.revoke(grant, clock, report).await
            }
            // Claimed by mistake (a state changed meanwhile): leave it.
            _ => Ok(()),
        }
    }

    /// Records whether the user is a member before anything is added.
    async fn check_membership(
        &self,
        grant: Grant,
        clock: PassClock,
        report: &mut PassReport,
    ) -> Result<(), GrantError> {
        let pages: Result<Vec<okta_api::Page<okta_api::Group>>, OktaError> = self
            .client
            .list_user_groups(&grant.user_id)
            .try_collect()
            .await;
        let member = match pages {
            Ok(pages) => pages
                .iter()
                .flat_map(|page| &page.items)
                .any(|g| g.id == grant.group_id),
            Err(e) => return self.add_failed(&grant, e, clock, report).await,
        };
        // Already a member: someone else's membership, unless an open grant of ours made it
        // (then this one overlaps it and inherits whether it was there before).
        let pre_existing = if member {
            let holders = self.holders(&grant, None).await?;
            holders.is_empty() || holders.iter().any(|h| h.pre_existing)
        } else {
            false
        };
        let update = GrantUpdate {
            state: Some(GrantState::Adding),
            pre_existing: Some(pre_existing),
            // The add follows at once: another enforcer must not take the grant meanwhile
            // (it could end it, and this add land after).
            keep_claim: true,
            ..Default::default()
        };
        let detail = if pre_existing {
            "the user is already a member: the membership will not be removed when the grant ends"
        } else if member {
            "the user is a member through another grant: the last grant to end removes it"
        } else {
            "the user is not a member: adding"
        };
        let note = AuditNote {
            detail: Some(detail.into()),
            ..AuditNote::new("checked")
        };
        let Some(grant) = self
            .store
            .update_grant(
                self.org,
                grant.grant_id,
                &[GrantState::Pending],
                &update,
                &note,
                clock.now(),
            )
            .await?
        else {
            return Ok(());
        };
        self.add(grant, clock, report).await
    }

    async fn add(
        &self,
        grant: Grant,
        clock: PassClock,
        report: &mut PassReport,
    ) -> Result<(), GrantError> {
        let receipt = match self
            .client
            .add_group_member(&grant.group_id, &grant.user_id)
            .await
        {
            Ok(receipt) => receipt,
            Err(e) => return self.add_failed(&grant, e, clock, report).await,
        };
        let update = GrantUpdate {
            state: Some(GrantState::Active),
            attempts: Some(0),
            next_attempt_at: Some(None),
            last_error: Some(None),
            ..Default::default()
        };
        let note = AuditNote {
            okta_request_id: receipt.request_id,
            detail: Some(format!("until {}", grant.expires_at)),
            ..AuditNote::new("added")
        };
        self.store
            .update_grant(
                self.org,
                grant.grant_id,
                &[GrantState::Adding],
                &update,
                &note,
                clock.now(),
            )
            .await?;
        report.added += 1;
        Ok(())
    }

    async fn add_failed(
        &self,
        grant: &Grant,
        error: OktaError,
        clock: PassClock,
        report: &mut PassReport,
    ) -> Result<(), GrantError> {
        let request_id = error.details().and_then(|d| d.request_id.clone());
        if permanent(&error) {
            let note = AuditNote {
                detail: Some(error.to_string()),
                okta_request_id: request_id,
                ..AuditNote::new("add_failed")
            };
            let update = GrantUpdate {
                state: Some(GrantState::Failed),
                last_error: Some(Some(error.to_string())),
                ended: true,
                ..Default::default()
            };
            self.store
                .update_grant(
                    self.org,
                    grant.grant_id,
                    &[GrantState::Pending, GrantState::Adding],
                    &update,
                    &note,
                    clock.now(),
                )
                .await?;
            report.failed += 1;
        } else {
            self.retry_later(
                grant,
                &[GrantState::Pending, GrantState::Adding],
                None,
                "add_failed",
                error,
                request_id,
                clock,
            )
            .await?;
            report.retrying += 1;
        }
        Ok(())
    }

    async fn revoke(
        &self,
        grant: Grant,
        clock: PassClock,
        report: &mut PassReport,
    ) -> Result<(), GrantError> {
        if grant.pre_existing {
            let note = AuditNote {
                detail: Some("the user was a member before the grant: membership left".into()),
                ..AuditNote::new("kept")
            };
            self.end(&grant, GrantState::Revoked, note, clock).await?;
            report.kept += 1;
            return Ok(());
        }
        if let Some(other) = self.holders(&grant, Some(clock.now())).await?.first() {
            let note = AuditNote {
                detail: Some(format!(
                    "grant {} still holds the membership, until {}",
                    other.grant_id, other.expires_at
                )),
                ..AuditNote::new("kept")
            };
            self.end(&grant, GrantState::Revoked, note, clock).await?;
            report.kept += 1;
            return Ok(());
        }
        match self
            .client
            .remove_group_member(&grant.group_id, &grant.user_id)
            .await
        {
            Ok(receipt) => {
                let note = AuditNote {
                    okta_request_id: receipt.request_id,
                    ..AuditNote::new("revoked")
                };
                self.end(&grant, GrantState::Revoked, note, clock).await?;
                report.revoked += 1;
            }
            // Already gone (the user or group deleted): the membership is not there.
            Err(OktaError::NotFound(details))
                if details.error_code.as_deref() == Some("E0000007") =>
            {
                let note = AuditNote {
                    okta_request_id: details.request_id.clone(),
                    detail: Some("already gone: 404 E0000007".into()),
                    ..AuditNote::new("revoked")
                };
                self.end(&grant, GrantState::Revoked, note, clock).await?;
                report.revoked += 1;
            }
            Err(e) => {
                let request_id = e.details().and_then(|d| d.request_id.clone());
                self.retry_later(
                    &grant,
                    &[
                        GrantState::Adding,
                        GrantState::Active,
                        GrantState::RevokeFailed,
                    ],
                    Some(GrantState::RevokeFailed),
                    "revoke_failed",
                    e,
                    request_id,
                    clock,
                )
                .await?;
                report.retrying += 1;
            }
        }
        Ok(())
    }

    /// The other open grants of the same membership that hold it: added (or adding), and
    /// with `at`, not yet due then.
    async fn holders(
        &self,
        grant: &Grant,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Grant>, GrantError> {
        let filter = GrantFilter {
            open: true,
            user_id: Some(grant.user_id.clone()),
            group_id: Some(grant.group_id.clone()),
        };
        let at = at.map(timestamp);
        Ok(self
            .store
            .grants(self.org, &filter)
            .await?
            .into_iter()
            .filter(|g| g.grant_id != grant.grant_id)
            .filter(|g| matches!(g.state, GrantState::Adding | GrantState::Active))
            .filter(|g| {
                at.as_ref()
                    .is_none_or(|at| g.expires_at.as_str() > at.as_str())
            })
            .collect())
    }

    async fn end(
        &self,
        grant: &Grant,
        state: GrantState,
        note: AuditNote,
        clock: PassClock,
    ) -> Result<(), GrantError> {
        let now = clock.now();
        // How late the grant ended: the promise is within a minute of its time.
        if let Ok(due) = DateTime::parse_from_rfc3339(&grant.expires_at) {
            let late = (now - due.with_timezone(&Utc)).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::histogram!("oktasync_grant_revocation_lag_seconds", "org" => self.org_name.clone())
                .record(late);
        }
        let update = GrantUpdate {
            state: Some(state),
            next_attempt_at: Some(None),
            ended: true,
            ..Default::default()
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

    #[allow(clippy::too_many_arguments)]
    async fn retry_later(
        &self,
        grant: &Grant,
        from: &[GrantState],
        state: Option<GrantState>,
        action: &str,
        error: OktaError,
        request_id: Option<String>,
        clock: PassClock,
    ) -> Result<(), GrantError> {
        let attempts = grant.attempts + 1;
        let wait = chrono::Duration::from_std(retry_wait(attempts)).unwrap_or_default();
        let now = clock.now();
        let next = now + wait;
        let update = GrantUpdate {
            state,
            attempts: Some(attempts),
            next_attempt_at: Some(Some(next)),
            last_error: Some(Some(error.to_string())),
            ..Default::default()
        };
        let note = AuditNote {
            detail: Some(format!(
                "attempt {attempts} failed ({error}); next at {}",
                timestamp(next)
            )),
            okta_request_id: request_id,
            ..AuditNote::new(action)
        };
        self.store
            .update_grant(self.org, grant.grant_id, from, &update, &note, now)
            .await?;
        Ok(())
    }
}

/// Whether retrying cannot help: the user or group is gone, or Okta will not let this
/// principal change the group.
fn permanent(error: &OktaError) -> bool {
    matches!(error, OktaError::NotFound(_))
        || matches!(
            error.category(),
            ErrorCategory::Permission | ErrorCategory::Config
        )
}
