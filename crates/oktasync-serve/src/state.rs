//! What every handler shares.

use crate::problem::{ApiError, ApiResult};
use crate::scheduler::Scheduler;
use metrics_exporter_prometheus::PrometheusHandle;
use okta_api::Clock;
use oktasync_store::{Mirror, MirrorReader, OrgId};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Mirror>,
    pub clock: Arc<dyn Clock>,
    pub scheduler: Arc<Scheduler>,
    pub metrics: PrometheusHandle,
    /// Whether `/metrics` is served without a token.
    pub metrics_public: bool,
    /// Whether `/openapi.json` and `/docs` are served without a token.
    pub docs_public: bool,
    /// The change feed's sinks, by key.
    pub sinks: Arc<Vec<(String, crate::feed::SinkInfo)>>,
}

impl AppState {
    /// The org named in a path, if the token reaches it.
    pub async fn org(&self, caller: &crate::auth::Caller, name: &str) -> ApiResult<OrgId> {
        caller.check_org(name)?;
        self.store
            .find_org_by_name(name)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("the mirror has no org named {name:?}")))
    }
}
