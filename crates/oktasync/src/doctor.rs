//! `oktasync doctor`: checks the org URL, the credentials, each scope the configured resources
//! need, and the database, and says how to fix each failure.

use crate::config::{Auth, ClientProof, LOGS_SCOPE, Settings, scope_of};
use crate::connect;
use crate::exit::Failure;
use crate::output;
use anyhow::Result;
use futures::StreamExt;
use okta_api::{Error as ApiError, OktaClient, OrgUrl, Reachability};
use oktasync_store::{DbLocation, SqliteStore, StoreError};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

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
    /// The kind of failure, when it is not the one the check's name implies.
    #[serde(skip)]
    failure: Option<Failure>,
}

impl Check {
    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok: true,
            skipped: false,
            detail: detail.into(),
            fix: None,
            failure: None,
        }
    }
    fn fail(check: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok: false,
            skipped: false,
            detail: detail.into(),
            fix: Some(fix.into()),
            failure: None,
        }
    }
    fn counting_as(mut self, failure: Failure) -> Check {
        self.failure = Some(failure);
        self
    }
    fn skip(check: impl Into<String>, why: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok: false,
            skipped: true,
            detail: why.into(),
            fix: None,
            failure: None,
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
        "okta.policies.read" => "/api/v1/policies?type=OKTA_SIGN_ON",
        "okta.authenticators.read" => "/api/v1/authenticators",
        "okta.networkZones.read" => "/api/v1/zones?limit=1",
        "okta.apiTokens.read" => "/api/v1/api-tokens?limit=1",
        "okta.logStreams.read" => "/api/v1/logStreams?limit=1",
        "okta.threatInsights.read" => "/api/v1/threats/configuration",
        // Grants are read per app: an app id no org has answers 404 once the scope is granted.
        "okta.appGrants.read" => APP_GRANTS_PROBE,
        _ => "",
    }
}

/// An app id no org has, whose grants probe `okta.appGrants.read`.
macro_rules! probe_app_id {
    () => {
        "0oa0000000000000000"
    };
}

/// The grants of an app that does not exist.
const APP_GRANTS_PROBE: &str = concat!("/api/v1/apps/", probe_app_id!(), "/grants");

