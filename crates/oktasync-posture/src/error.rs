//! What can go wrong in posture.

#[derive(Debug, thiserror::Error)]
pub enum PostureError {
    #[error(transparent)]
    Store(#[from] oktasync_store::StoreError),

    #[error(
        "posture settings name check '{0}', which does not exist (see `oktasync posture --list`)"
    )]
    UnknownCheck(String),

    #[error("check '{check}' has no parameter '{param}'; it has: {known}")]
    UnknownParam {
        check: String,
        param: String,
        known: String,
    },

    #[error("check '{check}': its SQL uses :{param}, which it does not define")]
    UndefinedParam { check: String, param: String },
}

pub type Result<T> = std::result::Result<T, PostureError>;
