//! Full-sync benchmark against a running org (usually the emulator in its own process):
//!
//! ```sh
//! okta-emulator --size large --seed 1 &          # prints `listening on http://127.0.0.1:PORT`
//! cargo run --release -p oktasync-engine --example bench -- http://127.0.0.1:PORT TOKEN /tmp/bench.db
//! ```
//!
//! Prints one JSON object: the figures of `oktasync bench` (users, groups, memberships, API
//! calls, the fewest calls the plan needs, wall seconds, rows per second, peak memory of this
//! process) and the run summary. `oktasync bench` composes the same calls.

use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use oktasync_engine::bench::{BenchReport, peak_memory_bytes};
use oktasync_engine::{SyncOptions, TracingProgress, full_sync};
use oktasync_store::SqliteStore;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // RUST_LOG=info shows the phases of the run (read, commit) with their durations.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, token, db] = args.as_slice() else {
        eprintln!("usage: bench ORG_URL API_TOKEN DB_PATH");
        std::process::exit(2);
    };
    let client = OktaClient::new(
        OrgUrl::parse(url)?,
        Credentials::ApiToken(SecretString::from(token.clone())),
        ClientConfig::default(),
    )?;
    let store = SqliteStore::open(db).await?;
    let summary = full_sync(
        &client,
        &store,
        &SyncOptions::default(),
        Arc::new(TracingProgress),
    )
    .await?;
    let report = BenchReport::new(&summary, peak_memory_bytes());
    println!(
        "{}",
        serde_json::json!({ "bench": report, "summary": summary })
    );
    Ok(())
}
