//! Where a mirror is: the `db` setting read as a PostgreSQL URL or a SQLite path, and a URL
//! type that never shows its password.

use crate::error::{Result, StoreError};
use secrecy::{ExposeSecret, SecretString};
use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use url::Url;

/// A mirror's location, as the `db` setting gives it.
#[derive(Clone)]
pub enum DbLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PgLocation),
}

/// A PostgreSQL database: its URL and, when the URL has none, a password given otherwise.
#[derive(Clone)]
pub struct PgLocation {
    pub url: DatabaseUrl,
    /// Used when the URL carries no password (then `PGPASSWORD`, then `~/.pgpass`, apply).
    pub password: Option<SecretString>,
}

impl DbLocation {
    /// Reads the `db` setting: a `postgres://` or `postgresql://` URL is a PostgreSQL
    /// database, anything else the path of a SQLite file.
    pub fn parse(setting: impl AsRef<OsStr>) -> Result<Self> {
        let setting = setting.as_ref();
        match setting.to_str() {
            Some(text) if is_postgres_url(text) => Ok(DbLocation::Postgres(PgLocation {
                url: DatabaseUrl::parse(text)?,
                password: None,
            })),
            _ => Ok(DbLocation::Sqlite(PathBuf::from(setting))),
        }
    }

    /// The same location with a password for a PostgreSQL URL that has none (e.g. read from
    /// `db_password_file`); a SQLite path is returned unchanged.
    pub fn with_password(self, password: SecretString) -> Self {
        match self {
            DbLocation::Postgres(pg) => DbLocation::Postgres(PgLocation {
                password: Some(password),
                ..pg
            }),
            sqlite => sqlite,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DbLocation::Postgres(_))
    }
}

fn is_postgres_url(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// A path as it is, a URL without its password.
impl fmt::Display for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::Sqlite(path) => write!(f, "{}", path.display()),
            DbLocation::Postgres(pg) => write!(f, "{}", pg.url),
        }
    }
}

impl fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DbLocation::Postgres(pg) => f.debug_tuple("Postgres").field(pg).finish(),
        }
    }
}

impl fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgLocation")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A PostgreSQL URL. `Display` and `Debug` replace its password (and a `password` query
/// parameter) with `***`, so that it can appear in messages and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Url);

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<Self> {
        let url = Url::parse(text.trim()).map_err(|e| StoreError::BadDbUrl {
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(StoreError::BadDbUrl {
                reason: format!("the scheme is {}, not postgres", url.scheme()),
            });
        }
        Ok(Self(url))
    }

    /// The URL with its password, for connecting only.
    pub(crate) fn expose(&self) -> &Url {
        &self.0
    }

    pub fn has_password(&self) -> bool {
        self.0.password().is_some()
            || self
                .0
                .query_pairs()
                .any(|(k, _)| k.eq_ignore_ascii_case("password"))
    }

    /// The URL as shown: the password replaced with `***`.
    pub fn masked(&self) -> String {
        let mut url = self.0.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.eq_ignore_ascii_case("password") {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }

    /// A secret given apart from the URL, when the URL has none.
    pub(crate) fn password_or(&self, password: Option<&SecretString>) -> Option<String> {
        if self.has_password() {
            return None;
        }
        password.map(|p| p.expose_secret().to_owned())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_postgres_and_anything_else_a_path() {
        for url in [
            "postgres://u@localhost/m",
            "postgresql://localhost:5433/m",
            "POSTGRES://h/m",
        ] {
            assert!(DbLocation::parse(url).unwrap().is_postgres(), "{url}");
        }
        for path in [
            "./oktasync.db",
            "/var/lib/m.db",
            "postgres.db",
            "postgres:/x",
            "",
        ] {
            let location = DbLocation::parse(path).unwrap();
            assert!(
                matches!(&location, DbLocation::Sqlite(p) if p == &PathBuf::from(path)),
                "{path}"
            );
        }
        let err = DbLocation::parse("postgres://[::1").unwrap_err();
        assert!(err.to_string().contains("PostgreSQL URL"), "{err}");
    }

    #[test]
    fn passwords_never_show() {
        let url =
            "postgres://sync:s3cr%3At@db.example.com:5432/mirror?sslmode=disable&password=other";
        let location = DbLocation::parse(url).unwrap();
        let location = location.with_password(SecretString::from("from-file"));
        for shown in [
            location.to_string(),
            format!("{location:?}"),
            format!("{location:#?}"),
        ] {
            for secret in ["s3cr", "other", "from-file"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("db.example.com:5432/mirror"), "{shown}");
        }
        assert_eq!(
            location.to_string(),
            "postgres://sync:***@db.example.com:5432/mirror?sslmode=disable&password=***"
        );
        let DbLocation::Postgres(pg) = &location else {
            panic!("a postgres location")
        };
        // The URL's own password wins over one given apart.
        assert_eq!(pg.url.password_or(pg.password.as_ref()), None);
        let bare = DatabaseUrl::parse("postgres://sync@h/m").unwrap();
        let given = SecretString::from("pw");
        assert_eq!(bare.password_or(Some(&given)).as_deref(), Some("pw"));
        assert_eq!(bare.to_string(), "postgres://sync@h/m");
    }
}
