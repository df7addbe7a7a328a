//! `[[roles]]`: a user's roles are the union over their groups (by name, glob or id) and the
//! apps they can use, each with the way it comes; `oktasync roles`, `oktasync user` and the view
//! show them; a membership change brought in by a sync is followed by role changes of their
//! own in the change log.

use crate::{Synced, oktasync};
use oktasync_store::GroupPattern;
use oktasync_testkit::org::{grantable_groups, ids_where, members};
use serde_json::Value;
use std::collections::BTreeSet;

/// The (role, user id) pairs of a `roles --format json` answer.
fn pairs(rows: &Value) -> BTreeSet<(String, String)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_owned(),
                r["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Someone changes a membership in Okta.
async fn membership(s: &Synced, method: reqwest::Method, group: &str, user: &str) {
    let response = reqwest::Client::new()
        .request(
            method,
            format!("{}/api/v1/groups/{group}/users/{user}", s.emu.base_url()),
        )
        .header("authorization", format!("SSWS {}", s.emu.token()))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_come_from_groups_globs_and_apps_and_their_changes_are_logged() {
    let s = Synced::with(crate::emulator(71, okta_emulator::OrgSize::Small).await).await;
    let export = s.emu.export();
    let list = |name: &str| export[name].as_array().unwrap().clone();
    let active = ids_where(&export, "users", |u| u["status"] == "ACTIVE");
    // An Okta group with an active member and an active outsider, named exactly.
    let (group, insider, outsider) = grantable_groups(&export)
        .into_iter()
        .find_map(|g| {
            let inside = members(&export, &g);
            let insider = active.iter().find(|u| inside.contains(*u))?.clone();
            let outsider = active.iter().find(|u| !inside.contains(*u))?.clone();
            Some((g, insider, outsider))
        })
        .expect("a group with an active member and an outsider");
    let name_of = |id: &str| {
        list("groups")
            .iter()
            .find(|g| g["id"] == id)
            .and_then(|g| g["profile"]["name"].as_str().or(g["name"].as_str()))
            .unwrap()
            .to_owned()
    };
    let group_name = name_of(&group);
    // A glob over the first letters of another group's name.
    let other = list("groups")
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .find(|g| *g != group)
        .unwrap();
    let glob = format!("{}*", &name_of(&other)[..3].to_lowercase());
    let app = list("app_users")[0]["app_id"].as_str().unwrap().to_owned();
    let config = format!(
        "org_url = \"{}\"\ndb = \"m.db\"\napi_token_file = \"token\"\n\n\
         [[roles]]\nname = \"owner\"\ngroups = [{group_name:?}]\n\n\
         [[roles]]\nname = \"globbed\"\ngroups = [{glob:?}]\n\n\
         [[roles]]\nname = \"app-user\"\napps = [{app:?}]\n",
        s.emu.base_url()
    );
    std::fs::write(s.dir.path().join("oktasync.toml"), config).unwrap();

    let out = oktasync(s.dir.path(), &["roles", "--format", "json"], &[]).await;
    let rows = out.expect_ok().json();
    let got = pairs(&rows);
    // owner: exactly the group's members, through it.
    let expected: BTreeSet<(String, String)> = members(&export, &group)
        .into_iter()
        .map(|u| ("owner".to_owned(), u))
        .collect();
    let owners: BTreeSet<_> = got.iter().filter(|(r, _)| r == "owner").cloned().collect();
    assert_eq!(owners, expected);
    assert!(rows.as_array().unwrap().iter().any(|r| r["role"] == "owner"
        && r["via"] == "group"
        && r["via_id"] == group.as_str()
        && r["via_name"] == group_name.as_str()));
    // globbed: the members of every group whose name the glob matches, in any letter case.
    let pattern = GroupPattern::parse(glob.as_str()).unwrap();
    let expected: BTreeSet<(String, String)> = list("groups")
        .iter()
        .filter(|g| {
            let id = g["id"].as_str().unwrap();
            pattern.covers(id, Some(&name_of(id)))
        })
        .flat_map(|g| members(&export, g["id"].as_str().unwrap()))
        .map(|u| ("globbed".to_owned(), u))
        .collect();
    assert!(!expected.is_empty());
    let globbed: BTreeSet<_> = got
        .iter()
        .filter(|(r, _)| r == "globbed")
        .cloned()
        .collect();
    assert_eq!(globbed, expected);
    // app-user: everyone assigned the app, directly or through a group.
    let mut expected: BTreeSet<(String, String)> = list("app_users")
        .iter()
        .filter(|a| a["app_id"] == app.as_str() && a["scope"] == "USER")
        .map(|a| {
            (
                "app-user".to_owned(),
                a["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for assignment in list("app_groups")
        .iter()
        .filter(|a| a["app_id"] == app.as_str())
    {
        for u in members(&export, assignment["group_id"].as_str().unwrap()) {
            expected.insert(("app-user".to_owned(), u));
        }
    }
    let app_users: BTreeSet<_> = got
        .iter()
        .filter(|(r, _)| r == "app-user")
        .cloned()
        .collect();
    assert_eq!(app_users, expected);

    // Filters, and `user` shows the roles too.
    let mine = oktasync(
        s.dir.path(),
        &[
            "roles", "--user", &insider, "--role", "owner", "--format", "json",
        ],
        &[],
    )
    .await;
    assert_eq!(
        pairs(&mine.expect_ok().json()),
        BTreeSet::from([("owner".to_owned(), insider.clone())])
    );
    let user = oktasync(
        s.dir.path(),
        &["user", &insider, "--format", "json", "--db", "m.db"],
        &[],
    )
    .await;
    let roles = user.expect_ok().json()["roles"].clone();
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["role"] == "owner"),
        "{roles}"
    );
    let unknown = oktasync(s.dir.path(), &["roles", "--role", "nosuch"], &[]).await;
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(unknown.stderr.contains("owner"), "{unknown:?}");

    // The outsider joins the group, the insider leaves it; a sync brings both in, and the role
    // changes follow as records of their own.
    membership(&s, reqwest::Method::PUT, &group, &outsider).await;
    membership(&s, reqwest::Method::DELETE, &group, &insider).await;
    oktasync(s.dir.path(), &["sync"], &[]).await.expect_ok();
    let changes = oktasync(s.dir.path(), &["changes", "--format", "json"], &[]).await;
    let records: BTreeSet<(String, String)> = changes
        .expect_ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "user_roles")
        .map(|c| {
            (
                c["op"].as_str().unwrap().to_owned(),
                c["entity_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let owner_changes: BTreeSet<_> = records
        .iter()
        .filter(|(_, id)| id.starts_with("owner/"))
        .cloned()
        .collect();
    assert_eq!(
        owner_changes,
        BTreeSet::from([
            ("add".to_owned(), format!("owner/{outsider}")),
            ("remove".to_owned(), format!("owner/{insider}")),
        ]),
        "{records:?}"
    );
    // Applied again with nothing changed: nothing new.
    oktasync(s.dir.path(), &["roles"], &[]).await.expect_ok();
    let again = oktasync(s.dir.path(), &["changes", "--format", "json"], &[]).await;
    let n = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|c| c["entity"] == "user_roles")
            .count()
    };
    assert_eq!(n(&again.expect_ok().json()), records.len());

    // A role that names nothing to grant it is a configuration error naming the entry.
    std::fs::write(
        s.dir.path().join("oktasync.toml"),
        "db = \"m.db\"\n\n[[roles]]\nname = \"empty\"\n",
    )
    .unwrap();
    let bad = oktasync(s.dir.path(), &["roles"], &[]).await;
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("[[roles]] #1"), "{bad:?}");
}
