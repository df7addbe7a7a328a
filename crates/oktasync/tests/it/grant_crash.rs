//! The grant enforcer SIGKILLed at random points and restarted: in the end every membership a
//! grant added is gone once all its grants have expired, every membership that was there
//! before is still there, and nothing else in the org changed.
//!
//! Between the binary and the emulator sits a proxy that holds every membership write (PUT or
//! DELETE of `/api/v1/groups/{g}/users/{u}`) a little before sending it and a little after
//! Okta answered, so that kills land where they hurt: after the store recorded a decision but
//! before Okta was asked (the held request is then dropped, or, at random, delivered anyway as
//! a request already on the wire would be), and after Okta applied a write but before the
//! answer reached the store. Some kills wait for such a moment; others come after a random
//! delay. One `oktasync` process runs at a time (a `grant add`, a `grant enforce` pass, once
//! a `watch`), and each starts only once the writes of the one before have settled: the test
//! is about crashes, not about racing enforcers or requests overtaking each other.
//!
//! A dead enforcer's claims would hold for `CLAIM_HOLD` before a process elsewhere took its
//! work over; on the same machine the next process sees that the holder is gone and takes the
//! work at once. The test relies on that: the claims a killed process left are counted, never
//! cleared by hand, and the next processes must finish the work.
//!
//! `GRANT_CRASH_SEED=N` replays the random choices of a run (the timings differ).

use crate::oktasync;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use oktasync_store::{Grant, GrantState};
use oktasync_testkit::org::{grantable_groups, ids_where, members, memberships};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// (group id, user id)
type Pair = (String, String);

/// xorshift64*: small, seeded, good enough to pick delays and kill points.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// In `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / ((1u64 << 53) as f64) < p
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.between(lo, hi))
    }
}

// ---- the proxy --------------------------------------------------------------------------

/// One membership write as the proxy saw it.
#[derive(Debug, Clone)]
struct Write {
    method: Method,
    pair: Pair,
    /// The step (process) that sent it.
    step: usize,
    received: Instant,
    /// Sent on to the emulator (wall clock: compared with grants' times).
    sent_at: Option<DateTime<Utc>>,
    /// Okta's answer was back at the proxy: the write was applied (or refused).
    applied: Option<Instant>,
    status: Option<u16>,
    request_id: Option<String>,
    /// The answer was handed back to the client.
    answered: Option<Instant>,
    /// Held when its sender died, and dropped (never reached Okta).
    dropped: bool,
}

struct ProxyShared {
    rng: Mutex<Rng>,
    writes: Mutex<Vec<Write>>,
    /// Requests (and forwarded writes) not finished yet.
    busy: AtomicUsize,
    /// Membership writes received, and answered by Okta.
    received: AtomicU64,
    applied: AtomicU64,
    /// Bumped at every kill: a write held across one was sent by a process now dead.
    generation: AtomicU64,
    step: AtomicUsize,
}

/// Counts a request as in progress until dropped (also when the client goes away).
struct Busy(Arc<ProxyShared>);

impl Busy {
    fn new(shared: &Arc<ProxyShared>) -> Busy {
        shared.busy.fetch_add(1, Ordering::SeqCst);
        Busy(shared.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    shared: Arc<ProxyShared>,
}

struct Proxy {
    url: String,
    shared: Arc<ProxyShared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Proxy {
    async fn start(upstream: String, seed: u64) -> Proxy {
        let shared = Arc::new(ProxyShared {
            rng: Mutex::new(Rng::new(seed ^ 0x5EED)),
            writes: Mutex::new(Vec::new()),
            busy: AtomicUsize::new(0),
            received: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            step: AtomicUsize::new(0),
        });
        let state = ProxyState {
            upstream,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            shared: shared.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            url,
            shared,
            server,
        }
    }

    fn writes(&self) -> Vec<Write> {
        self.shared.writes.lock().unwrap().clone()
    }

    /// Waits until no request is held or on its way (the writes of a killed process settle).
    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.shared.busy.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "the proxy still has requests in flight 20 s after a kill"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// `(group, user)` of `PUT|DELETE /api/v1/groups/{g}/users/{u}`.
fn membership_write(method: &Method, path: &str) -> Option<Pair> {
    if method != Method::PUT && method != Method::DELETE {
        return None;
    }
    match path.split('/').collect::<Vec<_>>()[..] {
        ["", "api", "v1", "groups", group, "users", user] => Some((group.into(), user.into())),
        _ => None,
    }
}

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

fn copy_headers(from: &HeaderMap) -> HeaderMap {
    let mut to = HeaderMap::new();
    for (name, value) in from {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            to.append(name.clone(), value.clone());
        }
    }
    to
}

type Answer = Result<(StatusCode, HeaderMap, axum::body::Bytes), String>;

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let headers = copy_headers(response.headers());
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, headers, body))
}

