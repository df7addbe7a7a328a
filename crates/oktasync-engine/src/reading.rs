//! Reading Okta: listings page by page, objects deleted while a run reads, and errors that
//! name what was being read.

use crate::error::EngineError;
use futures::StreamExt;
use okta_api::PageStream;

/// Calls to read `items` objects at `limit` per page (an empty list still takes one call).
pub(crate) fn pages_needed(items: u64, limit: u32) -> u64 {
    items.div_ceil(u64::from(limit)).max(1)
}

/// Turns a failed request into the engine's error, naming what was being read.
pub(crate) fn failed_reading(
    what: impl Into<String>,
) -> impl FnOnce(okta_api::Error) -> EngineError {
    let what = what.into();
    move |cause| EngineError::Okta { what, cause }
}

/// A child listing of an object deleted since its parent was listed reads as empty: the
/// mirror then matches Okta's state at listing time, and the next run sees the deletion.
pub(crate) fn empty_if_gone<T>(
    result: Result<Vec<T>, okta_api::Error>,
) -> Result<Vec<T>, okta_api::Error> {
    match result {
        Err(okta_api::Error::NotFound(_)) => Ok(Vec::new()),
        other => other,
    }
}

/// A list of an object that is gone reads as `None` (re-reads: the object's rows go).
pub(crate) fn none_if_gone<T>(
    result: Result<Vec<T>, okta_api::Error>,
) -> Result<Option<Vec<T>>, okta_api::Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(okta_api::Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads every page of a listing, calling `on_page` with each page's items, and returns how
/// many items it read. A child listing (`child_listing`) of an object that disappeared
/// meanwhile (404 on the first page) reads as empty.
pub(crate) async fn each_page<T, F, Fut>(
    mut pages: PageStream<T>,
    what: impl Fn() -> String,
    child_listing: bool,
    mut on_page: F,
) -> Result<u64, EngineError>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<(), EngineError>>,
{
    let mut read = 0u64;
    let mut first = true;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(okta_api::Error::NotFound(_)) if child_listing && first => return Ok(0),
            Err(e) => return Err(failed_reading(what())(e)),
        };
        first = false;
        read += page.items.len() as u64;
        on_page(page.items).await?;
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_needed_counts_one_call_for_an_empty_list() {
        assert_eq!(pages_needed(0, 200), 1);
        assert_eq!(pages_needed(200, 200), 1);
        assert_eq!(pages_needed(201, 200), 2);
    }
}
