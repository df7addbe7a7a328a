//! What can go wrong in detection.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Store(#[from] oktasync_store::StoreError),

    #[error("rule file {path}: {message}")]
    RuleFile { path: PathBuf, message: String },

    #[error("cannot read the rules folder {path}: {source}")]
    RulesDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("two rules have the id '{0}': rule ids must be unique")]
    DuplicateRule(String),

    #[error(
        "detection settings name rule '{0}', which does not exist (see `oktasync detect --list`)"
    )]
    UnknownRule(String),

    #[error("rule '{rule}' has no parameter '{param}'; it has: {known}")]
    UnknownParam {
        rule: String,
        param: String,
        known: String,
    },
}

pub type Result<T> = std::result::Result<T, DetectError>;
