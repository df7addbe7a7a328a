//! Questions about an emulated org, answered from its export (`GET /__emulator/export`):
//! what grant tests pick their users and groups by.

use serde_json::Value;
use std::collections::BTreeSet;

/// The members of a group.
/// Every membership of the export, as (group id, user id).
pub fn memberships(export: &Value) -> BTreeSet<(String, String)> {
    list(export, "group_members")
        .filter_map(|m| {
            Some((
                m["group_id"].as_str()?.to_owned(),
                m["user_id"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

pub fn members(export: &Value, group: &str) -> BTreeSet<String> {
    list(export, "group_members")
        .filter(|m| m["group_id"] == group)
        .filter_map(|m| m["user_id"].as_str().map(str::to_owned))
        .collect()
}

/// The ids of the objects of `list` (`users`, `groups`, ...) that `keep` keeps.
pub fn ids_where(export: &Value, list_name: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    list(export, list_name)
        .filter(|v| keep(v))
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect()
}

/// The Okta groups a grant may change: no ACTIVE group rule feeds them and no admin role is
/// granted to them.
pub fn grantable_groups(export: &Value) -> Vec<String> {
    let fed: BTreeSet<String> = list(export, "group_rules")
        .filter(|r| r["status"] == "ACTIVE")
        .flat_map(|r| {
            r["actions"]["assignUserToGroups"]["groupIds"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    let admin: BTreeSet<String> = list(export, "role_assignments")
        .filter(|r| r["assignee_type"] == "GROUP")
        .filter_map(|r| r["assignee_id"].as_str().map(str::to_owned))
        .collect();
    ids_where(export, "groups", |g| g["type"] == "OKTA_GROUP")
        .into_iter()
        .filter(|g| !fed.contains(g) && !admin.contains(g))
        .collect()
}

/// A grantable group and `n` ACTIVE users outside it (`None` when the org has none such).
pub fn group_and_outsiders(export: &Value, n: usize) -> Option<(String, Vec<String>)> {
    let active = ids_where(export, "users", |u| u["status"] == "ACTIVE");
    grantable_groups(export).into_iter().find_map(|group| {
        let inside = members(export, &group);
        let outsiders: Vec<String> = active
            .iter()
            .filter(|u| !inside.contains(*u))
            .take(n)
            .cloned()
            .collect();
        (outsiders.len() == n).then_some((group, outsiders))
    })
}

fn list<'a>(export: &'a Value, name: &str) -> impl Iterator<Item = &'a Value> {
    export[name].as_array().into_iter().flatten()
}
