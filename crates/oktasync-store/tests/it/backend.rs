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
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

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

/// The test's PostgreSQL database (oktasync-testkit's fixture), as a `--db` location.
pub use oktasync_testkit::PgDatabase;

pub trait PgLocationOf {
    fn location(&self) -> DbLocation;
}

impl PgLocationOf for PgDatabase {
    fn location(&self) -> DbLocation {
        DbLocation::parse(&self.url).expect("a postgres URL")
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
