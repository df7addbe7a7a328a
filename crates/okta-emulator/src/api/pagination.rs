//! Cursor pagination as Okta does it: `limit` with a default and maximum per endpoint, opaque
//! `after` cursors, and `Link` headers as two lines (`self`, then `next`) holding absolute URLs
//! on the origin the client used, with the effective `limit` in both.

use crate::error::{OktaError, Result};
use crate::model::{Id, splice_links};
use axum::http::header::{CONTENT_TYPE, HOST, LINK};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::ops::Bound;

/// Characters left as they are in link query values (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The query string of a list request, in the order the client sent it.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(uri: &Uri) -> Result<Self> {
        let pairs = match uri.query() {
            Some(q) => serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .map_err(|_| OktaError::invalid_search("The query string could not be parsed"))?,
            None => Vec::new(),
        };
        Ok(ListQuery { pairs })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The non-empty value of `key`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// The effective page size: `default` when absent, at most `max`.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize> {
        match self.value("limit") {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 1 => Ok((n as usize).min(max)),
                Ok(_) => Ok(default),
                Err(_) => Err(OktaError::new(
                    StatusCode::BAD_REQUEST,
                    "E0000054",
                    "Invalid pagination properties.",
                )
                .with_cause(format!("limit: '{v}' is not a number"))),
            },
        }
    }

    /// An `after` cursor holding an id (`0`-prefixed for users, as Okta's are); 400 E0000029
    /// when it is not one.
    pub fn after_id(&self) -> Result<Option<Id>> {
        let Some(raw) = self.value("after") else {
            return Ok(None);
        };
        let candidate = if raw.len() == 21 {
            raw.strip_prefix('0').unwrap_or(raw)
        } else {
            raw
        };
        Id::parse(candidate)
            .map(Some)
            .ok_or_else(OktaError::invalid_paging)
    }

    /// Query pairs for links: everything but `after` and `limit`.
    fn link_pairs(&self, drop: &[&str]) -> impl Iterator<Item = &(String, String)> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k != "after" && k != "limit" && !drop.contains(&k.as_str()))
    }
}

/// The scheme and authority the client used, e.g. `http://127.0.0.1:8080`.
pub fn origin(headers: &HeaderMap, uri: &Uri, scheme: &str, fallback: &str) -> String {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()));
    match host {
        Some(h) => format!("{scheme}://{h}"),
        None => fallback.to_string(),
    }
}

/// Builds `origin + path + ?params&after=…&limit=…`.
pub fn link_url(
    origin: &str,
    path: &str,
    query: &ListQuery,
    drop: &[&str],
    extra: &[(&str, &str)],
    after: Option<&str>,
    limit: usize,
) -> String {
    let mut url = format!("{origin}{path}");
    let mut sep = '?';
    let mut push = |url: &mut String, k: &str, v: &str| {
        url.push(sep);
        sep = '&';
        url.push_str(&utf8_percent_encode(k, QUERY_VALUE).to_string());
        url.push('=');
        url.push_str(&utf8_percent_encode(v, QUERY_VALUE).to_string());
    };
    for (k, v) in query.link_pairs(drop) {
        push(&mut url, k, v);
    }
    for (k, v) in extra {
        push(&mut url, k, v);
    }
    if let Some(a) = after {
        push(&mut url, "after", a);
    }
    push(&mut url, "limit", &limit.to_string());
    url
}

/// The two `Link` lines of a page.
#[derive(Debug, Clone)]
pub struct Links {
    pub self_url: String,
    pub next_url: Option<String>,
}

impl Links {
    /// Links for a page of an id-keyed list. `next_cursor` is set when more may follow.
    pub fn for_page(
        origin: &str,
        path: &str,
        query: &ListQuery,
        limit: usize,
        next_cursor: Option<String>,
    ) -> Self {
        Links {
            self_url: link_url(origin, path, query, &[], &[], query.value("after"), limit),
            next_url: next_cursor.map(|c| link_url(origin, path, query, &[], &[], Some(&c), limit)),
        }
    }

