//! `/api/v1/logs`: the System Log, with Okta's polling and bounded requests.
//!
//! A polling request (no `until`, ascending) reads in persistence order and always carries a
//! `next` link, even on an empty page; a bounded request (`until` given, or descending) reads a
//! time range and its last page has no `next`. Cursors are `{published ms}_{seq}`.

use super::Shared;
use super::filter::{self, Attr, Filterable};
use super::pagination::{ArrayWriter, Links, ListQuery, json_response, link_url};
use crate::error::{OktaError, Result};
use crate::model::{LogEntry, parse_ts};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

/// `GET /api/v1/logs` default and maximum page size.
pub const LOGS_LIMIT: (usize, usize) = (100, 1_000);
/// When `since` is absent it is this long before `until` (or now).
const DEFAULT_WINDOW_MS: i64 = 7 * 86_400_000;
/// A `since` further back than this is refused (Okta: 400 E0000053).
const MAX_SINCE_AGE_MS: i64 = 180 * 86_400_000;

pub fn routes() -> Router<Shared> {
    Router::new().route("/api/v1/logs", get(list))
}

impl Filterable for LogEntry {
    fn attr(&self, name: &str) -> Attr<'_> {
        match name {
            "eventType" => Attr::Str(self.event_type),
            "actor.id" => Attr::Str(&self.actor_id),
            "published" => Attr::Ts(self.published),
            "target.id" => self
                .target_ids
                .first()
                .map_or(Attr::Missing, |t| Attr::Str(t)),
            _ => Attr::Missing,
        }
    }

    fn any_attr(&self, name: &str, pred: &mut dyn FnMut(Attr<'_>) -> bool) -> bool {
        if name == "target.id" {
            return self.target_ids.iter().any(|t| pred(Attr::Str(t)));
        }
        pred(self.attr(name))
    }
}

fn param_error(what: &str) -> OktaError {
    OktaError::new(
        StatusCode::BAD_REQUEST,
        "E0000053",
        format!("Invalid parameter: {what}"),
    )
}

fn parse_time(query: &ListQuery, key: &str) -> Result<Option<i64>> {
    match query.value(key) {
        None => Ok(None),
        Some(v) => parse_ts(v)
            .map(Some)
            .ok_or_else(|| param_error(&format!("{key} must be an ISO 8601 timestamp, got '{v}'"))),
    }
}

/// Parses a `{ms}_{seq}` cursor into the seq it points after.
fn parse_cursor(raw: &str) -> Result<u64> {
    raw.split_once('_')
        .and_then(|(ms, seq)| ms.parse::<i64>().ok().and(seq.parse::<u64>().ok()))
        .ok_or_else(OktaError::invalid_paging)
}

fn cursor(entries: &[LogEntry], seq: u64) -> String {
    let ms = seq
        .checked_sub(1)
        .and_then(|i| entries.get(i as usize))
        .map_or(0, |e| e.published);
    format!("{ms}_{seq}")
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(LOGS_LIMIT.0, LOGS_LIMIT.1)?;
    let since = parse_time(&query, "since")?;
    let until = parse_time(&query, "until")?;
    let after = query.value("after").map(parse_cursor).transpose()?;
    let descending = match query.value("sortOrder") {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("ASCENDING") => false,
        Some(o) if o.eq_ignore_ascii_case("DESCENDING") => true,
        Some(o) => {
            return Err(param_error(&format!(
                "sortOrder must be ASCENDING or DESCENDING, got '{o}'"
            )));
        }
    };
    let polling = until.is_none() && !descending;
    if polling && since.is_some() && after.is_some() {
        return Err(param_error("since and after cannot be used together"));
    }
    let expr = query
        .value("filter")
        .map(|f| filter::parse_with(f, &filter::LOG_FILTER, OktaError::invalid_log_param))
        .transpose()?;
    let keywords: Vec<String> = query
        .value("q")
        .map(|q| q.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    let now = s.now();
    if since.is_some_and(|t| t < now - MAX_SINCE_AGE_MS) {
        return Err(param_error(
            "The since parameter is over 180 days prior to the current day.",
        ));
    }
    let org = s.org.read();
    let log = &org.log;
    let matches = |e: &LogEntry| {
        expr.as_ref().is_none_or(|x| filter::eval(x, e))
            && (keywords.is_empty() || {
                let text = String::from_utf8_lossy(&e.json).to_lowercase();
                keywords.iter().all(|k| text.contains(k.as_str()))
            })
    };
    let mut w = ArrayWriter::with_capacity(limit.min(log.len()) * 1500 + 2);
    let mut count = 0usize;
    let self_url = link_url(
        &origin,
        uri.path(),
        &query,
        &[],
        &[],
        query.value("after"),
        limit,
    );
    let next_url;
    if polling {
        let lower = since.unwrap_or(now - DEFAULT_WINDOW_MS);
        let start = after.unwrap_or(0) as usize;
        let mut last_seq = after.unwrap_or(0);
        for e in log.iter().skip(start) {
            if count == limit {
                break;
            }
            last_seq = e.seq;
            if (after.is_none() && e.published < lower) || !matches(e) {
                continue;
            }
            w.push(&e.json, None);
            count += 1;
        }
        if count < limit {
            // Everything persisted so far was scanned: resume after the last event.
            last_seq = last_seq.max(log.len() as u64);
        }
        let c = cursor(log, last_seq);
        next_url = Some(link_url(
            &origin,
            uri.path(),
            &query,
            &["since", "until"],
            &[],
            Some(&c),
            limit,
        ));
    } else {
        let upper = until.unwrap_or(now);
        let lower = since.unwrap_or(upper - DEFAULT_WINDOW_MS);
        let in_range = |e: &&LogEntry| e.published >= lower && e.published < upper && matches(e);
        let mut last = None;
        let mut more = false;
        let mut take = |e: &LogEntry, w: &mut ArrayWriter| {
            if count == limit {
                more = true;
                return false;
            }
            w.push(&e.json, None);
            count += 1;
            last = Some(e.seq);
            true
        };
        if descending {
            let end = after.map_or(log.len(), |a| (a as usize).saturating_sub(1));
            for e in log[..end.min(log.len())].iter().rev().filter(in_range) {
                if !take(e, &mut w) {
                    break;
                }
            }
        } else {
            let start = after.unwrap_or(0) as usize;
            for e in log.iter().skip(start).filter(in_range) {
                if !take(e, &mut w) {
                    break;
                }
            }
        }
        next_url = match (more, last) {
            (true, Some(seq)) => {
                let c = cursor(log, seq);
                Some(link_url(
                    &origin,
                    uri.path(),
                    &query,
                    &[],
                    &[],
                    Some(&c),
                    limit,
                ))
            }
            _ => None,
        };
    }
    drop(org);
    let links = Links { self_url, next_url };
    Ok(json_response(w.finish(), Some(&links)))
}
