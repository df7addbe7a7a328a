//! SQLite files. What a mirror path holds decides what may happen to it: a foreign file is refused and left
//! byte for byte as it was, read-only opens never write, new files are created safely by
//! several processes at once, and damage is named with a way out.

use oktasync_store::{
    APPLICATION_ID, FileState, MirrorReader, MirrorWriter, SqliteStore, StoreError,
};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::{Path, PathBuf};

/// A plain SQLite database of another program, written with a rollback journal (as the
/// `sqlite3` shell makes one).
async fn foreign_sqlite(path: &Path) {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO invoices (amount) VALUES (42), (7)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// Every file in `dir` with its bytes, to prove that nothing was created or changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap_or_default();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn file_is_owner_only_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let store = SqliteStore::open(&path).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // Opening again runs no migration twice.
    store.close().await;
    SqliteStore::open(&path).await.unwrap();
}

#[tokio::test]
async fn a_foreign_sqlite_file_is_refused_by_every_open_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    foreign_sqlite(&path).await;
    let before = snapshot(dir.path());
    assert_eq!(before.len(), 1, "{before:?}");

    let state = SqliteStore::inspect(&path).await.unwrap();
    assert!(
        matches!(&state, FileState::Foreign(what) if what.contains("invoices")),
        "{state:?}"
    );
    for writable in [false, true] {
        let result = if writable {
            SqliteStore::open(&path).await
        } else {
            SqliteStore::open_read_only(&path).await
        };
        let err = result.expect_err("a foreign file is refused");
        assert!(matches!(err, StoreError::NotAMirror { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("is not an oktasync mirror") && message.contains("invoices"),
            "{message}"
        );
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "the directory is byte-for-byte unchanged"
    );
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "shopping list: eggs, milk, a new SQLite file\n").unwrap();
    let before = snapshot(dir.path());
    for writable in [false, true] {
        let err = if writable {
            SqliteStore::open(&path).await.unwrap_err()
        } else {
            SqliteStore::open_read_only(&path).await.unwrap_err()
        };
        assert!(err.to_string().contains("not an SQLite database"), "{err}");
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn read_only_open_needs_a_mirror_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let missing = SqliteStore::open_read_only(&path).await.unwrap_err();
    assert!(
        matches!(missing, StoreError::NoMirror { .. }),
        "{missing:?}"
    );
    assert!(
        missing.to_string().contains("oktasync sync --db"),
        "{missing}"
    );
    assert!(!path.exists(), "a read-only open creates no file");

    let store = SqliteStore::open(&path).await.unwrap();
    let org = store
        .ensure_org("https://acme.okta.com", chrono::Utc::now())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(
        SqliteStore::inspect(&path).await.unwrap(),
        FileState::Mirror
    );
    let before = snapshot(dir.path());

    let reader = SqliteStore::open_read_only(&path).await.unwrap();
    assert_eq!(reader.orgs().await.unwrap().len(), 1);
    assert_eq!(reader.counts(org).await.unwrap()["users"], 0);
    let write = reader
        .ensure_org("https://other.okta.com", chrono::Utc::now())
        .await;
    assert!(write.is_err(), "a read-only store cannot write");
    reader.close().await;
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn a_mirror_is_marked_in_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let id: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(id, APPLICATION_ID);
    assert_eq!(store.meta("created_by").await.unwrap(), None);
    store.set_meta("created_by", "demo").await.unwrap();
    assert_eq!(
        store.meta("created_by").await.unwrap().as_deref(),
        Some("demo")
    );
}

#[tokio::test]
async fn an_older_mirror_is_read_only_after_a_sync_migrates_it_and_a_newer_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    // As an older oktasync left it: the migrations before org names (0004) applied, and orgs
    // without names. Built from those migrations alone, so later ones (a new table) need no
    // change here.
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    let mut older = sqlx::migrate!("./migrations/sqlite");
    older.migrations = older
        .migrations
        .iter()
        .filter(|m| m.version < 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    older.run_direct(None, &mut conn, false).await.unwrap();
    sqlx::query(
        "INSERT INTO orgs (url, created_at) VALUES ('https://acme.okta.com', 'x'),
            ('https://acme.oktapreview.com', 'x')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    assert_eq!(SqliteStore::inspect(&path).await.unwrap(), FileState::Older);
    let err = SqliteStore::open_read_only(&path).await.unwrap_err();
    assert!(err.to_string().contains("older oktasync"), "{err}");
    let store = SqliteStore::open(&path).await.unwrap();
    // Orgs of a mirror older than org names get their default names, distinct.
    let names: Vec<String> = store
        .org_list()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["acme", "acme-2"]);
    store.close().await;
    assert_eq!(
        SqliteStore::inspect(&path).await.unwrap(),
        FileState::Mirror
    );

    // As a newer oktasync leaves it: a migration this one does not know.
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    for writable in [false, true] {
        let err = if writable {
            SqliteStore::open(&path).await.unwrap_err()
        } else {
            SqliteStore::open_read_only(&path).await.unwrap_err()
        };
        assert!(
            matches!(err, StoreError::NewerMirror { version: 9999, .. }),
            "{err:?}"
        );
    }
}

/// Several processes creating the same new mirror at once: each open succeeds (the
/// migrations run once, in turn). Separate threads with their own runtimes and pools stand
/// in for processes, as SQLite's locks are per connection; the CLI test runs real processes.
#[test]
fn opening_a_new_file_from_many_places_at_once_is_safe() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("m{round}.db"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    barrier.wait();
                    rt.block_on(async {
                        let store = SqliteStore::open(&path).await?;
                        store
                            .ensure_org("https://acme.okta.com", chrono::Utc::now())
                            .await?;
                        store.close().await;
                        Ok::<_, StoreError>(())
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().expect("every concurrent open succeeds");
        }
        assert_eq!(
            SqliteStore::inspect(&path).await_blocking().unwrap(),
            FileState::Mirror
        );
    }
}

trait Blocking {
    type Output;
    fn await_blocking(self) -> Self::Output;
}

impl<F: std::future::Future> Blocking for F {
    type Output = F::Output;
    fn await_blocking(self) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(self)
    }
}

