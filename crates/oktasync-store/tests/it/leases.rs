//! Sync leases, on both backends: one process at a time holds an org's, another is told who
//! holds it, a holder that stops renewing loses it after the TTL and its run is marked
//! interrupted, and a released lease is free at once.

use crate::backend::{Backend, TestMirror, on_both_backends};
use chrono::{DateTime, Duration, TimeZone, Utc};
use oktasync_store::{
    LEASE_TTL, MirrorReader, MirrorWriter, RunKind, RunLog, RunOutcome, RunStart, StoreError,
};

on_both_backends!(
    one_process_at_a_time_holds_an_orgs_sync,
    a_holder_that_stops_renewing_loses_the_lease_and_its_run,
);

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

async fn one_process_at_a_time_holds_an_orgs_sync(backend: Backend) {
    let test = "one_process_at_a_time_holds_an_orgs_sync";
    let Some((m, acme)) = TestMirror::with_org(backend, test, t(0)).await else {
        return;
    };
    let globex = m
        .store
        .ensure_org("https://globex.okta.com", t(0))
        .await
        .unwrap();
    let first = m.store.acquire_sync_lease(acme, t(1)).await.unwrap();
    let second_process = m.open_again().await;
    let refused = second_process
        .acquire_sync_lease(acme, t(2))
        .await
        .unwrap_err();
    let StoreError::LeaseHeld {
        org,
        host,
        pid,
        since,
        ..
    } = &refused
    else {
        panic!("the lease is held: {refused:?}")
    };
    assert_eq!(org, "https://acme.okta.com");
    assert_eq!(*pid, i64::from(std::process::id()));
    assert!(!host.is_empty());
    assert_eq!(since, "2026-05-01T09:00:01.000Z");
    assert!(
        refused
            .to_string()
            .starts_with(&format!("https://acme.okta.com is being synced by {host} pid {pid} since 2026-05-01T09:00:01.000Z")),
        "{refused}"
    );
    // Another org's sync is not held by it.
    let other = second_process
        .acquire_sync_lease(globex, t(3))
        .await
        .unwrap();

    // Renewed, the lease outlives its first expiry.
    first.renew(t(50)).await.unwrap();
    let ttl = LEASE_TTL.as_secs() as i64;
    assert!(matches!(
        second_process
            .acquire_sync_lease(acme, t(1 + ttl + 5))
            .await,
        Err(StoreError::LeaseHeld { .. })
    ));
    // Released, it is free at once.
    first.release().await.unwrap();
    let taken = second_process
        .acquire_sync_lease(acme, t(52))
        .await
        .unwrap();
    assert!(!taken.is_lost());
    taken.release().await.unwrap();
    other.release().await.unwrap();
}

async fn a_holder_that_stops_renewing_loses_the_lease_and_its_run(backend: Backend) {
    let test = "a_holder_that_stops_renewing_loses_the_lease";
    let Some((m, org)) = TestMirror::with_org(backend, test, t(0)).await else {
        return;
    };
    let holder = m.store.acquire_sync_lease(org, t(0)).await.unwrap();
    let run = m
        .store
        .begin_run(
            org,
            RunStart {
                started_at: t(1),
                kind: RunKind::Incremental,
                resources: vec![],
            },
        )
        .await
        .unwrap();
    // The holder hangs (or dies): no renewal. Until the TTL has passed, the lease holds and
    // the run stays running, even though its process (this one) is alive either way.
    let ttl = LEASE_TTL.as_secs() as i64;
    let second_process = m.open_again().await;
    assert!(matches!(
        second_process.acquire_sync_lease(org, t(ttl - 1)).await,
        Err(StoreError::LeaseHeld { .. })
    ));
    let runs = m.store.recent_runs(org, 1).await.unwrap();
    assert_eq!(
        (runs[0].run_id, runs[0].outcome),
        (run.0, RunOutcome::Running)
    );

    // After it, the next process takes the lease over, and the run is interrupted.
    let taker = second_process
        .acquire_sync_lease(org, t(ttl + 1))
        .await
        .unwrap();
    let runs = m.store.recent_runs(org, 1).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Interrupted);
    assert!(
        runs[0].error.as_deref().unwrap_or("").contains("lease"),
        "{:?}",
        runs[0].error
    );
    // The old holder learns it lost the lease when it next renews.
    let lost = holder.renew(t(ttl + 2)).await.unwrap_err();
    assert!(matches!(lost, StoreError::LeaseLost { .. }), "{lost:?}");
    assert!(holder.is_lost());
    // Its release does not free the taker's lease.
    holder.release().await.unwrap();
    assert!(matches!(
        m.store.acquire_sync_lease(org, t(ttl + 3)).await,
        Err(StoreError::LeaseHeld { .. })
    ));
    taker.release().await.unwrap();
}
