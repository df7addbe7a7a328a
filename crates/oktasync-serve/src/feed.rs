//! The change feed: each org's change log delivered, in order and at least once, to the
//! configured sinks (webhooks signed per the Standard Webhooks spec). One instance at a time
//! delivers one org to one sink, holding the lease `feed:<sink>`; its position in the log is
//! kept in the mirror and moves only after the sink accepted a batch, so a restart or another
//! instance resumes where it stopped.
//!
//! Whether a failure is worth retrying ([`DeliveryError::retry`]) is the sink's to say; how
//! long to wait ([`backoff`]) is the loop's.

use crate::metrics as m;
use async_trait::async_trait;
use okta_api::Clock;
use oktasync_store::{ChangeQuery, ChangeRecord, FeedLog, Mirror, MirrorReader, OrgId, StoreError};
pub use oktasync_webhook::Signer;
use oktasync_webhook::redact_url as redact;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Changes per delivery at most.
pub const FEED_BATCH: u32 = 100;
/// How often an idle feed looks for new changes.
pub const FEED_POLL: Duration = Duration::from_secs(1);
/// The longest wait between attempts at a failing sink.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// How often the set of orgs (a sink follows every org unless told otherwise) is re-read.
const ORGS_REFRESH: Duration = Duration::from_secs(10);

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    /// Whether trying again may succeed. The feed retries either way (it must not skip a
    /// change), but an error that will not go away is logged as such.
    pub retry: bool,
}

/// Somewhere changes go.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Its key in the mirror's positions (`webhook:NAME`): stable across restarts.
    fn key(&self) -> String;
    /// Whether it follows this org.
    fn follows(&self, org: &str) -> bool;
    /// Whether it wants this change (its entity filter).
    fn wants(&self, change: &ChangeRecord) -> bool;
    /// Delivers one batch of one org's changes, oldest first.
    async fn deliver(&self, org: &str, changes: &[ChangeRecord]) -> Result<(), DeliveryError>;
    /// What to show of it in `GET /v1/webhooks` and logs (no secret).
    fn describe(&self) -> SinkInfo;
}

/// A sink as listed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SinkInfo {
    pub name: String,
    pub kind: String,
    /// Where it delivers (a URL without credentials).
    pub target: String,
    /// The orgs it follows; empty: every org.
    pub orgs: Vec<String>,
    /// The entities (tables) it wants; empty: every change.
    pub entities: Vec<String>,
}

