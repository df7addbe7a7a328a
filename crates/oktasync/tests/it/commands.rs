//! Every command on a seeded tiny org after a sync, checked against the emulator's export.

use crate::{Synced, oktasync};
use serde_json::Value;
use std::collections::BTreeSet;

fn list<'a>(export: &'a Value, key: &str) -> &'a Vec<Value> {
    export[key]
        .as_array()
        .unwrap_or_else(|| panic!("export has no {key}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_summary_is_one_json_object_with_the_counts() {
    let s = Synced::tiny(11).await;
    let export = s.emu.export();
    let sum = &s.summary;
    for key in [
        "api_calls",
        "http_429",
        "retries",
        "duration_s",
        "calls_by_bucket",
        "fewest_calls",
    ] {
        assert!(sum.get(key).is_some(), "summary lacks {key}: {sum}");
    }
    assert_eq!(sum["outcome"], "succeeded");
    assert_eq!(
        sum["users"].as_u64().unwrap() as usize,
        list(&export, "users").len()
    );
    assert_eq!(
        sum["groups"].as_u64().unwrap() as usize,
        list(&export, "groups").len()
    );
    assert_eq!(
        sum["memberships"].as_u64().unwrap() as usize,
        list(&export, "group_members").len()
    );
    assert!(sum["api_calls"].as_u64().unwrap() >= sum["fewest_calls"].as_u64().unwrap());
    assert_eq!(sum["http_429"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_json_equals_the_emulator_export_byte_for_byte() {
    let s = Synced::tiny(12).await;
    let out = s.ask(&["export", "--format", "json"]).await;
    out.expect_ok();
    assert_eq!(
        out.json(),
        s.emu.export(),
        "mirror export differs from the emulator's"
    );
    assert_eq!(out.stdout.as_bytes(), s.emu.export_bytes().as_slice());

    // --out writes the same bytes to a file.
    s.ask(&["export", "--format", "json", "--out", "x.json"])
        .await
        .expect_ok();
    let written = std::fs::read(s.dir.path().join("x.json")).unwrap();
    assert_eq!(written, s.emu.export_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_and_csv_hold_every_row() {
    let s = Synced::tiny(13).await;
    let export = s.emu.export();
    let out = s.ask(&["export", "--format", "ndjson"]).await;
    out.expect_ok();
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let expected: usize = export
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(lines.len(), expected);
    let users: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "user").collect();
    assert_eq!(users.len(), list(&export, "users").len());
    let mut first = users[0].clone();
    first.as_object_mut().unwrap().remove("kind");
    assert_eq!(&first, &list(&export, "users")[0]);
    assert!(lines.iter().any(|l| l["kind"] == "group_member"));

    s.ask(&["export", "--format", "csv", "--out", "csv"])
        .await
        .expect_ok();
    let users_csv = std::fs::read_to_string(s.dir.path().join("csv/users.csv")).unwrap();
    assert!(users_csv.starts_with("id,status,login,email"));
    assert_eq!(users_csv.lines().count(), list(&export, "users").len() + 1);
    let members = std::fs::read_to_string(s.dir.path().join("csv/group_members.csv")).unwrap();
    assert_eq!(
        members.lines().count(),
        list(&export, "group_members").len() + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_command_answers_from_the_mirror() {
    let s = Synced::tiny(14).await;
    let export = s.emu.export();
    let users = list(&export, "users");
    let groups = list(&export, "groups");
    let apps = list(&export, "apps");
    let members = list(&export, "group_members");

    // users: all of them (every status), and each filter.
    let all = s.ask(&["users", "--json"]).await.expect_ok().json();
    assert_eq!(all.as_array().unwrap().len(), users.len());
    let table = s.ask(&["users"]).await;
    table.expect_ok();
    assert!(table.stdout.starts_with("ID"), "{}", table.stdout);
    assert_eq!(table.stdout.lines().count(), users.len() + 1);

    let deprovisioned = users
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .count();
    let got = s
        .ask(&["users", "--status", "deprovisioned", "--json"])
        .await
        .expect_ok()
        .json();
    assert_eq!(got.as_array().unwrap().len(), deprovisioned);

    let dept = users
        .iter()
        .find_map(|u| u["profile"]["department"].as_str())
        .expect("a user with a department");
    let in_dept = users
        .iter()
        .filter(|u| u["profile"]["department"] == dept)
        .count();
    let got = s
        .ask(&["users", "--department", dept, "--json"])
        .await
        .expect_ok()
        .json();
    assert_eq!(got.as_array().unwrap().len(), in_dept);

    let login = users[0]["profile"]["login"].as_str().unwrap();
    let got = s
        .ask(&[
            "users",
            "--search",
            &login[..login.find('@').unwrap()],
            "--json",
        ])
        .await
        .expect_ok()
        .json();
    assert!(got.as_array().unwrap().iter().any(|u| u["login"] == login));

    // The biggest group by name, as a --group filter and as `group NAME`.
    let (gid, gname) = groups
        .iter()
        .filter(|g| g["type"] == "OKTA_GROUP")
        .map(|g| {
            (
                g["id"].as_str().unwrap(),
                g["profile"]["name"].as_str().unwrap(),
            )
        })
        .max_by_key(|(id, _)| members.iter().filter(|m| m["group_id"] == *id).count())
        .expect("an OKTA_GROUP");
    let member_ids: BTreeSet<&str> = members
        .iter()
        .filter(|m| m["group_id"] == gid)
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    let got = s
        .ask(&["users", "--group", gname, "--json"])
        .await
        .expect_ok()
        .json();
    let got_ids: BTreeSet<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(got_ids, member_ids);
    let detail = s.ask(&["group", gname, "--json"]).await.expect_ok().json();
    assert_eq!(detail["id"], gid);
    assert_eq!(
        detail["members"].as_u64().unwrap() as usize,
        member_ids.len()
    );
    assert_eq!(
        detail["member_users"].as_array().unwrap().len(),
        member_ids.len()
    );
    let table = s.ask(&["group", gid]).await;
    let table = &table.expect_ok().stdout;
    assert!(
        table.contains(&format!("Members ({})", member_ids.len())),
        "{table}"
    );
    for id in &member_ids {
        assert!(table.contains(*id), "member {id} missing: {table}");
    }

    // user by id and by login: groups as in the export.
    let uid = users[0]["id"].as_str().unwrap();
    let by_id = s.ask(&["user", uid, "--json"]).await.expect_ok().json();
    let by_login = s
        .ask(&["user", &login.to_uppercase(), "--json"])
        .await
        .expect_ok()
        .json();
    assert_eq!(by_id, by_login);
    let expected_groups: BTreeSet<&str> = members
        .iter()
        .filter(|m| m["user_id"] == uid)
        .map(|m| m["group_id"].as_str().unwrap())
        .collect();
    let got_groups: BTreeSet<&str> = by_id["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group_id"].as_str().unwrap())
        .collect();
    assert_eq!(got_groups, expected_groups);
    assert_eq!(by_id["profile"], users[0]["profile"]);
    let text = s.ask(&["user", login]).await;
    text.expect_ok();
    for heading in ["Profile", "Groups", "Apps", "Admin roles"] {
        assert!(
            text.stdout.contains(heading),
            "{heading} missing: {}",
            text.stdout
        );
    }

    // groups, apps: every one listed.
    let got = s.ask(&["groups", "--json"]).await.expect_ok().json();
    assert_eq!(got.as_array().unwrap().len(), groups.len());
    let table = s.ask(&["groups"]).await;
    let table = &table.expect_ok().stdout;
    assert!(table.starts_with("ID  "), "{table}");
    assert_eq!(table.lines().count(), groups.len() + 1, "{table}");
    for g in groups {
        assert!(table.contains(g["id"].as_str().unwrap()), "{table}");
    }
    let got = s.ask(&["apps", "--json"]).await.expect_ok().json();
    assert_eq!(got.as_array().unwrap().len(), apps.len());
    let table = s.ask(&["apps"]).await;
    let table = &table.expect_ok().stdout;
    assert_eq!(table.lines().count(), apps.len() + 1, "{table}");
    for a in apps {
        assert!(table.contains(a["id"].as_str().unwrap()), "{table}");
    }

    // app: who has access, and through what; by label, any case. The app with the most
    // assigned groups, so that access through a group is checked.
    let app = apps
        .iter()
        .max_by_key(|a| {
            list(&export, "app_groups")
                .iter()
                .filter(|x| x["app_id"] == a["id"])
                .count()
        })
        .unwrap();
    let label = app["label"].as_str().unwrap();
    let detail = s
        .ask(&["app", &label.to_lowercase(), "--json"])
        .await
        .expect_ok()
        .json();
    assert_eq!(detail["id"], app["id"]);
    let app_groups: BTreeSet<&str> = list(&export, "app_groups")
        .iter()
        .filter(|x| x["app_id"] == app["id"])
        .map(|x| x["group_id"].as_str().unwrap())
        .collect();
    let direct: BTreeSet<&str> = list(&export, "app_users")
        .iter()
        .filter(|x| x["app_id"] == app["id"] && x["scope"] == "USER")
        .map(|x| x["user_id"].as_str().unwrap())
        .collect();
    let access = detail["access"].as_array().unwrap();
    let got_direct: BTreeSet<&str> = access
        .iter()
        .filter(|a| a["via"] == "DIRECT")
        .map(|a| a["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(got_direct, direct);
    let via_group: Vec<&Value> = access.iter().filter(|a| a["via"] == "GROUP").collect();
    assert!(
        !via_group.is_empty(),
        "the app is reached through a group: {detail}"
    );
    for a in &via_group {
        assert!(app_groups.contains(a["via_group_id"].as_str().unwrap()));
    }
    let table = s.ask(&["app", app["id"].as_str().unwrap()]).await;
    let table = &table.expect_ok().stdout;
    assert!(
        table.contains(&format!("({} ways in)", access.len())),
        "{table}"
    );

    // admins: every direct user role assignment appears as DIRECT.
    let admins = s.ask(&["admins", "--json"]).await.expect_ok().json();
    let direct_roles: BTreeSet<(&str, &str)> = list(&export, "role_assignments")
        .iter()
        .filter(|r| r["assignee_type"] == "USER")
        .map(|r| {
            (
                r["assignee_id"].as_str().unwrap(),
                r["role_type"].as_str().unwrap(),
            )
        })
        .collect();
    let got_direct: BTreeSet<(&str, &str)> = admins
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["via"] == "DIRECT")
        .map(|a| {
            (
                a["user_id"].as_str().unwrap(),
                a["role_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got_direct, direct_roles);
    let table = s.ask(&["admins"]).await;
    let table = &table.expect_ok().stdout;
    assert_eq!(
        table.lines().count(),
        admins.as_array().unwrap().len() + 1,
        "{table}"
    );
    for (user, role) in &direct_roles {
        assert!(
            table.lines().any(|l| l.contains(user) && l.contains(role)),
            "{user} {role} missing: {table}"
        );
    }

    // status: the run just made.
    let runs = s.ask(&["status", "--json"]).await.expect_ok().json();
    assert_eq!(runs[0]["outcome"], "succeeded");
    assert_eq!(runs[0]["run_id"], s.summary["run_id"]);
    let text = s.ask(&["status"]).await;
    text.expect_ok();
    assert!(text.stdout.contains("succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_and_missing_mirrors_say_what_to_do() {
    let s = Synced::tiny(15).await;
    let out = s.ask(&["user", "nobody@nowhere.example"]).await;
    out.expect_failure();
    assert!(
        out.stderr.contains("oktasync users --search"),
        "{}",
        out.stderr
    );
    let out = s.ask(&["group", "No Such Group"]).await;
    out.expect_failure();
    assert!(out.stderr.contains("oktasync groups"), "{}", out.stderr);

    let out = oktasync(s.dir.path(), &["users", "--db", "missing.db"], &[]).await;
    out.expect_failure();
    assert!(out.stderr.contains("oktasync sync"), "{}", out.stderr);
    assert!(
        !s.dir.path().join("missing.db").exists(),
        "a query must not create a mirror"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_exits_non_zero_and_keeps_the_previous_mirror() {
    let s = Synced::tiny(16).await;
    let before = s
        .ask(&["export", "--format", "json"])
        .await
        .expect_ok()
        .stdout
        .clone();
    let out = oktasync(
        s.dir.path(),
        &[
            "sync",
            "--org-url",
            &s.emu.base_url(),
            "--db",
            "m.db",
            "--json",
        ],
        &[("OKTASYNC_API_TOKEN", "00-not-a-valid-token")],
    )
    .await;
    out.expect_failure();
    assert!(
        out.stderr.contains("kept its previous state"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Security > API > Tokens"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("00-not-a-valid-token"),
        "the token leaked: {}",
        out.stderr
    );
    assert_eq!(out.json()["outcome"], "failed");
    let after = s
        .ask(&["export", "--format", "json"])
        .await
        .expect_ok()
        .stdout
        .clone();
    assert_eq!(before, after);
    let runs = s.ask(&["status", "--json"]).await.expect_ok().json();
    assert_eq!(runs[0]["outcome"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_resources_and_factors_flags_pick_what_is_read() {
    let s = Synced::tiny(17).await;
    let out = oktasync(
        s.dir.path(),
        &[
            "sync",
            "--org-url",
            &s.emu.base_url(),
            "--db",
            "m.db",
            "--json",
            "--resources",
            "users,groups",
            "--factors",
            "none",
        ],
        &[("OKTASYNC_API_TOKEN_FILE", s.token_file.to_str().unwrap())],
    )
    .await;
    out.expect_ok();
    let sum = out.json();
    assert!(sum["users"].is_u64());
    assert!(sum["memberships"].is_null(), "{sum}");
    assert!(sum["apps"].is_null(), "{sum}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_against_a_running_emulator_reports_the_figures() {
    let s = Synced::tiny(18).await;
    let out = oktasync(
        s.dir.path(),
        &[
            "bench",
            "--size",
            "tiny",
            "--emulator-url",
            &s.emu.base_url(),
            "--token",
            s.emu.token(),
            "--json",
        ],
        &[],
    )
    .await;
    out.expect_ok();
    let r = out.json();
    let export = s.emu.export();
    assert_eq!(
        r["users"].as_u64().unwrap() as usize,
        list(&export, "users").len()
    );
    assert_eq!(
        r["memberships"].as_u64().unwrap() as usize,
        list(&export, "group_members").len()
    );
    for key in [
        "api_calls",
        "fewest_calls",
        "wall_s",
        "rows_per_s",
        "peak_memory_mb",
        "http_429",
    ] {
        assert!(r.get(key).is_some(), "bench report lacks {key}: {r}");
    }
    assert!(r["rate_limited"]["allowed_s"].is_number(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_syncs_changes_and_resyncs_an_emulated_org_and_its_suggestions_run_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(dir.path(), &["demo"], &[]).await;
    out.expect_ok();
    let text = &out.stdout;
    assert!(text.contains("Mirrored http://127.0.0.1:"), "{text}");
    assert!(text.contains("Updated the mirror of"), "{text}");
    assert!(text.contains("What the second sync changed"), "{text}");
    assert!(text.contains("--at "), "an --at example: {text}");
    // The attack the demo plays is detected, and posture has findings to show.
    assert!(text.contains("okta.mfa.push_bombing_success"), "{text}");
    assert!(text.contains("Posture: "), "{text}");
    assert!(dir.path().join("oktasync-demo.db").exists());
    let users = oktasync(
        dir.path(),
        &["users", "--db", "oktasync-demo.db", "--json"],
        &[],
    )
    .await;
    let n = users.expect_ok().json().as_array().unwrap().len();
    assert!(
        (990..=1040).contains(&n),
        "about 1,000 users after churn: {n}"
    );
    // The change log holds what the second (incremental) sync applied.
    let changes = oktasync(
        dir.path(),
        &["changes", "--db", "oktasync-demo.db", "--json"],
        &[],
    )
    .await;
    let changes = changes.expect_ok().json();
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["source"] == "delta"),
        "{changes}"
    );

    // Every suggested command runs as printed (this binary is not on the PATH here, so the
    // demo prints its path).
    let exe = env!("CARGO_BIN_EXE_oktasync");
    let suggested: Vec<Vec<String>> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(exe) && !l.contains('|'))
        .map(shell_words)
        .collect();
    assert!(suggested.len() >= 8, "{text}");
    for words in &suggested {
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let run = oktasync(dir.path(), &args, &[]).await;
        assert!(run.ok(), "{} failed: {run:#?}", words.join(" "));
        assert!(
            !run.stdout.is_empty(),
            "{} printed nothing",
            words.join(" ")
        );
    }

    // A second demo replaces the first demo's mirror (the old emulator port is gone).
    oktasync(dir.path(), &["demo"], &[]).await.expect_ok();
    let admins = oktasync(dir.path(), &["admins", "--db", "oktasync-demo.db"], &[]).await;
    assert!(
        admins.expect_ok().stdout.contains("SUPER_ADMIN"),
        "{admins:?}"
    );
}

/// Splits a command line as a POSIX shell would for the quoting the demo uses (`'...'` and
/// `'\\''`).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut in_word) = (Vec::new(), String::new(), false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if !quoted => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}