/// Overwrites the headers of two b-tree pages with garbage, as a failing disk would.
fn damage(path: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let len = std::fs::metadata(path).unwrap().len();
    assert!(
        len > 4 * 4096,
        "the mirror has pages to damage ({len} bytes)"
    );
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    for page in [2u64, 3] {
        f.seek(SeekFrom::Start(page * 4096)).unwrap();
        f.write_all(&[0xA5; 64]).unwrap();
    }
}

#[tokio::test]
async fn a_damaged_mirror_is_detected_with_the_commands_that_rebuild_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let org = store
        .ensure_org("https://acme.okta.com", chrono::Utc::now())
        .await
        .unwrap();
    crate::runs::fill(&store, org, 400).await;
    store.check_not_damaged().await.unwrap();
    store.close().await;
    damage(&path);

    let err = match SqliteStore::open(&path).await {
        Ok(store) => store.check_not_damaged().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
    let message = err.to_string();
    let p = path.display().to_string();
    assert!(
        message.contains(&format!("mv {p} {p}.damaged"))
            && message.contains(&format!("oktasync sync --db {p}")),
        "{message}"
    );
}

#[tokio::test]
async fn a_filled_mirror_without_planner_statistics_gets_them_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let stat1 = |store: &SqliteStore| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1')",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // Empty: nothing to measure yet (the first full sync does it).
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(!stat1(&store).await);
    // Filled as by an older oktasync, whose syncs did not ANALYZE.
    sqlx::query("INSERT INTO group_members (org_id, group_id, user_id) VALUES (1, 'g', 'u')")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    // A read-only open writes nothing, statistics included.
    let reader = SqliteStore::open_read_only(&path).await.unwrap();
    assert!(!stat1(&reader).await);
    reader.close().await;
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(stat1(&store).await);
}
