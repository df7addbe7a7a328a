//! Pages as async streams that follow Okta's `next` links: from the `Link` header (two header
//! lines, `self` then `next`, or comma-joined), or from the body (`/iam/assignees/users`).
//! A next link to another origin is refused (credentials never leave the org).
//!
//! Every listing must end, whatever the server does. A stream ends with an error, naming the
//! endpoint, when the server
//! - sends a next link it sent before ([`Error::RepeatedCursor`]);
//! - sends the same items again under a fresh cursor: a non-empty page with the same ids in the
//!   same order as an earlier page, or an empty page right after an empty page
//!   ([`ListingProblem::RepeatedPage`]);
//! - sends more than the listing can hold: more items than the caller's expected size allows
//!   ([`OktaClient::paginate_expecting`]), or more pages than any Okta listing has
//!   ([`crate::config::DEFAULT_MAX_LISTING_PAGES`]) ([`ListingProblem::TooManyItems`],
//!   [`ListingProblem::TooManyPages`]).
//!
//! Pages and next links are remembered as 64-bit hashes, so a listing's bookkeeping stays a
//! few bytes per page.

use crate::buckets::bucket_for;
use crate::client::OktaClient;
use crate::error::{Error, ListingProblem, Result};
use crate::governor::RequestKind;
use futures::stream::{self, BoxStream, StreamExt};
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
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

/// How far past its expected size a listing may run: twice the expected count plus this many
/// items. The expected size comes from counts read earlier (a group's `usersCount` from
/// `expand=stats`), and a group may grow while it is read (a group rule can add thousands of
/// members at once); twice the count plus one page of the largest page size (1000 group
/// members) leaves room for that and still stops a runaway listing within a few pages.
pub const EXPECTED_SIZE_SLACK_ITEMS: u64 = 1000;

