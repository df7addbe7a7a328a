//! A SCIM 2.0 client (RFC 7644) for the calls a push makes, retried as
//! [`crate::transport`] says.

use crate::mapping::{Attributes, scim_resource};
use crate::plan::{AttributeChange, TargetGroup, TargetUser};
use crate::transport::{Answered, HttpCalls, RetryPolicy, Sender, TargetError, TargetOperation};
use okta_api::Clock;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SCIM_JSON: &str = "application/scim+json";

/// Resources asked for per listing page. Service providers cap `count` at their own maximum
/// (scim2-server: 1000; Entra and Okta apps: 100 to 1000) and the loop follows what they
/// return, so this only trades the number of calls against the size of one answer.
const PAGE_SIZE: usize = 200;

/// A successful answer: its status and its JSON body, if it had one.
struct Answer {
    status: StatusCode,
    body: Option<Value>,
}

/// A SCIM 2.0 service provider.
pub struct ScimClient {
    sender: Sender,
    /// Ends with '/', so that joining "Users" keeps its path.
    base: Url,
    token: SecretString,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ScimClient {
    pub fn new(
        base: &str,
        token: SecretString,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let mut base = Url::parse(base).map_err(|e| format!("{base:?} is not a URL: {e}"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(ScimClient {
            sender: Sender::new(retry, clock)?,
            base,
            token,
        })
    }

    /// The calls made so far by this client (all runs).
    pub fn calls(&self) -> HttpCalls {
        self.sender.calls()
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn call(
        &self,
        operation: TargetOperation,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, TargetError> {
        let path = url.path().to_owned();
        let answered = self
            .sender
            .send(operation, &method, &path, |http| {
                let request = http
                    .request(method.clone(), url.clone())
                    .bearer_auth(self.token.expose_secret())
                    .header(http::header::ACCEPT, SCIM_JSON);
                match body {
                    Some(body) => request
                        .header(http::header::CONTENT_TYPE, SCIM_JSON)
                        .body(body.to_string()),
                    None => request,
                }
            })
            .await?;
        match answered {
            Answered::Success(status, bytes) => {
                let body = if bytes.iter().all(u8::is_ascii_whitespace) {
                    None
                } else {
                    Some(
                        serde_json::from_slice(&bytes).map_err(|e| TargetError::Protocol {
                            operation,
                            path: path.clone(),
                            problem: format!("the body is not JSON ({e})"),
                        })?,
                    )
                };
                Ok(Answer { status, body })
            }
            Answered::Refused(status, bytes) => {
                let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let field = |k: &str| error.get(k).and_then(Value::as_str).map(str::to_owned);
                Err(TargetError::Status {
                    operation,
                    method: method.to_string(),
                    path,
                    status: status.as_u16(),
                    scim_type: field("scimType"),
                    detail: field("detail"),
                })
            }
        }
    }

    /// The user with this userName (`filter=userName eq "…"`), if any.
    pub async fn find_user(&self, user_name: &str) -> Result<Option<TargetUser>, TargetError> {
        let mut url = self.url(&["Users"]);
        url.query_pairs_mut().append_pair(
            "filter",
            &format!("userName eq {}", filter_string(user_name)),
        );
        let answer = self
            .call(TargetOperation::FindUser, Method::GET, url, None)
            .await?;
        let resources = list_resources(TargetOperation::FindUser, "Users", &answer)?;
        // filters on userName are case-insensitive (RFC 7643 caseExact=false); take the exact
        // match if there is one
        let mut users = resources
            .iter()
            .map(|r| target_user(TargetOperation::FindUser, r))
            .collect::<Result<Vec<_>, _>>()?;
        let exact = users.iter().position(|u| u.user_name == user_name);
        Ok(match exact {
            Some(i) => Some(users.swap_remove(i)),
            None => users.into_iter().next(),
        })
    }

    /// `POST /Users`.
    pub async fn create_user(&self, attributes: &Attributes) -> Result<TargetUser, TargetError> {
        let op = TargetOperation::CreateUser;
        let body = scim_resource(attributes);
        let answer = self
            .call(op, Method::POST, self.url(&["Users"]), Some(&body))
            .await?;
        match &answer.body {
            Some(resource) => target_user(op, resource),
            None => Err(TargetError::Protocol {
                operation: op,
                path: "Users".into(),
                problem: format!("HTTP {} without the created user", answer.status),
            }),
        }
    }

    /// `PATCH /Users/{id}` with one operation per change.
    pub async fn update_user(
        &self,
        id: &str,
        changes: &[AttributeChange],
    ) -> Result<(), TargetError> {
        let operations: Vec<Value> = changes
            .iter()
            .map(|c| match c {
                AttributeChange::Replace { path, value } => {
                    json!({"op": "replace", "path": path, "value": value})
                }
                AttributeChange::Remove { path } => json!({"op": "remove", "path": path}),
            })
            .collect();
        self.patch(TargetOperation::UpdateUser, &["Users", id], operations)
            .await
    }

    /// `PATCH active=false`: the account stays, disabled.
    pub async fn deactivate_user(&self, id: &str) -> Result<(), TargetError> {
        let operations = vec![json!({"op": "replace", "path": "active", "value": false})];
        self.patch(TargetOperation::DeactivateUser, &["Users", id], operations)
            .await
    }

    /// `DELETE /Users/{id}`; a user already gone (404) counts as deleted.
    pub async fn delete_user(&self, id: &str) -> Result<(), TargetError> {
        let url = self.url(&["Users", id]);
        match self
            .call(TargetOperation::DeleteUser, Method::DELETE, url, None)
            .await
        {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Every user, page by page.
    pub async fn list_users(&self) -> Result<Vec<TargetUser>, TargetError> {
        let op = TargetOperation::ListUsers;
        let resources = self.list(op, "Users", &[]).await?;
        resources.iter().map(|r| target_user(op, r)).collect()
    }

    /// How many users the target has (`totalResults` of a one-resource page).
    pub async fn count_users(&self) -> Result<u64, TargetError> {
        let op = TargetOperation::ListUsers;
        let mut url = self.url(&["Users"]);
        url.query_pairs_mut()
            .append_pair("startIndex", "1")
            .append_pair("count", "1");
        let answer = self.call(op, Method::GET, url, None).await?;
        list_resources(op, "Users", &answer)?;
        Ok(answer
            .body
            .as_ref()
            .and_then(|b| b.get("totalResults"))
            .and_then(Value::as_u64)
            .unwrap_or(0))
    }

    /// The calls [`ScimClient::list_users`] makes for `total` users (at least one).
    pub fn pages_to_list(total: u64) -> u64 {
        total.div_ceil(PAGE_SIZE as u64).max(1)
    }

    /// Every group with its members, page by page.
    pub async fn list_groups(&self) -> Result<Vec<TargetGroup>, TargetError> {
        let op = TargetOperation::ListGroups;
        let resources = self.list(op, "Groups", &[]).await?;
        resources.iter().map(|r| target_group(op, r)).collect()
    }

    /// The group with this displayName (members left out), if any.
    pub async fn find_group(&self, display_name: &str) -> Result<Option<TargetGroup>, TargetError> {
        let op = TargetOperation::FindGroup;
        let mut url = self.url(&["Groups"]);
        url.query_pairs_mut()
            .append_pair(
                "filter",
                &format!("displayName eq {}", filter_string(display_name)),
            )
            .append_pair("excludedAttributes", "members");
        let answer = self.call(op, Method::GET, url, None).await?;
        let resources = list_resources(op, "Groups", &answer)?;
        let groups = resources
            .iter()
            .map(|r| target_group(op, r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(groups.into_iter().find(|g| g.display_name == display_name))
    }

    /// `POST /Groups` with no members.
    pub async fn create_group(&self, display_name: &str) -> Result<TargetGroup, TargetError> {
        let op = TargetOperation::CreateGroup;
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name});
        let answer = self
            .call(op, Method::POST, self.url(&["Groups"]), Some(&body))
            .await?;
        match &answer.body {
            Some(resource) => target_group(op, resource),
            None => Err(TargetError::Protocol {
                operation: op,
                path: "Groups".into(),
                problem: format!("HTTP {} without the created group", answer.status),
            }),
        }
    }

    /// Adds these users to the group in one PATCH.
    pub async fn add_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TargetError> {
        let members: Vec<Value> = user_ids.iter().map(|id| json!({"value": id})).collect();
        let operations = vec![json!({"op": "add", "path": "members", "value": members})];
        self.patch(
            TargetOperation::UpdateGroupMembers,
            &["Groups", group_id],
            operations,
        )
        .await
    }

    /// Removes these users from the group in one PATCH (`members[value eq "…"]` each).
    pub async fn remove_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TargetError> {
        let operations = user_ids
            .iter()
            .map(|id| {
                json!({"op": "remove", "path": format!("members[value eq {}]", filter_string(id))})
            })
            .collect();
        self.patch(
            TargetOperation::UpdateGroupMembers,
            &["Groups", group_id],
            operations,
        )
        .await
    }

    async fn patch(
        &self,
        op: TargetOperation,
        segments: &[&str],
        operations: Vec<Value>,
    ) -> Result<(), TargetError> {
        let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations});
        self.call(op, Method::PATCH, self.url(segments), Some(&body))
            .await
            .map(|_| ())
    }

    async fn list(
        &self,
        op: TargetOperation,
        endpoint: &str,
        extra: &[(&str, &str)],
    ) -> Result<Vec<Value>, TargetError> {
        let mut all = Vec::new();
        let mut start = 1usize;
        loop {
            let mut url = self.url(&[endpoint]);
            url.query_pairs_mut()
                .append_pair("startIndex", &start.to_string())
                .append_pair("count", &PAGE_SIZE.to_string())
                .extend_pairs(extra);
            let answer = self.call(op, Method::GET, url, None).await?;
            let page = list_resources(op, endpoint, &answer)?;
            let total = answer
                .body
                .as_ref()
                .and_then(|b| b.get("totalResults"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let got = page.len();
            all.extend(page.iter().cloned());
            start += got;
            if got == 0 || start as u64 > total {
                return Ok(all);
            }
        }
    }
}

/// A SCIM filter string literal: quoted, with `"` and `\` escaped (RFC 7644 §3.4.2.2 uses
/// JSON string syntax).
fn filter_string(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

fn list_resources<'a>(
    op: TargetOperation,
    endpoint: &str,
    answer: &'a Answer,
) -> Result<&'a [Value], TargetError> {
    let body = answer.body.as_ref().ok_or_else(|| TargetError::Protocol {
        operation: op,
        path: endpoint.into(),
        problem: "an empty list response".into(),
    })?;
    // an empty ListResponse may leave `Resources` out (RFC 7644 §3.4.2)
    match body.get("Resources") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(TargetError::Protocol {
            operation: op,
            path: endpoint.into(),
            problem: "`Resources` is not an array".into(),
        }),
    }
}

fn target_user(op: TargetOperation, resource: &Value) -> Result<TargetUser, TargetError> {
    let field = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(id), Some(user_name)) = (field("id"), field("userName")) else {
        return Err(TargetError::Protocol {
            operation: op,
            path: "Users".into(),
            problem: "a user without `id` or `userName`".into(),
        });
    };
    Ok(TargetUser {
        id,
        user_name,
        // RFC 7643 leaves `active` optional; a user without it is not disabled
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        resource: resource.clone(),
    })
}

fn target_group(op: TargetOperation, resource: &Value) -> Result<TargetGroup, TargetError> {
    let field = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(id), Some(display_name)) = (field("id"), field("displayName")) else {
        return Err(TargetError::Protocol {
            operation: op,
            path: "Groups".into(),
            problem: "a group without `id` or `displayName`".into(),
        });
    };
    let members = resource
        .get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(TargetGroup {
        id,
        display_name,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_strings_are_escaped() {
        assert_eq!(filter_string("a\"b\\c"), r#""a\"b\\c""#);
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_ids() {
        let c = ScimClient::new(
            "http://127.0.0.1:1/scim/v2",
            SecretString::from("s3cret-token".to_owned()),
            RetryPolicy::default(),
            Arc::new(okta_api::SystemClock),
        )
        .unwrap();
        assert_eq!(
            c.url(&["Users", "a/b c"]).as_str(),
            "http://127.0.0.1:1/scim/v2/Users/a%2Fb%20c"
        );
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
