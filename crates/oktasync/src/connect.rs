//! From settings to a client and a store.

use crate::config::{Auth, ClientProof, Settings};
use anyhow::{Result, bail};
use okta_api::{
    ClientConfig, ClientSecretMethod, Credentials, OAuthCredentials, OAuthSecretCredentials,
    OktaClient, OrgUrl, PrivateKey,
};
use oktasync_store::{DbLocation, Mirror, MirrorReader, OrgId, OrgRecord, StoreError};
use secrecy::ExposeSecret;
use std::path::Path;

/// Turns configured credentials into the client's, reading the private key (PEM or JWK JSON).
pub fn credentials(auth: Auth) -> Result<Credentials> {
    Ok(match auth {
        Auth::ApiToken(token) => Credentials::ApiToken(token),
        Auth::OAuth(oauth) => match oauth.proof {
            ClientProof::PrivateKey { key, key_id } => {
                let text = key.expose_secret();
                let private_key = if text.trim_start().starts_with('{') {
                    PrivateKey::from_jwk_json(text)?
                } else {
                    PrivateKey::from_pem(text)?
                };
                Credentials::OAuth(OAuthCredentials {
                    client_id: oauth.client_id,
                    private_key,
                    scopes: oauth.scopes,
                    key_id,
                })
            }
            // Basic is what the Admin Console sets up for a new client secret.
            ClientProof::Secret(client_secret) => {
                Credentials::OAuthSecret(OAuthSecretCredentials {
                    client_id: oauth.client_id,
                    client_secret,
                    scopes: oauth.scopes,
                    method: ClientSecretMethod::Basic,
                })
            }
        },
    })
}

pub fn client_config(settings: &Settings) -> ClientConfig {
    let mut config = ClientConfig::default();
    if let Some(n) = settings.max_concurrency {
        config.max_concurrency = n.max(1);
    }
    config.ca_file = settings.ca_file.clone();
    config
}

/// The client for the configured org and credentials.
pub fn client(settings: &Settings) -> Result<OktaClient> {
    let org = OrgUrl::parse(settings.require_org_url().map_err(crate::exit::config)?)?;
    let creds = credentials(settings.auth().map_err(crate::exit::config)?)?;
    Ok(OktaClient::new(org, creds, client_config(settings))?)
}

/// Opens an existing mirror read-only: nothing is created, migrated or written, and a file
/// that is not a mirror is refused unchanged (the store's errors say what to run).
pub async fn open_existing(location: &DbLocation) -> Result<Box<dyn MirrorReader>> {
    Ok(oktasync_store::open_reader(location).await?)
}

/// Where the mirror is: the `db` setting, a SQLite path or a PostgreSQL URL, with the
/// password from `db_password` (or its `_file`/`_keyring`) when the URL carries none.
pub fn db_location(settings: &Settings) -> Result<DbLocation> {
    let location = DbLocation::parse(&settings.db).map_err(|e| crate::exit::config(e.into()))?;
    match (&settings.db_password, location.is_postgres()) {
        (Some(source), true) => {
            let password = source
                .read("db_password", &settings.origin("db_password"))
                .map_err(crate::exit::config)?;
            Ok(location.with_password(password))
        }
        _ => Ok(location),
    }
}

/// Why a sync could not write the mirror at `db`, naming the path and the cause, or `None`
/// when it can (as far as can be known without writing to the file). SQLite writes the file
/// and creates its `-wal` and `-shm` files beside it, so both the file and its directory must
/// be writable. Nothing is written to the file; a probe file is created in the directory and
/// removed at once. A path that is a directory, or a file that is not a mirror, is left to the
/// store, which says what it is.
pub fn cannot_write(db: &Path) -> Option<String> {
    let shown = db.display();
    let dir = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(format!(
                "cannot create the mirror {shown}: the directory {} does not exist; create it, \
                 or pass another --db path",
                dir.display()
            ));
        }
        Err(e) => {
            return Some(format!(
                "cannot create the mirror {shown}: cannot use the directory {}: {}",
                dir.display(),
                crate::config::io_cause(&e)
            ));
        }
        Ok(meta) if !meta.is_dir() => {
            return Some(format!(
                "cannot create the mirror {shown}: {} is not a directory; pass another --db path",
                dir.display()
            ));
        }
        Ok(_) => {}
    }
    match std::fs::metadata(db) {
        Ok(meta) if meta.is_file() => {
            if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open(db) {
                return Some(format!(
                    "cannot write the mirror {shown}: {} (the file is read-only, immutable, or \
                     belongs to another user); fix its permissions or owner, or pass another \
                     --db path",
                    crate::config::io_cause(&e)
                ));
            }
        }
        Ok(_) => return None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Some(format!(
                "cannot use the mirror {shown}: {}",
                crate::config::io_cause(&e)
            ));
        }
    }
    let probe = dir.join(format!(".oktasync-write-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => Some(format!(
            "cannot write in {}, the directory of the mirror {shown}: {}. SQLite creates the \
             mirror's -wal and -shm files beside it, so the directory must be writable: fix its \
             permissions or owner, or pass another --db path",
            dir.display(),
            match e.kind() {
                // "the file does not exist" would mislead: the directory takes no new file
                std::io::ErrorKind::NotFound => e.to_string(),
                _ => crate::config::io_cause(&e),
            }
        )),
    }
}

