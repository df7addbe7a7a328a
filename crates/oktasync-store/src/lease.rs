//! Leases: which process may sync an org now, across processes and machines sharing a mirror.
//!
//! A lease is the row `(org_id, 'sync')` of `leases`, with its holder (a random owner token,
//! the host and the pid) and an expiry. Acquiring it runs in a write transaction of the org
//! (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the org's advisory lock), so two processes asking at
//! once take turns: the first gets it, the second is told who holds it. The holder renews it
//! well before it expires ([`LEASE_RENEW_EVERY`]); a holder that dies stops renewing, so after
//! at most [`LEASE_TTL`] the next process takes it over, and the runs the dead holder left
//! `running` are marked `interrupted`. This replaces asking `/proc` whether a pid lives, which
//! means nothing on another machine; on the holder's own machine, a holder whose process is
//! gone is taken over at once.
//!
//! Time comes from the caller (`now`), so expiry is testable; a lease renewing itself in the
//! background asks the clock it was given.

use crate::error::{Result, StoreError};
use crate::mirror::Mirror;
use crate::runlog;
use crate::sql::args;
use crate::types::{OrgId, timestamp};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a lease holds without renewal: a holder that died lets go within this. Long enough
/// that a holder stalled by a slow disk or a long apply step (tens of seconds on a large org)
/// does not lose it while alive, given renewals every [`LEASE_RENEW_EVERY`]; short enough that
/// another instance polling every few seconds takes a dead holder's work over within a minute.
pub const LEASE_TTL: Duration = Duration::from_secs(45);

/// How often a held lease is renewed: three renewals fit in [`LEASE_TTL`], so two can fail
/// (a database restart) before the lease expires.
pub const LEASE_RENEW_EVERY: Duration = Duration::from_secs(15);

const SYNC: &str = "sync";

/// The sync lease of one org, held by this process until released (or, if dropped, until it
/// expires).
pub struct Lease {
    mirror: Mirror,
    org: OrgId,
    /// What the lease is for: `sync`, or another piece of work of the org (`feed:...`).
    purpose: String,
    owner: String,
    since: String,
    lost: Arc<AtomicBool>,
    renewing: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("org", &self.org)
            .field("since", &self.since)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

fn expiry(now: DateTime<Utc>) -> String {
    let ttl = chrono::Duration::from_std(LEASE_TTL).unwrap_or(chrono::Duration::MAX);
    timestamp(now.checked_add_signed(ttl).unwrap_or(now))
}

impl Mirror {
    /// Takes the sync lease of `org`, or says who holds it ([`StoreError::LeaseHeld`]). A
    /// lease whose holder stopped renewing it is taken over, and the runs its holder left
    /// `running` are marked `interrupted`. Runs this process starts for the org while it
    /// holds the lease record it.
    pub async fn acquire_sync_lease(&self, org: OrgId, now: DateTime<Utc>) -> Result<Lease> {
        self.acquire_lease(org, SYNC, now).await
    }

    /// Takes the lease on one piece of work of `org` (`purpose`, e.g. delivering its changes
    /// to one webhook), as [`Mirror::acquire_sync_lease`] does for syncing it.
    pub async fn acquire_lease(
        &self,
        org: OrgId,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Lease> {
        let owner = format!("{:032x}", rand::random::<u128>());
        let now_text = timestamp(now);
        let mut tx = self.backend.write(Some(org)).await?;
        let held = tx
            .fetch_optional(
                "SELECT l.host, l.pid, l.acquired_at, o.url FROM leases l
                 JOIN orgs o ON o.org_id = l.org_id
                 WHERE l.org_id = $1 AND l.purpose = $2 AND l.expires_at > $3",
                args![org, purpose, now_text.as_str()],
            )
            .await?;
        if let Some(held) = held {
            let (host, pid): (String, i64) = (held.get(0)?, held.get(1)?);
            // A holder on this machine whose process is gone (killed, crashed) is not waited
            // for until its lease expires: this machine can see that it is dead.
            if !runlog::process_gone(&host, Some(pid), self.host()) {
                return Err(StoreError::LeaseHeld {
                    host,
                    pid,
                    since: held.get(2)?,
                    org: held.get(3)?,
                    expiry_s: LEASE_TTL.as_secs(),
                });
            }
        }
        tx.execute(
            "INSERT INTO leases (org_id, purpose, owner, host, pid, acquired_at, renewed_at,
                expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
             ON CONFLICT (org_id, purpose) DO UPDATE SET owner = excluded.owner,
                host = excluded.host, pid = excluded.pid, acquired_at = excluded.acquired_at,
                renewed_at = excluded.renewed_at, expires_at = excluded.expires_at",
            args![
                org,
                purpose,
                owner.as_str(),
                self.host(),
                i64::from(std::process::id()),
                now_text.as_str(),
                expiry(now)
            ],
        )
        .await?;
        if purpose == SYNC {
            // The previous holder's runs hold a lease that is no longer theirs.
            runlog::mark_interrupted_runs(tx.as_mut(), org, self.host(), now).await?;
        }
        tx.commit().await?;
        if purpose == SYNC {
            self.held_leases.lock().insert(org, owner.clone());
        }
        Ok(Lease {
            mirror: self.clone(),
            org,
            purpose: purpose.to_owned(),
            owner,
            since: now_text,
            lost: Arc::default(),
            renewing: None,
        })
    }
}

impl Lease {
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// When it was acquired.
    pub fn since(&self) -> &str {
        &self.since
    }

