//! Grants, on both backends: a request is recorded with its audit entry before anything
//! else; an idempotency key returns the grant it made; changes apply only from the states
//! named; enforcers claim work (due removals first) so that two never hold one grant, and a
//! claim that runs out is claimed again.

use crate::backend::{Backend, TestMirror, on_both_backends};
use chrono::{DateTime, Duration, TimeZone, Utc};
use oktasync_store::{
    AuditNote, GrantFilter, GrantState, GrantUpdate, Grants, MirrorWriter, NewGrant,
};

on_both_backends!(
    a_grant_is_recorded_audited_and_changed_only_from_the_states_named,
    enforcers_claim_due_work_once_and_again_after_a_claim_runs_out,
);

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn request(user: &str, group: &str, expires: DateTime<Utc>) -> NewGrant {
    NewGrant {
        user_id: user.into(),
        group_id: group.into(),
        user_login: Some(format!("{user}@example.com")),
        group_name: Some(format!("JIT {group}")),
        reason: Some("incident 42".into()),
        ticket: Some("INC-42".into()),
        requested_by: Some("ada".into()),
        policy: Some("JIT-*".into()),
        expires_at: Some(expires),
        ..Default::default()
    }
}

async fn a_grant_is_recorded_audited_and_changed_only_from_the_states_named(backend: Backend) {
    let test = "a_grant_is_recorded_audited_and_changed_only_from_the_states_named";
    let Some((m, org)) = TestMirror::with_org(backend, test, t(0)).await else {
        return;
    };
    let store = &m.store;
    let keyed = NewGrant {
        idempotency_key: Some("req-1".into()),
        ..request("00u1", "00g1", t(7200))
    };
    let (grant, created) = store.request_grant(org, &keyed, t(1)).await.unwrap();
    assert!(created);
    assert_eq!(grant.state, GrantState::Pending);
    assert_eq!(grant.expires_at, "2026-05-01T11:00:00.000Z");
    assert_eq!(grant.requested_at, "2026-05-01T09:00:01.000Z");
    assert!(!grant.pre_existing);
    // The same key again: the same grant, nothing new recorded.
    let (again, created) = store.request_grant(org, &keyed, t(2)).await.unwrap();
    assert!(!created);
    assert_eq!(again, grant);
    let approval = NewGrant {
        needs_approval: true,
        ..request("00u2", "00g1", t(3600))
    };
    let (waiting, _) = store.request_grant(org, &approval, t(3)).await.unwrap();
    assert_eq!(waiting.state, GrantState::PendingApproval);
    assert_ne!(waiting.grant_id, grant.grant_id);

    // Added: from pending only.
    let added = GrantUpdate {
        state: Some(GrantState::Active),
        pre_existing: Some(true),
        ..Default::default()
    };
    let note = AuditNote {
        okta_request_id: Some("req-abc".into()),
        actor: Some("enforcer".into()),
        ..AuditNote::new("added")
    };
    let active = store
        .update_grant(
            org,
            grant.grant_id,
            &[GrantState::Pending],
            &added,
            &note,
            t(4),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.state, GrantState::Active);
    assert!(active.pre_existing);
    // Not pending any more: the same change is refused and writes nothing.
    let refused = store
        .update_grant(
            org,
            grant.grant_id,
            &[GrantState::Pending],
            &added,
            &note,
            t(5),
        )
        .await
        .unwrap();
    assert_eq!(refused, None);

    let audit = store.grant_audit(org, grant.grant_id).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["requested", "added"]);
    assert_eq!(audit[0].actor.as_deref(), Some("ada"));
    assert_eq!(audit[0].detail.as_deref(), Some("incident 42"));
    assert_eq!(audit[1].okta_request_id.as_deref(), Some("req-abc"));
    assert_eq!(audit[1].at, "2026-05-01T09:00:04.000Z");

    // Lists: newest first; open ones; by user and group.
    let all = store.grants(org, &GrantFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        [waiting.grant_id, grant.grant_id]
    );
    let denied = GrantUpdate {
        state: Some(GrantState::Denied),
        ended: true,
        ..Default::default()
    };
    store
        .update_grant(
            org,
            waiting.grant_id,
            &[GrantState::PendingApproval],
            &denied,
            &AuditNote::new("denied"),
            t(6),
        )
        .await
        .unwrap()
        .unwrap();
    let open = GrantFilter {
        open: true,
        ..Default::default()
    };
    let open_ids: Vec<i64> = store
        .grants(org, &open)
        .await
        .unwrap()
        .iter()
        .map(|g| g.grant_id)
        .collect();
    assert_eq!(open_ids, [grant.grant_id]);
    let of_user = GrantFilter {
        user_id: Some("00u2".into()),
        group_id: Some("00g1".into()),
        ..Default::default()
    };
    let theirs = store.grants(org, &of_user).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].state, GrantState::Denied);
    assert_eq!(
        theirs[0].ended_at.as_deref(),
        Some("2026-05-01T09:00:06.000Z")
    );
    // Another org sees none of them.
    let other = store
        .ensure_org("https://globex.okta.com", t(0))
        .await
        .unwrap();
    assert!(
        store
            .grants(other, &GrantFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.grant(other, grant.grant_id).await.unwrap(), None);
}