/// Opens (or creates) the mirror a sync writes, and refuses a damaged one before writing.
pub async fn open_for_sync(location: &DbLocation) -> Result<Mirror> {
    if let DbLocation::Sqlite(db) = location
        && let Some(problem) = cannot_write(db)
    {
        return Err(crate::exit::database(anyhow::anyhow!(problem)));
    }
    let store = oktasync_store::open_writer(location)
        .await
        .map_err(|e| match location {
            DbLocation::Sqlite(db) => with_path_and_cause(db, e),
            DbLocation::Postgres(_) => e.into(),
        })?;
    if let Err(e) = store.check_not_damaged().await {
        store.close().await;
        return Err(e.into());
    }
    Ok(store)
}

/// A store error whose SQLite cause is the disk (full, read-only, I/O), said with the path;
/// any other error unchanged (the store's messages name the path where it matters).
fn with_path_and_cause(db: &Path, e: StoreError) -> anyhow::Error {
    let source = match &e {
        StoreError::Database(source)
        | StoreError::Open { cause: source, .. }
        | StoreError::Migrate(sqlx::migrate::MigrateError::Execute(source))
        | StoreError::Migrate(sqlx::migrate::MigrateError::ExecuteMigration(source, _)) => source,
        _ => return e.into(),
    };
    // SQLite's primary result codes: SQLITE_READONLY 8, SQLITE_IOERR 10, SQLITE_FULL 13
    let code = source
        .as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .map(|c| c & 0xff);
    let cause = match code {
        Some(13) => {
            "the disk (or the file system's quota) is full: free some space, or pass \
                     another --db path on a disk with room"
        }
        Some(8) => {
            "the file or its file system is read-only: fix its permissions, or pass \
                    another --db path"
        }
        Some(10) => "the disk reported an I/O error: check the disk, or pass another --db path",
        _ => return e.into(),
    };
    crate::exit::database(anyhow::anyhow!(
        "cannot write the mirror {}: {cause} (SQLite: {source})",
        db.display()
    ))
}

/// The org the query commands read: the one `--org-url` names, else the mirror's only org.
pub async fn mirror_org(store: &dyn MirrorReader, selector: Option<&str>) -> Result<OrgId> {
    let orgs = store.org_list().await?;
    let listed = || {
        orgs.iter()
            .map(|o| format!("{} ({})", o.name, o.url))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(selector) = selector {
        let found = if names_a_url(selector) {
            let canonical = OrgUrl::parse(selector)?.origin();
            orgs.iter().find(|o| o.url == canonical)
        } else {
            orgs.iter().find(|o| o.name.eq_ignore_ascii_case(selector))
        };
        return match found {
            Some(org) => Ok(org.id),
            None if orgs.is_empty() => Err(crate::exit::config(anyhow::anyhow!(
                "the mirror {} holds no org yet: run `oktasync sync` first",
                store.location()
            ))),
            None => Err(crate::exit::config(anyhow::anyhow!(
                "the mirror {} has no org {selector:?}; it holds {}",
                store.location(),
                listed()
            ))),
        };
    }
    match orgs.as_slice() {
        [] => bail!(
            "the mirror {} is empty: run `oktasync sync --db {}` first",
            store.location(),
            store.location()
        ),
        [one] => Ok(one.id),
        many => Err(crate::exit::config(anyhow::anyhow!(
            "the mirror holds {} orgs; pick one with --org NAME|URL: {}",
            many.len(),
            listed()
        ))),
    }
}

/// The org of the mirror with this short name (case-insensitive).
pub async fn org_by_name(store: &dyn MirrorReader, name: &str) -> Result<OrgRecord> {
    let orgs = store.org_list().await?;
    match orgs.iter().find(|o| o.name.eq_ignore_ascii_case(name)) {
        Some(org) => Ok(org.clone()),
        None => Err(crate::exit::config(anyhow::anyhow!(
            "the mirror {} has no org named {name:?}; it holds {}",
            store.location(),
            if orgs.is_empty() {
                "none yet (give --org-url for a first sync)".to_owned()
            } else {
                orgs.iter()
                    .map(|o| format!("{} ({})", o.name, o.url))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ))),
    }
}

/// Whether `--org` names a URL (`acme.okta.com`, `https://...`, `127.0.0.1:8080`) rather than
/// a short name (`acme`): short names hold no dot, colon or slash.
pub fn names_a_url(text: &str) -> bool {
    text.contains(['.', ':', '/'])
}
