//! [`OktaClient`]: the endpoints a directory sync needs, on top of one request loop that
//! authorizes each attempt, classifies its outcome, retries with backoff within a budget, and
//! turns final failures into actionable errors.

use crate::OrgUrl;
use crate::auth::{AuthProvider, Credentials, OAuthAuth, SswsAuth};
use crate::buckets::bucket_for;
use crate::config::ClientConfig;
use crate::error::{ApiErrorDetails, Error, Result};
use crate::governor::{Governor, RequestKind};
use crate::metrics::MetricsSnapshot;
use crate::models::{
    ApiToken, AppGrant, AppUser, Application, ApplicationGroupAssignment, Authenticator, Group,
    GroupRule, IdentityProvider, LogEvent, LogStream, NetworkZone, Policy, PolicyRule,
    RoleAssignee, RoleAssignment, User, UserFactor,
};
use crate::pagination::{EndRule, ListingSpec, PageShape, PageStream, page_stream, split_page};
use crate::retry::{self, AttemptOutcome, RetryReason, Verdict};
use crate::transport::{AttemptError, HttpResponse, Reachability, Transport, redirect_error};
use chrono::{DateTime, SecondsFormat, Utc};
use http::{HeaderValue, Method};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use url::Url;

/// Page sizes: Okta's maximum (or recommended) per endpoint, so a sync makes the fewest calls.
pub const USERS_PAGE_LIMIT: u32 = 200;
pub const GROUPS_PAGE_LIMIT: u32 = 200;
/// Okta's default and historical size for group members; recommended 200, allowed 1000.
pub const GROUP_USERS_PAGE_LIMIT: u32 = 1000;
pub const APPS_PAGE_LIMIT: u32 = 200;
pub const APP_USERS_PAGE_LIMIT: u32 = 500;
pub const APP_GROUPS_PAGE_LIMIT: u32 = 200;
pub const IDPS_PAGE_LIMIT: u32 = 200;
/// Okta's maximum for group rules (default 50).
pub const GROUP_RULES_PAGE_LIMIT: u32 = 200;
pub const LOGS_PAGE_LIMIT: u32 = 1000;
/// Okta's maximum for API tokens (default 20).
pub const API_TOKENS_PAGE_LIMIT: u32 = 200;
/// Okta's maximum for log streams (default 20).
pub const LOG_STREAMS_PAGE_LIMIT: u32 = 200;
pub const ROLE_ASSIGNEES_PAGE_LIMIT: u32 = 100;

/// A `filter` for [`OktaClient::list_users`] naming every user status: without a filter Okta
/// leaves DEPROVISIONED users out of the list.
pub const ALL_USER_STATUSES_FILTER: &str = "status eq \"STAGED\" or status eq \"PROVISIONED\" or \
     status eq \"ACTIVE\" or status eq \"RECOVERY\" or status eq \"PASSWORD_EXPIRED\" or \
     status eq \"LOCKED_OUT\" or status eq \"SUSPENDED\" or status eq \"DEPROVISIONED\"";

/// A 401 may be answered by fetching a new token or adding a DPoP nonce; at most this many
/// such extra attempts per request.
const MAX_AUTH_RETRIES: u32 = 2;

/// Where a System Log poll starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStart {
    /// Events published at or after this time.
    Since(DateTime<Utc>),
    /// A `next` link kept from an earlier poll (the checkpoint).
    Next(Url),
}

/// An Okta Management API client. Cheap to clone; clones share the token cache, the
/// governor and the metrics.
#[derive(Clone)]
pub struct OktaClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    auth: Box<dyn AuthProvider>,
}

impl fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaClient")
            .field("org", &self.inner.transport.org)
            .field("auth", &self.inner.auth)
            .finish()
    }
}

impl OktaClient {
    pub fn new(org: OrgUrl, creds: Credentials, config: ClientConfig) -> Result<Self> {
        let auth: Box<dyn AuthProvider> = match &creds {
            Credentials::ApiToken(token) => Box::new(SswsAuth::new(token)?),
            Credentials::OAuth(oauth) => Box::new(OAuthAuth::with_private_key(oauth, &org)?),
            Credentials::OAuthSecret(oauth) => Box::new(OAuthAuth::with_secret(oauth, &org)?),
        };
        let transport = Transport::new(org, config)?;
        Ok(Self {
            inner: Arc::new(Inner { transport, auth }),
        })
    }

