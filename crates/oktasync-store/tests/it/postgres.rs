//! What only PostgreSQL mirrors have: a database is told apart from another program's before
//! anything changes in it, read-only opens never write, many processes may create one at
//! once, runs of different orgs proceed in parallel, and a URL's password never shows.

use crate::backend::{Backend, PgDatabase, PgLocationOf, TestMirror};
use chrono::Utc;
use oktasync_store::{
    Batch, ChangeCounts, DbLocation, MirrorReader, MirrorWriter, PgState, PgStore, RunKind,
    RunStart, RunStats, StoreError, Table,
};
use serde_json::json;
use sqlx::postgres::PgPool;
use std::time::Duration;

fn pg(db: &PgDatabase) -> oktasync_store::PgLocation {
    match db.location() {
        DbLocation::Postgres(pg) => pg,
        DbLocation::Sqlite(_) => unreachable!("a postgres URL"),
    }
}

/// The tables of the database's public schema.
async fn tables(db: &PgDatabase) -> Vec<String> {
    let pool = PgPool::connect(&db.url).await.unwrap();
    let tables = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    tables
}

#[tokio::test]
async fn a_foreign_database_is_refused_by_every_open_and_left_unchanged() {
    let Some(db) = PgDatabase::create("a_foreign_database_is_refused").await else {
        return;
    };
    let pool = PgPool::connect(&db.url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE invoices (id SERIAL PRIMARY KEY, amount INT);
         INSERT INTO invoices (amount) VALUES (42), (7);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let location = pg(&db);
    assert!(
        matches!(PgStore::inspect(&location).await.unwrap(), PgState::Foreign(what) if what.contains("invoices"))
    );
    for writable in [false, true] {
        let err = if writable {
            PgStore::open(&location).await.unwrap_err()
        } else {
            PgStore::open_read_only(&location).await.unwrap_err()
        };
        assert!(matches!(err, StoreError::PgNotAMirror { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("is not an oktasync mirror") && message.contains("invoices"),
            "{message}"
        );
    }
    assert_eq!(tables(&db).await, ["invoices"], "nothing was created");
}

#[tokio::test]
async fn read_only_open_needs_a_mirror_and_writes_nothing() {
    let Some(db) = PgDatabase::create("read_only_open_needs_a_mirror").await else {
        return;
    };
    let location = pg(&db);
    let err = PgStore::open_read_only(&location).await.unwrap_err();
    assert!(matches!(err, StoreError::PgNoMirror { .. }), "{err:?}");
    assert!(err.to_string().contains("oktasync sync --db"), "{err}");
    assert!(
        tables(&db).await.is_empty(),
        "a read-only open creates nothing"
    );

    let store = PgStore::open(&location).await.unwrap();
    let org = store
        .ensure_org("https://acme.okta.com", Utc::now())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(PgStore::inspect(&location).await.unwrap(), PgState::Mirror);

    let reader = PgStore::open_read_only(&location).await.unwrap();
    assert_eq!(
        reader.orgs().await.unwrap(),
        [(org, "https://acme.okta.com".to_owned())]
    );
    assert_eq!(reader.counts(org).await.unwrap()["users"], 0);
    let write = reader
        .ensure_org("https://other.okta.com", Utc::now())
        .await;
    assert!(write.is_err(), "a read-only store cannot write");
    reader.close().await;
    let store = PgStore::open_read_only(&location).await.unwrap();
    assert_eq!(store.orgs().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_mirror_of_a_newer_oktasync_is_refused() {
    let Some(db) = PgDatabase::create("a_mirror_of_a_newer_oktasync").await else {
        return;
    };
    let location = pg(&db);
    PgStore::open(&location).await.unwrap().close().await;
    let pool = PgPool::connect(&db.url).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', true, '\\x00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    for writable in [false, true] {
        let err = if writable {
            PgStore::open(&location).await.unwrap_err()
        } else {
            PgStore::open_read_only(&location).await.unwrap_err()
        };
        assert!(
            matches!(err, StoreError::PgNewerMirror { version: 9999, .. }),
            "{err:?}"
        );
    }
}

/// Several processes creating the mirror in one empty database at once: every open succeeds
/// (sqlx's migration lock makes them take turns; a database where another has only begun is
/// not mistaken for another program's), and the schema is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_new_database_from_many_places_at_once_is_safe() {
    for round in 0..4 {
        let Some(db) = PgDatabase::create(&format!("opening_a_new_database_at_once_{round}")).await
        else {
            return;
        };
        let location = pg(&db);
        let opens: Vec<_> = (0..6)
            .map(|i| {
                let location = location.clone();
                tokio::spawn(async move {
                    let store = PgStore::open(&location).await?;
                    store
                        .ensure_org(&format!("https://org{}.okta.com", i % 2), Utc::now())
                        .await?;
                    store.close().await;
                    Ok::<_, StoreError>(())
                })
            })
            .collect();
        for open in opens {
            open.await.unwrap().expect("every concurrent open succeeds");
        }
        assert_eq!(PgStore::inspect(&location).await.unwrap(), PgState::Mirror);
        let store = PgStore::open_read_only(&location).await.unwrap();
        let mut names: Vec<String> = store
            .org_list()
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        names.sort();
        assert_eq!(names, ["org0", "org1"]);
        store.close().await;
    }
}

#[tokio::test]
async fn a_url_password_is_never_shown() {
    // Nothing listens on port 1: the connection fails, and the error names the URL.
    let location = DbLocation::parse("postgres://sync:hunter2@127.0.0.1:1/mirror").unwrap();
    let err = oktasync_store::open_writer(&location).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("postgres://sync:***@127.0.0.1:1/mirror")
            && message.contains("PGPASSWORD"),
        "{message}"
    );
    assert!(!format!("{message} {err:?} {location:?}").contains("hunter2"));
}

fn start() -> RunStart {
    RunStart {
        started_at: Utc::now(),
        kind: RunKind::Full,
        resources: vec!["users".into()],
    }
}

fn users(prefix: &str, n: usize) -> Batch {
    Batch::users(
        (0..n)
            .map(|i| json!({"id": format!("{prefix}{i:05}"), "status": "ACTIVE"}))
            .collect(),
    )
}

/// The advisory lock a write of one org holds (documented in SCHEMA.md).
fn org_lock(org: oktasync_store::OrgId) -> i64 {
    (0x6F6B_7379_i64 << 32) | org.0
}

/// While one org's run cannot apply (another transaction holds that org's lock and rows), a
/// run of another org in the same database applies and commits: no lock spans orgs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_two_orgs_proceed_in_parallel() {
    let Some(m) = TestMirror::new(Backend::Postgres, "runs_of_two_orgs_in_parallel").await else {
        return;
    };
    let acme = m
        .store
        .ensure_org("https://acme.okta.com", Utc::now())
        .await
        .unwrap();
    let globex = m
        .store
        .ensure_org("https://globex.okta.com", Utc::now())
        .await
        .unwrap();
    let other_process = m.open_again().await;
    for (org, store) in [(acme, &m.store), (globex, &other_process)] {
        let mut session = store.begin_full_sync(org, start()).await.unwrap();
        session.stage(&users("u", 100)).await.unwrap();
        session
            .commit(&[Table::Users], RunStats::default())
            .await
            .unwrap();
    }

    // Both runs are staged; then another transaction takes acme's lock and rows.
    let mut acme_run = m.store.begin_full_sync(acme, start()).await.unwrap();
    acme_run.stage(&users("v", 50)).await.unwrap();
    let mut globex_run = other_process
        .begin_full_sync(globex, start())
        .await
        .unwrap();
    globex_run.stage(&users("w", 50)).await.unwrap();
    let crate::backend::Place::Postgres(db) = &m.place else {
        unreachable!("a postgres mirror")
    };
    let blocker_pool = PgPool::connect(&db.url).await.unwrap();
    let mut blocker = blocker_pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(org_lock(acme))
        .execute(&mut *blocker)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET status = status WHERE org_id = $1")
        .bind(acme.0)
        .execute(&mut *blocker)
        .await
        .unwrap();

    let acme_commit =
        tokio::spawn(async move { acme_run.commit(&[Table::Users], RunStats::default()).await });
    let globex_changes = tokio::time::timeout(
        Duration::from_secs(20),
        globex_run.commit(&[Table::Users], RunStats::default()),
    )
    .await
    .expect("globex's run commits while acme's is held")
    .unwrap();
    assert_eq!(
        globex_changes["users"],
        ChangeCounts {
            added: 50,
            updated: 0,
            removed: 100
        }
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !acme_commit.is_finished(),
        "acme's run waits for its org's lock"
    );
    assert_eq!(m.store.counts(acme).await.unwrap()["users"], 100);

    blocker.commit().await.unwrap();
    let acme_changes = tokio::time::timeout(Duration::from_secs(20), acme_commit)
        .await
        .expect("acme's run commits once the lock is free")
        .unwrap()
        .unwrap();
    assert_eq!(
        acme_changes["users"],
        ChangeCounts {
            added: 50,
            updated: 0,
            removed: 100
        }
    );
    for org in [acme, globex] {
        assert_eq!(m.store.counts(org).await.unwrap()["users"], 50);
    }
    blocker_pool.close().await;
}
