//! Drift: what others did to the memberships grants manage, read from the change log the sync
//! keeps (each membership change with its System Log event, actor and request id). Reported,
//! not fought:
//!
//! - a membership a grant holds, removed by someone else before the grant ended: the grant
//!   ends `ended_externally` (oktasync does not add it back);
//! - a membership a grant removed, added again by someone else afterwards: noted once on the
//!   grant (`re_added`), and left.
//!
//! Along the way each of oktasync's own calls is tied to the System Log event that shows it
//! (the audit entry's `log_event_uuid`): a change whose request id a grant's audit holds is
//! the grant's own, and never drift.

use crate::error::GrantError;
use chrono::{DateTime, Utc};
use oktasync_store::{
    AuditNote, ChangeQuery, ChangeRecord, FeedLog, GrantFilter, GrantState, GrantUpdate, Grants,
    Mirror, MirrorReader, OrgId, timestamp,
};
use serde::Serialize;

/// The change log position drift has read up to is kept as this feed sink's.
pub const DRIFT_SINK: &str = "grants";

/// Changes read at once.
const DRIFT_BATCH: u32 = 1_000;

/// What one look at the change log found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// Grants ended because someone else removed their membership early.
    pub ended_externally: u64,
    /// Ended grants whose membership someone added again (each reported once).
    pub re_added: u64,
    /// oktasync's own calls tied to their System Log events.
    pub linked: u64,
}

impl DriftReport {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Reads the membership changes the sync recorded since the last look, and reports drift.
pub async fn follow(
    store: &Mirror,
    org: OrgId,
    org_name: &str,
    now: DateTime<Utc>,
) -> Result<DriftReport, GrantError> {
    let mut report = DriftReport::default();
    let mut position = store.feed_position(DRIFT_SINK, org).await?;
    loop {
        let query = ChangeQuery {
            after: Some(position),
            limit: Some(DRIFT_BATCH),
            entity: Some("group_members".to_owned()),
            ..Default::default()
        };
        let changes = store.changes(org, &query).await?;
        for change in &changes {
            look_at(store, org, org_name, change, now, &mut report).await?;
            position = change.change_id;
        }
        if let Some(last) = changes.last() {
            store
                .feed_delivered(DRIFT_SINK, org, last.change_id, &timestamp(now))
                .await?;
        }
        if changes.len() < DRIFT_BATCH as usize {
            return Ok(report);
        }
    }
}

async fn look_at(
    store: &Mirror,
    org: OrgId,
    org_name: &str,
    change: &ChangeRecord,
    now: DateTime<Utc>,
    report: &mut DriftReport,
) -> Result<(), GrantError> {
    if let Some(request) = &change.okta_request_id
        && store
            .link_grant_event(org, request, change.event_uuid.as_deref())
            .await?
            .is_some()
    {
        report.linked += 1;
        return Ok(());
    }
    let (Some(user), Some(group)) = (&change.user_id, &change.group_id) else {
        return Ok(());
    };
    let filter = GrantFilter {
        user_id: Some(user.clone()),
        group_id: Some(group.clone()),
        ..Default::default()
    };
    let grants = store.grants(org, &filter).await?;
    let by = change.actor.as_deref().unwrap_or("someone else");
    let seen = match &change.event_uuid {
        Some(uuid) => format!("System Log event {uuid}"),
        None => format!("found by a {} sync", change.source),
    };
    match change.op.as_str() {
        "remove" => {
            // Early: before the grant's end (a removal after it is the grant's own, or
            // oktasync's retry racing the sync), and after the grant was asked for.
            for grant in grants.iter().filter(|g| {
                g.state == GrantState::Active
                    && g.requested_at <= change.at
                    && change.at < g.expires_at
            }) {
                let update = GrantUpdate {
                    state: Some(GrantState::EndedExternally),
                    next_attempt_at: Some(None),
                    ended: true,
                    ..Default::default()
                };
                let note = AuditNote {
                    actor: change.actor.clone(),
                    detail: Some(format!(
                        "the membership was removed by {by} at {} ({seen}) before the grant \
                         ended; oktasync does not add it back",
                        change.at
                    )),
                    ..AuditNote::new("ended_externally")
                };
                if store
                    .update_grant(
                        org,
                        grant.grant_id,
                        &[GrantState::Active],
                        &update,
                        &note,
                        now,
                    )
                    .await?
                    .is_some()
                {
                    tracing::warn!(org = org_name, grant = grant.grant_id, user = %user, group = %group, "A granted membership was removed by someone else; the grant ends.");
                    metrics::counter!("oktasync_grant_drift_total", "org" => org_name.to_owned(), "kind" => "ended_externally").increment(1);
                    report.ended_externally += 1;
                }
            }
        }
        "add" => {
            // Someone's add after a grant removed the membership, with no grant of ours
            // holding it now.
            if grants.iter().any(|g| g.state.is_open()) {
                return Ok(());
            }
            let Some(last) = grants.first() else {
                return Ok(());
            };
            let ended_before = last
                .ended_at
                .as_deref()
                .is_some_and(|e| e <= change.at.as_str());
            if last.state != GrantState::Revoked || !ended_before {
                return Ok(());
            }
            let audit = store.grant_audit(org, last.grant_id).await?;
            // Added by the grant, then removed by it (not a grant ended before approval, nor
            // one that left a membership someone else held).
            let removed = audit.iter().any(|e| e.action == "added")
                && audit.iter().any(|e| e.action == "revoked");
            let reported = audit.iter().any(|e| e.action == "re_added");
            if !removed || reported {
                return Ok(());
            }
            let note = AuditNote {
                actor: change.actor.clone(),
                detail: Some(format!(
                    "the membership this grant removed was added again by {by} at {} ({seen}); \
                     oktasync leaves it",
                    change.at
                )),
                ..AuditNote::new("re_added")
            };
            store.note_grant(org, last.grant_id, &note, now).await?;
            tracing::warn!(org = org_name, grant = last.grant_id, user = %user, group = %group, "A membership a grant removed was added again by someone else.");
            metrics::counter!("oktasync_grant_drift_total", "org" => org_name.to_owned(), "kind" => "re_added").increment(1);
            report.re_added += 1;
        }
        _ => {}
    }
    Ok(())
}