    pub fn org(&self) -> &OrgUrl {
        &self.inner.transport.org
    }

    /// Counters since the client was created.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.transport.metrics.snapshot()
    }

    /// The governor's current cap on requests in flight (lowered by concurrency 429s).
    pub fn current_concurrency(&self) -> usize {
        self.inner.transport.governor.concurrency_limit()
    }

    /// One unauthenticated request to the org over this client's HTTP stack (same proxies,
    /// same trusted roots, no redirects): is the org reachable, and if not, why. Not retried,
    /// not counted in [`Self::metrics`]. See [`crate::probe_reachability`] for a check without
    /// credentials.
    pub async fn probe_reachability(&self) -> Reachability {
        crate::transport::probe(&self.inner.transport.http, self.org()).await
    }

    pub(crate) fn max_listing_pages(&self) -> u64 {
        self.inner.transport.config.max_listing_pages
    }

    // ---- lists -------------------------------------------------------------------------

    /// Any list endpoint, following `Link: rel="next"`. `path_and_query` is relative to the
    /// org, e.g. `/api/v1/users?limit=200`.
    pub fn paginate<T: DeserializeOwned + Send + 'static>(
        &self,
        path_and_query: &str,
    ) -> PageStream<T> {
        page_stream(
            self.clone(),
            self.org().join(path_and_query),
            ListingSpec::ARRAY,
        )
    }

    /// [`Self::paginate`] for a listing expected to hold about `expected_items` items (e.g. a
    /// group's `usersCount` from `expand=stats`): the stream ends with
    /// [`Error::RunawayListing`] once it returns more than
    /// [`crate::pagination::expected_size_bound`]`(expected_items)` (twice the count plus
    /// one page), instead of reading a misbehaving server for ever.
    pub fn paginate_expecting<T: DeserializeOwned + Send + 'static>(
        &self,
        path_and_query: &str,
        expected_items: u64,
    ) -> PageStream<T> {
        page_stream(
            self.clone(),
            self.org().join(path_and_query),
            ListingSpec {
                expected_items: Some(expected_items),
                ..ListingSpec::ARRAY
            },
        )
    }

    /// Users. Without a filter Okta leaves out DEPROVISIONED users; to get every user, filter
    /// on every status, e.g. `status eq "ACTIVE" or status eq "DEPROVISIONED" or ...`.
    pub fn list_users(&self, filter: Option<&str>) -> PageStream<User> {
        let mut query = vec![("limit", USERS_PAGE_LIMIT.to_string())];
        if let Some(f) = filter {
            query.push(("filter", f.to_string()));
        }
        self.list(&["users"], &query)
    }

    /// Users matching a `search` expression (Okta evaluates it on any profile attribute, with
    /// `sw`/`co`/`ew`; every status unless the expression names one).
    pub fn search_users(&self, search: &str) -> PageStream<User> {
        self.list(
            &["users"],
            &[
                ("limit", USERS_PAGE_LIMIT.to_string()),
                ("search", search.to_string()),
            ],
        )
    }

    /// Groups; `expand_stats` fills [`Group::stats`] (member and app counts, admin flag).
    pub fn list_groups(&self, filter: Option<&str>, expand_stats: bool) -> PageStream<Group> {
        let mut query = vec![("limit", GROUPS_PAGE_LIMIT.to_string())];
        if let Some(f) = filter {
            query.push(("filter", f.to_string()));
        }
        if expand_stats {
            query.push(("expand", "stats".to_string()));
        }
        self.list(&["groups"], &query)
    }

    pub fn list_group_users(&self, group_id: &str) -> PageStream<User> {
        self.list(
            &["groups", group_id, "users"],
            &[("limit", GROUP_USERS_PAGE_LIMIT.to_string())],
        )
    }

    /// The groups a user is a member of (`GET /users/{id}/groups`, 200 per page).
    pub fn list_user_groups(&self, user_id: &str) -> PageStream<Group> {
        self.list(
            &["users", user_id, "groups"],
            &[("limit", GROUPS_PAGE_LIMIT.to_string())],
        )
    }

    /// [`Self::list_group_users`] for a group whose `usersCount` (from `expand=stats`) is
    /// `expected_members`; see [`Self::paginate_expecting`].
    pub fn list_group_users_expecting(
        &self,
        group_id: &str,
        expected_members: u64,
    ) -> PageStream<User> {
        page_stream(
            self.clone(),
            self.api_url(
                &["groups", group_id, "users"],
                &[("limit", GROUP_USERS_PAGE_LIMIT.to_string())],
            ),
            ListingSpec {
                expected_items: Some(expected_members),
                ..ListingSpec::ARRAY
            },
        )
    }

    pub fn list_apps(&self) -> PageStream<Application> {
        self.list(&["apps"], &[("limit", APPS_PAGE_LIMIT.to_string())])
    }

    pub fn list_app_users(&self, app_id: &str) -> PageStream<AppUser> {
        self.list(
            &["apps", app_id, "users"],
            &[("limit", APP_USERS_PAGE_LIMIT.to_string())],
        )
    }

    pub fn list_app_groups(&self, app_id: &str) -> PageStream<ApplicationGroupAssignment> {
        self.list(
            &["apps", app_id, "groups"],
            &[("limit", APP_GROUPS_PAGE_LIMIT.to_string())],
        )
    }

    pub fn list_idps(&self) -> PageStream<IdentityProvider> {
        self.list(&["idps"], &[("limit", IDPS_PAGE_LIMIT.to_string())])
    }

    pub fn list_group_rules(&self) -> PageStream<GroupRule> {
        self.list(
            &["groups", "rules"],
            &[("limit", GROUP_RULES_PAGE_LIMIT.to_string())],
        )
    }

    /// Policies of one type (`POLICY_TYPES`): Okta lists every policy of the type in one page
    /// unless asked for fewer.
    pub fn list_policies(&self, policy_type: &str) -> PageStream<Policy> {
        self.list(&["policies"], &[("type", policy_type.to_string())])
    }

    pub fn list_policy_rules(&self, policy_id: &str) -> PageStream<PolicyRule> {
        self.list(&["policies", policy_id, "rules"], &[])
    }

    pub fn list_authenticators(&self) -> PageStream<Authenticator> {
        self.list(&["authenticators"], &[])
    }

    /// Network zones: every zone in one page unless asked for fewer.
    pub fn list_network_zones(&self) -> PageStream<NetworkZone> {
        self.list(&["zones"], &[])
    }

    /// API tokens' metadata (never their secrets).
    pub fn list_api_tokens(&self) -> PageStream<ApiToken> {
        self.list(
            &["api-tokens"],
            &[("limit", API_TOKENS_PAGE_LIMIT.to_string())],
        )
    }

    pub fn list_log_streams(&self) -> PageStream<LogStream> {
        self.list(
            &["logStreams"],
            &[("limit", LOG_STREAMS_PAGE_LIMIT.to_string())],
        )
    }

    /// The Okta API scopes granted to an app (`/api/v1/apps/{appId}/grants`).
    pub fn list_app_grants(&self, app_id: &str) -> PageStream<AppGrant> {
        self.list(&["apps", app_id, "grants"], &[])
    }

    /// Users holding admin roles (`/api/v1/iam/assignees/users`; the next link is in the body).
    pub fn list_role_assignees(&self) -> PageStream<RoleAssignee> {
        let url = self.api_url(
            &["iam", "assignees", "users"],
            &[("limit", ROLE_ASSIGNEES_PAGE_LIMIT.to_string())],
        );
        let spec = ListingSpec {
            shape: PageShape::ValueObject,
            ..ListingSpec::ARRAY
        };
        page_stream(self.clone(), url, spec)
    }

    /// System Log polling (no `until`, ascending): follows `next` until a page comes back
    /// empty. Keep the last page's `next` as the checkpoint and pass it as
    /// [`LogStart::Next`] to resume without gaps or duplicates.
    pub fn poll_logs(&self, start: LogStart) -> PageStream<LogEvent> {
        let url = match start {
            LogStart::Since(since) => self.api_url(
                &["logs"],
                &[
                    ("since", since.to_rfc3339_opts(SecondsFormat::Millis, true)),
                    ("limit", LOGS_PAGE_LIMIT.to_string()),
                    ("sortOrder", "ASCENDING".to_string()),
                ],
            ),
            LogStart::Next(url) => Ok(url),
        };
        let spec = ListingSpec {
            end: EndRule::EmptyPage,
            ..ListingSpec::ARRAY
        };
        page_stream(self.clone(), url, spec)
    }

    // ---- single requests ---------------------------------------------------------------

    pub async fn list_user_roles(&self, user_id: &str) -> Result<Vec<RoleAssignment>> {
        self.get_json(self.api_url(&["users", user_id, "roles"], &[])?)
            .await
    }

    pub async fn list_group_roles(&self, group_id: &str) -> Result<Vec<RoleAssignment>> {
        self.get_json(self.api_url(&["groups", group_id, "roles"], &[])?)
            .await
    }

    pub async fn list_user_factors(&self, user_id: &str) -> Result<Vec<UserFactor>> {
        self.get_json(self.api_url(&["users", user_id, "factors"], &[])?)
            .await
    }

    /// A user by id or login; `None` if there is none.
    pub async fn get_user(&self, id_or_login: &str) -> Result<Option<User>> {
        none_if_not_found(
            self.get_json(self.api_url(&["users", id_or_login], &[])?)
                .await,
        )
    }

    pub async fn get_group(&self, group_id: &str) -> Result<Option<Group>> {
        none_if_not_found(
            self.get_json(self.api_url(&["groups", group_id], &[])?)
                .await,
        )
    }

    pub async fn get_app(&self, app_id: &str) -> Result<Option<Application>> {
        none_if_not_found(self.get_json(self.api_url(&["apps", app_id], &[])?).await)
    }

    /// One user's assignment to an app (`GET /api/v1/apps/{appId}/users/{userId}`); `None`
    /// if the user is not assigned (or the app or user is gone).
    pub async fn get_app_user(&self, app_id: &str, user_id: &str) -> Result<Option<AppUser>> {
        none_if_not_found(
            self.get_json(self.api_url(&["apps", app_id, "users", user_id], &[])?)
                .await,
        )
    }

    /// One group's assignment to an app (`GET /api/v1/apps/{appId}/groups/{groupId}`); `None`
    /// if the group is not assigned (or the app or group is gone).
    pub async fn get_app_group(
        &self,
        app_id: &str,
        group_id: &str,
    ) -> Result<Option<ApplicationGroupAssignment>> {
        none_if_not_found(
            self.get_json(self.api_url(&["apps", app_id, "groups", group_id], &[])?)
                .await,
        )
    }

    /// An identity provider by id; `None` if there is none.
    pub async fn get_group_rule(&self, rule_id: &str) -> Result<Option<GroupRule>> {
        none_if_not_found(
            self.get_json(self.api_url(&["groups", "rules", rule_id], &[])?)
                .await,
        )
    }

    /// The org's ThreatInsight configuration (`GET /api/v1/threats/configuration`).
    pub async fn get_threat_insight(&self) -> Result<Value> {
        self.get_json(self.api_url(&["threats", "configuration"], &[])?)
            .await
    }

    pub async fn get_idp(&self, idp_id: &str) -> Result<Option<IdentityProvider>> {
        none_if_not_found(self.get_json(self.api_url(&["idps", idp_id], &[])?).await)
    }

    /// Adds a user to an OKTA_GROUP group. Idempotent: adding a member again succeeds.
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<WriteReceipt> {
        let url = self.api_url(&["groups", group_id, "users", user_id], &[])?;
        self.execute(Method::PUT, url, None, RequestKind::Start, |r| {
            Ok(receipt(r))
        })
        .await
    }

    /// Removes a user from an OKTA_GROUP group.
    pub async fn remove_group_member(&self, group_id: &str, user_id: &str) -> Result<WriteReceipt> {
        let url = self.api_url(&["groups", group_id, "users", user_id], &[])?;
        self.execute(Method::DELETE, url, None, RequestKind::Start, |r| {
            Ok(receipt(r))
        })
        .await
    }

    /// Creates a user with `profile` (`login`, `email`, `firstName`, `lastName`, ...) and no
    /// credentials; `activate` makes it ACTIVE at once (Okta then emails an activation link
    /// unless the org says otherwise), else STAGED.
    pub async fn create_user(
        &self,
        profile: &Value,
        activate: bool,
    ) -> Result<(User, WriteReceipt)> {
        let url = self.api_url(&["users"], &[("activate", activate.to_string())])?;
        let target = format!("POST {}", url.path());
        let body = serde_json::json!({ "profile": profile });
        let (value, receipt) = self
            .execute(Method::POST, url, Some(&body), RequestKind::Start, |r| {
                Ok((parse_json(r)?, receipt(r)))
            })
            .await?;
        let user = serde_json::from_value(value).map_err(|e| Error::InvalidResponse {
            target,
            retries: 0,
            cause: format!("the response does not have the expected shape ({e})"),
        })?;
        Ok((user, receipt))
    }

    /// Deactivates a user (status DEPROVISIONED): it can no longer sign in, and loses its
    /// group memberships and app assignments. The first of the two calls that delete one.
    pub async fn deactivate_user(&self, user_id: &str) -> Result<WriteReceipt> {
        let url = self.api_url(&["users", user_id, "lifecycle", "deactivate"], &[])?;
        self.execute(Method::POST, url, None, RequestKind::Start, |r| {
            Ok(receipt(r))
        })
        .await
    }

    /// Deletes a DEPROVISIONED user for good (on a user of any other status Okta
    /// deactivates it instead).
    pub async fn delete_user(&self, user_id: &str) -> Result<WriteReceipt> {
        let url = self.api_url(&["users", user_id], &[])?;
        self.execute(Method::DELETE, url, None, RequestKind::Start, |r| {
            Ok(receipt(r))
        })
        .await
    }

    // ---- plumbing ----------------------------------------------------------------------

    pub(crate) fn governor(&self) -> &Governor {
        &self.inner.transport.governor
    }

    fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> PageStream<T> {
        page_stream(
            self.clone(),
            self.api_url(segments, query),
            ListingSpec::ARRAY,
        )
    }

    /// `{org}/api/v1/<segments, each percent-encoded>?<query>`.
    fn api_url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url> {
        let mut url = self.org().as_url().clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| Error::InvalidConfig("the org URL cannot take a path".into()))?;
            path.clear().push("api").push("v1");
            for segment in segments {
                if segment.is_empty() {
                    return Err(Error::InvalidConfig(
                        "an id passed to the client is empty".into(),
                    ));
                }
                path.push(segment);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let target = format!("GET {}", url.path());
        let value: Value = self
            .execute(Method::GET, url, None, RequestKind::Start, parse_json)
            .await?;
        serde_json::from_value(value).map_err(|e| Error::InvalidResponse {
            target,
            retries: 0,
            cause: format!("the response does not have the expected shape ({e})"),
        })
    }

    pub(crate) async fn fetch_page(
        &self,
        url: Url,
        shape: PageShape,
        kind: RequestKind,
    ) -> Result<(Vec<Value>, Option<Url>)> {
        let base = self.org().as_url().clone();
        self.execute(Method::GET, url, None, kind, |r| {
            split_page(parse_json(r)?, &r.headers, shape, &base)
        })
        .await
    }

    /// The request loop. `decode` runs inside it, so a body that is cut off or not JSON is
    /// retried like any other failed attempt.
    async fn execute<T>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        kind: RequestKind,
        decode: impl Fn(&HttpResponse) -> Result<T, String>,
    ) -> Result<T> {
        let transport = &self.inner.transport;
        let bucket = bucket_for(&method, url.path());
        let max_retries = transport.config.max_retries;
        let mut retries = 0u32;
        let mut auth_retries = 0u32;
        let mut last_request_id: Option<String> = None;
        loop {
            let auth = self.inner.auth.authorize(transport, &method, &url).await?;
            let mut request = reqwest::Request::new(method.clone(), url.clone());
            if let Some(body) = body {
                *request.body_mut() = Some(body.to_string().into());
            }
            let headers = request.headers_mut();
            headers.insert(
                http::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(http::header::AUTHORIZATION, auth.authorization.clone());
            if let Some(proof) = &auth.dpop {
                headers.insert("dpop", proof.clone());
            }
            if body.is_some() {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            } else if method == Method::PUT || method == Method::POST {
                // Okta answers 411 to a bodiless PUT/POST without Content-Length
                headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
            if retries > 0 {
                headers.insert("x-okta-retry-count", HeaderValue::from(retries));
                if let Some(id) = last_request_id
                    .as_deref()
                    .and_then(|id| HeaderValue::from_str(id).ok())
                {
                    headers.insert("x-okta-retry-for", id);
                }
            }
            let attempt = transport.attempt(bucket, request, kind, retries > 0).await;
            let (reason, last) = match attempt {
                Ok(response) => {
                    last_request_id = header(&response, "x-okta-request-id");
                    let verdict = retry::classify(&AttemptOutcome::Response {
                        status: response.status,
                        headers: &response.headers,
                    });
                    match verdict {
                        Verdict::Success => match decode(&response) {
                            Ok(value) => return Ok(value),
                            Err(cause) => (RetryReason::TruncatedBody, Failure::Body(cause)),
                        },
                        Verdict::Fail => {
                            if response.status == 401
                                && auth_retries < MAX_AUTH_RETRIES
                                && self.inner.auth.rejected(&response.headers, &auth)
                            {
                                auth_retries += 1;
                                continue;
                            }
                            return Err(error_for(&method, &url, &response, bucket, retries));
                        }
                        Verdict::Retry(reason) => (reason, Failure::Response(response)),
                    }
                }
                Err(error) => {
                    let Some(reason) = retry::retry_reason_for(&error) else {
                        return Err(error.into_error(format!("{method} {}", url.path()), retries));
                    };
                    (reason, Failure::Attempt(error))
                }
            };
            if retries >= max_retries {
                let target = format!("{method} {}", url.path());
                return Err(match last {
                    Failure::Response(response) => {
                        error_for(&method, &url, &response, bucket, retries)
                    }
                    Failure::Attempt(error) => error.into_error(target, retries),
                    Failure::Body(cause) => Error::InvalidResponse {
                        target,
                        retries,
                        cause,
                    },
                });
            }
            transport.backoff_sleep(bucket, retries, reason).await;
            retries += 1;
        }
    }
}

enum Failure {
    Response(HttpResponse),
    /// No complete response (timeout, connection, a body cut off).
    Attempt(AttemptError),
    /// A complete response whose body could not be decoded.
    Body(String),
}

fn header(response: &HttpResponse, name: &str) -> Option<String> {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn parse_json(response: &HttpResponse) -> Result<Value, String> {
    serde_json::from_slice(&response.body)
        .map_err(|e| format!("the body is not complete JSON ({e})"))
}

/// What Okta answered to a write it accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReceipt {
    /// The response's `X-Okta-Request-Id`; the System Log event of the write names it too
    /// (`debugContext.debugData.requestId`), which ties an audit record to Okta's own.
    pub request_id: Option<String>,
}

fn receipt(response: &HttpResponse) -> WriteReceipt {
    WriteReceipt {
        request_id: header(response, "x-okta-request-id"),
    }
}

fn none_if_not_found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Okta's error body fields.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OktaErrorBody {
    error_code: Option<String>,
    error_summary: Option<String>,
    error_id: Option<String>,
    #[serde(default)]
    error_causes: Vec<OktaErrorCause>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OktaErrorCause {
    error_summary: Option<String>,
}

fn error_for(
    method: &Method,
    url: &Url,
    response: &HttpResponse,
    bucket: &str,
    retries: u32,
) -> Error {
    let body: OktaErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let details = Box::new(ApiErrorDetails {
        method: method.to_string(),
        path: url.path().to_string(),
        status: response.status,
        error_code: body.error_code,
        error_summary: body.error_summary,
        error_id: body.error_id,
        error_causes: body
            .error_causes
            .into_iter()
            .filter_map(|c| c.error_summary)
            .collect(),
        request_id: header(response, "x-okta-request-id"),
    });
    let params = crate::auth::www_authenticate_params(&response.headers);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match response.status {
        300..=399 => redirect_error(method, url, response),
        // a 401 on any endpoint (the System Log included) is the credentials, never a
        // permission: Okta answers 403 for those
        401 => Error::InvalidToken(details),
        403 if param("error").as_deref() == Some("insufficient_scope") => Error::MissingScope {
            scope: param("scope").unwrap_or_else(|| "(not named by Okta)".into()),
            details,
        },
        403 => Error::Forbidden(details),
        404 => Error::NotFound(details),
        429 => Error::RateLimited {
            bucket: bucket.to_string(),
            retries,
            details,
        },
        500..=599 => Error::Server { retries, details },
        _ => Error::Api(details),
    }
}
