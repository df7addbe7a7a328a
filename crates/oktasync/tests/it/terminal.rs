//! Progress on a real terminal: `sync` runs inside tmux (a real pseudo-terminal, rendered as
//! a person sees it) and the screen afterwards holds one line per resource, no dead lines.

use okta_emulator::{EmulatorConfig, OrgSize};
use std::process::Command;
use std::time::{Duration, Instant};

/// tmux on its own socket, so the test never touches a user's sessions.
fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("run tmux")
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_bars_leave_no_dead_lines_on_a_real_terminal() {
    if !tmux_available() {
        // CI installs tmux (.ci/run); elsewhere say loudly that this was not checked.
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is missing: .ci/run installs it"
        );
        eprintln!("SKIPPED: tmux is not installed, progress bars were not checked");
        return;
    }
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 5,
        size: OrgSize::Small,
        // Long enough for the bars to redraw many times.
        latency_ms: 15,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), emu.token()).unwrap();
    let script = dir.path().join("run.sh");
    std::fs::write(
        &script,
        format!(
            "cd '{dir}'\nexport OKTASYNC_API_TOKEN_FILE='{dir}/token'\n'{exe}' sync --org-url {url} --db m.db\necho EXIT=$?\nsleep 120\n",
            dir = dir.path().display(),
            exe = env!("CARGO_BIN_EXE_oktasync"),
            url = emu.base_url(),
        ),
    )
    .unwrap();
    let socket = format!("oktasync-test-{}", std::process::id());
    let started = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "sync",
            "-x",
            "120",
            "-y",
            "60",
            "sh",
            script.to_str().unwrap(),
        ],
    );
    assert!(started.status.success(), "{started:?}");
    let deadline = Instant::now() + Duration::from_secs(90);
    let screen = loop {
        let shot = tmux(&socket, &["capture-pane", "-p", "-t", "sync", "-S", "-200"]);
        let text = String::from_utf8_lossy(&shot.stdout).into_owned();
        if text.contains("EXIT=") {
            break text;
        }
        assert!(Instant::now() < deadline, "sync did not finish:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tmux(&socket, &["kill-server"]);
    assert!(screen.contains("EXIT=0"), "{screen}");
    for resource in [
        "users",
        "groups",
        "memberships",
        "apps",
        "app_users",
        "app_groups",
        "roles",
        "idps",
        "factors",
    ] {
        // A bar line ends with its elapsed time ("1s"); the summary's count lines end in digits.
        let bar_lines = screen
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(resource))
            .filter(|l| l.trim_end().ends_with('s'))
            .count();
        assert_eq!(bar_lines, 1, "one line for {resource}:\n{screen}");
    }
    for dead in ["starting", "reading", "waiting"] {
        assert!(
            !screen
                .lines()
                .any(|l| l.contains(dead) && !l.contains("EXIT")),
            "a status line was left behind ({dead}):\n{screen}"
        );
    }
}
