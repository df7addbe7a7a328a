//! The backends the story tests run on (atuin's tests-database pattern): each story is an
//! `async fn(Backend)`, and [`on_both_backends!`] makes it two tests, `<story>::sqlite` and
//! `<story>::postgres`. Every test gets a mirror of its own: a SQLite file in a temporary
//! directory, or a PostgreSQL database created for it (named after the test, with a random
//! suffix) and dropped when the test ends.
//!
//! PostgreSQL is the server at `OKTASYNC_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, trust auth). When it cannot be reached,
//! the PostgreSQL tests fail under CI (`CI` set) with a message saying how to start it, and
//! elsewhere are skipped with that message on stderr. `OKTASYNC_TEST_PG_KEEP=1` keeps the
//! databases for inspection.

use chrono::{DateTime, Utc};
use oktasync_store::{DbLocation, Mirror, MirrorWriter, OrgId};
use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::SqlitePool;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Writes `async fn` stories taking a [`Backend`] as one test per backend.
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$story($crate::backend::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$story($crate::backend::Backend::Postgres).await
                }
            }
        )+
    };
}
pub(crate) use on_both_backends;

/// The server the PostgreSQL tests use, as an admin URL (its database is the one to connect
/// to while creating and dropping the tests' own).
pub fn pg_server() -> String {
    std::env::var("OKTASYNC_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

const START_IT: &str = "start it with `pg_ctlcluster 15 main start` (or `sudo service postgresql start`), \
     or point OKTASYNC_TEST_PG at another server (trust or password in the URL)";

/// An admin connection to the test server, or `None` (said loudly) when it cannot be reached
/// outside CI. Under CI an unreachable server fails the test.
pub async fn pg_admin(test: &str) -> Option<PgConnection> {
    let url = pg_server();
    let attempt = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&url)).await;
    let error = match attempt {
        Ok(Ok(conn)) => return Some(conn),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 10 s".to_owned(),
    };
    let message = format!(
        "PostgreSQL is not reachable at {} ({error}): {START_IT}",
        oktasync_store::DatabaseUrl::parse(&url)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| "OKTASYNC_TEST_PG".into())
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    // Past the test harness's output capture, so that a skip is seen.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test} on PostgreSQL: {message}");
    None
}

/// A PostgreSQL database of one test's own, dropped when this is.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates a database named after `test` (with a random suffix), or `None` when the
    /// server cannot be reached outside CI.
    pub async fn create(test: &str) -> Option<Self> {
        let mut admin = pg_admin(test).await?;
        let slug: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let name = format!("okt_{slug}_{:08x}", rand::random::<u32>());
        // An ICU default collation, where the server has ICU, so that a query relying on the
        // database's collation instead of byte order would sort differently and fail.
        let icu = format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
             LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        );
        if sqlx::raw_sql(sqlx::AssertSqlSafe(icu))
            .execute(&mut admin)
            .await
            .is_err()
        {
            let plain = format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'");
            sqlx::raw_sql(sqlx::AssertSqlSafe(plain))
                .execute(&mut admin)
                .await
                .expect("the test server creates a database");
        }
        let _ = admin.close().await;
        let mut url = url::Url::parse(&pg_server()).expect("OKTASYNC_TEST_PG is a URL");
        url.set_path(&format!("/{name}"));
        Some(Self {
            name,
            url: url.to_string(),
        })
    }

    pub fn location(&self) -> DbLocation {
        DbLocation::parse(&self.url).expect("a postgres URL")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if std::env::var_os("OKTASYNC_TEST_PG_KEEP").is_some() {
            eprintln!("kept the test database {}", self.name);
            return;
        }
        let name = self.name.clone();
        // Drop runs inside the test's runtime: drop the database from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&pg_server()).await?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "could not drop the test database {}: {dropped:?}",
                self.name
            );
        }
    }
}

/// Where a test's mirror lives; removed (file) or dropped (database) with this.
pub enum Place {
    Sqlite { _dir: tempfile::TempDir },
    Postgres(PgDatabase),
}

/// One test's mirror: its location, a store opened for writing, and raw SQL for the few
/// checks the store's API does not offer.
pub struct TestMirror {
    pub location: DbLocation,
    pub store: Mirror,
    pub place: Place,
}

impl TestMirror {
    /// A new, empty mirror for the test `test`, or `None` when PostgreSQL is skipped.
    pub async fn new(backend: Backend, test: &str) -> Option<Self> {
        let (location, place) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let location = DbLocation::Sqlite(dir.path().join("m.db"));
                (location, Place::Sqlite { _dir: dir })
            }
            Backend::Postgres => {
                let db = PgDatabase::create(test).await?;
                (db.location(), Place::Postgres(db))
            }
        };
        let store = oktasync_store::open_writer(&location).await.unwrap();
        Some(Self {
            location,
            store,
            place,
        })
    }

    /// The same, with one org first seen at `seen`.
    pub async fn with_org(
        backend: Backend,
        test: &str,
        seen: DateTime<Utc>,
    ) -> Option<(Self, OrgId)> {
        let mirror = Self::new(backend, test).await?;
        let org = mirror
            .store
            .ensure_org("https://acme.okta.com", seen)
            .await
            .unwrap();
        Some((mirror, org))
    }

    /// Another store on the same mirror (another process, as far as the mirror can tell).
    pub async fn open_again(&self) -> Mirror {
        oktasync_store::open_writer(&self.location).await.unwrap()
    }

    /// Runs a statement written for this backend, outside the store.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.location {
            DbLocation::Sqlite(path) => {
                let pool = SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            DbLocation::Postgres(_) => {
                let Place::Postgres(db) = &self.place else {
                    unreachable!("a postgres location has a postgres place")
                };
                let pool = PgPool::connect(&db.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }
}
