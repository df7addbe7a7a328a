//! End-to-end tests of the `oktasync` binary against an emulated org over real HTTP, with
//! real SQLite files. One test binary (see the team rules): modules per area.

mod commands;
mod config;
mod credentials;
mod detection;
mod doctor;
mod first_contact;
mod fresh;
mod grant_crash;
mod grants;
mod postgres;
mod posture;
mod push;
mod roles;
mod scope;
mod serve;
mod terminal;

use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with both streams unless the run succeeded.
    #[track_caller]
    pub fn expect_ok(&self) -> &Self {
        assert!(self.ok(), "expected success, got {self:#?}");
        self
    }

    #[track_caller]
    pub fn expect_failure(&self) -> &Self {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "expected a non-zero exit, got {self:#?}"
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs `oktasync ARGS` in `dir` with only the `OKTASYNC_*` and `OKTA_CLIENT_*` variables given,
/// and `dir` as `HOME` unless `env` says otherwise.
pub async fn oktasync(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"));
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("OKTASYNC_") || key.starts_with("OKTA_CLIENT_") {
            cmd.env_remove(key);
        }
    }
    // The Okta SDKs' ~/.okta/okta.yaml is a fallback: no test reads the developer's own.
    cmd.env("HOME", dir);
    cmd.envs(env.iter().copied());
    let out = cmd.output().await.expect("run oktasync");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub async fn emulator(seed: u64, size: OrgSize) -> RunningEmulator {
    okta_emulator::start(EmulatorConfig {
        seed,
        size,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// A tiny org synced into `dir/m.db`, the token given through `OKTASYNC_API_TOKEN_FILE`.
pub struct Synced {
    pub emu: RunningEmulator,
    pub dir: TempDir,
    pub db: PathBuf,
    pub token_file: PathBuf,
    pub summary: serde_json::Value,
}

impl Synced {
    pub async fn tiny(seed: u64) -> Synced {
        Synced::with(emulator(seed, OrgSize::Tiny).await).await
    }

    /// `emu` synced into a new mirror.
    pub async fn with(emu: RunningEmulator) -> Synced {
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, format!("{}\n", emu.token())).unwrap();
        let db = dir.path().join("m.db");
        let out = oktasync(
            dir.path(),
            &[
                "sync",
                "--org-url",
                &emu.base_url(),
                "--db",
                "m.db",
                // The export compares every factor; the default reads admins' only.
                "--factors",
                "all",
                "--json",
            ],
            &[("OKTASYNC_API_TOKEN_FILE", token_file.to_str().unwrap())],
        )
        .await;
        out.expect_ok();
        let summary = out.json();
        Synced {
            emu,
            dir,
            db,
            token_file,
            summary,
        }
    }

    /// Runs a command that reads the mirror, with `--db` set.
    pub async fn ask(&self, args: &[&str]) -> Out {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", self.db.to_str().unwrap()]);
        oktasync(self.dir.path(), &all, &[]).await
    }
}
