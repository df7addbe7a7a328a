//! Pages as async streams that follow Okta's `next` links: from the `Link` header (two header
//! lines, `self` then `next`, or comma-joined), or from the body (`/iam/assignees/users`).
//! A next link to another origin is refused (credentials never leave the org), and a link
//! seen before ends the stream with an error instead of looping.

use crate::buckets::bucket_for;
use crate::client::OktaClient;
use crate::error::{Error, Result};
use crate::governor::RequestKind;
use futures::stream::{self, BoxStream, StreamExt};
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;
use std::marker::PhantomData;
use url::Url;

/// One page of results and the link to the next (None on the last page, except for System
/// Log polling, where the link is the checkpoint to resume from).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Url>,
}

/// A stream of pages; it ends after the last page or the first error.
pub type PageStream<T> = BoxStream<'static, Result<Page<T>>>;

/// Where a list's items and next link are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageShape {
    /// A JSON array; next in the `Link` header.
    Array,
    /// `{"value": [...], "_links": {"next": {"href": ...}}}` (also checks `Link`).
    ValueObject,
}

/// When a stream is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndRule {
    /// When a page has no next link.
    NoNext,
    /// When a page is empty (System Log polling always has a next link).
    EmptyPage,
}

/// The `rel="next"` target among a response's `Link` headers.
pub(crate) fn next_link(headers: &HeaderMap, base: &Url) -> Option<Url> {
    for value in headers.get_all(http::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for link in split_links(text) {
            let Some((target, params)) = link
                .trim()
                .strip_prefix('<')
                .and_then(|l| l.split_once('>'))
            else {
                continue;
            };
            let is_next = params.split(';').any(|p| {
                let Some((k, v)) = p.split_once('=') else {
                    return false;
                };
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return base.join(target.trim()).ok();
            }
        }
    }
    None
}

/// Splits a comma-joined Link header value, keeping commas inside `<...>` and quotes.
fn split_links(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_angle, mut in_quote, mut start) = (false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            '"' if !in_angle => in_quote = !in_quote,
            ',' if !in_angle && !in_quote => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A listing with pages still to read: the governor counts it while this lives, and keeps
/// part of the bucket's budget for its next pages (see `governor`).
struct OpenListing {
    client: OktaClient,
    bucket: &'static str,
}

impl OpenListing {
    fn new(client: &OktaClient, url: &Url) -> Self {
        let bucket = bucket_for(&http::Method::GET, url.path());
        client.governor().open_listing(bucket);
        Self {
            client: client.clone(),
            bucket,
        }
    }
}

impl Drop for OpenListing {
    fn drop(&mut self) {
        self.client.governor().close_listing(self.bucket);
    }
}

struct StreamState<T> {
    client: OktaClient,
    next: Option<Url>,
    /// Set from the first next link until the last page (or an error).
    open: Option<OpenListing>,
    seen: HashSet<String>,
    shape: PageShape,
    end: EndRule,
    failed: Option<Error>,
    _items: PhantomData<fn() -> T>,
}

pub(crate) fn page_stream<T>(
    client: OktaClient,
    first: Result<Url>,
    shape: PageShape,
    end: EndRule,
) -> PageStream<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let (next, failed) = match first {
        Ok(url) => (Some(url), None),
        Err(e) => (None, Some(e)),
    };
    let state = StreamState::<T> {
        client,
        next,
        open: None,
        seen: HashSet::new(),
        shape,
        end,
        failed,
        _items: PhantomData,
    };
    stream::unfold(state, |mut st| async move {
        if let Some(e) = st.failed.take() {
            st.next = None;
            st.open = None;
            return Some((Err(e), st));
        }
        let url = st.next.take()?;
        if let Err(e) = st.check_link(&url) {
            st.open = None;
            return Some((Err(e), st));
        }
        let target = format!("GET {}", url.path());
        let kind = if st.open.is_some() {
            RequestKind::NextPage
        } else {
            RequestKind::Start
        };
        let result = st.client.fetch_page(url, st.shape, kind).await;
        let (values, next) = match result {
            Ok(page) => page,
            Err(e) => {
                st.open = None;
                return Some((Err(e), st));
            }
        };
        let items = match values
            .into_iter()
            .map(serde_json::from_value::<T>)
            .collect::<Result<Vec<T>, _>>()
        {
            Ok(items) => items,
            Err(e) => {
                let err = Error::InvalidResponse {
                    target,
                    retries: 0,
                    cause: format!("an item does not have the expected shape ({e})"),
                };
                st.open = None;
                return Some((Err(err), st));
            }
        };
        let finished = match st.end {
            EndRule::NoNext => next.is_none(),
            EndRule::EmptyPage => items.is_empty() || next.is_none(),
        };
        if finished {
            st.open = None;
        } else {
            if st.open.is_none() {
                st.open = next.as_ref().map(|url| OpenListing::new(&st.client, url));
            }
            st.next = next.clone();
        }
        Some((Ok(Page { items, next }), st))
    })
    .boxed()
}

impl<T> StreamState<T> {
    fn check_link(&mut self, url: &Url) -> Result<()> {
        let org = self.client.org();
        if !org.same_origin(url) {
            return Err(Error::ForeignNextLink {
                link_origin: url.origin().ascii_serialization(),
                org_origin: org.origin(),
            });
        }
        if !self.seen.insert(url.as_str().to_string()) {
            return Err(Error::RepeatedCursor {
                url: url.to_string(),
            });
        }
        Ok(())
    }
}

/// Splits a list response body into its items and its next link.
pub(crate) fn split_page(
    body: Value,
    headers: &HeaderMap,
    shape: PageShape,
    base: &Url,
) -> Result<(Vec<Value>, Option<Url>), String> {
    let header_next = next_link(headers, base);
    match (shape, body) {
        (PageShape::Array, Value::Array(items)) => Ok((items, header_next)),
        (PageShape::ValueObject, Value::Object(mut obj)) => {
            let items = match obj.remove("value") {
                Some(Value::Array(items)) => items,
                None | Some(Value::Null) => Vec::new(),
                Some(_) => return Err("\"value\" is not an array".into()),
            };
            let body_next = obj
                .get("_links")
                .and_then(|l| l.get("next"))
                .and_then(|n| n.get("href"))
                .and_then(Value::as_str)
                .and_then(|href| base.join(href).ok());
            Ok((items, body_next.or(header_next)))
        }
        (PageShape::ValueObject, Value::Array(items)) => Ok((items, header_next)),
        (_, other) => Err(format!("expected a JSON array, got {}", kind(&other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn finds_next_in_separate_or_joined_headers() {
        let base = Url::parse("https://acme.okta.com/").unwrap();
        let mut h = HeaderMap::new();
        h.append(
            http::header::LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\"",
            ),
        );
        h.append(
            http::header::LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/users?after=000u1&limit=200>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h, &base).unwrap().as_str(),
            "https://acme.okta.com/api/v1/users?after=000u1&limit=200"
        );

        let mut joined = HeaderMap::new();
        joined.insert(
            "link",
            HeaderValue::from_static("<https://acme.okta.com/api/v1/logs?since=a,b>; rel=\"self\", <https://acme.okta.com/api/v1/logs?after=1_1>; rel=next"),
        );
        assert_eq!(
            next_link(&joined, &base).unwrap().as_str(),
            "https://acme.okta.com/api/v1/logs?after=1_1"
        );

        let mut only_self = HeaderMap::new();
        only_self.insert(
            "link",
            HeaderValue::from_static("<https://acme.okta.com/api/v1/users>; rel=\"self\""),
        );
        assert!(next_link(&only_self, &base).is_none());
    }

    #[test]
    fn body_links_for_assignees() {
        let base = Url::parse("https://acme.okta.com/").unwrap();
        let body = serde_json::json!({"value":[{"id":"00u1"}],"_links":{"next":{"href":"https://acme.okta.com/api/v1/iam/assignees/users?after=00u1&limit=1"}}});
        let (items, next) =
            split_page(body, &HeaderMap::new(), PageShape::ValueObject, &base).unwrap();
        assert_eq!(items.len(), 1);
        assert!(next.unwrap().as_str().ends_with("after=00u1&limit=1"));
        assert!(
            split_page(
                serde_json::json!({"a":1}),
                &HeaderMap::new(),
                PageShape::Array,
                &base
            )
            .is_err()
        );
    }
}
