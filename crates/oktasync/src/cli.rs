//! The command line: commands and flags are a contract (issue 4), so they live in one place.

use crate::config::FactorsMode;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "oktasync",
    version,
    about = "Mirror an Okta org into a SQLite database you own, and ask it questions",
    after_help = "Start with `oktasync demo` (no Okta org needed), or `oktasync init` to configure a real org."
)]
pub struct Cli {
    /// The org's URL, e.g. https://acme.okta.com (overrides OKTASYNC_ORG_URL and org_url)
    #[arg(long, global = true, value_name = "URL")]
    pub org_url: Option<String>,
    /// The mirror database [default: ./oktasync.db]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Config file [default: ./oktasync.toml when it exists]
    #[arg(long, global = true, value_name = "FILE", env = "OKTASYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print JSON for programs instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a commented oktasync.toml (or the --config path) to start from
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Bring the mirror up to date: incremental from the System Log when the mirror has a
    /// checkpoint, else a full sync (`--full` forces one and reports drift)
    Sync(SyncArgs),
    /// Tail the System Log and keep the mirror fresh until interrupted
    Watch(WatchArgs),
    /// List changes to the mirror (the change log)
    Changes(ChangesArgs),
    /// Check the org URL, credentials, scopes and database, each with a fix
    Doctor,
    /// List users in the mirror
    Users(UsersArgs),
    /// Show one user: profile, status, groups, apps (direct and via group), admin roles
    User {
        /// Okta user id or login
        #[arg(value_name = "ID|LOGIN")]
        id_or_login: String,
        /// Groups, app access and admin roles as of this time (RFC 3339, a date, or a
        /// duration ago such as 2h)
        #[arg(long, value_name = "T")]
        at: Option<String>,
    },
    /// List groups in the mirror
    Groups,
    /// Show one group and its members
    Group {
        /// Okta group id or name
        #[arg(value_name = "ID|NAME")]
        id_or_name: String,
        /// Members, app assignments and admin roles as of this time (RFC 3339, a date, or a
        /// duration ago such as 2h)
        #[arg(long, value_name = "T")]
        at: Option<String>,
    },
    /// List apps in the mirror
    Apps,
    /// Show who has access to an app, and through what
    App {
        /// Okta app id or label
        #[arg(value_name = "ID|LABEL")]
        id_or_label: String,
    },
    /// Who holds which admin role, and how (direct or via a group)
    Admins,
    /// Recent sync runs
    Status {
        /// How many runs to show
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Export the mirror
    Export(ExportArgs),
    /// Start an emulated org, sync it into ./oktasync-demo.db, and show what to try next
    Demo {
        /// Seed of the emulated org
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Sync a seeded emulated org and report speed, calls and memory
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Resources to sync, comma-separated [default: all]: users, groups, memberships, apps,
    /// app_users, app_groups, roles, idps, factors
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub resources: Option<Vec<String>>,
    /// Whose MFA factors to read [default: admins]
    #[arg(long, value_enum)]
    pub factors: Option<FactorsMode>,
    /// A full sync even when the mirror could be updated incrementally; on an existing
    /// mirror it reports the rows it had to change (drift)
    #[arg(long)]
    pub full: bool,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    #[command(flatten)]
    pub sync: SyncArgs,
    /// How often to poll the System Log (backs off up to 12x while nothing happens)
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub interval: std::time::Duration,
    /// Run a full reconcile this often (e.g. 24h)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub reconcile_every: Option<std::time::Duration>,
}

#[derive(Args, Debug)]
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

#[derive(Args, Debug)]
pub struct UsersArgs {
    /// Only users with this status (ACTIVE, DEPROVISIONED, ...)
    #[arg(long)]
    pub status: Option<String>,
    /// Only members of this group (id or name)
    #[arg(long)]
    pub group: Option<String>,
    /// Only users in this department
    #[arg(long)]
    pub department: Option<String>,
    /// Text found in login, email, first or last name
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

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Output file (json, ndjson) or directory (csv) [default: stdout; csv: ./oktasync-export]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
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
    #[arg(long, value_enum, default_value = "admins")]
    pub factors: FactorsMode,
    /// After the full sync, churn this percentage of the org's users (emulator
    /// `POST /__emulator/churn`, one operation per user), sync incrementally, then run
    /// `sync --full` and report the incremental run's calls, time and the drift found
    #[arg(long, value_name = "PCT")]
    pub churn_users_pct: Option<f64>,
}