async fn enforcers_claim_due_work_once_and_again_after_a_claim_runs_out(backend: Backend) {
    let test = "enforcers_claim_due_work_once_and_again_after_a_claim_runs_out";
    let Some((m, org)) = TestMirror::with_org(backend, test, t(0)).await else {
        return;
    };
    let store = &m.store;
    let second = m.open_again().await;
    let hold = std::time::Duration::from_secs(30);
    // Three grants: one to add, two expiring at 100 s and 50 s.
    let mut ids = Vec::new();
    for (user, expires) in [("00u1", 3600), ("00u2", 100), ("00u3", 50)] {
        let (g, _) = store
            .request_grant(org, &request(user, "00g1", t(expires)), t(0))
            .await
            .unwrap();
        ids.push(g.grant_id);
    }
    let activate = GrantUpdate {
        state: Some(GrantState::Active),
        ..Default::default()
    };
    for id in &ids[1..] {
        store
            .update_grant(
                org,
                *id,
                &[GrantState::Pending],
                &activate,
                &AuditNote::new("added"),
                t(1),
            )
            .await
            .unwrap()
            .unwrap();
    }
    // At 10 s only the pending add is work; nothing is due.
    let first = store
        .claim_grant_work(org, "a", t(10), hold, 10)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        [ids[0]]
    );
    // The other enforcer finds it claimed.
    assert!(
        second
            .claim_grant_work(org, "b", t(11), hold, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // At 200 s: both expired ones, the older expiry first; the add's claim ran out, so it
    // comes after them.
    let due = second
        .claim_grant_work(org, "b", t(200), hold, 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        [ids[2], ids[1], ids[0]]
    );
    assert!(
        store
            .claim_grant_work(org, "a", t(201), hold, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A failed removal waits for its retry time; finishing a piece of work ends its claim.
    let failed = GrantUpdate {
        state: Some(GrantState::RevokeFailed),
        attempts: Some(1),
        next_attempt_at: Some(Some(t(260))),
        last_error: Some(Some("HTTP 503".into())),
        ..Default::default()
    };
    let retry = store
        .update_grant(
            org,
            ids[2],
            &[GrantState::Active],
            &failed,
            &AuditNote::new("revoke_failed"),
            t(202),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retry.attempts, 1);
    assert_eq!(retry.last_error.as_deref(), Some("HTTP 503"));
    let revoked = GrantUpdate {
        state: Some(GrantState::Revoked),
        ended: true,
        ..Default::default()
    };
    store
        .update_grant(
            org,
            ids[1],
            &[GrantState::Active],
            &revoked,
            &AuditNote::new("revoked"),
            t(203),
        )
        .await
        .unwrap()
        .unwrap();
    // At 240 s (claims of 200 s ran out): the add only; the failed removal's retry is at 260 s.
    let later = store
        .claim_grant_work(org, "a", t(240), hold, 10)
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        [ids[0]]
    );
    let retried = store
        .claim_grant_work(org, "a", t(261), hold, 10)
        .await
        .unwrap();
    assert_eq!(
        retried.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        [ids[2]]
    );
    // A claim of a process on this machine that is gone is taken over at once; one of a
    // process on another machine waits for its claim to run out.
    let gone = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    for (round, (host, taken_over)) in [("elsewhere.example", false), ("here", true)]
        .into_iter()
        .enumerate()
    {
        let at = 300 + 100 * round as i64;
        let claimed = store
            .claim_grant_work(org, "a", t(at), hold, 10)
            .await
            .unwrap();
        assert!(!claimed.is_empty());
        let host = if taken_over {
            "(SELECT MAX(claimed_host) FROM grants WHERE claimed_host IS NOT NULL)".to_owned()
        } else {
            format!("'{host}'")
        };
        m.execute(&format!(
            "UPDATE grants SET claimed_pid = {gone}, claimed_host = {host} WHERE claimed_by = 'a'"
        ))
        .await;
        let taken = second
            .claim_grant_work(org, "b", t(at + 1), hold, 10)
            .await
            .unwrap();
        let expected = if taken_over { claimed.len() } else { 0 };
        assert_eq!(taken.len(), expected, "claimed on {host}: {taken:?}");
    }
    // A limit bounds a claim.
    assert!(
        store
            .claim_grant_work(org, "b", t(600), hold, 1)
            .await
            .unwrap()
            .len()
            <= 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_carries_grants_and_their_audit_and_ids_continue_after_them() {
    let test = "a_copy_carries_grants_and_their_audit";
    let (from, org) = TestMirror::with_org(Backend::Sqlite, test, t(0))
        .await
        .unwrap();
    let (grant, _) = from
        .store
        .request_grant(org, &request("00u1", "00g1", t(600)), t(1))
        .await
        .unwrap();
    let Some(to) = TestMirror::new(Backend::Postgres, test).await else {
        return;
    };
    to.store.close().await;
    from.store.close().await;
    let report = oktasync_store::copy_mirror(&from.location, &to.location)
        .await
        .unwrap();
    assert_eq!(report.rows["grants"], 1);
    assert_eq!(report.rows["grant_audit"], 1);
    let copy = to.open_again().await;
    let copied_org = copy
        .ensure_org("https://acme.okta.com", t(0))
        .await
        .unwrap();
    assert_eq!(
        copy.grant(copied_org, grant.grant_id).await.unwrap(),
        Some(grant.clone())
    );
    assert_eq!(
        copy.grant_audit(copied_org, grant.grant_id)
            .await
            .unwrap()
            .len(),
        1
    );
    let (next, _) = copy
        .request_grant(copied_org, &request("00u2", "00g1", t(600)), t(2))
        .await
        .unwrap();
    assert!(next.grant_id > grant.grant_id);
}
