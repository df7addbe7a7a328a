//! Shared set-up: an emulator, a client for it, a mirror file.

use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use oktasync_engine::{FactorScope, NoProgress, RunSummary, SyncOptions, full_sync};
use oktasync_store::{MirrorReader, OrgId, SqliteStore};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub async fn emulator(seed: u64, size: OrgSize) -> RunningEmulator {
    okta_emulator::start(EmulatorConfig {
        seed,
        size,
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

/// A client that gives up quickly, so that failure tests end fast.
pub fn client_with(emu: &RunningEmulator, max_retries: u32) -> OktaClient {
    let config = ClientConfig {
        max_retries,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        ..Default::default()
    };
    OktaClient::new(
        OrgUrl::parse(&emu.base_url()).expect("emulator URL is accepted"),
        Credentials::ApiToken(SecretString::from(emu.token().to_owned())),
        config,
    )
    .expect("client builds")
}

pub fn client(emu: &RunningEmulator) -> OktaClient {
    client_with(emu, ClientConfig::default().max_retries)
}

/// Requests the emulator has answered so far outside its control endpoints, by its own count
/// (the gate's status counters), whatever the client believes it sent.
pub fn served_requests(emu: &RunningEmulator) -> u64 {
    served_by_status(emu).values().sum()
}

/// The emulator's answers so far by status (`"200"`, `"404"`, `"dropped"`, ...).
pub fn served_by_status(emu: &RunningEmulator) -> BTreeMap<String, u64> {
    let stats = emu.gate().stats();
    stats["status"]
        .as_object()
        .expect("the gate's stats have status counts")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("a count")))
        .collect()
}

/// The emulator's requests so far by rate-limit bucket, as it counted them.
pub fn served_by_bucket(emu: &RunningEmulator) -> BTreeMap<String, u64> {
    let stats = emu.gate().stats();
    stats["buckets"]
        .as_object()
        .expect("the gate's stats have buckets")
        .iter()
        .map(|(k, v)| (k.clone(), v["requests"].as_u64().expect("a count")))
        .collect()
}

/// `after - before`, keeping only what changed.
fn grown(after: BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .into_iter()
        .map(|(k, n)| {
            let earlier = before.get(&k).copied().unwrap_or(0);
            (k, n - earlier)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Runs `sync` and checks the calls it reports against the requests the emulator itself
/// answered meanwhile, bucket by bucket. Returns the summary and the emulator's answers by
/// status.
pub async fn calls_as_served<F: Future<Output = RunSummary>>(
    emu: &RunningEmulator,
    sync: F,
) -> (RunSummary, BTreeMap<String, u64>) {
    let (buckets, statuses) = (served_by_bucket(emu), served_by_status(emu));
    let summary = sync.await;
    let served = grown(served_by_bucket(emu), &buckets);
    assert_eq!(
        summary.calls_by_bucket, served,
        "calls the run reports vs requests the emulator answered, by bucket"
    );
    assert_eq!(summary.api_calls, served.values().sum::<u64>());
    (summary, grown(served_by_status(emu), &statuses))
}

/// Sets the emulator's added latency per request (± 50% jitter) live.
pub fn set_latency(emu: &RunningEmulator, ms: u64) {
    emu.gate()
        .set_faults(serde_json::json!({ "latency_ms": ms }))
        .expect("latency is accepted");
}

pub struct Mirror {
    pub store: SqliteStore,
    pub dir: tempfile::TempDir,
}

impl Mirror {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("mirror.db"))
            .await
            .expect("store opens");
        Self { store, dir }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("mirror.db")
    }

    pub async fn org(&self, client: &OktaClient) -> OrgId {
        self.store
            .find_org(&client.org().origin())
            .await
            .unwrap()
            .expect("org recorded")
    }

    pub async fn export(&self, client: &OktaClient) -> serde_json::Value {
        self.store
            .export_json(self.org(client).await)
            .await
            .unwrap()
    }
}

/// What the truth tests sync: everything, and every user's factors (`FactorScope::All`), so
/// that the mirror holds what the emulator's export holds and the two compare by plain
/// equality, factors included. Tests of the default scope compare with
/// [`in_factor_scope`] instead.
pub fn truth_options() -> SyncOptions {
    SyncOptions {
        factors: FactorScope::All,
        ..SyncOptions::default()
    }
}

pub async fn sync(client: &OktaClient, store: &SqliteStore) -> RunSummary {
    full_sync(client, store, &truth_options(), Arc::new(NoProgress))
        .await
        .expect("sync succeeds")
}

/// Users holding a role directly or through a group, from an export.
pub fn admin_ids(export: &Value) -> BTreeSet<String> {
    let mut admins = BTreeSet::new();
    for r in export["role_assignments"].as_array().unwrap() {
        let assignee = r["assignee_id"].as_str().unwrap();
        if r["assignee_type"] == "USER" {
            admins.insert(assignee.to_owned());
        } else {
            for m in export["group_members"].as_array().unwrap() {
                if m["group_id"] == assignee {
                    admins.insert(m["user_id"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    admins
}

/// The emulator's export as a mirror synced with factor scope `scope` holds it: the factors
/// of the users in the scope only (`admins`: holders of a role, directly or through a group).
pub fn in_factor_scope(export: &Value, scope: FactorScope) -> Value {
    let mut narrowed = export.clone();
    let keep: Box<dyn Fn(&str) -> bool> = match scope {
        FactorScope::All => return narrowed,
        FactorScope::None => Box::new(|_| false),
        FactorScope::Admins => {
            let admins = admin_ids(export);
            Box::new(move |user| admins.contains(user))
        }
    };
    if let Some(factors) = narrowed["factors"].as_array_mut() {
        factors.retain(|f| f["user_id"].as_str().is_some_and(&keep));
    }
    narrowed
}

/// Where two exports first differ, for a readable failure message.
pub fn first_difference(mirror: &serde_json::Value, source: &serde_json::Value) -> String {
    for key in source.as_object().into_iter().flat_map(|o| o.keys()) {
        let (m, s) = (&mirror[key], &source[key]);
        if m != s {
            let (ma, sa) = (m.as_array(), s.as_array());
            if let (Some(ma), Some(sa)) = (ma, sa) {
                for (i, (a, b)) in ma.iter().zip(sa.iter()).enumerate() {
                    if a != b {
                        return format!("{key}[{i}]: mirror {a} vs source {b}");
                    }
                }
                return format!("{key}: mirror has {} items, source {}", ma.len(), sa.len());
            }
            return format!("{key}: mirror {m} vs source {s}");
        }
    }
    if mirror.as_object().map(|o| o.len()) != source.as_object().map(|o| o.len()) {
        return "different top-level keys".into();
    }
    "no difference".into()
}

#[track_caller]
pub fn assert_exact(mirror: &serde_json::Value, source: &serde_json::Value) {
    assert!(
        mirror == source,
        "mirror differs from source: {}",
        first_difference(mirror, source)
    );
}

/// `POST /__emulator/churn`: `ops` random mutations with their System Log events.
pub async fn churn(emu: &RunningEmulator, seed: u64, ops: u64) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/__emulator/churn", emu.base_url()))
        .header("authorization", format!("SSWS {}", emu.token()))
        .json(&json!({"seed": seed, "ops": ops}))
        .send()
        .await
        .expect("churn request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("churn summary")
}

/// `GET /__emulator/export`.
pub async fn source(emu: &RunningEmulator) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}/__emulator/export", emu.base_url()))
        .header("authorization", format!("SSWS {}", emu.token()))
        .send()
        .await
        .expect("export request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("export")
}

/// An admin API call on the emulator (what an Okta admin or another tool would do).
pub async fn okta_call(
    emu: &RunningEmulator,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let response = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", emu.base_url()))
        .header("authorization", format!("SSWS {}", emu.token()))
        .json(&body)
        .send()
        .await
        .expect("request to the emulator");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {body}");
    body
}
