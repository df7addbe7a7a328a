//! The command line: commands and flags are a contract (issue 4), so they live in one place.
//! Each command takes only the flags that mean something to it: the groups below are
//! flattened into the commands that use them.

use crate::config::{FactorScope, factor_scope_parser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "oktasync",
    version,
    about = "Mirror an Okta org into a SQLite database you own, and ask it questions",
    after_help = "Start with `oktasync demo` (no Okta org needed), or `oktasync init` to configure a real org.\nExit codes: 0 ok, 1 other failure, 2 usage or configuration, 3 credentials or permissions,\n4 network or TLS, 5 Okta answered with an error, 6 the mirror database."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The config file (`--config`), for every command that reads settings.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArg {
    /// Config file [default: ./oktasync.toml when it exists]
    #[arg(long, value_name = "FILE", env = "OKTASYNC_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Where to reach the org and where its mirror is: `sync`, `watch`, `doctor`.
#[derive(Args, Debug, Clone, Default)]
pub struct OrgArgs {
    /// The org's URL, e.g. https://acme.okta.com (overrides OKTASYNC_ORG_URL and org_url)
    #[arg(long, value_name = "URL", conflicts_with = "org")]
    pub org_url: Option<String>,
    /// The org by its short name in the mirror (acme) or its URL
    #[arg(long, value_name = "NAME|URL")]
    pub org: Option<String>,
    /// The mirror: a SQLite file or a postgres:// URL [default: ./oktasync.db]
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Which mirror to read: the commands that ask it questions.
#[derive(Args, Debug, Clone, Default)]
pub struct MirrorArgs {
    /// The mirror: a SQLite file or a postgres:// URL [default: ./oktasync.db]
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// With more than one org in the mirror: the org to read, by short name (acme) or URL
    #[arg(long, value_name = "NAME|URL", alias = "org-url")]
    pub org: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Which mirror, for commands about the mirror rather than one org (tokens).
#[derive(Args, Debug, Clone, Default)]
pub struct DbArgs {
    /// The mirror: a SQLite file or a postgres:// URL [default: ./oktasync.db]
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArg,
}

impl From<&DbArgs> for OrgArgs {
    fn from(d: &DbArgs) -> OrgArgs {
        OrgArgs {
            db: d.db.clone(),
            config: d.config.clone(),
            ..OrgArgs::default()
        }
    }
}

impl From<&MirrorArgs> for OrgArgs {
    fn from(m: &MirrorArgs) -> OrgArgs {
        OrgArgs {
            org_url: None,
            org: m.org.clone(),
            db: m.db.clone(),
            config: m.config.clone(),
        }
    }
}

/// How a list or show command prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Aligned columns for people (counts on stderr)
    #[default]
    Table,
    /// JSON for programs
    Json,
    /// CSV (RFC 4180, header row; formula-like cells prefixed with ')
    Csv,
}

#[derive(Args, Debug, Clone, Copy, Default)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// Short for --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl OutputArgs {
    pub fn format(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.format.unwrap_or_default()
        }
    }
}

/// `--json` alone: commands whose output is one report (sync, doctor, demo, bench).
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct JsonArg {
    /// Print JSON for programs instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a commented oktasync.toml (or the --config path) to start from
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
        /// Where to write [default: ./oktasync.toml]
        #[arg(long, value_name = "FILE", env = "OKTASYNC_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Bring the mirror up to date: incremental from the System Log when the mirror has a
    /// checkpoint, else a full sync (`--full` forces one and reports drift)
    Sync {
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        sync: SyncArgs,
        /// When another process is syncing the same org: wait for it to finish (or die)
        /// instead of stopping with who holds it
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        out: JsonArg,
    },
    /// Tail the System Log and keep the mirror fresh until interrupted
    Watch {
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        watch: WatchArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// List changes to the mirror (the change log)
    Changes {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        args: ChangesArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// List the System Log events kept in the mirror, newest first
    Logs {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        args: LogsArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Run the detection rules over the kept System Log (the events new since the last run,
    /// or those since a time) and store the alerts
    Detect {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        args: DetectArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Check the org's configuration against security baselines (no Okta calls: the mirror)
    /// and keep the findings: what is new, what was fixed
    Posture {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        args: PostureArgs,
    },
    /// List the alerts detection raised, newest first
    Alerts {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        args: AlertsArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Check the org URL, credentials, scopes and database, each with a fix
    Doctor {
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// List users in the mirror
    Users {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        args: UsersArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Show one user: profile, status, groups, apps (direct and via group), admin roles
    User {
        /// Okta user id or login
        #[arg(value_name = "ID|LOGIN")]
        id_or_login: String,
        /// Groups, app access and admin roles as of this time (RFC 3339, a date, or a
        /// duration ago such as 2h)
        #[arg(long, value_name = "T")]
        at: Option<String>,
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// List groups in the mirror
    Groups {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Show one group and its members (CSV: the members)
    Group {
        /// Okta group id or name
        #[arg(value_name = "ID|NAME")]
        id_or_name: String,
        /// Members, app assignments and admin roles as of this time (RFC 3339, a date, or a
        /// duration ago such as 2h)
        #[arg(long, value_name = "T")]
        at: Option<String>,
        #[command(flatten)]
        active: ActiveArg,
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// List apps in the mirror
    Apps {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Show who has access to an app, and through what (CSV: the access rows)
    App {
        /// Okta app id or label
        #[arg(value_name = "ID|LABEL")]
        id_or_label: String,
        #[command(flatten)]
        active: ActiveArg,
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Who holds which admin role, and how (direct or via a group)
    Admins {
        #[command(flatten)]
        active: ActiveArg,
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Serve the mirror over HTTP (REST API under /v1, /openapi.json, /docs, /metrics) and
    /// keep the configured orgs fresh on a schedule, until SIGTERM or Ctrl-C
    Serve {
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Time-bound group grants written back to Okta: add someone to a group until a time
    Grant {
        #[command(subcommand)]
        command: GrantCommand,
    },
    /// Tokens of the REST API (`oktasync serve`)
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The orgs in the mirror: short name, URL, users, last run
    Orgs {
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Copy a whole mirror, history included, into another (e.g. a SQLite file into
    /// PostgreSQL), which must hold no org yet
    Copy {
        /// The mirror to copy: a SQLite file or a postgres:// URL (read, never written)
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// Where to copy it: a new SQLite file or an empty PostgreSQL database
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
        #[command(flatten)]
        out: JsonArg,
    },
    /// Push the users of a target ([[targets]]) from the mirror into another system (SCIM):
    /// only what changed since the last push, or everything with --full
    Push {
        /// The target's name ([[targets]] name)
        #[arg(value_name = "TARGET")]
        target: String,
        /// Print the plan (creates, updates, deactivations, deletions, group adds and
        /// removes) and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Compare every user and group with the target's own listing (finds drift and
        /// target-only accounts) instead of with what was pushed last
        #[arg(long)]
        full: bool,
        /// Allow this many deactivations and deletions in this run, over max_deletions
        #[arg(long, value_name = "N")]
        allow_deletions: Option<u64>,
        /// Where target_only_users = "write-file" writes the target-only accounts
        #[arg(long, value_name = "PATH")]
        write_file: Option<PathBuf>,
        /// List the target's latest push runs instead of pushing
        #[arg(long, conflicts_with_all = ["dry_run", "full", "allow_deletions", "write_file"])]
        history: bool,
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Who holds each configured role ([[roles]]), through which groups or apps
    Roles {
        /// Only this user's (id or login)
        #[arg(long, value_name = "U")]
        user: Option<String>,
        /// Only this role
        #[arg(long, value_name = "R")]
        role: Option<String>,
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Rows per table and recent sync runs
    Status {
        /// How many runs to show
        #[arg(long, default_value_t = 10)]
        limit: u32,
        #[command(flatten)]
        mirror: MirrorArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Export the mirror
    Export {
        #[command(flatten)]
        args: ExportArgs,
        #[command(flatten)]
        mirror: MirrorArgs,
    },
    /// Start an emulated org, sync it into ./oktasync-demo.db, change it, sync again, and
    /// show what to try next
    Demo {
        /// Seed of the emulated org
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The demo mirror [default: ./oktasync-demo.db]; only a file an earlier demo made
        /// is replaced
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        #[command(flatten)]
        out: JsonArg,
    },
    /// Sync a seeded emulated org and report speed, calls and memory
    Bench {
        #[command(flatten)]
        args: BenchArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// Print a shell completion script: `oktasync completions bash > /etc/bash_completion.d/oktasync`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `--active`: only users whose status is ACTIVE.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct ActiveArg {
    /// Only ACTIVE users (leave out SUSPENDED, DEPROVISIONED, STAGED, ...)
    #[arg(long)]
    pub active: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct SyncArgs {
    /// Resources to sync, comma-separated [default: all]: users, groups, memberships, apps,
    /// app_users, app_groups, roles, idps, factors
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub resources: Option<Vec<String>>,
    /// Whose MFA factors to read [default: admins]
    #[arg(long, value_parser = factor_scope_parser())]
    pub factors: Option<FactorScope>,
    /// A full sync even when the mirror could be updated incrementally; on an existing
    /// mirror it reports the rows it had to change (drift). With watch: start with one
    #[arg(long)]
    pub full: bool,
    /// Mirror only the groups assigned to this app (an id), their members and the app
    /// ([scope] app)
    #[arg(long, value_name = "APP_ID")]
    pub scope_app: Option<String>,
    /// Mirror only these groups, comma-separated: names, globs (Eng*), re:regex, ids
    /// ([scope] groups)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub scope_groups: Option<Vec<String>>,
    /// Mirror only the users this Okta search expression matches, e.g.
    /// 'profile.department eq "Engineering"' ([scope] users)
    #[arg(long, value_name = "EXPRESSION")]
    pub scope_users: Option<String>,
}

/// The shortest poll interval `watch` accepts: Okta's System Log is eventually consistent
/// over seconds, and a faster loop only spends the logs bucket.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest reconcile period `watch` accepts: a full read of a large org takes minutes.
pub const MIN_RECONCILE_EVERY: Duration = Duration::from_secs(60);

#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    #[command(flatten)]
    pub sync: SyncArgs,
    /// How often to poll the System Log (at least 1s; backs off up to 12x while nothing
    /// happens)
    #[arg(long, default_value = "5s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Run a full reconcile this often (at least 1m, e.g. 24h)
    #[arg(long, value_name = "DURATION", value_parser = parse_reconcile_every)]
    pub reconcile_every: Option<Duration>,
}

fn parse_duration_at_least(text: &str, floor: Duration, what: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{e}; give a duration such as 5s, 2m or 24h"))?;
    if d < floor {
        return Err(format!(
            "{what} must be at least {}; got {text}",
            humantime::format_duration(floor)
        ));
    }
    Ok(d)
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    parse_duration_at_least(text, MIN_WATCH_INTERVAL, "the poll interval")
}

fn parse_reconcile_every(text: &str) -> Result<Duration, String> {
    parse_duration_at_least(text, MIN_RECONCILE_EVERY, "the reconcile period")
}

#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; [serve] listen, OKTASYNC_SERVE_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// With one org (org_url): poll its System Log this often [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub sync_interval: Option<Duration>,
    /// With one org (org_url): a full reconcile this often [default: 24h]
    #[arg(long, value_name = "DURATION", value_parser = parse_reconcile_every)]
    pub reconcile_every: Option<Duration>,
    /// Log one JSON object per line instead of text
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// How `serve` writes its log.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; it is printed once, alone on the last line of stdout (only its hash
    /// is stored)
    Create {
        /// A name for it, unique in the mirror (who or what uses it)
        #[arg(long)]
        name: String,
        /// What it allows: read (every GET), sync (and POST /syncs), grant (and the grants),
        /// admin (everything)
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["read", "sync", "grant", "admin"]))]
        scope: String,
        /// Limit it to one org of the mirror (its short name)
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The tokens: name, scope, org, created, last used
    List {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Revoke a token by name: requests with it are refused from now on
    Revoke {
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum GrantCommand {
    /// Grant a group membership until a time: recorded first, then added in Okta; prints the
    /// grant's id
    Add {
        /// The user: Okta id or login
        #[arg(long, value_name = "U")]
        user: String,
        /// The group: Okta id or name
        #[arg(long, value_name = "G")]
        group: String,
        /// For how long: 2h, 30m, 90s, "1h 30m"
        #[arg(
            long = "for",
            value_name = "DURATION",
            conflicts_with = "until",
            required_unless_present = "until"
        )]
        duration: Option<String>,
        /// Until when (RFC 3339), instead of --for
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Why (required by default policies)
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// A ticket or request id to keep with it
        #[arg(long, value_name = "T")]
        ticket: Option<String>,
        /// Who asked for it
        #[arg(long, value_name = "WHO")]
        requested_by: Option<String>,
        /// Create the user in Okta first (--user is its login); the policy's
        /// cleanup_after_days then deactivates and deletes it after its last grant
        #[arg(long, requires_all = ["email", "first_name", "last_name"])]
        create_user: bool,
        /// The new user's email (with --create-user)
        #[arg(long, value_name = "E", requires = "create_user")]
        email: Option<String>,
        /// The new user's first name (with --create-user)
        #[arg(long, value_name = "F", requires = "create_user")]
        first_name: Option<String>,
        /// The new user's last name (with --create-user)
        #[arg(long, value_name = "L", requires = "create_user")]
        last_name: Option<String>,
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// The grants, newest first
    List {
        /// Only those not ended yet
        #[arg(long)]
        active: bool,
        /// Only this user's (id or login)
        #[arg(long, value_name = "U")]
        user: Option<String>,
        /// Only this group's (id or name)
        #[arg(long, value_name = "G")]
        group: Option<String>,
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// One grant with its audit trail
    Show {
        id: i64,
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// End a grant now: its membership is removed (unless it was there before, or another
    /// grant still holds it); `--all` ends every open grant (of `--group`)
    Revoke {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every open grant of the org: the panic button
        #[arg(long)]
        all: bool,
        /// With --all: only this group's grants (id or name)
        #[arg(long, value_name = "G", requires = "all")]
        group: Option<String>,
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// Make a grant last longer: its end moves by the duration (within the policy's
    /// max_duration from now)
    Extend {
        id: i64,
        /// By how much: 1h, 30m
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// Approve a grant waiting for approval (the approver must not be its requester)
    Approve {
        id: i64,
        /// Who approves [default: $USER]
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// Refuse a grant waiting for approval
    Deny {
        id: i64,
        /// Who refuses [default: $USER]
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Why
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
    /// One enforcement pass: add what is granted, remove what is due, retry what failed (for
    /// cron; `watch` and `serve` do it continuously)
    Enforce {
        #[command(flatten)]
        org: OrgArgs,
        #[command(flatten)]
        out: JsonArg,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ChangesArgs {
    /// Only changes at or after this time (RFC 3339, a date, or a duration ago such as 2h)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only changes concerning this user (id or login)
    #[arg(long, value_name = "U")]
    pub user: Option<String>,
    /// Only changes concerning this group (id or name)
    #[arg(long, value_name = "G")]
    pub group: Option<String>,
    /// At most this many (the newest)
    #[arg(long, default_value_t = 1000)]
    pub limit: u32,
}

#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    /// Only events published at or after this time (RFC 3339, a date, or a duration ago such
    /// as 2h)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only events of this type; `*` and `?` are wildcards (user.session.*)
    #[arg(long = "type", value_name = "PATTERN")]
    pub event_type: Option<String>,
    /// Only events by this actor (id or alternateId, such as a login)
    #[arg(long, value_name = "U")]
    pub actor: Option<String>,
    /// Only events with this target (id or alternateId)
    #[arg(long, value_name = "ID")]
    pub target: Option<String>,
    /// Only events with this outcome (SUCCESS, FAILURE, DENY, ...)
    #[arg(long, value_name = "RESULT")]
    pub outcome: Option<String>,
    /// At most this many (the newest)
    #[arg(long, default_value_t = 1000)]
    pub limit: u32,
}

#[derive(Args, Debug, Clone)]
pub struct DetectArgs {
    /// Evaluate the events published since this time (RFC 3339, a date, or a duration ago
    /// such as 7d) instead of those new since the last run; alerts found again are merged
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// List the rules (id, severity, kind, title, sources) instead of running them
    #[arg(long)]
    pub list: bool,
}

/// How `oktasync posture` prints a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PostureFormat {
    /// Failing checks and their findings, for people (a summary on stderr)
    #[default]
    Table,
    /// The whole run: every check with its status, evidence rows, sources and fixes
    Json,
    /// SARIF 2.1.0, for code-scanning tools: a rule per check, a result per finding
    Sarif,
}

#[derive(Args, Debug, Clone)]
pub struct PostureArgs {
    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = PostureFormat::Table)]
    pub format: PostureFormat,
    /// Short for --format json
    #[arg(long)]
    pub json: bool,
    /// Only checks of this severity or above (info, low, medium, high, critical)
    #[arg(long, value_name = "S")]
    pub min_severity: Option<String>,
    /// List the checks (id, severity, sources, params, SQL) instead of running them
    #[arg(long)]
    pub list: bool,
}

#[derive(Args, Debug, Clone)]
pub struct AlertsArgs {
    /// Only alerts whose latest event is at or after this time (RFC 3339, a date, or a
    /// duration ago such as 24h)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only alerts of this severity or above (info, low, medium, high, critical)
    #[arg(long, value_name = "S")]
    pub severity: Option<String>,
    /// Only alerts of this rule; `*` and `?` are wildcards (okta.mfa.*)
    #[arg(long, value_name = "RULE")]
    pub rule: Option<String>,
    /// At most this many (the newest)
    #[arg(long, default_value_t = 1000)]
    pub limit: u32,
}

#[derive(Args, Debug, Clone, Default)]
pub struct UsersArgs {
    /// Only users with one of these statuses, comma-separated (ACTIVE, STAGED, PROVISIONED,
    /// RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub status: Vec<String>,
    /// Only members of this group (id or name)
    #[arg(long)]
    pub group: Option<String>,
    /// Only users in this department (case-insensitive)
    #[arg(long)]
    pub department: Option<String>,
    /// Text found in login, email, first or last name (case-insensitive)
    #[arg(long)]
    pub search: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The emulator's export object, exactly (same keys and order)
    Json,
    /// One object per line with a `kind` field
    Ndjson,
    /// One CSV file per entity in the --out directory
    Csv,
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Output file (json, ndjson) or directory (csv) [default: stdout; csv: ./oktasync-export]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// CSV: write cells exactly as stored, without the ' that keeps spreadsheets from reading
    /// cells starting with = + - @ as formulas (for programs, not spreadsheets)
    #[arg(long)]
    pub csv_raw: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchSize {
    Tiny,
    Small,
    Medium,
    Large,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchRateLimits {
    Off,
    Workforce,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "small")]
    pub size: BenchSize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "off")]
    pub rate_limits: BenchRateLimits,
    /// A rate-limit window lasts 60/K seconds in the emulator
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Latency the emulator adds per request
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Use an emulator that is already running instead of spawning one
    #[arg(long, value_name = "URL", requires = "token")]
    pub emulator_url: Option<String>,
    /// The API token of --emulator-url
    #[arg(long, value_name = "T")]
    pub token: Option<String>,
    /// Whose factors to sync
    #[arg(long, value_parser = factor_scope_parser(), default_value = "admins")]
    pub factors: FactorScope,
    /// The mirror to sync into: a PostgreSQL URL (postgres://...) or a SQLite path
    /// [default: a new SQLite file in a temporary directory]
    #[arg(long, value_name = "DB")]
    pub db: Option<std::path::PathBuf>,
    /// After the full sync, churn this percentage of the org's users (emulator
    /// `POST /__emulator/churn`, one operation per user), sync incrementally, then run
    /// `sync --full` and report the incremental run's calls, time and the drift found
    #[arg(long, value_name = "PCT")]
    pub churn_users_pct: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_that_mean_nothing_for_a_command_are_refused() {
        for args in [
            &["oktasync", "init", "--json"][..],
            &["oktasync", "demo", "--org-url", "https://acme.okta.com"],
            &["oktasync", "export", "--format", "json", "--json"],
            &["oktasync", "bench", "--org-url", "https://acme.okta.com"],
            &["oktasync", "completions", "bash", "--db", "x.db"],
            &["oktasync", "watch", "--limit", "3"],
        ] {
            let err = Cli::try_parse_from(args).expect_err(&args.join(" "));
            assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{err}");
        }
    }

    #[test]
    fn watch_refuses_intervals_below_the_floor() {
        for args in [
            &["oktasync", "watch", "--interval", "0s"][..],
            &["oktasync", "watch", "--interval", "500ms"],
            &["oktasync", "watch", "--reconcile-every", "0s"],
            &["oktasync", "watch", "--reconcile-every", "30s"],
        ] {
            let err = Cli::try_parse_from(args).expect_err(&args.join(" "));
            assert!(err.to_string().contains("must be at least"), "{err}");
        }
        let ok = Cli::try_parse_from(["oktasync", "watch", "--interval", "1s"]);
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn json_is_short_for_format_json_and_they_conflict() {
        let cli = Cli::try_parse_from(["oktasync", "users", "--json"]).unwrap();
        let Command::Users { out, .. } = cli.command else {
            panic!("users");
        };
        assert_eq!(out.format(), OutputFormat::Json);
        let cli = Cli::try_parse_from(["oktasync", "group", "Eng", "--format", "csv"]).unwrap();
        let Command::Group { out, .. } = cli.command else {
            panic!("group");
        };
        assert_eq!(out.format(), OutputFormat::Csv);
        assert!(Cli::try_parse_from(["oktasync", "users", "--json", "--format", "csv"]).is_err());
    }
}
