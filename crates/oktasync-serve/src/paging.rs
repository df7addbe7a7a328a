//! Paged lists: `page_size` (default 100, at most 1000) and an opaque `page_token`; a list
//! answers `{"items": [...], "next_page_token": "..."}`, the token absent on the last page.
//! Pages are keyset pages: a token holds the key of the last item given, so the next page
//! continues after it whatever was committed in between, and each page is read in one
//! snapshot of the mirror. A token is bound to its list: the route, the org and the filters
//! (a fingerprint of them rides along), so that a token of one list is refused by another
//! rather than misread.

use crate::problem::{ApiError, ProblemKind};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The paging parameters every list takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page: 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `page_token` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A validated page request of one list.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub size: u32,
    /// The key of the last item of the previous page.
    pub after: Option<String>,
    /// The fingerprint of the list its tokens carry.
    list: String,
}

impl PageRequest {
    /// `list` identifies the list the page belongs to: the route, the org and every filter
    /// (`format!("users {org:?} {filters:?}")`).
    pub fn new(params: &PageParams, list: &str) -> Result<Self, ApiError> {
        let list = fingerprint(list);
        let size = params.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(ApiError::invalid(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE}, not {size}"
            )));
        }
        let after = match &params.page_token {
            None => None,
            Some(token) => Some(decode(token, &list)?),
        };
        Ok(Self { size, after, list })
    }

    /// The page of `items` (already in key order, after the cursor, up to one more than the
    /// page size so that the last page is known as such), keyed by `key`.
    pub fn page<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        let more = items.len() > self.size as usize;
        items.truncate(self.size as usize);
        let next_page_token = match (more, items.last()) {
            (true, Some(last)) => Some(encode(&self.list, &key(last))),
            _ => None,
        };
        Page {
            items,
            next_page_token,
        }
    }

    /// One page of a list held whole in memory: sorted by `key`, after the cursor.
    pub fn page_of<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        items.sort_by_cached_key(&key);
        if let Some(after) = &self.after {
            items.retain(|item| key(item).as_str() > after.as_str());
        }
        items.truncate(self.size as usize + 1);
        self.page(items, key)
    }
}

/// A short digest of a list's identity (what a token carries instead of the filters).
fn fingerprint(list: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, list.as_bytes());
    digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn encode(list: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{list}\n{key}"))
}

fn decode(token: &str, list: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::new(
            ProblemKind::InvalidPageToken,
            "page_token was issued for another list, org or set of filters; start again without it",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.split_once('\n') {
        Some((kind, key)) if kind == list => Ok(key.to_owned()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(size: Option<u32>, token: Option<String>) -> PageParams {
        PageParams {
            page_size: size,
            page_token: token,
        }
    }

    #[test]
    fn pages_of_a_list_cover_it_once_in_key_order() {
        let all: Vec<String> = (0..25).map(|i| format!("k{i:02}")).collect();
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let request = PageRequest::new(&params(Some(10), token), "things").unwrap();
            let page = request.page_of(all.iter().rev().cloned().collect(), |k| k.clone());
            seen.extend(page.items);
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn a_token_of_another_list_and_bad_sizes_are_refused() {
        let token = encode(&fingerprint("users 1 status=ACTIVE"), "00u1");
        let same = PageRequest::new(&params(None, Some(token.clone())), "users 1 status=ACTIVE");
        assert_eq!(same.unwrap().after.as_deref(), Some("00u1"));
        for other in [
            "groups 1",
            "users 2 status=ACTIVE",
            "users 1 status=SUSPENDED",
        ] {
            let err = PageRequest::new(&params(None, Some(token.clone())), other).unwrap_err();
            assert_eq!(err.kind, ProblemKind::InvalidPageToken, "{other}");
        }
        let err = PageRequest::new(&params(None, Some("%%%".into())), "groups").unwrap_err();
        assert_eq!(err.kind, ProblemKind::InvalidPageToken);
        for size in [0, 1001] {
            let err = PageRequest::new(&params(Some(size), None), "groups").unwrap_err();
            assert_eq!(err.kind, ProblemKind::InvalidRequest);
        }
    }
}
