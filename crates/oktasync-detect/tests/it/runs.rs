//! Detection runs over a real mirror, on SQLite and on PostgreSQL: each event evaluated once
//! (the `detect.seq` checkpoint), windows spanning runs and restarts (their state is the kept
//! log), re-runs over a time range merging into the same alerts, absence rules at their
//! deadline, and the alerts read back with their filters.

use crate::{E, at};
use chrono::Duration;
use oktasync_detect::{DETECT_CHECKPOINT, Detector, Range};
use oktasync_store::{
    AlertQuery, DbLocation, Mirror, MirrorReader, MirrorWriter, OrgId, SystemLogStore,
};
use oktasync_testkit::PgDatabase;

macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$story(false).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$story(true).await
                }
            }
        )+
    };
}

on_both_backends!(runs_are_incremental_and_windows_span_them);
on_both_backends!(absent_reenrolment_is_found_at_its_deadline);
on_both_backends!(windows_span_time_slices_and_late_events);

/// A mirror of the test's own, its org, and what keeps it alive.
struct TestStore {
    location: DbLocation,
    store: Mirror,
    org: OrgId,
    _dir: Option<tempfile::TempDir>,
    _db: Option<PgDatabase>,
}

impl TestStore {
    async fn new(postgres: bool, test: &str) -> Option<TestStore> {
        let (location, dir, db) = if postgres {
            let db = PgDatabase::create(test).await?;
            (DbLocation::parse(&db.url).unwrap(), None, Some(db))
        } else {
            let dir = tempfile::tempdir().unwrap();
            (DbLocation::Sqlite(dir.path().join("m.db")), Some(dir), None)
        };
        let store = oktasync_store::open_writer(&location).await.unwrap();
        let org = store
            .ensure_org("https://acme.okta.com", at(0))
            .await
            .unwrap();
        Some(TestStore {
            location,
            store,
            org,
            _dir: dir,
            _db: db,
        })
    }

    async fn keep(&self, events: Vec<E>) {
        let raw: Vec<_> = events.into_iter().map(|e| e.v).collect();
        self.store
            .store_log_events(self.org, None, &raw, None)
            .await
            .unwrap();
    }

    async fn reopen(&self) -> Mirror {
        oktasync_store::open_writer(&self.location).await.unwrap()
    }
}

fn denials(from: i64, n: i64, who: &str) -> Vec<E> {
    (0..n)
        .flat_map(|i| {
            let t = from + i * 60;
            [
                E::new(t, "user.mfa.okta_verify.deny_push", who).failed("INVALID_CREDENTIALS"),
                E::new(t, "user.authentication.auth_via_mfa", who)
                    .failed("INVALID_CREDENTIALS")
                    .debug("factor", "OKTA_VERIFY_PUSH"),
            ]
        })
        .collect()
}

async fn runs_are_incremental_and_windows_span_them(postgres: bool) {
    let Some(t) = TestStore::new(postgres, "runs_are_incremental_and_windows_span_them").await
    else {
        return;
    };
    let detector = Detector::builtin();
    t.keep(denials(0, 3, "ana")).await;
    let first = detector
        .run(&t.store, t.org, Range::New, at(200))
        .await
        .unwrap();
    assert_eq!(first.events, 6);
    assert!(first.new_alerts.is_empty(), "{:?}", first.new_alerts);

    // Three more denials arrive; a new process (store reopened, detector rebuilt) finds the
    // burst across both runs: the window's state is the kept log.
    t.keep(denials(180, 3, "ana")).await;
    let store = t.reopen().await;
    let second = Detector::builtin()
        .run(&store, t.org, Range::New, at(400))
        .await
        .unwrap();
    assert_eq!(second.events, 6, "only the new events");
    let ids: Vec<&str> = second
        .new_alerts
        .iter()
        .map(|a| a.rule_id.as_str())
        .collect();
    assert_eq!(ids, ["okta.mfa.push_bombing"]);
    let alert = &second.new_alerts[0];
    assert_eq!(alert.event_count, 12);
    assert_eq!(alert.entity, "ana@example.com");

    let quiet = detector
        .run(&store, t.org, Range::New, at(500))
        .await
        .unwrap();
    assert_eq!((quiet.events, quiet.new_alerts.len()), (0, 0));
    let seq = store.checkpoint(t.org, DETECT_CHECKPOINT).await.unwrap();
    assert!(seq.is_some_and(|s| s.parse::<i64>().unwrap() >= 12));

    // On demand over the last hour: the same alert, merged, no uuid twice; the checkpoint
    // stays where it was.
    let again = detector
        .run(&store, t.org, Range::Since(at(0)), at(600))
        .await
        .unwrap();
    assert_eq!(again.events, 12);
    assert!(again.new_alerts.is_empty());
    assert!(again.updated_alerts >= 1);
    let alerts = store.alerts(t.org, &AlertQuery::default()).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_uuids.len(), 12);
    assert_eq!(alerts[0].event_count, 12);

    // Filters: severity, rule glob, time.
    let query = |severities: &[&str], rule: Option<&str>, since| AlertQuery {
        since,
        severities: severities.iter().map(|s| s.to_string()).collect(),
        rule: rule.map(str::to_string),
        limit: None,
        before: None,
    };
    let count = |q| {
        let store = &store;
        async move { store.alerts(t.org, &q).await.unwrap().len() }
    };
    assert_eq!(count(query(&["high", "critical"], None, None)).await, 1);
    assert_eq!(count(query(&["critical"], None, None)).await, 0);
    assert_eq!(count(query(&[], Some("okta.mfa.*"), None)).await, 1);
    assert_eq!(count(query(&[], Some("okta.signin.*"), None)).await, 0);
    assert_eq!(count(query(&[], None, Some(at(3600)))).await, 0);
}

