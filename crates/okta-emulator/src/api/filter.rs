//! Okta's `filter` and `search` expressions, from the grammar both sides share
//! ([`okta_filter`]); a refused expression is 400 E0000031 here, as on Okta.

use crate::error::OktaError;
pub use okta_filter::{
    Attr, Expr, Filterable, GROUP_FILTER, GROUP_SEARCH, JsonObject, LOG_FILTER, Op, Rules,
    USER_FILTER, USER_SEARCH, Value, eval, find_eq,
};

/// Parses `src` and checks it against `rules`; errors are 400 E0000031.
pub fn parse(src: &str, rules: &Rules) -> Result<Expr, OktaError> {
    parse_with(src, rules, OktaError::invalid_search)
}

/// Parses with a caller-chosen error (the System Log answers E0000053).
pub fn parse_with(
    src: &str,
    rules: &Rules,
    error: fn(String) -> OktaError,
) -> Result<Expr, OktaError> {
    okta_filter::parse(src, rules).map_err(|e| error(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_expression_is_okta_e0000031() {
        let err = parse("lastUpdated gt 2024-01-01T00:00:00.000Z", &USER_FILTER).unwrap_err();
        assert_eq!(err.code, "E0000031");
    }
}
