//! `oktasync doctor`: checks the org URL, the credentials, each scope the configured resources
//! need, and the database, and says how to fix each failure.

use crate::config::{LOGS_SCOPE, Settings, scope_of};
use crate::connect;
use crate::exit::Failure;
use crate::output;
use anyhow::Result;
use futures::StreamExt;
use okta_api::{Error as ApiError, OktaClient, OrgUrl};
use oktasync_store::{SqliteStore, StoreError};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long the reachability check waits for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one API check may take, retries included, before doctor calls it a failure.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize)]
pub struct Check {
    pub check: String,
    pub ok: bool,
    /// Skipped because an earlier check failed.
    pub skipped: bool,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok: true,
            skipped: false,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(check: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok: false,
            skipped: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(check: impl Into<String>, why: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok: false,
            skipped: true,
            detail: why.into(),
            fix: None,
        }
    }
}

/// One cheap read per scope: (scope, the resources it covers, the request that proves it).
fn scope_probe(scope: &str) -> &'static str {
    match scope {
        "okta.users.read" => "/api/v1/users?limit=1",
        "okta.groups.read" => "/api/v1/groups?limit=1",
        "okta.apps.read" => "/api/v1/apps?limit=1",
        "okta.idps.read" => "/api/v1/idps?limit=1",
        // A bounded window reads without waiting for the log's polling semantics.
        "okta.logs.read" => "/api/v1/logs?limit=1",
        // The role assignees list has its own shape; the client reads it (first page only).
        "okta.roles.read" => "/api/v1/iam/assignees/users",
        _ => "",
    }
}

async fn probe(client: &OktaClient, scope: &str) -> std::result::Result<(), ApiError> {
    let path = scope_probe(scope);
    let first = if scope == "okta.roles.read" {
        client
            .list_role_assignees()
            .next()
            .await
            .map(|p| p.map(|_| ()))
    } else {
        client
            .paginate::<serde_json::Value>(path)
            .next()
            .await
            .map(|p| p.map(|_| ()))
    };
    first.unwrap_or(Ok(()))
}

/// What to do about an error from the first API call.
fn credential_fix(err: &ApiError) -> &'static str {
    match err {
        ApiError::InvalidToken(_) => {
            "create a new API token (Admin Console > Security > API > Tokens) and set \
             OKTASYNC_API_TOKEN or OKTASYNC_API_TOKEN_FILE; make sure it belongs to this org"
        }
        ApiError::OAuth { .. } | ApiError::InvalidPrivateKey { .. } => {
            "check oauth_client_id, that the private key matches the public key registered with \
             the service app, and oauth_key_id if the app has several keys"
        }
        ApiError::Transport { .. } => {
            "check the org URL, the network, proxy and DNS (the host did not answer)"
        }
        _ => "see the message above",
    }
}

fn is_credential_error(err: &ApiError) -> bool {
    matches!(
        err,
        ApiError::InvalidToken(_)
            | ApiError::OAuth { .. }
            | ApiError::InvalidPrivateKey { .. }
            | ApiError::Transport { .. }
            | ApiError::InvalidResponse { .. }
            | ApiError::ForeignNextLink { .. }
    )
}

