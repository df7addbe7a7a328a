//! Group rules over HTTP: CRUD and lifecycle with Okta's errors, pagination, the expression
//! operators, what rules do as users change, exclusions (and their limit), invalid rules, the
//! System Log events, and the generated rules.

use crate::common::{Emu, Resp, bare};
use okta_emulator::model::expr::{Expr, Subject};
use okta_emulator::model::{Ctx, Id};
use okta_emulator::{EmulatorConfig, OrgSize};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn rule_body(name: &str, expression: &str, groups: &[&str], exclude: &[&str]) -> Value {
    json!({
        "type": "group_rule",
        "name": name,
        "conditions": {
            "people": {"users": {"exclude": exclude}, "groups": {"exclude": []}},
            "expression": {"value": expression, "type": "urn:okta:expression:1.0"},
        },
        "actions": {"assignUserToGroups": {"groupIds": groups}},
    })
}

async fn create_rule(e: &Emu, name: &str, expression: &str, groups: &[&str]) -> String {
    let r = e
        .call(
            Method::POST,
            "/api/v1/groups/rules",
            Some(rule_body(name, expression, groups, &[])),
        )
        .await;
    assert_eq!(r.status, 200, "{expression}: {}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn lifecycle(e: &Emu, rule: &str, op: &str) -> Resp {
    e.call(
        Method::POST,
        &format!("/api/v1/groups/rules/{rule}/lifecycle/{op}"),
        None,
    )
    .await
}

async fn activate(e: &Emu, rule: &str) {
    let r = lifecycle(e, rule, "activate").await;
    assert_eq!(r.status, 204, "{}", r.body);
}

async fn new_group(e: &Emu, name: &str) -> String {
    let r = e
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": name}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// Creates an ACTIVE user (STAGED with `activate = false`) with extra profile attributes.
async fn new_user(e: &Emu, login: &str, extra: Value, activate: bool) -> (String, Resp) {
    let mut profile =
        json!({"firstName": "Rule", "lastName": "Subject", "email": login, "login": login});
    for (k, v) in extra.as_object().unwrap() {
        profile[k] = v.clone();
    }
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users?activate={activate}"),
            Some(json!({"profile": profile, "credentials": {"password": {"value": "Passw0rd!x"}}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (r.body["id"].as_str().unwrap().to_string(), r)
}

async fn update_profile(e: &Emu, uid: &str, changes: Value) -> Resp {
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}"),
            Some(json!({"profile": changes})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

fn members(e: &Emu, gid: &str) -> BTreeSet<String> {
    e.export()["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["group_id"] == gid)
        .map(|m| m["user_id"].as_str().unwrap().to_string())
        .collect()
}

async fn get_rule(e: &Emu, id: &str) -> Value {
    let r = e.get(&format!("/api/v1/groups/rules/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn request_id(r: &Resp) -> String {
    r.headers["x-okta-request-id"].to_str().unwrap().to_string()
}

fn assert_validation(r: &Resp, what: &str, needle: &str) {
    assert_eq!(
        (r.status, r.error_code()),
        (400, "E0000001"),
        "{what}: {}",
        r.body
    );
    let cause = r.body["errorCauses"][0]["errorSummary"]
        .as_str()
        .unwrap_or("");
    assert!(cause.contains(needle), "{what}: cause {cause:?}");
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn create_get_replace_activate_deactivate_delete_with_okta_errors() {
    let e = Emu::start(OrgSize::Tiny, 51).await;
    let gid = new_group(&e, "Rule Target").await;
    let excluded = e.export()["users"][2]["id"].as_str().unwrap().to_string();
    e.tick();
    let r = e
        .call(
            Method::POST,
            "/api/v1/groups/rules",
            Some(rule_body(
                "Engineering rule",
                r#"user.department == "Engineering""#,
                &[&gid],
                &[&excluded],
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rule = r.body.clone();
    let id = rule["id"].as_str().unwrap().to_string();
    assert!(
        id.len() == 20 && id.starts_with("0pr") && id.chars().all(|c| c.is_ascii_alphanumeric()),
        "{id}"
    );
    let now = e.now_text();
    assert_eq!(
        rule,
        json!({
            "type": "group_rule", "id": id, "status": "INACTIVE", "name": "Engineering rule",
            "created": now, "lastUpdated": now,
            "conditions": {
                "people": {"users": {"exclude": [excluded]}, "groups": {"exclude": []}},
                "expression": {"value": "user.department == \"Engineering\"", "type": "urn:okta:expression:1.0"},
            },
            "actions": {"assignUserToGroups": {"groupIds": [gid]}},
            "allGroupsValid": true,
        })
    );
    assert_eq!(get_rule(&e, &id).await, rule);
    assert_eq!(
        members(&e, &gid),
        BTreeSet::new(),
        "an INACTIVE rule adds nobody"
    );

    // Replace an INACTIVE rule: name, expression and exclusions change, lastUpdated moves.
    e.tick();
    let path = format!("/api/v1/groups/rules/{id}");
    let r = e
        .call(
            Method::PUT,
            &path,
            Some(rule_body(
                "Sales rule",
                r#"user.department == "Sales""#,
                &[&gid],
                &[],
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Sales rule");
    assert_eq!(
        r.body["conditions"]["people"]["users"]["exclude"],
        json!([])
    );
    assert_eq!(r.body["lastUpdated"], e.now_text());
    assert_eq!(r.body["created"], now);
    // The target groups (actions) cannot change.
    let other = new_group(&e, "Other Target").await;
    let r = e
        .call(
            Method::PUT,
            &path,
            Some(rule_body(
                "Sales rule",
                r#"user.department == "Sales""#,
                &[&other],
                &[],
            )),
        )
        .await;
    assert_validation(&r, "actions", "cannot be updated");

    // Activate: 204, twice. An ACTIVE rule cannot be replaced or deleted.
    e.tick();
    activate(&e, &id).await;
    assert_eq!(get_rule(&e, &id).await["status"], "ACTIVE");
    assert_eq!(get_rule(&e, &id).await["lastUpdated"], e.now_text());
    activate(&e, &id).await;
    let r = e
        .call(
            Method::PUT,
            &path,
            Some(rule_body("x", r#"user.department == "IT""#, &[&gid], &[])),
        )
        .await;
    assert_validation(&r, "replace ACTIVE", "deactivate it first");
    let r = e.call(Method::DELETE, &path, None).await;
    assert_validation(&r, "delete ACTIVE", "deactivate it first");
    assert_eq!(get_rule(&e, &id).await["status"], "ACTIVE");

    // Deactivate (204, twice), then delete: 202 with no body, then 404.
    let r = lifecycle(&e, &id, "deactivate").await;
    assert_eq!((r.status, &r.body), (204, &Value::Null));
    assert_eq!(lifecycle(&e, &id, "deactivate").await.status, 204);
    assert_eq!(get_rule(&e, &id).await["status"], "INACTIVE");
    let r = e.call(Method::DELETE, &path, None).await;
    assert_eq!((r.status, &r.body), (202, &Value::Null));
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let body = (method == Method::PUT)
            .then(|| rule_body("x", r#"user.department == "IT""#, &[&gid], &[]));
        let r = e.call(method.clone(), &path, body).await;
        assert_eq!(r.status, 404, "{method}");
        assert_eq!(r.body["errorCode"], "E0000007");
        assert_eq!(
            r.body["errorSummary"],
            format!("Not found: Resource not found: {id} (GroupRule)")
        );
    }
    assert_eq!(lifecycle(&e, &id, "activate").await.status, 404);
    assert_eq!(
        lifecycle(&e, "0prnope0000000000000", "deactivate")
            .await
            .status,
        404
    );
    let other_rule = create_rule(&e, "Lifecycle op", r#"user.city == "Berlin""#, &[&gid]).await;
    assert_eq!(lifecycle(&e, &other_rule, "explode").await.status, 404);
}

#[tokio::test]
async fn invalid_rules_are_refused_with_e0000001_and_a_cause() {
    let e = Emu::start(OrgSize::Small, 52).await;
    let export = e.export();
    let gid = new_group(&e, "Valid Target").await;
    let of_type = |kind: &str| -> String {
        export["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["type"] == kind)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (app_group, everyone) = (of_type("APP_GROUP"), of_type("BUILT_IN"));
    let admin_group = new_group(&e, "Admins").await;
    let grant = e
        .call(
            Method::POST,
            &format!("/api/v1/groups/{admin_group}/roles"),
            Some(json!({"type": "READ_ONLY_ADMIN"})),
        )
        .await;
    assert_eq!(grant.status, 201);
    let users: Vec<&str> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let ok = r#"user.department == "Sales""#;
    let mut cases: Vec<(&str, Value, &str)> = vec![
        (
            "syntax",
            rule_body("r", r#"user.department == "Sales" AND"#, &[&gid], &[]),
            "conditions.expression.value",
        ),
        (
            "unbalanced",
            rule_body("r", r#"(user.department == "Sales""#, &[&gid], &[]),
            "expected ')'",
        ),
        (
            "assignment",
            rule_body("r", r#"user.department = "Sales""#, &[&gid], &[]),
            "'=='",
        ),
        (
            "unknown attribute",
            rule_body("r", r#"user.favouriteColour == "red""#, &[&gid], &[]),
            "favouriteColour",
        ),
        (
            "unknown function",
            rule_body(
                "r",
                r#"String.toUpperCase(user.title) == "X""#,
                &[&gid],
                &[],
            ),
            "toUpperCase",
        ),
        (
            "empty expression",
            rule_body("r", "  ", &[&gid], &[]),
            "cannot be left blank",
        ),
        ("no name", rule_body("", ok, &[&gid], &[]), "name"),
        (
            "long name",
            rule_body(&"n".repeat(51), ok, &[&gid], &[]),
            "50",
        ),
        ("no groups", rule_body("r", ok, &[], &[]), "groupIds"),
        (
            "missing group",
            rule_body("r", ok, &["00gnothere0000000000"], &[]),
            "does not exist",
        ),
        (
            "app group",
            rule_body("r", ok, &[&app_group], &[]),
            "APP_GROUP",
        ),
        (
            "built-in group",
            rule_body("r", ok, &[&everyone], &[]),
            "BUILT_IN",
        ),
        (
            "admin group",
            rule_body("r", ok, &[&admin_group], &[]),
            "admin",
        ),
        (
            "unknown excluded user",
            rule_body("r", ok, &[&gid], &["00unobody00000000000"]),
            "does not exist",
        ),
        (
            "too many excluded users",
            rule_body("r", ok, &[&gid], &users[..101]),
            "100",
        ),
    ];
    let mut no_type = rule_body("r", ok, &[&gid], &[]);
    no_type.as_object_mut().unwrap().remove("type");
    cases.push(("no type", no_type, "group_rule"));
    let mut wrong_type = rule_body("r", ok, &[&gid], &[]);
    wrong_type["conditions"]["expression"]["type"] = json!("urn:okta:expression:2.0");
    cases.push(("expression type", wrong_type, "urn:okta:expression:1.0"));
    let mut numbers = rule_body("r", ok, &[&gid], &[]);
    numbers["actions"]["assignUserToGroups"]["groupIds"] = json!([1, 2]);
    cases.push(("group ids not strings", numbers, "string"));
    let before = e.export()["group_rules"].as_array().unwrap().len();
    for (what, body, needle) in cases {
        let r = e
            .call(Method::POST, "/api/v1/groups/rules", Some(body))
            .await;
        assert_validation(&r, what, needle);
    }
    let r = e
        .call(
            Method::POST,
            "/api/v1/groups/rules",
            Some(rule_body("r", "user.title ==", &[&gid], &[])),
        )
        .await;
    assert_eq!(
        r.body["errorSummary"],
        "Api validation failed: validateRule"
    );
    // A body that is not JSON: E0000003.
    let resp = e
        .http
        .post(e.url("/api/v1/groups/rules"))
        .header("Authorization", format!("SSWS {}", e.emu.token()))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000003");
    assert_eq!(e.export()["group_rules"].as_array().unwrap().len(), before);
    // Exactly 100 excluded users is allowed.
    let r = e
        .call(
            Method::POST,
            "/api/v1/groups/rules",
            Some(rule_body("Hundred", ok, &[&gid], &users[..100])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["conditions"]["people"]["users"]["exclude"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    // A rule's target cannot be granted an admin role.
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/groups/{gid}/roles"),
            Some(json!({"type": "HELP_DESK_ADMIN"})),
        )
        .await;
    assert_validation(
        &r,
        "role on a rule target",
        "cannot be granted admin privileges",
    );
}

#[tokio::test]
async fn rules_page_with_link_headers_search_by_name_and_expand_group_names() {
    let e = Emu::start(OrgSize::Tiny, 53).await;
    let gid = new_group(&e, "Paged Target").await;
    for i in 0..6 {
        create_rule(
            &e,
            &format!("Paged rule {i}"),
            r#"user.city == "Berlin""#,
            &[&gid],
        )
        .await;
    }
    let export = e.export();
    let all: Vec<Value> = export["group_rules"].as_array().unwrap().clone();
    assert!(all.len() >= 9, "the tiny org's 3 and 6 more");
    let first = e.get("/api/v1/groups/rules?limit=2").await;
    assert_eq!(first.array().len(), 2);
    let links = first.links();
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(
        links[0],
        format!(
            "<{}/api/v1/groups/rules?limit=2>; rel=\"self\"",
            e.emu.base_url()
        )
    );
    assert_eq!(
        links[1],
        format!(
            "<{}/api/v1/groups/rules?after={}&limit=2>; rel=\"next\"",
            e.emu.base_url(),
            all[1]["id"].as_str().unwrap()
        )
    );
    let walked: Vec<Value> = e
        .walk("/api/v1/groups/rules?limit=2")
        .await
        .iter()
        .map(bare)
        .collect();
    assert_eq!(walked, all, "every rule once, by id, as exported");
    // Default and maximum page size.
    let r = e.get("/api/v1/groups/rules").await;
    assert_eq!(r.array().len(), all.len());
    assert!(r.self_link().unwrap().ends_with("limit=50"));
    assert_eq!(r.next(), None);
    let r = e.get("/api/v1/groups/rules?limit=1000").await;
    assert!(r.self_link().unwrap().ends_with("limit=200"));
    let r = e.get("/api/v1/groups/rules?after=not-a-cursor").await;
    assert_eq!((r.status, r.error_code()), (400, "E0000029"));
    // Search: in the name, any case; paged too.
    let found = e
        .walk("/api/v1/groups/rules?search=paged%20RULE&limit=4")
        .await;
    assert_eq!(found.len(), 6);
    let found = e.walk("/api/v1/groups/rules?search=rule%203").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["name"], "Paged rule 3");
    // expand=groupIdToGroupNameMap, in lists and for one rule.
    assert!(walked.iter().all(|r| r.get("_embedded").is_none()));
    let expanded = e
        .walk("/api/v1/groups/rules?search=paged&expand=groupIdToGroupNameMap")
        .await;
    for r in &expanded {
        assert_eq!(
            r["_embedded"]["groupIdToGroupNameMap"],
            json!({gid.clone(): "Paged Target"})
        );
    }
    let id = expanded[0]["id"].as_str().unwrap();
    let one = e
        .get(&format!(
            "/api/v1/groups/rules/{id}?expand=groupIdToGroupNameMap"
        ))
        .await;
    assert_eq!(
        one.body["_embedded"]["groupIdToGroupNameMap"][&gid],
        "Paged Target"
    );
}

#[tokio::test]
async fn every_operator_selects_the_users_okta_would() {
    let e = Emu::start(OrgSize::Tiny, 54).await;
    let (a, _) = new_user(
        &e,
        "a.rules@example.com",
        json!({"department": "QA-Lab", "title": "Test Engineer", "city": "San Diego"}),
        true,
    )
    .await;
    let (b, _) = new_user(
        &e,
        "b.rules@example.com",
        json!({"department": "QA-Lab", "title": "Manager", "city": "Boston", "isContractor": true}),
        true,
    )
    .await;
    let (c, _) = new_user(
        &e,
        "c.rules@example.com",
        json!({"department": "Ops-Lab", "title": "Engineer II", "city": "Santa Fe"}),
        true,
    )
    .await;
    let (d, _) = new_user(
        &e,
        "d.rules@example.com",
        json!({"department": "Ops-Lab", "title": "Analyst", "city": "Austin"}),
        true,
    )
    .await;
    let m = new_group(&e, "Members of M").await;
    let z = new_group(&e, "Empty Z").await;
    assert_eq!(
        e.call(Method::PUT, &format!("/api/v1/groups/{m}/users/{d}"), None)
            .await
            .status,
        204
    );
    let ours = set(&[&a, &b, &c, &d]);
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        (r#"user.department == "QA-Lab""#.into(), set(&[&a, &b])),
        (r#"user.department != "QA-Lab""#.into(), set(&[&c, &d])),
        (r#"String.stringContains(user.title, "Engineer")"#.into(), set(&[&a, &c])),
        (r#"String.startsWith(user.city, "San")"#.into(), set(&[&a, &c])),
        (r#"String.endsWith(user.city, 'Fe')"#.into(), set(&[&c])),
        (format!(r#"isMemberOfAnyGroup("{m}", "{z}")"#), set(&[&d])),
        (format!(r#"isMemberOfGroup("{m}")"#), set(&[&d])),
        (format!(r#"isMemberOfGroup("{z}")"#), set(&[])),
        (r#"user.department == "QA-Lab" and user.city == "Boston""#.into(), set(&[&b])),
        (r#"user.department == "QA-Lab" AND String.startsWith(user.city, "San")"#.into(), set(&[&a])),
        (r#"user.department == "QA-Lab" && user.title == "Manager""#.into(), set(&[&b])),
        (r#"user.title == "Analyst" or user.city == "Boston""#.into(), set(&[&b, &d])),
        (r#"user.title == "Analyst" OR user.title == "Engineer II""#.into(), set(&[&c, &d])),
        (r#"user.title == "Analyst" || user.title == "Test Engineer""#.into(), set(&[&a, &d])),
        (
            r#"(user.department == "QA-Lab" or user.department == "Ops-Lab") and !(user.city == "Austin")"#.into(),
            set(&[&a, &b, &c]),
        ),
        (r#"user.department == "QA-Lab" and not user.isContractor"#.into(), set(&[&a])),
        (
            format!(r#"!isMemberOfGroup("{m}") && user.department == "Ops-Lab""#),
            set(&[&c]),
        ),
    ];
    let mut targets = Vec::new();
    for (i, (expression, _)) in cases.iter().enumerate() {
        let g = new_group(&e, &format!("Operator target {i}")).await;
        let rule = create_rule(&e, &format!("Operator {i}"), expression, &[&g]).await;
        activate(&e, &rule).await;
        targets.push(g);
    }
    for ((expression, want), g) in cases.iter().zip(&targets) {
        let got: BTreeSet<String> = members(&e, g).intersection(&ours).cloned().collect();
        assert_eq!(&got, want, "{expression}");
    }
}

#[tokio::test]
async fn rules_follow_users_as_they_change_and_okta_system_makes_the_memberships() {
    let e = Emu::start(OrgSize::Tiny, 55).await;
    let t = new_group(&e, "Dept X").await;
    let rule = create_rule(&e, "Dept X", r#"user.department == "Dept-X""#, &[&t]).await;
    activate(&e, &rule).await;

    // A new user who matches is added, by Okta System, within the creating request.
    let (u, created) = new_user(
        &e,
        "u.rules@example.com",
        json!({"department": "Dept-X"}),
        true,
    )
    .await;
    assert_eq!(members(&e, &t), set(&[&u]));
    let add = e
        .last_events(10)
        .into_iter()
        .rev()
        .find(|x| {
            x["eventType"] == "group.user_membership.add" && x["target"][1]["id"] == t.as_str()
        })
        .expect("the rule's add");
    assert_eq!(add["actor"]["type"], "SystemPrincipal");
    assert_eq!(add["actor"]["alternateId"], "system@okta.com");
    assert_eq!(add["actor"]["displayName"], "Okta System");
    assert_eq!(add["target"][0]["id"], u.as_str());
    assert_eq!(
        add["debugContext"]["debugData"]["requestId"],
        request_id(&created)
    );

    // A profile change out of the department removes the rule-made membership, and back in
    // adds it again.
    let moved = update_profile(&e, &u, json!({"department": "Dept-Y"})).await;
    assert_eq!(members(&e, &t), BTreeSet::new());
    let remove = e.last_events(1).pop().unwrap();
    assert_eq!(remove["eventType"], "group.user_membership.remove");
    assert_eq!(remove["actor"]["type"], "SystemPrincipal");
    assert_eq!(
        remove["debugContext"]["debugData"]["requestId"],
        request_id(&moved)
    );
    update_profile(&e, &u, json!({"department": "Dept-X"})).await;
    assert_eq!(members(&e, &t), set(&[&u]));

    // Deactivation leaves rule memberships alone, and a DEPROVISIONED user is not evaluated.
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{u}/lifecycle/deactivate"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(members(&e, &t), set(&[&u]));
    update_profile(&e, &u, json!({"department": "Dept-Y"})).await;
    assert_eq!(members(&e, &t), set(&[&u]));
    // Reactivation evaluates again.
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{u}/lifecycle/activate"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(members(&e, &t), BTreeSet::new());

    // A STAGED user is evaluated too.
    let (staged, _) = new_user(
        &e,
        "staged.rules@example.com",
        json!({"department": "Dept-X"}),
        false,
    )
    .await;
    assert_eq!(members(&e, &t), set(&[&staged]));

    // isMemberOfGroup follows membership changes.
    let m = new_group(&e, "Gate M").await;
    let t2 = new_group(&e, "Via M").await;
    let via = create_rule(&e, "Via M", &format!(r#"isMemberOfGroup("{m}")"#), &[&t2]).await;
    activate(&e, &via).await;
    let put = e
        .call(Method::PUT, &format!("/api/v1/groups/{m}/users/{u}"), None)
        .await;
    assert_eq!(put.status, 204);
    assert_eq!(members(&e, &t2), set(&[&u]));
    let add = e.last_events(1).pop().unwrap();
    assert_eq!(add["eventType"], "group.user_membership.add");
    assert_eq!(add["actor"]["type"], "SystemPrincipal");
    assert_eq!(
        add["debugContext"]["debugData"]["requestId"],
        request_id(&put)
    );
    e.call(
        Method::DELETE,
        &format!("/api/v1/groups/{m}/users/{u}"),
        None,
    )
    .await;
    assert_eq!(members(&e, &t2), BTreeSet::new());

    // A manual member who starts matching becomes rule-managed: once they stop matching,
    // the rule removes them.
    let t3 = new_group(&e, "Dept Z").await;
    let (v, _) = new_user(
        &e,
        "v.rules@example.com",
        json!({"department": "Dept-Y"}),
        true,
    )
    .await;
    e.call(Method::PUT, &format!("/api/v1/groups/{t3}/users/{v}"), None)
        .await;
    let z = create_rule(&e, "Dept Z", r#"user.department == "Dept-Z""#, &[&t3]).await;
    activate(&e, &z).await;
    assert_eq!(members(&e, &t3), set(&[&v]), "a manual member stays");
    let before = e.log_len();
    update_profile(&e, &v, json!({"department": "Dept-Z"})).await;
    assert_eq!(members(&e, &t3), set(&[&v]));
    assert_eq!(
        e.log_len(),
        before + 1,
        "only the profile update: v was a member already"
    );
    update_profile(&e, &v, json!({"department": "Dept-W"})).await;
    assert_eq!(
        members(&e, &t3),
        BTreeSet::new(),
        "the rule managed v by then"
    );
}

#[tokio::test]
async fn activation_triggers_and_deactivation_keeps_members_until_delete_with_remove_users() {
    let e = Emu::start(OrgSize::Tiny, 56).await;
    let g1 = new_group(&e, "Quarterly").await;
    let g2 = new_group(&e, "Kept").await;
    let (q1, _) = new_user(
        &e,
        "q1.rules@example.com",
        json!({"department": "Dept-Q"}),
        true,
    )
    .await;
    let (q2, _) = new_user(
        &e,
        "q2.rules@example.com",
        json!({"department": "Dept-Q"}),
        true,
    )
    .await;
    let (manual, _) = new_user(
        &e,
        "m.rules@example.com",
        json!({"department": "Dept-M"}),
        true,
    )
    .await;
    e.call(
        Method::PUT,
        &format!("/api/v1/groups/{g1}/users/{manual}"),
        None,
    )
    .await;
    let r1 = create_rule(&e, "Quarterly", r#"user.department == "Dept-Q""#, &[&g1]).await;
    let r2 = create_rule(&e, "Kept", r#"user.department == "Dept-Q""#, &[&g2]).await;

    let admin = e.export()["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["profile"]["login"] == "admin@example.com")
        .unwrap()["id"]
        .clone();
    let before = e.log_len();
    let activated = lifecycle(&e, &r1, "activate").await;
    assert_eq!(activated.status, 204);
    let events = e.last_events(e.log_len() - before);
    assert_eq!(events[0]["eventType"], "group.user_membership.rule.trigger");
    assert_eq!(events[0]["actor"]["id"], admin);
    assert_eq!(
        events[0]["target"],
        json!([{"id": r1, "type": "GroupRule", "alternateId": "Quarterly",
        "displayName": "Quarterly", "detailEntry": null}])
    );
    assert_eq!(events[0]["legacyEventType"], "cvd.group_rule_triggered");
    let adds: Vec<&Value> = events[1..]
        .iter()
        .filter(|x| x["eventType"] == "group.user_membership.add")
        .collect();
    assert_eq!(adds.len(), 2, "q1 and q2");
    for add in adds {
        assert_eq!(add["actor"]["type"], "SystemPrincipal");
        assert_eq!(
            add["debugContext"]["debugData"]["requestId"],
            request_id(&activated)
        );
    }
    assert_eq!(members(&e, &g1), set(&[&q1, &q2, &manual]));

    let deactivated = lifecycle(&e, &r1, "deactivate").await;
    assert_eq!(deactivated.status, 204);
    let event = e.last_events(1).pop().unwrap();
    assert_eq!(event["eventType"], "group.user_membership.rule.deactivated");
    assert_eq!(event["target"][0]["id"], r1.as_str());
    assert_eq!(
        event["debugContext"]["debugData"]["requestId"],
        request_id(&deactivated)
    );
    assert_eq!(
        members(&e, &g1),
        set(&[&q1, &q2, &manual]),
        "deactivation keeps members"
    );
    let (q3, _) = new_user(
        &e,
        "q3.rules@example.com",
        json!({"department": "Dept-Q"}),
        true,
    )
    .await;
    assert!(
        !members(&e, &g1).contains(&q3),
        "an INACTIVE rule does not run"
    );

    // Delete with removeUsers=true: the rule's members go, the manual one stays.
    let r = e
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/rules/{r1}?removeUsers=true"),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(members(&e, &g1), set(&[&manual]));
    let removes: Vec<Value> = e
        .last_events(2)
        .into_iter()
        .filter(|x| x["eventType"] == "group.user_membership.remove")
        .collect();
    assert_eq!(removes.len(), 2);
    assert!(
        removes
            .iter()
            .all(|x| x["actor"]["type"] == "SystemPrincipal")
    );

    // Delete without removeUsers: the members stay, no longer managed by any rule.
    activate(&e, &r2).await;
    assert_eq!(members(&e, &g2), set(&[&q1, &q2, &q3]));
    assert_eq!(lifecycle(&e, &r2, "deactivate").await.status, 204);
    let r = e
        .call(Method::DELETE, &format!("/api/v1/groups/rules/{r2}"), None)
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(members(&e, &g2), set(&[&q1, &q2, &q3]));
    update_profile(&e, &q1, json!({"department": "Dept-Other"})).await;
    assert!(members(&e, &g2).contains(&q1));
}

#[tokio::test]
async fn removing_a_rule_made_member_puts_them_on_the_exclusion_list() {
    let e = Emu::start(OrgSize::Tiny, 57).await;
    let g = new_group(&e, "Excluding").await;
    let (e1, _) = new_user(
        &e,
        "e1.rules@example.com",
        json!({"department": "Dept-E"}),
        true,
    )
    .await;
    let (e2, _) = new_user(
        &e,
        "e2.rules@example.com",
        json!({"department": "Dept-E"}),
        true,
    )
    .await;
    let rule = create_rule(&e, "Dept E", r#"user.department == "Dept-E""#, &[&g]).await;
    activate(&e, &rule).await;
    let last_updated = get_rule(&e, &rule).await["lastUpdated"].clone();
    e.tick();
    let before = e.log_len();
    let removed = e
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/{g}/users/{e1}"),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(members(&e, &g), set(&[&e2]));
    let r = get_rule(&e, &rule).await;
    assert_eq!(r["conditions"]["people"]["users"]["exclude"], json!([e1]));
    assert_eq!(r["lastUpdated"], last_updated);
    let events = e.last_events(e.log_len() - before);
    let types: Vec<&str> = events
        .iter()
        .map(|x| x["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "group.user_membership.remove",
            "group.user_membership.rule.add_exclusion"
        ]
    );
    assert_eq!(
        events[0]["actor"]["type"], "User",
        "the admin removed the member"
    );
    let exclusion = &events[1];
    assert_eq!(exclusion["actor"]["type"], "SystemPrincipal");
    assert_eq!(
        exclusion["displayMessage"],
        "User added to exclusion list for group rule"
    );
    let targets: Vec<(&str, &str)> = exclusion["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["type"].as_str().unwrap(), t["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        targets,
        [
            ("User", e1.as_str()),
            ("UserGroup", g.as_str()),
            ("GroupRule", rule.as_str())
        ]
    );
    for x in &events {
        assert_eq!(
            x["debugContext"]["debugData"]["requestId"],
            request_id(&removed)
        );
    }
    // The rule does not add an excluded user back.
    update_profile(&e, &e1, json!({"title": "Still Dept-E"})).await;
    assert_eq!(members(&e, &g), set(&[&e2]));
    // A manual add is allowed; a second removal adds no second exclusion.
    e.call(Method::PUT, &format!("/api/v1/groups/{g}/users/{e1}"), None)
        .await;
    assert_eq!(members(&e, &g), set(&[&e1, &e2]));
    e.call(
        Method::DELETE,
        &format!("/api/v1/groups/{g}/users/{e1}"),
        None,
    )
    .await;
    assert_eq!(
        get_rule(&e, &rule).await["conditions"]["people"]["users"]["exclude"],
        json!([e1])
    );
}

#[tokio::test]
async fn a_full_exclusion_list_refuses_the_removal_of_a_rule_made_member() {
    let e = Emu::start(OrgSize::Small, 58).await;
    let g = new_group(&e, "Hundred").await;
    let (l1, _) = new_user(
        &e,
        "l1.rules@example.com",
        json!({"department": "Dept-L"}),
        true,
    )
    .await;
    let (l2, _) = new_user(
        &e,
        "l2.rules@example.com",
        json!({"department": "Dept-L"}),
        true,
    )
    .await;
    let export = e.export();
    let others: Vec<&str> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .filter(|u| *u != l1 && *u != l2)
        .collect();
    let r = e
        .call(
            Method::POST,
            "/api/v1/groups/rules",
            Some(rule_body(
                "Full",
                r#"user.department == "Dept-L""#,
                &[&g],
                &others[..100],
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rule = r.body["id"].as_str().unwrap().to_string();
    activate(&e, &rule).await;
    assert_eq!(members(&e, &g), set(&[&l1, &l2]));
    let before = e.log_len();
    let r = e
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/{g}/users/{l1}"),
            None,
        )
        .await;
    assert_validation(&r, "101st exclusion", "100");
    assert_eq!(members(&e, &g), set(&[&l1, &l2]), "nothing changed");
    assert_eq!(e.log_len(), before, "no event");
    // Room made on the list (deactivate, replace, activate): the removal goes through.
    assert_eq!(lifecycle(&e, &rule, "deactivate").await.status, 204);
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/groups/rules/{rule}"),
            Some(rule_body(
                "Full",
                r#"user.department == "Dept-L""#,
                &[&g],
                &others[..99],
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    activate(&e, &rule).await;
    assert_eq!(
        e.call(
            Method::DELETE,
            &format!("/api/v1/groups/{g}/users/{l1}"),
            None
        )
        .await
        .status,
        204
    );
    let exclude = get_rule(&e, &rule).await["conditions"]["people"]["users"]["exclude"].clone();
    assert_eq!(exclude.as_array().unwrap().len(), 100);
    assert_eq!(exclude[99], l1.as_str());
}

#[tokio::test]
async fn deleting_a_target_group_invalidates_the_rule() {
    let e = Emu::start(OrgSize::Tiny, 59).await;
    let g = new_group(&e, "Doomed").await;
    let kept = new_group(&e, "Survivor").await;
    let (u, _) = new_user(
        &e,
        "i.rules@example.com",
        json!({"department": "Dept-I"}),
        true,
    )
    .await;
    let rule = create_rule(&e, "Doomed", r#"user.department == "Dept-I""#, &[&g, &kept]).await;
    activate(&e, &rule).await;
    assert_eq!(members(&e, &kept), set(&[&u]));
    assert_eq!(
        e.call(Method::DELETE, &format!("/api/v1/groups/{g}"), None)
            .await
            .status,
        204
    );
    let r = get_rule(&e, &rule).await;
    assert_eq!(r["status"], "INVALID");
    assert_eq!(r["allGroupsValid"], false);
    let event = e.last_events(1).pop().unwrap();
    assert_eq!(event["eventType"], "group.user_membership.rule.invalidate");
    assert_eq!(event["target"][0]["id"], rule.as_str());
    assert_eq!(event["actor"]["type"], "SystemPrincipal");
    // An INVALID rule no longer runs and can only be read or deleted.
    update_profile(&e, &u, json!({"department": "Dept-J"})).await;
    assert_eq!(members(&e, &kept), set(&[&u]));
    for op in ["activate", "deactivate"] {
        assert_validation(&lifecycle(&e, &rule, op).await, op, "INVALID");
    }
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/groups/rules/{rule}"),
            Some(rule_body(
                "x",
                r#"user.department == "Dept-I""#,
                &[&kept],
                &[],
            )),
        )
        .await;
    assert_validation(&r, "replace INVALID", "INVALID");
    let r = e
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/rules/{rule}?removeUsers=true"),
            None,
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(members(&e, &kept), BTreeSet::new());
}

/// The users an expression selects, computed from the export with the emulator's parser.
fn matching(export: &Value, rule: &Value) -> BTreeSet<String> {
    let expr = Expr::parse(rule["conditions"]["expression"]["value"].as_str().unwrap()).unwrap();
    let excluded: BTreeSet<&str> = rule["conditions"]["people"]["users"]["exclude"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    let mut groups_of: BTreeMap<&str, BTreeSet<Id>> = BTreeMap::new();
    for m in export["group_members"].as_array().unwrap() {
        groups_of
            .entry(m["user_id"].as_str().unwrap())
            .or_default()
            .insert(Id::parse(m["group_id"].as_str().unwrap()).unwrap());
    }
    export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .filter(|u| !excluded.contains(u["id"].as_str().unwrap()))
        .filter(|u| {
            let profile: &Map<String, Value> = u["profile"].as_object().unwrap();
            expr.eval(&Subject {
                profile,
                groups: groups_of.get(u["id"].as_str().unwrap()),
            })
        })
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

/// Re-running every rule for every user in-process changes nothing.
fn assert_rules_settled(e: &Emu) {
    let before = e.export();
    let log_before = e.log_len();
    {
        let mut org = e.emu.state().org.write();
        let ctx = Ctx::new(org.token_actor(), e.clock_now_ms(), "/check");
        let users: Vec<Id> = org.users.keys().copied().collect();
        for u in users {
            org.evaluate_rules_for(&ctx, u);
        }
    }
    let after = e.export();
    let lines = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.to_string())
            .collect()
    };
    for key in before.as_object().unwrap().keys() {
        let (old, new) = (lines(&before[key]), lines(&after[key]));
        assert!(
            old == new,
            "re-evaluating the rules changed {key}: gone {:?}, new {:?}; events {:?}",
            old.difference(&new).take(3).collect::<Vec<_>>(),
            new.difference(&old).take(3).collect::<Vec<_>>(),
            crate::common::event_types(&e.last_events(e.log_len() - log_before))
        );
    }
}

#[tokio::test]
async fn generated_rules_are_real_rules_whose_memberships_exist() {
    for (size, seed, count) in [(OrgSize::Tiny, 60, 3), (OrgSize::Small, 61, 4)] {
        let e = Emu::start(size, seed).await;
        let export = e.export();
        let rules = export["group_rules"].as_array().unwrap();
        assert_eq!(rules.len(), count, "{size:?}");
        assert!(rules.iter().any(|r| r["status"] == "INACTIVE"), "{size:?}");
        let groups: BTreeMap<&str, &Value> = export["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["id"].as_str().unwrap(), g))
            .collect();
        let mut rule_made = 0;
        for rule in rules {
            assert!(rule["id"].as_str().unwrap().starts_with("0pr"));
            assert!(rule["name"].as_str().unwrap().chars().count() <= 50);
            let targets = rule["actions"]["assignUserToGroups"]["groupIds"]
                .as_array()
                .unwrap();
            for t in targets {
                assert_eq!(groups[t.as_str().unwrap()]["type"], "OKTA_GROUP");
            }
            let want = matching(&export, rule);
            if rule["status"] == "ACTIVE" {
                assert!(
                    !want.is_empty(),
                    "{}: matches real users",
                    rule["conditions"]["expression"]["value"]
                );
                for t in targets {
                    let got = members(&e, t.as_str().unwrap());
                    assert!(
                        want.is_subset(&got),
                        "{}: {} matching users missing from {t}",
                        rule["conditions"]["expression"]["value"],
                        want.difference(&got).count()
                    );
                }
                rule_made += want.len();
            }
        }
        assert!(rule_made > 0);
        assert!(
            !e.emu.state().org.read().rule_memberships.is_empty(),
            "rule-made memberships are recorded"
        );
        assert_rules_settled(&e);
    }
}

#[tokio::test]
async fn churn_keeps_the_rules_settled() {
    let e = Emu::start(OrgSize::Small, 62).await;
    // A rule most users match, churn's new users included: its group is too big for churn to
    // delete.
    let g = new_group(&e, "Everyone but Legal").await;
    let rule = create_rule(&e, "Not Legal", r#"user.department != "Legal""#, &[&g]).await;
    activate(&e, &rule).await;
    let before = members(&e, &g);
    assert!(before.len() > 500, "{}", before.len());
    let summary = e.emu.churn(7, 400);
    assert!(
        summary.applied.get("user.create").copied().unwrap_or(0) > 0,
        "{summary:?}"
    );
    let export = e.export();
    let created: Vec<&str> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            u["profile"]["login"]
                .as_str()
                .unwrap()
                .starts_with("churn.user")
        })
        .filter(|u| u["status"] != "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(!created.is_empty());
    let after = members(&e, &g);
    for u in created {
        assert!(after.contains(u), "churn's new user {u} joined");
    }
    assert_rules_settled(&e);
}

#[tokio::test]
async fn a_principal_that_is_not_a_super_admin_reads_rules_but_cannot_change_them() {
    let e = Emu::start_with(EmulatorConfig {
        non_super_admin_tokens: vec!["00limited-rules".into()],
        ..EmulatorConfig::default()
    })
    .await;
    let limited = "SSWS 00limited-rules";
    let g = new_group(&e, "Limited").await;
    let rule = create_rule(
        &e,
        "By a Super Admin",
        r#"user.department == "Sales""#,
        &[&g],
    )
    .await;
    let r = e
        .call_as(limited, Method::GET, "/api/v1/groups/rules", None)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.array().iter().any(|x| x["id"] == rule.as_str()));
    let body = rule_body("Limited", r#"user.department == "Sales""#, &[&g], &[]);
    let path = format!("/api/v1/groups/rules/{rule}");
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/groups/rules".to_string(),
            Some(body.clone()),
        ),
        (Method::PUT, path.clone(), Some(body)),
        (Method::POST, format!("{path}/lifecycle/activate"), None),
        (Method::POST, format!("{path}/lifecycle/deactivate"), None),
        (Method::DELETE, path.clone(), None),
    ] {
        let r = e.call_as(limited, method.clone(), &path, body).await;
        assert_eq!(
            (r.status, r.error_code()),
            (403, "E0000006"),
            "{method} {path}"
        );
    }
    assert_eq!(get_rule(&e, &rule).await["status"], "INACTIVE");
}
