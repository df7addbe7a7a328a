//! A real SCIM 2.0 service provider for the tests: `scim2-server` (PyPI, 0.8.3), one process
//! per test on a free port of 127.0.0.1, killed when the handle drops.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-bearer-token";

/// The scim2-server release the tests run.
pub const SCIM2_SERVER_VERSION: &str = "0.8.3";

const HOW_TO_INSTALL: &str = "the push tests need scim2-server (PyPI, version 0.8.3); without \
     SCIM2_SERVER or scim2-server on PATH they install it into target/scim2-venv \
     (python3 -m venv, pip install scim2-server==0.8.3), which needs python3 and PyPI";

/// How long the server may take to answer after starting (Python's start-up is ~1 s).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The scim2-server to run: `SCIM2_SERVER`, else `scim2-server` on `PATH`, else one
/// installed once into `target/scim2-venv`, so that `cargo test --workspace` needs nothing
/// installed by hand. Never skipped: a push suite that did not run must not look green.
fn executable() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    if let Some(path) = std::env::var_os("SCIM2_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SCIM2_SERVER={} does not exist; {HOW_TO_INSTALL}",
            path.display()
        );
        return path;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("scim2-server"))
            .find(|p| p.is_file())
    });
    if let Some(path) = on_path {
        return path;
    }
    INSTALLED.get_or_init(install).clone()
}

/// The workspace's target directory (`CARGO_TARGET_DIR` when set).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// How long a test binary waits for another one installing scim2-server.
const INSTALL_WAIT: Duration = Duration::from_secs(600);

/// Installs scim2-server into `target/scim2-venv` unless it is there. A lock file keeps test
/// binaries running at once from installing twice; the venv's marker file is written last,
/// so a half-done install is never taken for a whole one.
fn install() -> PathBuf {
    let venv = target_dir().join("scim2-venv");
    let exe = venv.join("bin/scim2-server");
    let done = venv.join(format!("installed-{SCIM2_SERVER_VERSION}"));
    let lock = target_dir().join("scim2-venv.lock");
    let started = Instant::now();
    loop {
        if done.is_file() || (exe.is_file() && !lock.exists()) {
            return exe;
        }
        let _ = std::fs::create_dir_all(target_dir());
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) if started.elapsed() < INSTALL_WAIT => {
                std::thread::sleep(Duration::from_millis(500));
            }
            // The installer died: take over.
            Err(_) => {
                let _ = std::fs::remove_file(&lock);
            }
        }
    }
    let run = |cmd: &mut Command| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}; {HOW_TO_INSTALL}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}; {HOW_TO_INSTALL}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("scim2-server=={SCIM2_SERVER_VERSION}"),
    ]));
    std::fs::write(&done, "").expect("the install marker");
    let _ = std::fs::remove_file(&lock);
    exe
}

pub struct ScimServer {
    child: Child,
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl ScimServer {
    pub async fn start() -> ScimServer {
        let exe = executable();
        // a port taken between probing and binding: try another
        for _ in 0..3 {
            if let Some(server) = Self::try_start(&exe, free_port()).await {
                return server;
            }
        }
        panic!("scim2-server did not start on three ports in a row");
    }

    async fn try_start(exe: &Path, port: u16) -> Option<ScimServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("scim2-server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(exe)
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .args(["--bearer-token", TOKEN])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {HOW_TO_INSTALL}", exe.display()));
        let mut server = ScimServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(&server.log).unwrap_or_default();
                if log.contains("Address already in use") {
                    return None;
                }
                panic!("scim2-server exited ({status}):\n{log}");
            }
            let answer = server
                .http
                .get(format!("{}/ServiceProviderConfig", server.url))
                .bearer_auth(TOKEN)
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "scim2-server did not answer within {START_TIMEOUT:?}:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
    }

    async fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("scim2-server answers");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON")
        }
    }

    /// Every user, by userName.
    pub async fn users(&self) -> std::collections::BTreeMap<String, Value> {
        let list = self
            .request(reqwest::Method::GET, "Users?count=1000", None)
            .await;
        list["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|u| (u["userName"].as_str().unwrap_or_default().to_owned(), u))
            .collect()
    }

    /// Every group's members, as userNames, by displayName.
    pub async fn group_members(
        &self,
    ) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        let users = self.users().await;
        let name_of = |id: &str| {
            users
                .values()
                .find(|u| u["id"] == id)
                .and_then(|u| u["userName"].as_str())
                .unwrap_or("?")
                .to_owned()
        };
        let list = self
            .request(reqwest::Method::GET, "Groups?count=1000", None)
            .await;
        list["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|g| {
                let members = g["members"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| name_of(m["value"].as_str().unwrap_or_default()))
                    .collect();
                (
                    g["displayName"].as_str().unwrap_or_default().to_owned(),
                    members,
                )
            })
            .collect()
    }

    /// Creates a user directly (an account the target has on its own); returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": true,
        });
        let created = self
            .request(reqwest::Method::POST, "Users", Some(body))
            .await;
        created["id"].as_str().expect("id").to_owned()
    }

    /// Creates a group directly with these members; returns its id.
    pub async fn create_group(&self, name: &str, member_ids: &[&str]) -> String {
        let members: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "members": members,
        });
        let created = self
            .request(reqwest::Method::POST, "Groups", Some(body))
            .await;
        created["id"].as_str().expect("id").to_owned()
    }

    /// Replaces one attribute of a user directly (drift in the target).
    pub async fn patch_user(&self, id: &str, path: &str, value: Value) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": path, "value": value}],
        });
        self.request(reqwest::Method::PATCH, &format!("Users/{id}"), Some(body))
            .await;
    }
}
