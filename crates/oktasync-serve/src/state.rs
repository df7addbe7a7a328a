//! What every handler shares.

use crate::problem::{ApiError, ApiResult};
use crate::recent::Recent;
use crate::scheduler::Scheduler;
use metrics_exporter_prometheus::PrometheusHandle;
use okta_api::Clock;
use oktasync_store::{ApiToken, Mirror, MirrorReader, OrgId};
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
    /// Valid tokens by hash, as the database gave them a moment ago.
    pub tokens: Arc<Recent<String, ApiToken>>,
    /// Orgs by name, as the database gave them a moment ago.
    pub orgs: Arc<Recent<String, OrgId>>,
    /// What may be granted, and the Okta clients grants are written with.
    pub grants: Arc<GrantSettings>,
}

/// What the grant routes need besides the mirror.
#[derive(Default)]
pub struct GrantSettings {
    pub policies: oktasync_grants::policy::Policies,
    pub principal: oktasync_grants::check::Principal,
    /// The Okta client of each org this instance syncs, by lower-case name.
    pub clients: std::collections::HashMap<String, okta_api::OktaClient>,
}

impl AppState {
    /// The org named in a path, if the token reaches it.
    pub async fn org(&self, caller: &crate::auth::Caller, name: &str) -> ApiResult<OrgId> {
        caller.check_org(name)?;
        let now = self.clock.now();
        let key = name.to_ascii_lowercase();
        if let Some(id) = self.orgs.get(&key, now) {
            return Ok(id);
        }
        let id =
            self.store.find_org_by_name(name).await?.ok_or_else(|| {
                ApiError::not_found(format!("the mirror has no org named {name:?}"))
            })?;
        self.orgs.put(key, id, now);
        Ok(id)
    }
}
