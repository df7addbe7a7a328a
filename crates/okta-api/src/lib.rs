//! okta-api
