//! Staging and applying a large full sync on each backend: rows per second for staging, the
//! first apply (an empty mirror), and a second run changing 1% of the rows.
//!
//! ```sh
//! cargo run --release -p oktasync-store --example staging -- 200000
//! ```
//!
//! SQLite writes a file in a temporary directory; PostgreSQL a database created on the server
//! at `OKTASYNC_BENCH_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped
//! afterwards. A benchmark, not a test: it prints figures and checks only the counts.

use chrono::Utc;
use oktasync_store::{Batch, DbLocation, MirrorWriter, RunKind, RunStart, RunStats, Table};
use serde_json::{Value, json};
use sqlx::Connection;
use std::time::Instant;

/// Users per staged batch (the engine stages pages of 200, several at a time).
const BATCH: usize = 1000;

fn user(i: usize, round: usize) -> Value {
    let status = if round > 0 && i.is_multiple_of(100) {
        "SUSPENDED"
    } else {
        "ACTIVE"
    };
    json!({
        "id": format!("00u{i:012}"),
        "status": status,
        "created": "2024-01-01T00:00:00.000Z",
        "lastUpdated": "2026-01-01T00:00:00.000Z",
        "profile": {
            "login": format!("user{i}@example.com"),
            "email": format!("user{i}@example.com"),
            "firstName": "Ada",
            "lastName": format!("Lovelace{i}"),
            "department": format!("Dept {}", i % 40),
            "title": "Engineer",
            "employeeNumber": i.to_string(),
        },
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": format!("https://acme.okta.com/api/v1/users/00u{i:012}")}},
    })
}

async fn run(location: &DbLocation, rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    let store = oktasync_store::open_writer(location).await?;
    let org = store
        .ensure_org("https://acme.okta.com", Utc::now())
        .await?;
    for round in 0..2 {
        let mut session = store
            .begin_full_sync(
                org,
                RunStart {
                    started_at: Utc::now(),
                    kind: RunKind::Full,
                    resources: vec!["users".into()],
                },
            )
            .await?;
        // The Okta objects are made first: only the store's work is timed.
        let batches: Vec<Batch> = (0..rows)
            .step_by(BATCH)
            .map(|start| {
                Batch::users(
                    (start..(start + BATCH).min(rows))
                        .map(|i| user(i, round))
                        .collect(),
                )
            })
            .collect();
        let began = Instant::now();
        for batch in &batches {
            session.stage(batch).await?;
        }
        let staged = began.elapsed().as_secs_f64();
        let began = Instant::now();
        let changes = session
            .commit(
                &[Table::Users],
                RunStats {
                    ended_at: Utc::now(),
                    ..Default::default()
                },
            )
            .await?;
        let applied = began.elapsed().as_secs_f64();
        let users = changes["users"];
        println!(
            "  run {}: staged {rows} rows in {staged:.2} s ({:.0} rows/s); applied in {applied:.2} s \
             (+{} ~{} -{})",
            round + 1,
            rows as f64 / staged,
            users.added,
            users.updated,
            users.removed
        );
    }
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(200_000);

    let dir = tempfile::tempdir()?;
    println!("SQLite ({rows} users):");
    run(&DbLocation::Sqlite(dir.path().join("bench.db")), rows).await?;

    let server = std::env::var("OKTASYNC_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("okt_bench_{:08x}", rand::random::<u32>());
    let mut admin = sqlx::PgConnection::connect(&server).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
    )))
    .execute(&mut admin)
    .await?;
    let mut url = url::Url::parse(&server)?;
    url.set_path(&format!("/{name}"));
    println!("PostgreSQL ({rows} users):");
    let result = run(&DbLocation::parse(url.as_str())?, rows).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    result
}
