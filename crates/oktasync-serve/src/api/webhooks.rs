//! `GET /v1/webhooks`: the change feed's sinks and how far each has been delivered.

use crate::auth::Caller;
use crate::feed::SinkInfo;
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::{FeedLog, MirrorReader};
use serde::Serialize;
use utoipa::ToSchema;

/// Where one sink stands with one org.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub org: String,
    /// The last change delivered (`change_id` in `/changes`).
    pub delivered_change_id: i64,
    pub delivered_at: Option<String>,
    /// Changes in the log after it, waiting.
    pub pending: u64,
    /// Failed attempts since the last success.
    pub failures: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// A sink with its deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct SinkState {
    #[serde(flatten)]
    pub sink: SinkInfo,
    pub deliveries: Vec<Delivery>,
}

/// The sinks this instance is configured with.
#[derive(Debug, Serialize, ToSchema)]
pub struct SinkList {
    pub items: Vec<SinkState>,
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = SinkList)),
    security(("bearer" = [])))]
/// The change feed's webhooks, and per org the last change each received, what waits, and
/// its failures.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<SinkList>> {
    let orgs = state.store.org_list().await?;
    let positions = state.store.feed_positions().await?;
    let mut items = Vec::new();
    for (key, sink) in state.sinks.iter() {
        let mut deliveries = Vec::new();
        for p in positions.iter().filter(|p| &p.sink == key) {
            let Some(org) = orgs.iter().find(|o| o.id.0 == p.org_id) else {
                continue;
            };
            if !caller.reaches(&org.name) {
                continue;
            }
            let pending = state
                .store
                .changes(
                    org.id,
                    &oktasync_store::ChangeQuery {
                        after: Some(p.change_id),
                        limit: Some(10_000),
                        ..Default::default()
                    },
                )
                .await?
                .len() as u64;
            deliveries.push(Delivery {
                org: org.name.clone(),
                delivered_change_id: p.change_id,
                delivered_at: p.delivered_at.clone(),
                pending,
                failures: p.failures,
                last_error: p.last_error.clone(),
                last_error_at: p.last_error_at.clone(),
            });
        }
        items.push(SinkState {
            sink: sink.clone(),
            deliveries,
        });
    }
    Ok(Json(SinkList { items }))
}