/// Runs every check; returns them in order.
pub async fn run_checks(settings: &Settings) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(file) = &settings.config_file {
        checks.push(Check::ok("config", format!("read {}", file.display())));
    }
    for key in &settings.unknown_keys {
        checks.push(Check::fail(
            "config",
            format!("unknown setting {key}"),
            "remove it or fix its spelling (`oktasync init` writes every key with a comment)",
        ));
    }

    // Org URL: parse, then reach.
    let org = match settings.require_org_url().map(OrgUrl::parse) {
        Err(e) => {
            checks.push(Check::fail("org URL", e.to_string(), "set the org URL"));
            None
        }
        Ok(Err(e)) => {
            checks.push(Check::fail(
                "org URL",
                e.to_string(),
                "use the org's base URL, e.g. https://acme.okta.com (not the -admin console)",
            ));
            None
        }
        Ok(Ok(org)) => {
            checks.push(Check::ok("org URL", org.origin()));
            Some(org)
        }
    };
    let reachable = match &org {
        None => {
            checks.push(Check::skip("org reachable", "no valid org URL"));
            false
        }
        Some(org) => {
            let url = org.as_url();
            let host = url.host_str().unwrap_or_default().to_owned();
            let port = url.port_or_known_default().unwrap_or(443);
            let host_for_connect = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            match tokio::time::timeout(
                CONNECT_TIMEOUT,
                TcpStream::connect((host_for_connect.as_str(), port)),
            )
            .await
            {
                Ok(Ok(_)) => {
                    checks.push(Check::ok(
                        "org reachable",
                        format!("{host}:{port} accepts connections"),
                    ));
                    true
                }
                Ok(Err(e)) => {
                    checks.push(Check::fail(
                        "org reachable",
                        format!("cannot connect to {host}:{port}: {e}"),
                        "check the org URL for typos, and the network, proxy, DNS and firewall",
                    ));
                    false
                }
                Err(_) => {
                    checks.push(Check::fail(
                        "org reachable",
                        format!(
                            "no answer from {host}:{port} within {}s",
                            CONNECT_TIMEOUT.as_secs()
                        ),
                        "check the org URL, and the network, proxy and firewall",
                    ));
                    false
                }
            }
        }
    };

    // Credentials, then one cheap read per scope.
    let scopes = settings.needed_scopes();
    let client = match (&org, settings.auth()) {
        (_, Err(e)) => {
            checks.push(Check::fail(
                "credentials",
                format!("{e:#}"),
                "provide an API token or an OAuth service app as described above",
            ));
            None
        }
        (None, Ok(_)) => {
            checks.push(Check::skip("credentials", "no valid org URL"));
            None
        }
        (Some(org), Ok(auth)) => {
            let kind = match &auth {
                crate::config::Auth::ApiToken(_) => "API token",
                crate::config::Auth::OAuth(_) => "OAuth service app",
            };
            match connect::credentials(auth).and_then(|c| {
                Ok(OktaClient::new(
                    org.clone(),
                    c,
                    connect::client_config(settings),
                )?)
            }) {
                Err(e) => {
                    checks.push(Check::fail(
                        "credentials",
                        format!("{e:#}"),
                        "fix the private key: PEM (PKCS#8, PKCS#1, SEC1) or the JWK JSON from the console",
                    ));
                    None
                }
                Ok(client) => Some((client, kind)),
            }
        }
    };
    if let Some((client, kind)) = client {
        if !reachable {
            checks.push(Check::skip("credentials", "the org is not reachable"));
        } else {
            let mut authenticated = false;
            for scope in &scopes {
                let label = format!("scope {scope}");
                let resources: Vec<&str> = if *scope == LOGS_SCOPE {
                    vec!["the System Log (incremental sync, watch)"]
                } else {
                    settings
                        .resources
                        .iter()
                        .filter(|r| scope_of(**r) == *scope)
                        .map(|r| r.as_str())
                        .collect()
                };
                let result = tokio::time::timeout(CALL_TIMEOUT, probe(&client, scope)).await;
                let result = match result {
                    Ok(r) => r,
                    Err(_) => {
                        checks.push(Check::fail(
                            label,
                            format!("no answer within {}s", CALL_TIMEOUT.as_secs()),
                            "check the network; the org may be slow or rate limited",
                        ));
                        continue;
                    }
                };
                match result {
                    Ok(()) => {
                        if !authenticated {
                            checks.push(Check::ok("credentials", format!("{kind} accepted")));
                            authenticated = true;
                        }
                        checks.push(Check::ok(
                            label,
                            format!("can read {} ({})", resources.join(", "), scope_probe(scope)),
                        ));
                    }
                    Err(e) if is_credential_error(&e) => {
                        checks.push(Check::fail(
                            "credentials",
                            e.to_string(),
                            credential_fix(&e),
                        ));
                        break;
                    }
                    Err(e) => {
                        if !authenticated {
                            checks.push(Check::ok("credentials", format!("{kind} accepted")));
                            authenticated = true;
                        }
                        let fix = match &e {
                            ApiError::MissingScope { scope: missing, .. }
                                if *scope == LOGS_SCOPE =>
                            {
                                format!(
                                    "grant {missing} to the service app (Admin Console > \
                                     Applications > the app > Okta API Scopes > Grant), and keep \
                                     it in oauth_scopes: without it every sync is a full sync"
                                )
                            }
                            ApiError::MissingScope { scope: missing, .. } => format!(
                                "grant {missing} to the service app (Admin Console > \
                                 Applications > the app > Okta API Scopes > Grant), and keep it \
                                 in oauth_scopes; or drop {} from resources",
                                resources.join(", ")
                            ),
                            ApiError::Forbidden(_) => format!(
                                "assign an admin role that can read {} (e.g. Read-only \
                                 Administrator) to the token's admin or the service app",
                                resources.join(", ")
                            ),
                            _ => "see the message above".to_string(),
                        };
                        checks.push(Check::fail(label, e.to_string(), fix));
                    }
                }
            }
        }
    }

    checks.extend(check_database(&settings.db).await);
    checks
}

