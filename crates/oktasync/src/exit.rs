//! Exit codes say what kind of failure it was, so that scripts can tell a typo in the config
//! from an expired token from a network outage (documented in the README).

use oktasync_engine::EngineError;
use oktasync_store::StoreError;
use std::process::ExitCode;

/// The kinds of failure, each with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Anything not classified below.
    Other = 1,
    /// The command line or the settings are wrong (clap uses 2 for usage errors too).
    Config = 2,
    /// Okta refused the credentials, or they lack a scope or an admin role.
    Credentials = 3,
    /// Okta could not be reached, or its TLS certificate is not trusted.
    Network = 4,
    /// Okta answered with an error, or with something that is not a valid answer.
    Okta = 5,
    /// The mirror database: missing, not a mirror, damaged, not writable.
    Database = 6,
    /// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    Interrupted = 130,
}

impl Failure {
    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Failure::Other => "failure",
            Failure::Config => "configuration error",
            Failure::Credentials => "credentials or permission error",
            Failure::Network => "network error",
            Failure::Okta => "Okta error",
            Failure::Database => "database error",
            Failure::Interrupted => "interrupted",
        })
    }
}

/// An error whose kind the code that raised it knows; its message unchanged.
#[derive(Debug)]
pub struct Classified {
    failure: Failure,
    error: anyhow::Error,
}

impl std::fmt::Display for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Classified {}

/// Marks `e` as a usage or settings error.
pub fn config(e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(Classified {
        failure: Failure::Config,
        error: e,
    })
}

/// Marks `e` as the report of an interrupted run.
pub fn interrupted(e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(Classified {
        failure: Failure::Interrupted,
        error: e,
    })
}

/// Marks `e` as a mirror database error.
pub fn database(e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(Classified {
        failure: Failure::Database,
        error: e,
    })
}

pub fn of_api(e: &okta_api::Error) -> Failure {
    use okta_api::ErrorCategory as C;
    match e.category() {
        C::Config => Failure::Config,
        C::Credentials | C::Permission => Failure::Credentials,
        C::Network => Failure::Network,
        C::Okta => Failure::Okta,
    }
}

pub fn of_engine(e: &EngineError) -> Failure {
    match e {
        EngineError::RunFailed { cause, .. } => of_engine(cause),
        EngineError::Okta { cause, .. } => of_api(cause),
        EngineError::Store(_) | EngineError::StoreClosed => Failure::Database,
        EngineError::IncrementalUnavailable { .. } => Failure::Okta,
        EngineError::Scope(_) => Failure::Config,
        EngineError::Internal(_) => Failure::Other,
    }
}

/// The kind of the first error in the chain that has one.
pub fn classify(e: &anyhow::Error) -> Failure {
    for cause in e.chain() {
        if let Some(marked) = cause.downcast_ref::<Classified>() {
            return marked.failure;
        }
        if let Some(api) = cause.downcast_ref::<okta_api::Error>() {
            return of_api(api);
        }
        if let Some(engine) = cause.downcast_ref::<EngineError>() {
            return of_engine(engine);
        }
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            // Another process syncing the org is not a fault of the database.
            return match store {
                StoreError::LeaseHeld { .. } | StoreError::LeaseLost { .. } => Failure::Other,
                _ => Failure::Database,
            };
        }
    }
    Failure::Other
}

pub fn code_for(e: &anyhow::Error) -> ExitCode {
    classify(e).code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_kind() {
        let config = config(anyhow::anyhow!("no org URL"));
        assert_eq!(classify(&config), Failure::Config);
        assert_eq!(config.to_string(), "no org URL");
        let token = anyhow::Error::new(okta_api::Error::InvalidToken(Default::default()));
        assert_eq!(classify(&token), Failure::Credentials);
        let store = anyhow::Error::new(StoreError::NoMirror {
            path: "m.db".into(),
        })
        .context("opening the mirror");
        assert_eq!(classify(&store), Failure::Database);
        assert_eq!(classify(&anyhow::anyhow!("something")), Failure::Other);
    }
}
