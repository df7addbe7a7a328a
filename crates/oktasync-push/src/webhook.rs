//! `kind = "webhook"`: the plan a SCIM target would get, posted as JSON batches to a URL and
//! signed as serve's change-feed webhooks are (Standard Webhooks: `webhook-id`,
//! `webhook-timestamp`, `webhook-signature`).
//!
//! A batch is one POST:
//!
//! ```json
//! {"type": "oktasync.push", "target": "audit", "full": false, "batch": 1, "batches": 2,
//!  "operations": [
//!    {"op": "create", "okta_user_id": "00u1", "login": "ada@example.com",
//!     "attributes": {"userName": "ada@example.com", "active": true, "...": "..."}},
//!    {"op": "group_add", "group": "engineers", "user_name": "ada@example.com",
//!     "target_user_id": null, "okta_user_id": "00u1"},
//!    {"op": "update", "okta_user_id": "00u2", "login": "bo@example.com",
//!     "target_user_id": "00u2", "changes": [{"op": "replace", "path": "title", "value": "CTO"}]},
//!    {"op": "deactivate", "okta_user_id": "00u3", "user_name": "cy@example.com",
//!     "target_user_id": "00u3", "reason": "left-scope"}
//!  ]}
//! ```
//!
//! Operations are `create`, `update`, `deactivate`, `delete`, `group_add` and `group_remove`,
//! with the fields of the plan's entries ([`crate::plan`]); a receiver keys users by
//! `okta_user_id` (a webhook target has no ids of its own: the push state records the Okta
//! id as the target id). All operations of one user travel in the same batch, in order. In a
//! full push (`"full": true`) every user in scope is sent as a `create` with its `group_add`s:
//! its whole state, to replace what the receiver holds.
//!
//! A batch keeps its `webhook-id` on every attempt, so a receiver can drop repeats; transient
//! failures are retried as every target call is ([`crate::transport`]). When a batch fails for
//! good, the run stops posting: its users and those of the batches after it keep their
//! previous push records, so the next push sends them again.

use crate::plan::{MembershipChange, Plan, UserCreate, UserRemoval, UserUpdate};
use crate::transport::{Answered, HttpCalls, RetryPolicy, Sender, TargetError, TargetOperation};
use okta_api::Clock;
use oktasync_webhook::{Signer, redact_url};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use url::Url;

/// Users per batch (with all their operations): one POST for a typical incremental push, and
/// a first push of 10,000 users in 100 requests of a few hundred kilobytes.
pub const USERS_PER_BATCH: usize = 100;