async fn check_database(db: &Path) -> Vec<Check> {
    if !db.exists() {
        let dir = match db.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let writable = dir.is_dir() && tempfile_probe(&dir).is_ok();
        return vec![if writable {
            Check::ok(
                "database",
                format!(
                    "{} does not exist yet; `oktasync sync` will create it",
                    db.display()
                ),
            )
        } else {
            Check::fail(
                "database",
                format!(
                    "{} does not exist and {} is not a writable directory",
                    db.display(),
                    dir.display()
                ),
                "create the directory or pass another --db path",
            )
        }];
    }
    let store = match SqliteStore::open_read_only(db).await {
        Ok(store) => store,
        Err(StoreError::OlderMirror { .. }) => {
            return vec![Check::ok(
                "database",
                format!(
                    "{} is a mirror written by an older oktasync; the next `oktasync sync` brings it up to date",
                    db.display()
                ),
            )];
        }
        Err(e @ StoreError::Damaged { .. }) => {
            return vec![Check::fail(
                "database",
                e.to_string(),
                "run the commands above: the damaged file is kept aside and a full sync rebuilds the mirror",
            )];
        }
        Err(e) => {
            return vec![Check::fail(
                "database",
                e.to_string(),
                "pass --db with the path of an oktasync mirror, or a new file name",
            )];
        }
    };
    let mut checks = Vec::new();
    // Every page and index entry read: a damaged mirror answers wrongly without an error.
    match store.integrity_check().await {
        Ok(problems) if problems == ["ok"] => checks.push(Check::ok(
            "database",
            format!(
                "{} is a sound oktasync mirror (integrity check ok)",
                db.display()
            ),
        )),
        Ok(problems) => {
            let damaged = StoreError::Damaged {
                path: db.to_path_buf(),
                detail: problems.into_iter().take(3).collect::<Vec<_>>().join("; "),
            };
            checks.push(Check::fail(
                "database",
                damaged.to_string(),
                "run the commands above: the damaged file is kept aside and a full sync rebuilds the mirror",
            ));
        }
        Err(e) => checks.push(Check::fail(
            "database",
            e.to_string(),
            "the file may be damaged: move it aside and run `oktasync sync` to rebuild it",
        )),
    }
    store.close().await;
    // Opened for writing and closed at once: nothing is written. (After the store is closed:
    // closing another handle to the file would drop SQLite's locks.)
    match std::fs::OpenOptions::new().append(true).open(db) {
        Ok(_) => checks.push(Check::ok("database writable", "sync can write the file")),
        Err(e) => checks.push(Check::fail(
            "database writable",
            format!("cannot open {} for writing: {e}", db.display()),
            "fix the file's permissions or owner, or pass another --db path",
        )),
    }
    checks
}

/// Creates and removes a file in `dir` to prove it is writable.
fn tempfile_probe(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".oktasync-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// The kind of failure a failed check stands for, for the exit code.
fn failure_of(check: &Check) -> Failure {
    match check.check.as_str() {
        "config" | "org URL" => Failure::Config,
        "org reachable" => Failure::Network,
        c if c == "credentials" || c.starts_with("scope ") => Failure::Credentials,
        c if c.starts_with("database") => Failure::Database,
        _ => Failure::Other,
    }
}

/// Prints the checks; exits 0 when all passed, else with the kind of the first failure.
pub fn report(checks: &[Check], json: bool) -> Result<ExitCode> {
    let any_failed = checks.iter().any(|c| !c.ok && !c.skipped);
    if json {
        output::print_json(&serde_json::json!({ "ok": !any_failed, "checks": checks }))?;
    } else {
        let mut text = String::new();
        for c in checks {
            let mark = if c.ok {
                "ok  "
            } else if c.skipped {
                "skip"
            } else {
                "FAIL"
            };
            let detail = c.detail.replace('\n', &format!("\n      {:<24} ", ""));
            text.push_str(&format!("{mark}  {:<24} {detail}\n", c.check));
            if let Some(fix) = &c.fix {
                text.push_str(&format!("      {:<24} fix: {fix}\n", ""));
            }
        }
        text.push_str(if any_failed {
            "\nSome checks failed; fix them and run `oktasync doctor` again.\n"
        } else {
            "\nAll checks passed.\n"
        });
        output::write_stdout(&text)?;
    }
    Ok(match checks.iter().find(|c| !c.ok && !c.skipped) {
        Some(failed) => failure_of(failed).code(),
        None => ExitCode::SUCCESS,
    })
}