/// The most items a listing expected to hold `expected` may return.
pub fn expected_size_bound(expected: u64) -> u64 {
    expected
        .saturating_mul(2)
        .saturating_add(EXPECTED_SIZE_SLACK_ITEMS)
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

/// What a listing has returned so far, to tell a listing that ends from one that never does.
#[derive(Debug)]
struct ListingGuard {
    /// `GET /path` of the first request, for errors.
    endpoint: String,
    /// Hashes of the next links followed.
    links: HashSet<u64>,
    /// Hash of each non-empty page's item keys → its page number.
    pages_seen: HashMap<u64, u64>,
    previous_was_empty: bool,
    pages: u64,
    items: u64,
    max_pages: u64,
    expected_items: Option<u64>,
}

impl ListingGuard {
    fn new(endpoint: String, max_pages: u64, expected_items: Option<u64>) -> Self {
        Self {
            endpoint,
            links: HashSet::new(),
            pages_seen: HashMap::new(),
            previous_was_empty: false,
            pages: 0,
            items: 0,
            max_pages,
            expected_items,
        }
    }

    fn runaway(&self, problem: ListingProblem) -> Error {
        Error::RunawayListing {
            endpoint: self.endpoint.clone(),
            pages: self.pages,
            problem,
        }
    }

    /// Before following `url`.
    fn follow(&mut self, url: &Url) -> Result<()> {
        if !self.links.insert(hash_of(url.as_str())) {
            return Err(Error::RepeatedCursor {
                endpoint: self.endpoint.clone(),
                url: url.to_string(),
            });
        }
        if self.pages >= self.max_pages {
            return Err(self.runaway(ListingProblem::TooManyPages {
                pages: self.pages,
                bound: self.max_pages,
            }));
        }
        Ok(())
    }

    /// After a page arrived, before it is handed out.
    fn accept(&mut self, items: &[Value]) -> Result<()> {
        self.pages += 1;
        self.items += items.len() as u64;
        if items.is_empty() {
            if std::mem::replace(&mut self.previous_was_empty, true) {
                return Err(self.runaway(ListingProblem::RepeatedPage {
                    page: self.pages,
                    earlier_page: self.pages - 1,
                }));
            }
        } else {
            self.previous_was_empty = false;
            if let Some(earlier) = self.pages_seen.insert(page_key(items), self.pages) {
                return Err(self.runaway(ListingProblem::RepeatedPage {
                    page: self.pages,
                    earlier_page: earlier,
                }));
            }
        }
        if let Some(expected) = self.expected_items {
            let bound = expected_size_bound(expected);
            if self.items > bound {
                return Err(self.runaway(ListingProblem::TooManyItems {
                    items: self.items,
                    bound,
                    expected,
                }));
            }
        }
        Ok(())
    }
}

fn hash_of(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// A page's identity: the sequence of its items' ids (`id`, or `uuid` for log events; the
/// whole item where there is neither), hashed.
fn page_key(items: &[Value]) -> u64 {
    let mut h = DefaultHasher::new();
    items.len().hash(&mut h);
    for item in items {
        match item
            .get("id")
            .or_else(|| item.get("uuid"))
            .and_then(Value::as_str)
        {
            Some(id) => id.hash(&mut h),
            None => item.to_string().hash(&mut h),
        }
    }
    h.finish()
}

struct StreamState<T> {
    client: OktaClient,
    next: Option<Url>,
    /// Set from the first next link until the last page (or an error).
    open: Option<OpenListing>,
    guard: ListingGuard,
    shape: PageShape,
    end: EndRule,
    failed: Option<Error>,
    _items: PhantomData<fn() -> T>,
}

/// How one listing is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListingSpec {
    pub shape: PageShape,
    pub end: EndRule,
    /// The number of items the caller expects (see [`expected_size_bound`]).
    pub expected_items: Option<u64>,
}

impl ListingSpec {
    pub(crate) const ARRAY: Self = Self {
        shape: PageShape::Array,
        end: EndRule::NoNext,
        expected_items: None,
    };
}

pub(crate) fn page_stream<T>(
    client: OktaClient,
    first: Result<Url>,
    spec: ListingSpec,
) -> PageStream<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let endpoint = match &first {
        Ok(url) => format!("GET {}", url.path()),
        Err(_) => String::new(),
    };
    let (next, failed) = match first {
        Ok(url) => (Some(url), None),
        Err(e) => (None, Some(e)),
    };
    let max_pages = client.max_listing_pages();
    let state = StreamState::<T> {
        client,
        next,
        open: None,
        guard: ListingGuard::new(endpoint, max_pages, spec.expected_items),
        shape: spec.shape,
        end: spec.end,
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
        if let Err(e) = st.guard.accept(&values) {
            st.open = None;
            return Some((Err(e), st));
        }
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
        self.guard.follow(url)
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
    use proptest::prelude::{Just, Strategy, any, prop_oneof};

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

    /// One `Link` entry as a server may write it.
    #[derive(Debug, Clone)]
    struct LinkEntry {
        target: String,
        /// The `rel` value(s), space-separated.
        rel: String,
        quoted_rel: bool,
        rel_key: &'static str,
        /// Parameters before and after `rel` (`title`, `type`, `rev`, ...), already written.
        before: Vec<String>,
        after: Vec<String>,
        /// Spaces around `;` and `=`.
        spacing: (&'static str, &'static str),
    }

    impl LinkEntry {
        fn is_next(&self) -> bool {
            self.rel
                .split_whitespace()
                .any(|r| r.eq_ignore_ascii_case("next"))
        }

        fn write(&self) -> String {
            let (around_semi, around_eq) = self.spacing;
            let rel = if self.quoted_rel {
                format!("\"{}\"", self.rel)
            } else {
                self.rel.clone()
            };
            let mut params = self.before.clone();
            params.push(format!("{}{around_eq}={around_eq}{rel}", self.rel_key));
            params.extend(self.after.iter().cloned());
            let mut out = format!("<{}>", self.target);
            for p in params {
                out.push_str(&format!("{around_semi};{around_semi}{p}"));
            }
            out
        }
    }

    fn link_target() -> impl Strategy<Value = String> {
        let path = "(/[a-z0-9_.-]{1,8}){1,4}";
        let query =
            "(\\?[a-z]{1,6}=[a-zA-Z0-9,;:%_.-]{0,12}(&[a-z]{1,6}=[a-zA-Z0-9,;:%_.-]{0,12}){0,2})?";
        prop_oneof![
            // absolute on the org, absolute elsewhere, relative to the origin
            (path, query).prop_map(|(p, q)| format!("https://acme.okta.com{p}{q}")),
            (path, query).prop_map(|(p, q)| format!("https://other.example:8443{p}{q}")),
            (path, query).prop_map(|(p, q)| format!("{p}{q}")),
        ]
    }

    /// Parameters that are not `rel`: quoted values may hold commas, semicolons and spaces
    /// (never a `rel=` of their own), and `rev=next` is not a next link.
    fn other_params() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(
            prop_oneof![
                "[a-zA-Z ,;]{0,16}".prop_map(|t| format!("title=\"{t}\"")),
                Just("type=\"application/json\"".to_string()),
                Just("rev=\"next\"".to_string()),
                Just("rev=next".to_string()),
                Just("anchor=\"#a,b\"".to_string()),
            ],
            0..3,
        )
    }

    fn rel_value() -> impl Strategy<Value = String> {
        let one = proptest::sample::select(vec![
            "next",
            "NEXT",
            "Next",
            "self",
            "prev",
            "first",
            "last",
            "nexty",
            "alternate",
        ]);
        proptest::collection::vec(one, 1..3).prop_map(|rels| rels.join(" "))
    }

    fn link_entry() -> impl Strategy<Value = LinkEntry> {
        (
            link_target(),
            rel_value(),
            any::<bool>(),
            proptest::sample::select(vec!["rel", "REL", "Rel"]),
            other_params(),
            other_params(),
            proptest::sample::select(vec![("", ""), (" ", ""), ("", " "), ("  ", " ")]),
        )
            .prop_map(
                |(target, rel, quoted_rel, rel_key, before, after, spacing)| LinkEntry {
                    // an unquoted value cannot hold a space: one rel then
                    rel: if quoted_rel {
                        rel
                    } else {
                        rel.split(' ').next().unwrap_or("next").to_string()
                    },
                    target,
                    quoted_rel,
                    rel_key,
                    before,
                    after,
                    spacing,
                },
            )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// However the entries are written and spread over header lines (each line one
        /// entry, or several joined by commas), the next link is the first entry whose `rel`
        /// names `next`, resolved against the request's URL; none when no entry does.
        #[test]
        fn finds_the_first_next_link_however_written(
            entries in proptest::collection::vec(link_entry(), 0..5),
            cuts in proptest::collection::vec(any::<bool>(), 5),
            joiner in proptest::sample::select(vec![",", ", ", " ,  ", ",\t"]),
        ) {
            let base = Url::parse("https://acme.okta.com/api/v1/users?limit=2").unwrap();
            let mut headers = HeaderMap::new();
            let mut line: Vec<String> = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                line.push(entry.write());
                if cuts[i] || i + 1 == entries.len() {
                    headers.append(
                        http::header::LINK,
                        HeaderValue::from_str(&line.join(joiner)).unwrap(),
                    );
                    line.clear();
                }
            }
            let want = entries
                .iter()
                .find(|e| e.is_next())
                .map(|e| base.join(&e.target).unwrap());
            proptest::prop_assert_eq!(next_link(&headers, &base), want, "{:?}", headers);
        }

        /// Whatever the header holds, an answer and no panic.
        #[test]
        fn any_link_header_is_read_without_panicking(
            values in proptest::collection::vec("[ -~]{0,80}", 0..4),
        ) {
            let base = Url::parse("https://acme.okta.com/").unwrap();
            let mut headers = HeaderMap::new();
            for v in &values {
                if let Ok(v) = HeaderValue::from_str(v) {
                    headers.append(http::header::LINK, v);
                }
            }
            let _ = next_link(&headers, &base);
        }
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