    pub fn apply(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&format!("<{}>; rel=\"self\"", self.self_url)) {
            headers.append(LINK, v);
        }
        if let Some(next) = &self.next_url
            && let Ok(v) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
        {
            headers.append(LINK, v);
        }
    }
}

/// Writes a JSON array of cached objects, each with `_links` spliced in.
#[derive(Debug)]
pub struct ArrayWriter {
    buf: Vec<u8>,
    first: bool,
}

impl ArrayWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes);
        buf.push(b'[');
        ArrayWriter { buf, first: true }
    }

    pub fn push(&mut self, object: &[u8], links: Option<&str>) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        match links {
            Some(l) => splice_links(&mut self.buf, object, l),
            None => self.buf.extend_from_slice(object),
        }
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(b']');
        self.buf
    }
}

/// A 200 JSON response from prepared bytes.
pub fn json_response(body: Vec<u8>, links: Option<&Links>) -> Response {
    let mut resp = (StatusCode::OK, Bytes::from(body)).into_response();
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(l) = links {
        l.apply(headers);
    }
    resp
}

/// One page of a list keyed by id: up to `limit` of `items` (those after the cursor that
/// pass the request's filters), each with the `_links` `object` gives it, and the `Link`
/// header, whose `next` cursor is the last item's id.
pub fn id_page<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    limit: usize,
    object: impl Fn(&T) -> (Id, Bytes, String),
    (origin, path, query): (&str, &str, &ListQuery),
) -> Response {
    let (page, more) = take_page(items, limit);
    let mut w = ArrayWriter::with_capacity(page.len() * 800 + 2);
    let mut last = None;
    for item in page {
        let (id, json, links) = object(item);
        w.push(&json, Some(&links));
        last = Some(id);
    }
    let next = more.then(|| last.map(|id| id.to_string())).flatten();
    let links = Links::for_page(origin, path, query, limit, next);
    json_response(w.finish(), Some(&links))
}

/// The key range left to list after a cursor: everything after `after`, or everything.
/// For `BTreeMap::range` and `BTreeSet::range` over ids.
pub fn after_cursor(after: Option<Id>) -> (Bound<Id>, Bound<Id>) {
    (
        after.map_or(Bound::Unbounded, Bound::Excluded),
        Bound::Unbounded,
    )
}

/// Takes up to `limit` items from an ordered iterator, and says whether another one follows.
pub fn take_page<T>(iter: impl Iterator<Item = T>, limit: usize) -> (Vec<T>, bool) {
    let mut items = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    for item in iter {
        if items.len() == limit {
            more = true;
            break;
        }
        items.push(item);
    }
    (items, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_params_and_put_after_then_limit_last() {
        let uri: Uri = "/api/v1/users?filter=status%20eq%20%22ACTIVE%22&after=000uabc&limit=500"
            .parse()
            .unwrap();
        let q = ListQuery::parse(&uri).unwrap();
        let l = Links::for_page("http://h:1", "/api/v1/users", &q, 200, Some("0next".into()));
        assert_eq!(
            l.self_url,
            "http://h:1/api/v1/users?filter=status%20eq%20%22ACTIVE%22&after=000uabc&limit=200"
        );
        assert_eq!(
            l.next_url.as_deref(),
            Some("http://h:1/api/v1/users?filter=status%20eq%20%22ACTIVE%22&after=0next&limit=200")
        );
    }

    #[test]
    fn limit_defaults_and_clamps() {
        let q = ListQuery::parse(&"/x?limit=5000".parse().unwrap()).unwrap();
        assert_eq!(q.limit(200, 200).unwrap(), 200);
        let q = ListQuery::parse(&"/x".parse().unwrap()).unwrap();
        assert_eq!(q.limit(20, 200).unwrap(), 20);
        let q = ListQuery::parse(&"/x?limit=abc".parse().unwrap()).unwrap();
        assert!(q.limit(20, 200).is_err());
    }
}