fn respond(answer: Answer) -> Response {
    match answer {
        Ok((status, headers, body)) => (status, headers, body).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}

/// Forwards every request to the emulator (the `Host` header kept, so that its links name
/// the proxy); holds membership writes before and after.
async fn forward(State(st): State<ProxyState>, request: Request) -> Response {
    let _busy = Busy::new(&st.shared);
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let target = format!(
        "{}{}",
        st.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let upstream = st
        .http
        .request(parts.method.clone(), target)
        .headers(copy_headers(&parts.headers))
        .body(body);
    let Some(pair) = membership_write(&parts.method, parts.uri.path()) else {
        return respond(send(upstream).await);
    };
    let shared = st.shared.clone();
    let (before, after, deliver_orphan) = {
        let mut rng = shared.rng.lock().unwrap();
        (rng.millis(20, 200), rng.millis(60, 250), rng.chance(0.5))
    };
    let generation = shared.generation.load(Ordering::SeqCst);
    let index = {
        let mut writes = shared.writes.lock().unwrap();
        writes.push(Write {
            method: parts.method.clone(),
            pair,
            step: shared.step.load(Ordering::SeqCst),
            received: Instant::now(),
            sent_at: None,
            applied: None,
            status: None,
            request_id: None,
            answered: None,
            dropped: false,
        });
        writes.len() - 1
    };
    shared.received.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(before).await;
    if shared.generation.load(Ordering::SeqCst) != generation && !deliver_orphan {
        // Its sender was killed before it left: it never reaches Okta.
        shared.writes.lock().unwrap()[index].dropped = true;
        return StatusCode::BAD_GATEWAY.into_response();
    }
    // Sent on in a task of its own: once on its way, a write reaches Okta even if its sender
    // dies meanwhile.
    let task = {
        let shared = shared.clone();
        let busy = Busy::new(&shared);
        tokio::spawn(async move {
            let _busy = busy;
            shared.writes.lock().unwrap()[index].sent_at = Some(Utc::now());
            let answer = send(upstream).await;
            {
                let mut writes = shared.writes.lock().unwrap();
                let w = &mut writes[index];
                w.applied = Some(Instant::now());
                if let Ok((status, headers, _)) = &answer {
                    w.status = Some(status.as_u16());
                    w.request_id = headers
                        .get("x-okta-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                }
            }
            shared.applied.fetch_add(1, Ordering::SeqCst);
            answer
        })
    };
    let answer = task
        .await
        .unwrap_or_else(|e| Err(format!("forwarding task: {e}")));
    tokio::time::sleep(after).await;
    shared.writes.lock().unwrap()[index].answered = Some(Instant::now());
    respond(answer)
}

// ---- the processes ------------------------------------------------------------------------

/// When to SIGKILL a process: whichever comes first; none of them, it runs to its end.
#[derive(Debug, Clone, Copy, Default)]
struct KillAt {
    after: Option<Duration>,
    /// Once it has sent its n-th membership write (the store has recorded the decision; Okta
    /// has not been asked yet).
    on_sent: Option<u64>,
    /// Once Okta has answered its n-th membership write (before the answer reaches it).
    on_applied: Option<u64>,
}

/// How one process ended.
struct Ended {
    killed: bool,
    code: Option<i32>,
    /// What it printed, for failure messages.
    output: String,
}

impl Ended {
    /// Killed, or ran to a successful end.
    fn fine(&self) -> bool {
        self.killed || self.code == Some(0)
    }
}

/// A running `oktasync`, SIGKILLed when dropped (a failing test leaves nothing behind).
struct Child {
    child: tokio::process::Child,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[derive(Debug, Default)]
struct Tally {
    steps: usize,
    kills: usize,
    /// Kills while a membership write of the process was held before Okta.
    kills_before_okta: usize,
    /// Kills after Okta applied a write and before its answer was back.
    kills_after_okta: usize,
    /// Claims killed processes left behind, for the next processes to take over.
    claims_left: u64,
}

struct Chaos<'a> {
    dir: &'a Path,
    db: &'a Path,
    proxy: &'a Proxy,
    rng: Rng,
    tally: Tally,
    /// Wall-clock start of each step.
    started: Vec<DateTime<Utc>>,
}

impl Chaos<'_> {
    /// Runs `oktasync ARGS` alone, kills it at `kill`, and lets its writes settle and its
    /// claims go.
    async fn step(&mut self, args: &[&str], kill: KillAt) -> Ended {
        let step = self.started.len();
        self.started.push(Utc::now());
        self.proxy.shared.step.store(step, Ordering::SeqCst);
        self.tally.steps += 1;
        let stdout_path = self.dir.join(format!("step-{step}.out"));
        let stderr_path = self.dir.join(format!("step-{step}.err"));
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"));
        cmd.current_dir(self.dir).args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("OKTASYNC_") || key.starts_with("OKTA_CLIENT_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .kill_on_drop(true);
        let sent0 = self.proxy.shared.received.load(Ordering::SeqCst);
        let applied0 = self.proxy.shared.applied.load(Ordering::SeqCst);
        let spawned = Instant::now();
        let child = cmd.spawn().expect("spawn oktasync");
        let pid = child.id().expect("a pid");
        let mut child = Child { child };
        // A process that hangs is a failure, not a reason to wait forever.
        let limit = spawned + Duration::from_secs(60);
        let deadline = kill.after.map(|d| spawned + d);
        let mut killed = false;
        let status = loop {
            if let Some(status) = child.child.try_wait().expect("wait for oktasync") {
                break Some(status);
            }
            let now = Instant::now();
            let sent = self.proxy.shared.received.load(Ordering::SeqCst) - sent0;
            let applied = self.proxy.shared.applied.load(Ordering::SeqCst) - applied0;
            let due = deadline.is_some_and(|d| now >= d)
                || kill.on_sent.is_some_and(|n| sent >= n)
                || kill.on_applied.is_some_and(|n| applied >= n);
            if due {
                // SIGKILL: no destructor, no signal handler, nothing flushed.
                child.child.start_kill().expect("SIGKILL");
                self.proxy.shared.generation.fetch_add(1, Ordering::SeqCst);
                killed = true;
                break None;
            }
            assert!(
                now < limit,
                "`oktasync {}` still runs after 60 s",
                args.join(" ")
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let killed_at = Instant::now();
        let status = match status {
            Some(s) => s,
            None => child.child.wait().await.expect("reap oktasync"),
        };
        self.proxy.settle().await;
        if killed {
            self.tally.kills += 1;
            let writes = self.proxy.writes();
            let mine = writes.iter().filter(|w| w.step == step);
            for w in mine {
                if w.received <= killed_at && w.applied.is_none_or(|a| a > killed_at) {
                    self.tally.kills_before_okta += 1;
                }
                if w.applied.is_some_and(|a| a <= killed_at)
                    && w.answered.is_none_or(|a| a > killed_at)
                {
                    self.tally.kills_after_okta += 1;
                }
            }
            self.tally.claims_left += claims_of(self.db, pid).await;
        }
        Ended {
            killed,
            code: status.code(),
            output: format!(
                "`oktasync {}` (pid {pid}) exited {:?}\nstdout:\n{}\nstderr:\n{}",
                args.join(" "),
                status.code(),
                std::fs::read_to_string(&stdout_path).unwrap_or_default(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            ),
        }
    }
}

async fn sqlite(db: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(Duration::from_secs(30));
    sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("open the mirror")
}

/// The claims a dead process (`pid`) left.
async fn claims_of(db: &Path, pid: u32) -> u64 {
    use sqlx::{Connection, Row};
    let mut conn = sqlite(db).await;
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM grants WHERE claimed_pid = ?1")
        .bind(i64::from(pid))
        .fetch_one(&mut conn)
        .await
        .expect("count the dead process's claims")
        .get(0);
    conn.close().await.unwrap();
    u64::try_from(left).unwrap_or_default()
}

/// (grant id, at, action, okta request id) of every audit entry, in order.
async fn read_audit(db: &Path) -> Vec<(i64, String, String, Option<String>)> {
    use sqlx::{Connection, Row};
    let mut conn = sqlite(db).await;
    let rows =
        sqlx::query("SELECT grant_id, at, action, okta_request_id FROM grant_audit ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .expect("read the audit");
    conn.close().await.unwrap();
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

// ---- the org ------------------------------------------------------------------------------

/// One `grant add` to run.
#[derive(Debug, Clone)]
struct Spec {
    pair: Pair,
    secs: u64,
    /// Never killed (the cases the test must see happen).
    protected: bool,
    /// The next spec is added right after (an overlapping pair).
    with_next: bool,
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not a time: {e}"))
        .with_timezone(&Utc)
}

/// The emulator's `group.user_membership.add|remove` events after `seq`, as pairs.
fn membership_events(emu: &RunningEmulator, after_seq: u64) -> Vec<(&'static str, Pair)> {
    let org = emu.state().org.read();
    org.log
        .iter()
        .filter(|e| e.seq > after_seq)
        .filter(|e| {
            e.event_type == "group.user_membership.add"
                || e.event_type == "group.user_membership.remove"
        })
        .map(|e| {
            let find = |prefix: &str| {
                e.target_ids
                    .iter()
                    .find(|t| t.starts_with(prefix))
                    .cloned()
                    .unwrap_or_default()
            };
            let (group, user) = (find("00g"), find("00u"));
            (e.event_type, (group, user))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_enforcer_restarted_removes_every_due_membership_and_nothing_else() {
    let seed = std::env::var("GRANT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000
        });
    println!("grant_crash: seed {seed} (GRANT_CRASH_SEED={seed} replays its choices)");
    let mut rng = Rng::new(seed);

    // ---- an org, its mirror through the proxy, a policy over a few groups ----
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 74,
        size: OrgSize::Small,
        users: Some(300),
        groups: Some(40),
        apps: Some(4),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let proxy = Proxy::start(emu.base_url(), seed).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("token"), format!("{}\n", emu.token())).unwrap();
    let db: PathBuf = dir.join("m.db");
    let synced = oktasync(
        dir,
        &["sync", "--org-url", &proxy.url, "--db", "m.db", "--json"],
        &[(
            "OKTASYNC_API_TOKEN_FILE",
            dir.join("token").to_str().unwrap(),
        )],
    )
    .await;
    synced.expect_ok();

    let export = emu.export();
    let before = memberships(&export);
    let active = ids_where(&export, "users", |u| u["status"] == "ACTIVE");
    // No rule reads these groups (isMemberOfGroup): a membership granted or removed moves
    // nothing else.
    let rules = export["group_rules"].to_string();
    let groups: Vec<String> = grantable_groups(&export)
        .into_iter()
        .filter(|g| !rules.contains(g.as_str()))
        .filter(|g| {
            let inside = members(&export, g);
            active.iter().any(|u| inside.contains(u))
        })
        .take(4)
        .collect();
    assert!(
        groups.len() >= 3,
        "the org has three grantable groups with an active member: {groups:?}"
    );
    let member_of = |g: &String| -> String {
        let inside = members(&export, g);
        active.iter().find(|u| inside.contains(*u)).unwrap().clone()
    };
    // Active users in none of the groups, and a member of each.
    let outsiders: Vec<String> = active
        .iter()
        .filter(|u| {
            groups
                .iter()
                .all(|g| !before.contains(&(g.clone(), (*u).clone())))
        })
        .take(10)
        .cloned()
        .collect();
    assert!(outsiders.len() >= 6, "active users outside the groups");
    let text = format!(
        "org_url = \"{}\"\ndb = \"m.db\"\napi_token_file = \"token\"\n\n\
         [[grant_policies]]\ngroups = {}\nmax_duration = \"1h\"\n",
        proxy.url,
        serde_json::to_string(&groups).unwrap()
    );
    std::fs::write(dir.join("oktasync.toml"), text).unwrap();

    // ---- the grants: overlapping pairs and pre-existing memberships never killed ----
    let spec = |g: &String, u: &String, secs, protected, with_next| Spec {
        pair: (g.clone(), u.clone()),
        secs,
        protected,
        with_next,
    };
    let (a, b, c) = (&groups[0], &groups[1], &groups[2]);
    let mut protected = vec![
        // Overlapping, the shorter first: the first to end keeps the membership.
        vec![
            spec(a, &outsiders[0], 3, true, true),
            spec(a, &outsiders[0], 9, true, false),
        ],
        // Overlapping, the longer first.
        vec![
            spec(b, &outsiders[1], 9, true, true),
            spec(b, &outsiders[1], 3, true, false),
        ],
        // There before: never removed, alone or overlapping.
        vec![spec(a, &member_of(a), 4, true, false)],
        vec![
            spec(b, &member_of(b), 3, true, true),
            spec(b, &member_of(b), 6, true, false),
        ],
        vec![spec(c, &member_of(c), 5, true, false)],
    ];
    let mut specs: Vec<Spec> = Vec::new();
    let random_count = 32;
    for i in 0..random_count {
        // The protected groups of specs spread among the others.
        if i % 7 == 0 && !protected.is_empty() {
            specs.extend(protected.remove(0));
        }
        let group = &groups[rng.between(0, groups.len() as u64 - 1) as usize];
        // Mostly outsiders (a few users, so their grants overlap by chance too); some members.
        let user = if rng.chance(0.15) {
            member_of(group)
        } else {
            outsiders[rng.between(0, 5) as usize].clone()
        };
        specs.push(spec(group, &user, rng.between(2, 8), false, false));
    }
    for rest in protected {
        specs.extend(rest);
    }
    let seq0 = emu
        .state()
        .org
        .read()
        .log
        .iter()
        .map(|e| e.seq)
        .max()
        .unwrap_or(0);

    // ---- add them while enforcers are killed and restarted ----
    let mut chaos = Chaos {
        dir,
        db: &db,
        proxy: &proxy,
        rng: Rng::new(seed ^ 0xC4A05),
        tally: Tally::default(),
        started: Vec::new(),
    };
    let began = Instant::now();
    let mut last_expiry = Instant::now();
    let mut next = 0;
    let mut watched = false;
    let mut force_add = false;
    while next < specs.len() || Instant::now() < last_expiry {
        let add = next < specs.len() && (force_add || chaos.rng.chance(0.6));
        if add {
            let s = specs[next].clone();
            next += 1;
            force_add = s.with_next;
            let kill = if s.protected {
                KillAt::default()
            } else {
                match chaos.rng.between(0, 5) {
                    0 => KillAt {
                        after: Some(chaos.rng.millis(0, 700)),
                        ..KillAt::default()
                    },
                    1 => KillAt {
                        on_sent: Some(1),
                        ..KillAt::default()
                    },
                    2 => KillAt {
                        on_applied: Some(1),
                        ..KillAt::default()
                    },
                    _ => KillAt::default(),
                }
            };
            last_expiry = last_expiry.max(Instant::now() + Duration::from_secs(s.secs + 1));
            let secs = format!("{}s", s.secs);
            let ended = chaos
                .step(
                    &[
                        "grant",
                        "add",
                        "--user",
                        &s.pair.1,
                        "--group",
                        &s.pair.0,
                        "--for",
                        &secs,
                        "--reason",
                        "crash test",
                    ],
                    kill,
                )
                .await;
            assert!(ended.fine(), "seed {seed}: {}", ended.output);
        } else if !watched && began.elapsed() > Duration::from_secs(6) {
            // Once, the real continuous enforcer (a second watch would wait out the dead
            // one's sync lease).
            watched = true;
            let kill = KillAt {
                after: Some(chaos.rng.millis(500, 4_000)),
                on_applied: chaos.rng.chance(0.5).then_some(1),
                ..KillAt::default()
            };
            chaos.step(&["watch", "--interval", "1s"], kill).await;
        } else {
            let kill = match chaos.rng.between(0, 6) {
                0 | 1 => KillAt {
                    after: Some(chaos.rng.millis(0, 900)),
                    ..KillAt::default()
                },
                2 => KillAt {
                    on_sent: Some(chaos.rng.between(1, 3)),
                    ..KillAt::default()
                },
                3 | 4 => KillAt {
                    on_applied: Some(chaos.rng.between(1, 3)),
                    ..KillAt::default()
                },
                _ => KillAt::default(),
            };
            let ended = chaos.step(&["grant", "enforce"], kill).await;
            assert!(ended.fine(), "seed {seed}: {}", ended.output);
            if next >= specs.len() {
                tokio::time::sleep(chaos.rng.millis(0, 300)).await;
            }
        }
    }

    // ---- a last enforcer, left alone until no grant is open ----
    let settled_by = Instant::now() + Duration::from_secs(40);
    loop {
        let ended = chaos.step(&["grant", "enforce"], KillAt::default()).await;
        assert_eq!(ended.code, Some(0), "seed {seed}: {}", ended.output);
        let open = oktasync(dir, &["grant", "list", "--active", "--json"], &[]).await;
        if open.expect_ok().json() == Value::Array(vec![]) {
            break;
        }
        assert!(
            Instant::now() < settled_by,
            "seed {seed}: grants still open 40 s after the last expiry: {}",
            open.stdout
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let tally = &chaos.tally;
    println!(
        "grant_crash: {} grants asked, {} processes (a watch among them: {watched}), {tally:?}, \
         {:?} in all",
        specs.len(),
        chaos.started.len(),
        began.elapsed()
    );

    // ---- what the store says ----
    let listed = oktasync(dir, &["grant", "list", "--json"], &[]).await;
    let grants: Vec<Grant> = serde_json::from_str(&listed.expect_ok().stdout).unwrap();
    let audit = read_audit(&db).await;
    let after = memberships(&emu.export());
    let writes = proxy.writes();
    let events = membership_events(&emu, seq0);

    let mut by_pair: BTreeMap<Pair, Vec<&Grant>> = BTreeMap::new();
    for g in &grants {
        by_pair
            .entry((g.group_id.clone(), g.user_id.clone()))
            .or_default()
            .push(g);
    }
    let checked_at: BTreeMap<i64, DateTime<Utc>> = audit
        .iter()
        .filter(|(_, _, action, _)| action == "checked")
        .map(|(id, at, _, _)| (*id, time(at)))
        .collect();
    let mut problems: Vec<String> = Vec::new();

    // Every grant ended, as revoked; it knew whether its membership was there before.
    for g in &grants {
        if g.state != GrantState::Revoked || g.ended_at.is_none() {
            problems.push(format!(
                "grant {} ended {} (ended_at {:?}, last error {:?})",
                g.grant_id, g.state, g.ended_at, g.last_error
            ));
        }
        let was_there = before.contains(&(g.group_id.clone(), g.user_id.clone()));
        if g.pre_existing != was_there {
            problems.push(format!(
                "grant {} recorded pre_existing = {} for a membership that was{} there before",
                g.grant_id,
                g.pre_existing,
                if was_there { "" } else { " not" }
            ));
        }
    }
    // The org is exactly as before: what the grants added is gone, nothing else moved.
    for pair in before.difference(&after) {
        problems.push(format!(
            "membership {pair:?} was there before the grants and is gone (grants: {:?})",
            by_pair
                .get(pair)
                .map(|gs| gs.iter().map(|g| g.grant_id).collect::<Vec<_>>())
        ));
    }
    for pair in after.difference(&before) {
        problems.push(format!(
            "membership {pair:?} outlived every grant (grants: {:?})",
            by_pair.get(pair).map(|gs| gs
                .iter()
                .map(|g| (g.grant_id, g.state, g.expires_at.clone()))
                .collect::<Vec<_>>())
        ));
    }
    // Every write went to a granted membership; no DELETE to one that was there before,
    // before a grant of it was due, or while another grant (recorded as holding it by an
    // earlier process) had not ended.
    for w in &writes {
        let Some(sent_at) = w.sent_at else { continue };
        let Some(grants_of) = by_pair.get(&w.pair) else {
            problems.push(format!(
                "{} of {:?}, which no grant names",
                w.method, w.pair
            ));
            continue;
        };
        if w.method != Method::DELETE {
            continue;
        }
        if before.contains(&w.pair) {
            problems.push(format!(
                "DELETE of {:?}, a membership there before the grants (step {})",
                w.pair, w.step
            ));
        }
        if !grants_of.iter().any(|g| time(&g.expires_at) <= sent_at) {
            problems.push(format!(
                "DELETE of {:?} at {sent_at} before any of its grants was due",
                w.pair
            ));
        }
        let step_start = chaos.started[w.step];
        for g in grants_of {
            let holding = checked_at.get(&g.grant_id).is_some_and(|c| *c < step_start);
            if holding && !g.pre_existing && time(&g.expires_at) > sent_at {
                problems.push(format!(
                    "DELETE of {:?} at {sent_at} (step {}) while grant {} held it until {}",
                    w.pair, w.step, g.grant_id, g.expires_at
                ));
            }
        }
    }
    // Okta's own record agrees: it added and removed only memberships that grants made.
    for (event, pair) in &events {
        let granted = by_pair.contains_key(pair);
        if !granted || before.contains(pair) {
            problems.push(format!(
                "System Log: {event} of {pair:?} (granted: {granted}, there before: {})",
                before.contains(pair)
            ));
        }
    }

    // The run saw what it is about.
    let overlapping = by_pair.values().any(|gs| {
        gs.iter().filter(|g| !g.pre_existing).any(|x| {
            gs.iter().any(|y| {
                y.grant_id != x.grant_id
                    && !y.pre_existing
                    && x.requested_at < y.requested_at
                    && y.requested_at < x.expires_at
            })
        })
    });
    if !overlapping {
        problems.push("no two grants of one membership overlapped".into());
    }
    if !grants.iter().any(|g| g.pre_existing) {
        problems.push("no grant of a membership that was there before".into());
    }
    let removed = events
        .iter()
        .filter(|(e, _)| *e == "group.user_membership.remove")
        .count();
    if removed < 5 {
        problems.push(format!("only {removed} memberships removed"));
    }
    if tally.kills_after_okta == 0 || tally.kills_before_okta == 0 {
        problems.push(format!(
            "no kill between a decision and Okta's answer on one side or the other: {tally:?}"
        ));
    }

    if !problems.is_empty() {
        let mut story = String::new();
        for g in &grants {
            story.push_str(&format!(
                "  grant {} {:?} {} pre_existing={} requested {} expires {}\n",
                g.grant_id,
                (&g.group_id, &g.user_id),
                g.state,
                g.pre_existing,
                g.requested_at,
                g.expires_at
            ));
            for (id, at, action, rid) in &audit {
                if *id == g.grant_id {
                    story.push_str(&format!("      {at} {action} {rid:?}\n"));
                }
            }
        }
        for w in &writes {
            story.push_str(&format!(
                "  step {} {} {:?} sent {:?} status {:?} id {:?} dropped {}\n",
                w.step, w.method, w.pair, w.sent_at, w.status, w.request_id, w.dropped
            ));
        }
        panic!(
            "seed {seed}: {} problems:\n{}\n\ngrants and writes:\n{story}",
            problems.len(),
            problems.join("\n")
        );
    }
}