/// One plan entry as posted.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation<'a> {
    Create(&'a UserCreate),
    Update(&'a UserUpdate),
    Deactivate(&'a UserRemoval),
    Delete(&'a UserRemoval),
    GroupAdd(&'a MembershipChange),
    GroupRemove(&'a MembershipChange),
}

impl Operation<'_> {
    fn count(&self, counts: &mut crate::run::DoneCounts) {
        match self {
            Operation::Create(_) => counts.created += 1,
            Operation::Update(_) => counts.updated += 1,
            Operation::Deactivate(_) => counts.deactivated += 1,
            Operation::Delete(_) => counts.deleted += 1,
            Operation::GroupAdd(_) => counts.group_adds += 1,
            Operation::GroupRemove(_) => counts.group_removes += 1,
        }
    }
}

/// One user's operations, in the order they apply.
#[derive(Debug)]
pub struct UserOperations<'a> {
    /// The Okta user id (a user in Okta's scope or pushed before).
    pub key: String,
    /// The Okta login, or the userName pushed, for messages.
    pub login: String,
    pub operations: Vec<Operation<'a>>,
}

/// The plan as per-user operation lists: user changes first (creates, updates, deactivations,
/// deletions, as the plan lists them), each followed by that user's group changes; then the
/// users whose groups alone change.
pub fn operations_by_user<'p>(plan: &'p Plan) -> Vec<UserOperations<'p>> {
    let mut users: Vec<UserOperations<'p>> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    fn slot(
        users: &mut Vec<UserOperations<'_>>,
        index: &mut BTreeMap<String, usize>,
        key: &str,
        login: &str,
    ) -> usize {
        *index.entry(key.to_owned()).or_insert_with(|| {
            users.push(UserOperations {
                key: key.to_owned(),
                login: login.to_owned(),
                operations: Vec::new(),
            });
            users.len() - 1
        })
    }
    for c in &plan.creates {
        let i = slot(&mut users, &mut index, &c.okta_user_id, &c.login);
        users[i].operations.push(Operation::Create(c));
    }
    for u in &plan.updates {
        let i = slot(&mut users, &mut index, &u.okta_user_id, &u.login);
        users[i].operations.push(Operation::Update(u));
    }
    for (removals, make) in [
        (
            &plan.deactivations,
            Operation::Deactivate as fn(&'p UserRemoval) -> Operation<'p>,
        ),
        (&plan.deletions, Operation::Delete),
    ] {
        for r in removals {
            let i = slot(&mut users, &mut index, r.key(), &r.user_name);
            users[i].operations.push(make(r));
        }
    }
    for (changes, make) in [
        (
            &plan.group_adds,
            Operation::GroupAdd as fn(&'p MembershipChange) -> Operation<'p>,
        ),
        (&plan.group_removes, Operation::GroupRemove),
    ] {
        for m in changes {
            let i = slot(&mut users, &mut index, m.key(), &m.user_name);
            users[i].operations.push(make(m));
        }
    }
    users
}

/// A webhook receiver.
pub struct WebhookClient {
    sender: Sender,
    url: Url,
    signer: Signer,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient")
            .field("url", &redact_url(self.url.as_str()))
            .finish_non_exhaustive()
    }
}

impl WebhookClient {
    pub fn new(
        url: &str,
        secret: &SecretString,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        Ok(WebhookClient {
            sender: Sender::new(retry, clock)?,
            url,
            signer: Signer::from_secret(secret.expose_secret()),
        })
    }

    /// The calls made so far by this client (all runs).
    pub fn calls(&self) -> HttpCalls {
        self.sender.calls()
    }

    /// Posts one batch, signed; `id` is the delivery's `webhook-id`, the same on every attempt.
    pub async fn post(&self, id: &str, body: Vec<u8>) -> Result<(), TargetError> {
        let operation = TargetOperation::PostBatch;
        let path = redact_url(self.url.as_str());
        // shared, not copied, by the attempts
        let body = bytes::Bytes::from(body);
        let answered = self
            .sender
            .send(operation, &Method::POST, &path, |http| {
                // signed per attempt: the timestamp is the attempt's, so a receiver's replay
                // window holds for late retries too
                let timestamp = self.sender.clock.now().timestamp();
                let mut request = http
                    .post(self.url.clone())
                    .header(http::header::CONTENT_TYPE, "application/json");
                for (name, value) in self.signer.headers(id, timestamp, &body) {
                    request = request.header(name, value);
                }
                request.body(body.clone())
            })
            .await?;
        match answered {
            Answered::Success(..) => Ok(()),
            Answered::Refused(status, _) => Err(TargetError::Status {
                operation,
                method: "POST".into(),
                path,
                status: status.as_u16(),
                scim_type: None,
                detail: None,
            }),
        }
    }
}

/// One batch's body.
#[derive(Serialize)]
pub(crate) struct Batch<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub target: &'a str,
    pub full: bool,
    /// 1-based.
    pub batch: usize,
    pub batches: usize,
    pub operations: Vec<&'a Operation<'a>>,
}

/// What posting the batches did.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    pub counts: crate::run::DoneCounts,
    /// Keys of the users whose batch was accepted.
    pub sent: BTreeSet<String>,
    /// (key, login, message) of the users not delivered.
    pub failed: Vec<(String, String, String)>,
}

/// Posts the plan in batches of [`USERS_PER_BATCH`] users, in order, until one fails for good.
pub(crate) async fn deliver(
    client: &WebhookClient,
    target: &str,
    full: bool,
    run_id: &str,
    plan: &Plan,
) -> Delivered {
    let users = operations_by_user(plan);
    let batches: Vec<&[UserOperations<'_>]> = users.chunks(USERS_PER_BATCH).collect();
    let mut delivered = Delivered::default();
    let mut stopped: Option<String> = None;
    for (n, chunk) in batches.iter().enumerate() {
        if let Some(reason) = &stopped {
            delivered.failed.extend(chunk.iter().map(|u| {
                (
                    u.key.clone(),
                    u.login.clone(),
                    format!("not sent: {reason}"),
                )
            }));
            continue;
        }
        let body = Batch {
            kind: "oktasync.push",
            target,
            full,
            batch: n + 1,
            batches: batches.len(),
            operations: chunk.iter().flat_map(|u| &u.operations).collect(),
        };
        let result = match serde_json::to_vec(&body) {
            Ok(bytes) => {
                client
                    .post(&format!("msg_push_{target}_{run_id}_{}", n + 1), bytes)
                    .await
            }
            Err(e) => Err(TargetError::Request {
                operation: TargetOperation::PostBatch,
                method: "POST".into(),
                path: redact_url(client.url.as_str()),
                message: format!("cannot encode the batch: {e}"),
            }),
        };
        match result {
            Ok(()) => {
                for u in chunk.iter() {
                    u.operations
                        .iter()
                        .for_each(|op| op.count(&mut delivered.counts));
                    delivered.sent.insert(u.key.clone());
                }
            }
            Err(e) => {
                tracing::warn!(target, batch = n + 1, "{e}");
                delivered.failed.extend(
                    chunk
                        .iter()
                        .map(|u| (u.key.clone(), u.login.clone(), e.to_string())),
                );
                stopped = Some(format!("batch {} failed ({e})", n + 1));
            }
        }
    }
    delivered
}