async fn absent_reenrolment_is_found_at_its_deadline(postgres: bool) {
    let Some(t) = TestStore::new(postgres, "absent_reenrolment_is_found_at_its_deadline").await
    else {
        return;
    };
    t.keep(vec![
        E::new(0, "user.mfa.factor.reset_all", "admin").target("User", "00uana", "ana@example.com"),
        E::new(60, "user.mfa.factor.reset_all", "admin").target("User", "00ubo", "bo@example.com"),
        E::new(7200, "user.mfa.factor.activate", "bo").target("User", "00ubo", "bo@example.com"),
    ])
    .await;
    let detector = Detector::builtin();
    let early = detector
        .run(&t.store, t.org, Range::New, at(3600))
        .await
        .unwrap();
    let ids: Vec<&str> = early
        .new_alerts
        .iter()
        .map(|a| a.rule_id.as_str())
        .collect();
    assert!(!ids.contains(&"okta.mfa.removed_not_reenrolled"), "{ids:?}");
    assert!(ids.contains(&"okta.mfa.factor_reset"), "{ids:?}");

    let late = detector
        .run(&t.store, t.org, Range::New, at(0) + Duration::hours(13))
        .await
        .unwrap();
    let absent: Vec<_> = late
        .new_alerts
        .iter()
        .filter(|a| a.rule_id == "okta.mfa.removed_not_reenrolled")
        .collect();
    assert_eq!(absent.len(), 1, "{:?}", late.new_alerts);
    assert_eq!(absent[0].entity, "ana@example.com", "bo enrolled again");
    let later = detector
        .run(&t.store, t.org, Range::New, at(0) + Duration::hours(14))
        .await
        .unwrap();
    assert!(later.new_alerts.is_empty(), "each deadline once");
}

async fn windows_span_time_slices_and_late_events(postgres: bool) {
    let Some(t) = TestStore::new(postgres, "windows_span_time_slices_and_late_events").await else {
        return;
    };
    // 20 failures for one user over 57 minutes: evaluated in 30-minute slices, one window.
    let failures: Vec<E> = (0..20)
        .map(|i| E::new(i * 180, "user.session.start", "ana").failed("INVALID_CREDENTIALS"))
        .collect();
    t.keep(failures).await;
    let report = Detector::builtin()
        .run(&t.store, t.org, Range::New, at(4000))
        .await
        .unwrap();
    let brute: Vec<_> = report
        .new_alerts
        .iter()
        .filter(|a| a.rule_id == "okta.brute_force.user")
        .collect();
    assert_eq!(brute.len(), 1, "{:?}", report.new_alerts);
    assert_eq!(brute[0].event_count, 20);

    // A late event: four failures and a success are evaluated (four is not enough); then a
    // fifth failure arrives, published before the success: the window ending at the success
    // (evaluated by the earlier run) is looked at again and fires.
    t.keep(vec![
        E::new(1000, "user.session.start", "bo")
            .failed("INVALID_CREDENTIALS")
            .from("192.0.2.1", "Chile"),
        E::new(1060, "user.session.start", "bo")
            .failed("INVALID_CREDENTIALS")
            .from("192.0.2.2", "Peru"),
        E::new(1120, "user.session.start", "bo")
            .failed("INVALID_CREDENTIALS")
            .from("192.0.2.3", "Chile"),
        E::new(1180, "user.session.start", "bo")
            .failed("INVALID_CREDENTIALS")
            .from("192.0.2.4", "Peru"),
        E::new(1300, "user.session.start", "bo").from("192.0.2.4", "Peru"),
    ])
    .await;
    let quiet = Detector::builtin()
        .run(&t.store, t.org, Range::New, at(4100))
        .await
        .unwrap();
    assert!(
        quiet
            .new_alerts
            .iter()
            .all(|a| a.rule_id != "okta.signin.success_after_failures")
    );
    t.keep(vec![
        E::new(900, "user.session.start", "bo")
            .failed("INVALID_CREDENTIALS")
            .from("192.0.2.5", "Chile"),
    ])
    .await;
    let late = Detector::builtin()
        .run(&t.store, t.org, Range::New, at(4200))
        .await
        .unwrap();
    let ids: Vec<&str> = late.new_alerts.iter().map(|a| a.rule_id.as_str()).collect();
    assert!(
        ids.contains(&"okta.signin.success_after_failures"),
        "{ids:?}"
    );
}
