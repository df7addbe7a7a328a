//! Fixtures for the workspace's integration tests: [`org`] answers questions about an emulated
//! org from its export; [`scim`] runs a real SCIM 2.0 service provider (scim2-server); and a
//! PostgreSQL database of a test's own, created on the server at `OKTASYNC_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, trust auth) and dropped when the test ends.
//! When the server cannot be reached, a test fails under CI (`CI` set) with a message saying
//! how to start it, and elsewhere is skipped with that message on stderr.
//! `OKTASYNC_TEST_PG_KEEP=1` keeps the databases for inspection. [`serve_local`] runs a
//! test's own HTTP receiver (webhooks).

pub mod org;
pub mod scim;

/// Serves `app` on a free port of 127.0.0.1 for the rest of the test; returns
/// `http://127.0.0.1:PORT`.
pub async fn serve_local(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use std::time::Duration;

/// `url` with its password, if any, replaced by `***`.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "OKTASYNC_TEST_PG".into(),
    }
}

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
        without_password(&url)
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