async fn probe(client: &OktaClient, scope: &str) -> std::result::Result<(), ApiError> {
    let path = scope_probe(scope);
    if scope == "okta.threatInsights.read" {
        return client.get_threat_insight().await.map(|_| ());
    }
    if scope == "okta.appGrants.read" {
        return match client.list_app_grants(probe_app_id!()).next().await {
            Some(Err(ApiError::NotFound(_))) | None => Ok(()),
            Some(r) => r.map(|_| ()),
        };
    }
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

/// What to do about an error from the first API call, made with credentials of `kind`.
fn credential_fix(err: &ApiError, settings: &Settings) -> String {
    match err {
        ApiError::InvalidToken(_) if settings.api_token.is_some() => format!(
            "the API token ({}) is not valid for this org: create a new one (Admin Console > \
             Security > API > Tokens) and give it to oktasync; make sure it belongs to this org",
            settings.origin("api_token")
        ),
        ApiError::InvalidToken(_) => "the access token was refused: check that the service \
             app belongs to this org and is active"
            .to_string(),
        ApiError::OAuth { .. } | ApiError::InvalidPrivateKey { .. }
            if settings.oauth_client_secret.is_some() =>
        {
            format!(
                "check oauth_client_id ({}) and the client secret ({}): copy both again from the \
                 app's General tab (Client Credentials), and check that the app's client \
                 authentication is Client secret",
                settings.origin("oauth_client_id"),
                settings.origin("oauth_client_secret")
            )
        }
        ApiError::OAuth { .. } | ApiError::InvalidPrivateKey { .. } => format!(
            "check oauth_client_id ({}), that the private key ({}) matches the public key \
             registered with the service app, and oauth_key_id if the app has several keys",
            settings.origin("oauth_client_id"),
            settings.origin("oauth_private_key")
        ),
        ApiError::Transport { .. } | ApiError::Certificate { .. } => {
            "check the org URL, the network, DNS and the proxy settings".to_string()
        }
        _ => "see the message above".to_string(),
    }
}

/// The proxy variables set in the environment (names only: a proxy URL may hold a password).
fn proxy_variables() -> Vec<&'static str> {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ]
    .into_iter()
    .filter(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    .collect()
}

/// Where `SSL_CERT_FILE` helps: on Linux and other Unix systems (not macOS) the client loads
/// the system's roots through rustls-native-certs, which reads it; elsewhere the operating
/// system verifies certificates (see okta-api's transport module).
#[cfg(all(unix, not(target_vendor = "apple")))]
const SYSTEM_ROOTS_HINT: &str = ", or set SSL_CERT_FILE to a PEM bundle (it then replaces the \
     system's roots)";
#[cfg(not(all(unix, not(target_vendor = "apple"))))]
const SYSTEM_ROOTS_HINT: &str = ", or add the CA to the system's trust store";

/// One unauthenticated request over the client's own HTTP stack: the same proxies
/// (`HTTPS_PROXY`, `NO_PROXY`), the same trusted roots (`ca_file`), no redirects followed.
async fn reachability(org: &OrgUrl, settings: &Settings) -> Check {
    const NAME: &str = "org reachable";
    let proxies = proxy_variables();
    let proxy_note = if proxies.is_empty() {
        String::new()
    } else {
        format!(
            " (proxy settings in the environment: {})",
            proxies.join(", ")
        )
    };
    let ca_note = match &settings.ca_file {
        Some(path) => format!(
            "; trusting the CA file {} too ({})",
            path.display(),
            settings.origin("ca_file")
        ),
        None => String::new(),
    };
    let reach = match okta_api::probe_reachability(org, &connect::client_config(settings)).await {
        Ok(reach) => reach,
        Err(e) => {
            return Check::fail(
                NAME,
                e.to_string(),
                format!(
                    "fix or remove ca_file ({}): it must be a readable PEM file of CA certificates",
                    settings.origin("ca_file")
                ),
            )
            .counting_as(Failure::Config);
        }
    };
    match reach {
        Reachability::Reachable { status } => Check::ok(
            NAME,
            format!(
                "{} answered (HTTP {status}){proxy_note}{ca_note}",
                org.origin()
            ),
        ),
        Reachability::Certificate { host, detail } => {
            let already = match &settings.ca_file {
                Some(path) => format!(
                    "; ca_file {} ({}) does not hold the CA that issued this certificate",
                    path.display(),
                    settings.origin("ca_file")
                ),
                None => String::new(),
            };
            Check::fail(
                NAME,
                format!("the TLS certificate of {host} is not trusted: {detail}{proxy_note}"),
                format!(
                    "if {host} is the right org host and your network uses a private CA or a \
                     TLS-inspecting proxy, save that CA's certificate as PEM and set ca_file \
                     (env OKTASYNC_CA_FILE) to it{SYSTEM_ROOTS_HINT}{already}. Certificate \
                     checks cannot be switched off"
                ),
            )
            .counting_as(Failure::Network)
        }
        Reachability::Redirect { status, location } => Check::fail(
            NAME,
            format!(
                "{} answers with a redirect (HTTP {status}) to {location}{proxy_note}",
                org.origin()
            ),
            "the org URL is probably wrong: use the org's own URL (e.g. https://acme.okta.com), \
             not a sign-in page, the Admin Console or a proxy's portal (redirects are never \
             followed)",
        )
        .counting_as(Failure::Config),
        Reachability::Unreachable { cause } => Check::fail(
            NAME,
            format!("cannot reach {}: {cause}{proxy_note}", org.origin()),
            if proxies.is_empty() {
                "check the org URL for typos, DNS and the firewall; behind a proxy, set \
                 HTTPS_PROXY (and NO_PROXY for hosts that bypass it)"
                    .to_string()
            } else {
                format!(
                    "check the org URL for typos, DNS and the firewall, and the proxy settings \
                     ({})",
                    proxies.join(", ")
                )
            },
        )
        .counting_as(Failure::Network),
    }
}

fn is_credential_error(err: &ApiError) -> bool {
    matches!(
        err,
        ApiError::InvalidToken(_)
            | ApiError::OAuth { .. }
            | ApiError::InvalidPrivateKey { .. }
            | ApiError::Transport { .. }
            | ApiError::Certificate { .. }
            | ApiError::Redirect { .. }
            | ApiError::InvalidResponse { .. }
            | ApiError::ForeignNextLink { .. }
    )
}

/// Where the credential's secret came from, in words.
fn credential_origin(auth: &Auth, settings: &Settings) -> String {
    match auth {
        Auth::ApiToken(_) => settings.origin("api_token"),
        Auth::OAuth(oauth) => format!(
            "client id {}; {}",
            oauth.client_id,
            match oauth.proof {
                ClientProof::PrivateKey { .. } => settings.origin("oauth_private_key"),
                ClientProof::Secret(_) => settings.origin("oauth_client_secret"),
            }
        ),
    }
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
    for note in &settings.notes {
        checks.push(Check::fail(
            "config",
            note.clone(),
            "fix the Okta SDK settings, or give oktasync its own (OKTASYNC_*, oktasync.toml)",
        ));
    }

    // Org URL: parse, then reach.
    let org = match settings.require_org_url().map(OrgUrl::parse) {
        Err(e) => {
            checks.push(Check::fail("org URL", e.to_string(), "set the org URL"));
            None
        }
        Ok(Err(e)) => {
            // okta-api's message never shows a user name or password given in the URL
            checks.push(Check::fail(
                "org URL",
                format!("{e} ({})", settings.origin("org_url")),
                "use the org's base URL, e.g. https://acme.okta.com (not the -admin console)",
            ));
            None
        }
        Ok(Ok(org)) => {
            checks.push(Check::ok(
                "org URL",
                format!("{} (from {})", org.origin(), settings.origin("org_url")),
            ));
            Some(org)
        }
    };
    let reachable = match &org {
        None => {
            checks.push(Check::skip("org reachable", "no valid org URL"));
            false
        }
        Some(org) => {
            let check = reachability(org, settings).await;
            let ok = check.ok;
            checks.push(check);
            ok
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
            let kind = (auth.kind(), credential_origin(&auth, settings));
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
                        format!(
                            "fix the private key ({}): PEM (PKCS#8, PKCS#1, SEC1) or the JWK JSON \
                             from the console",
                            settings.origin("oauth_private_key")
                        ),
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
                            checks.push(Check::ok(
                                "credentials",
                                format!("{} accepted ({})", kind.0, kind.1),
                            ));
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
                            credential_fix(&e, settings),
                        ));
                        break;
                    }
                    Err(e) => {
                        if !authenticated {
                            checks.push(Check::ok(
                                "credentials",
                                format!("{} accepted ({})", kind.0, kind.1),
                            ));
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

    checks.extend(match connect::db_location(settings) {
        Ok(DbLocation::Sqlite(path)) => check_database(&path).await,
        Ok(DbLocation::Postgres(pg)) => check_postgres(&DbLocation::Postgres(pg)).await,
        Err(e) => vec![Check::fail(
            "database",
            format!("{e:#}"),
            "fix the db setting or its password",
        )],
    });
    checks
}

/// A PostgreSQL mirror: it opens, it is a mirror (or an empty database a sync will set up),
/// and says how many orgs it holds. Read-only, like every doctor check.
async fn check_postgres(location: &DbLocation) -> Vec<Check> {
    match connect::open_existing(location).await {
        Ok(store) => {
            let orgs = store.org_list().await;
            store.close().await;
            vec![match orgs {
                Ok(orgs) => Check::ok(
                    "database",
                    format!(
                        "{location} is an oktasync mirror ({} org{}: {})",
                        orgs.len(),
                        if orgs.len() == 1 { "" } else { "s" },
                        orgs.iter()
                            .map(|o| o.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                Err(e) => Check::fail("database", e.to_string(), "check the database"),
            }]
        }
        Err(e) => match e.downcast_ref::<StoreError>() {
            Some(StoreError::NoMirror { .. } | StoreError::PgNoMirror { .. }) => vec![Check::ok(
                "database",
                format!("{location} holds no mirror yet; `oktasync sync` will create one"),
            )],
            Some(StoreError::OlderMirror { .. }) => vec![Check::ok(
                "database",
                format!(
                    "{location} is a mirror written by an older oktasync; the next `oktasync sync` brings it up to date"
                ),
            )],
            _ => vec![Check::fail(
                "database",
                format!("{e:#}"),
                "check the URL, that the server runs, the user's password and its rights on the database",
            )],
        },
    }
}

async fn check_database(db: &Path) -> Vec<Check> {
    if !db.exists() {
        return vec![match connect::cannot_write(db) {
            None => Check::ok(
                "database",
                format!(
                    "{} does not exist yet; `oktasync sync` will create it",
                    db.display()
                ),
            ),
            Some(problem) => Check::fail(
                "database",
                problem,
                "create the directory, fix its permissions, or pass another --db path",
            ),
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
            // a mirror whose directory takes no new file cannot even be read: SQLite needs its
            // -shm file beside it
            let fix = match connect::cannot_write(db) {
                Some(problem) => problem,
                None => "pass --db with the path of an oktasync mirror, or a new file name".into(),
            };
            return vec![Check::fail("database", e.to_string(), fix)];
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
    match connect::cannot_write(db) {
        None => checks.push(Check::ok(
            "database writable",
            "sync can write the file and its directory",
        )),
        Some(problem) => checks.push(Check::fail(
            "database writable",
            problem,
            "fix the permissions or owner of the file and its directory, or pass another --db \
             path",
        )),
    }
    checks
}

/// The kind of failure a failed check stands for, for the exit code.
fn failure_of(check: &Check) -> Failure {
    if let Some(failure) = check.failure {
        return failure;
    }
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