    /// Whether a renewal found the lease gone (expired and taken over by another process).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Moves the expiry to `now` + [`LEASE_TTL`]. [`StoreError::LeaseLost`] when another
    /// process has taken the lease over (this one had expired).
    pub async fn renew(&self, now: DateTime<Utc>) -> Result<()> {
        renew(
            &self.mirror,
            self.org,
            &self.purpose,
            &self.owner,
            &self.lost,
            now,
        )
        .await
    }

    /// Renews the lease every [`LEASE_RENEW_EVERY`] until it is released or dropped, asking
    /// `clock` for the time. A renewal that fails is retried at the next tick; one that finds
    /// the lease taken over stops, and [`Lease::is_lost`] says so.
    pub fn renew_in_background(&mut self, clock: impl Fn() -> DateTime<Utc> + Send + 'static) {
        let (mirror, org, purpose, owner, lost) = (
            self.mirror.clone(),
            self.org,
            self.purpose.clone(),
            self.owner.clone(),
            self.lost.clone(),
        );
        if let Some(task) = self.renewing.take() {
            task.abort();
        }
        self.renewing = Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(LEASE_RENEW_EVERY);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match renew(&mirror, org, &purpose, &owner, &lost, clock()).await {
                    Ok(()) => {}
                    Err(StoreError::LeaseLost { .. }) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "Could not renew the sync lease; retrying.");
                    }
                }
            }
        }));
    }

    /// Lets go of the lease: the next process asking gets it at once.
    pub async fn release(mut self) -> Result<()> {
        if let Some(task) = self.renewing.take() {
            task.abort();
        }
        if self.purpose == SYNC {
            self.mirror.held_leases.lock().remove(&self.org);
        }
        let mut conn = self.mirror.backend.conn().await?;
        conn.execute(
            "DELETE FROM leases WHERE org_id = $1 AND purpose = $2 AND owner = $3",
            args![self.org, self.purpose.as_str(), self.owner.as_str()],
        )
        .await?;
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Not released: stop renewing, and let it expire.
        if let Some(task) = self.renewing.take() {
            task.abort();
        }
        let mut held = self.mirror.held_leases.lock();
        if held.get(&self.org) == Some(&self.owner) {
            held.remove(&self.org);
        }
    }
}

async fn renew(
    mirror: &Mirror,
    org: OrgId,
    purpose: &str,
    owner: &str,
    lost: &AtomicBool,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut conn = mirror.backend.conn().await?;
    let renewed = conn
        .execute(
            "UPDATE leases SET renewed_at = $1, expires_at = $2
             WHERE org_id = $3 AND purpose = $4 AND owner = $5",
            args![timestamp(now), expiry(now), org, purpose, owner],
        )
        .await?;
    if renewed == 0 {
        lost.store(true, Ordering::Relaxed);
        let url = conn
            .fetch_optional("SELECT url FROM orgs WHERE org_id = $1", args![org])
            .await?
            .map(|r| r.get::<String>(0))
            .transpose()?
            .unwrap_or_else(|| format!("org #{}", org.0));
        return Err(StoreError::LeaseLost { org: url });
    }
    Ok(())
}