/// A webhook: `POST url` with a JSON batch of change records, signed.
pub struct Webhook {
    pub name: String,
    pub url: String,
    pub signer: Signer,
    pub orgs: Vec<String>,
    pub entities: BTreeSet<String>,
    pub http: reqwest::Client,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &redact(&self.url))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Sink for Webhook {
    fn key(&self) -> String {
        format!("webhook:{}", self.name)
    }

    fn follows(&self, org: &str) -> bool {
        self.orgs.is_empty() || self.orgs.iter().any(|o| o.eq_ignore_ascii_case(org))
    }

    fn wants(&self, change: &ChangeRecord) -> bool {
        self.entities.is_empty() || self.entities.contains(&change.entity)
    }

    async fn deliver(&self, org: &str, changes: &[ChangeRecord]) -> Result<(), DeliveryError> {
        let (first, last) = match (changes.first(), changes.last()) {
            (Some(f), Some(l)) => (f.change_id, l.change_id),
            _ => return Ok(()),
        };
        // The same batch keeps its id on every attempt, so receivers can drop repeats.
        let id = format!("msg_{org}_{first}_{last}");
        let body = serde_json::to_vec(&serde_json::json!({
            "type": "oktasync.changes",
            "org": org,
            "changes": changes,
        }))
        .map_err(|e| DeliveryError {
            message: format!("cannot encode the batch: {e}"),
            retry: false,
        })?;
        let timestamp = self.clock.now().timestamp();
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json");
        for (name, value) in self.signer.headers(&id, timestamp, &body) {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.map_err(|e| DeliveryError {
            message: format!("cannot reach {}: {}", redact(&self.url), e.without_url()),
            retry: true,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(DeliveryError {
            message: format!("{} answered {status}", redact(&self.url)),
            // 4xx other than 408/429 usually means the receiver refuses; still retried, as a
            // change must not be skipped, but said so in the log.
            retry: status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429,
        })
    }

    fn describe(&self) -> SinkInfo {
        SinkInfo {
            name: self.name.clone(),
            kind: "webhook".into(),
            target: redact(&self.url),
            orgs: self.orgs.clone(),
            entities: self.entities.iter().cloned().collect(),
        }
    }
}

/// NATS JetStream: one message per change on `<prefix>.<org>.changes`, `Nats-Msg-Id` set
/// (`<org>-<change_id>`) so that the stream drops a repeat, each publish acknowledged by the
/// stream before the position moves.
pub struct Nats {
    pub url: String,
    /// The subjects' first token (default `oktasync`).
    pub prefix: String,
    /// The stream that stores the subjects, created if missing (default `OKTASYNC_CHANGES`).
    pub stream: String,
    pub jetstream: tokio::sync::OnceCell<async_nats::jetstream::Context>,
}

impl Nats {
    pub fn new(url: &str, prefix: &str, stream: &str) -> Self {
        Self {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            stream: stream.to_owned(),
            jetstream: tokio::sync::OnceCell::new(),
        }
    }

    async fn context(&self) -> Result<&async_nats::jetstream::Context, DeliveryError> {
        self.jetstream
            .get_or_try_init(|| async {
                let client = async_nats::connect(self.url.as_str()).await.map_err(|e| DeliveryError {
                    message: format!("cannot reach NATS at {}: {e}", redact(&self.url)),
                    retry: true,
                })?;
                let jetstream = async_nats::jetstream::new(client);
                let config = async_nats::jetstream::stream::Config {
                    name: self.stream.clone(),
                    subjects: vec![format!("{}.*.changes", self.prefix)],
                    ..Default::default()
                };
                // A stream set up by the operator for these subjects (under another name) is
                // fine: publishing is acknowledged by whichever stream holds them.
                if let Err(e) = jetstream.get_or_create_stream(config).await {
                    tracing::warn!(stream = %self.stream, error = %e, "Cannot create the JetStream stream; publishing to an existing one.");
                }
                Ok(jetstream)
            })
            .await
    }
}

#[async_trait]
impl Sink for Nats {
    fn key(&self) -> String {
        format!("nats:{}", self.prefix)
    }

    fn follows(&self, _org: &str) -> bool {
        true
    }

    fn wants(&self, _change: &ChangeRecord) -> bool {
        true
    }

    async fn deliver(&self, org: &str, changes: &[ChangeRecord]) -> Result<(), DeliveryError> {
        let jetstream = self.context().await?;
        let subject = format!("{}.{org}.changes", self.prefix);
        let mut acks = Vec::with_capacity(changes.len());
        for change in changes {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(
                "Nats-Msg-Id",
                format!("{org}-{}", change.change_id).as_str(),
            );
            let payload = serde_json::to_vec(change).map_err(|e| DeliveryError {
                message: format!("cannot encode a change: {e}"),
                retry: false,
            })?;
            let ack = jetstream
                .publish_with_headers(subject.clone(), headers, bytes::Bytes::from(payload))
                .await
                .map_err(|e| DeliveryError {
                    message: format!("cannot publish to {subject}: {e}"),
                    retry: true,
                })?;
            acks.push(ack);
        }
        // In order on the wire; acknowledged as a batch.
        for ack in acks {
            ack.await.map_err(|e| DeliveryError {
                message: format!("JetStream did not store a change on {subject}: {e}"),
                retry: true,
            })?;
        }
        Ok(())
    }

    fn describe(&self) -> SinkInfo {
        SinkInfo {
            name: format!("nats:{}", self.prefix),
            kind: "nats".into(),
            target: format!("{} {}.<org>.changes", redact(&self.url), self.prefix),
            orgs: Vec::new(),
            entities: Vec::new(),
        }
    }
}

/// The wait before attempt `n + 1` after `n` failures in a row: 1 s, doubling, at most
/// [`MAX_RETRY_WAIT`].
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(MAX_RETRY_WAIT)
}

fn stamp(clock: &dyn Clock) -> String {
    oktasync_store::timestamp(clock.now())
}

/// Runs every sink's feed until `stop` turns true.
pub async fn run(
    store: Arc<Mirror>,
    sinks: Vec<Arc<dyn Sink>>,
    clock: Arc<dyn Clock>,
    stop: watch::Receiver<bool>,
) {
    let mut supervisors = Vec::new();
    for sink in sinks {
        supervisors.push(tokio::spawn(follow_orgs(
            store.clone(),
            sink,
            clock.clone(),
            stop.clone(),
        )));
    }
    for s in supervisors {
        let _ = s.await;
    }
}

/// Starts one delivery loop per org the sink follows, as orgs appear in the mirror.
async fn follow_orgs(
    store: Arc<Mirror>,
    sink: Arc<dyn Sink>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    let mut started = BTreeSet::new();
    let mut loops = Vec::new();
    loop {
        match store.org_list().await {
            Ok(orgs) => {
                for org in orgs {
                    if sink.follows(&org.name) && started.insert(org.id) {
                        loops.push(tokio::spawn(deliver_org(
                            store.clone(),
                            sink.clone(),
                            org.id,
                            org.name,
                            clock.clone(),
                            stop.clone(),
                        )));
                    }
                }
            }
            Err(e) => tracing::warn!(sink = %sink.key(), error = %e, "Cannot list the orgs."),
        }
        tokio::select! {
            () = tokio::time::sleep(ORGS_REFRESH) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    for l in loops {
        let _ = l.await;
    }
}

/// Delivers one org's changes to one sink while this instance holds that lease.
async fn deliver_org(
    store: Arc<Mirror>,
    sink: Arc<dyn Sink>,
    org: OrgId,
    name: String,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    let key = sink.key();
    let purpose = format!("feed:{key}");
    while !*stop.borrow() {
        let mut lease = match store.acquire_lease(org, &purpose, clock.now()).await {
            Ok(lease) => lease,
            Err(StoreError::LeaseHeld { .. }) => {
                tokio::select! {
                    () = tokio::time::sleep(crate::LEASE_POLL) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(sink = %key, org = %name, error = %e, "Cannot take the feed's lease; retrying.");
                tokio::time::sleep(crate::LEASE_POLL).await;
                continue;
            }
        };
        let renew_clock = clock.clone();
        lease.renew_in_background(move || renew_clock.now());
        let result = deliver_while_held(
            &store,
            sink.as_ref(),
            org,
            &name,
            &*clock,
            &lease,
            &mut stop,
        )
        .await;
        if let Err(e) = result {
            tracing::warn!(sink = %key, org = %name, error = %e, "The feed stopped; resuming.");
        }
        if let Err(e) = lease.release().await {
            tracing::debug!(error = %e, "Could not release the feed's lease; it expires on its own.");
        }
    }
}

async fn deliver_while_held(
    store: &Mirror,
    sink: &dyn Sink,
    org: OrgId,
    name: &str,
    clock: &dyn Clock,
    lease: &oktasync_store::Lease,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), StoreError> {
    let key = sink.key();
    let mut position = store.feed_position(&key, org).await?;
    let mut failures = 0u32;
    loop {
        if *stop.borrow() || lease.is_lost() {
            return Ok(());
        }
        let query = ChangeQuery {
            after: Some(position),
            limit: Some(FEED_BATCH),
            ..ChangeQuery::default()
        };
        let changes = store.changes(org, &query).await?;
        let Some(last) = changes.last().map(|c| c.change_id) else {
            tokio::select! {
                () = tokio::time::sleep(FEED_POLL) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            continue;
        };
        let wanted: Vec<ChangeRecord> = changes.into_iter().filter(|c| sink.wants(c)).collect();
        let delivered = if wanted.is_empty() {
            Ok(())
        } else {
            sink.deliver(name, &wanted).await
        };
        match delivered {
            Ok(()) => {
                if !wanted.is_empty() {
                    m::record_delivery(&key, "ok", wanted.len() as u64);
                }
                store.feed_delivered(&key, org, last, &stamp(clock)).await?;
                position = last;
                failures = 0;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                m::record_delivery(&key, "failed", 0);
                let wait = backoff(failures);
                if e.retry {
                    tracing::warn!(sink = %key, org = %name, error = %e, wait_s = wait.as_secs(), "Delivery failed; retrying.");
                } else {
                    tracing::error!(sink = %key, org = %name, error = %e, wait_s = wait.as_secs(), "Delivery refused; retrying, as no change may be skipped: fix the receiver.");
                }
                store
                    .feed_failed(&key, org, &e.message, &stamp(clock))
                    .await?;
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
