//! Properties of the System Log classifier (`oktasync_engine::events::classify`): it never
//! panics whatever the event holds, maps every event type it knows to the kind documented on
//! [`EventKind`] with the ids of the right targets (in any order, any letter case of the target
//! type, among unrelated targets), and ignores failed events, unknown types and events that
//! lack the target their kind needs.

use okta_api::LogEvent;
use oktasync_engine::events::{EventKind, classify};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// The targets one kind of event names, by Okta's target types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    User,
    Group,
    App,
    GroupAndUser,
    AppAndUser,
    AppAndGroup,
    Idp,
    Rule,
}

/// Every event type the classifier knows, with what it needs, as `EventKind`'s documentation
/// and `okta-api.md` §2.1 list them.
const KNOWN: &[(&str, Needs)] = &[
    ("group.user_membership.add", Needs::GroupAndUser),
    ("group.user_membership.remove", Needs::GroupAndUser),
    ("user.lifecycle.create", Needs::User),
    ("user.lifecycle.activate", Needs::User),
    ("user.lifecycle.deactivate", Needs::User),
    ("user.lifecycle.suspend", Needs::User),
    ("user.lifecycle.unsuspend", Needs::User),
    ("user.lifecycle.reactivate", Needs::User),
    ("user.lifecycle.unlock", Needs::User),
    ("user.lifecycle.delete.initiated", Needs::User),
    ("user.lifecycle.delete.completed", Needs::User),
    ("user.account.update_profile", Needs::User),
    ("user.account.lock", Needs::User),
    ("user.account.reset_password", Needs::User),
    ("user.account.update_password", Needs::User),
    ("user.account.privilege.grant", Needs::User),
    ("user.account.privilege.revoke", Needs::User),
    ("group.privilege.grant", Needs::Group),
    ("group.privilege.revoke", Needs::Group),
    ("group.lifecycle.create", Needs::Group),
    ("group.profile.update", Needs::Group),
    ("group.lifecycle.delete", Needs::Group),
    ("application.lifecycle.create", Needs::App),
    ("application.lifecycle.update", Needs::App),
    ("application.lifecycle.activate", Needs::App),
    ("application.lifecycle.deactivate", Needs::App),
    ("application.lifecycle.delete", Needs::App),
    ("application.user_membership.add", Needs::AppAndUser),
    ("application.user_membership.remove", Needs::AppAndUser),
    ("application.user_membership.update", Needs::AppAndUser),
    (
        "application.user_membership.change_username",
        Needs::AppAndUser,
    ),
    ("group.application_assignment.add", Needs::AppAndGroup),
    ("group.application_assignment.remove", Needs::AppAndGroup),
    ("group.application_assignment.update", Needs::AppAndGroup),
    ("user.mfa.factor.activate", Needs::User),
    ("user.mfa.factor.deactivate", Needs::User),
    ("user.mfa.factor.reset_all", Needs::User),
    ("user.mfa.factor.update", Needs::User),
    ("system.idp.lifecycle.create", Needs::Idp),
    ("system.idp.lifecycle.update", Needs::Idp),
    ("system.idp.lifecycle.activate", Needs::Idp),
    ("system.idp.lifecycle.deactivate", Needs::Idp),
    ("system.idp.lifecycle.delete", Needs::Idp),
    ("group.user_membership.rule.trigger", Needs::Rule),
    ("group.user_membership.rule.deactivated", Needs::Rule),
    ("group.user_membership.rule.invalidate", Needs::Rule),
    ("group.user_membership.rule.add_exclusion", Needs::Rule),
];

/// What `event_type` means, with the ids of its user, group, app and IdP targets.
fn documented_kind(event_type: &str, ids: &Ids) -> EventKind {
    let (user, group, app, idp) = (
        ids.user.clone(),
        ids.group.clone(),
        ids.app.clone(),
        ids.idp.clone(),
    );
    match event_type {
        "group.user_membership.add" => EventKind::MembershipAdded { group, user },
        "group.user_membership.remove" => EventKind::MembershipRemoved { group, user },
        "user.lifecycle.create" => EventKind::UserCreated { user },
        "user.lifecycle.delete.completed" => EventKind::UserDeleted { user },
        "user.account.privilege.grant" | "user.account.privilege.revoke" => {
            EventKind::UserRolesChanged { user }
        }
        "group.privilege.grant" | "group.privilege.revoke" => {
            EventKind::GroupRolesChanged { group }
        }
        "group.lifecycle.create" | "group.profile.update" => EventKind::GroupChanged { group },
        "group.lifecycle.delete" => EventKind::GroupDeleted { group },
        "application.lifecycle.delete" => EventKind::AppDeleted { app },
        t if t.starts_with("user.lifecycle.") || t.starts_with("user.account.") => {
            EventKind::UserChanged { user }
        }
        t if t.starts_with("application.lifecycle.") => EventKind::AppChanged { app },
        t if t.starts_with("application.user_membership.") => {
            EventKind::AppUserChanged { app, user }
        }
        t if t.starts_with("group.application_assignment.") => {
            EventKind::AppGroupChanged { app, group }
        }
        t if t.starts_with("user.mfa.factor.") => EventKind::FactorsChanged { user },
        t if t.starts_with("system.idp.lifecycle.") => EventKind::IdpChanged { idp },
        t if t.starts_with("group.user_membership.rule.") => EventKind::GroupRuleChanged {
            rule: ids.rule.clone(),
        },
        other => panic!("no documented kind for {other}"),
    }
}

/// Prefixes and exact types the classifier acts on; anything else is ignored.
const KNOWN_PREFIXES: &[&str] = &[
    "user.lifecycle.",
    "user.account.",
    "application.lifecycle.",
    "application.user_membership.",
    "group.application_assignment.",
    "user.mfa.factor.",
    "system.idp.lifecycle.",
    "group.user_membership.add",
    "group.user_membership.remove",
    "group.privilege.grant",
    "group.privilege.revoke",
    "group.lifecycle.create",
    "group.lifecycle.delete",
    "group.profile.update",
    "group.user_membership.rule.trigger",
    "group.user_membership.rule.deactivated",
    "group.user_membership.rule.invalidate",
    "group.user_membership.rule.add_exclusion",
    // The security configuration, re-listed whole (`src/events.rs` tests each).
    "policy.lifecycle.",
    "policy.rule.",
    "security.authenticator.lifecycle.",
    "zone.",
    "system.api_token.",
    "system.log_stream.lifecycle.",
    "security.threat.configuration.update",
    "app.oauth2.admin.consent.grant",
    "app.oauth2.admin.consent.revoke",
];

#[derive(Debug, Clone)]
struct Ids {
    user: String,
    group: String,
    app: String,
    idp: String,
    rule: String,
}

fn okta_id(prefix: &'static str) -> impl Strategy<Value = String> {
    "[0-9A-Za-z]{4,20}".prop_map(move |tail| format!("{prefix}{tail}"))
}

fn ids() -> impl Strategy<Value = Ids> {
    (
        okta_id("00u"),
        okta_id("00g"),
        okta_id("0oa"),
        okta_id("0oa"),
        okta_id("0pr"),
    )
        .prop_map(|(user, group, app, idp, rule)| Ids {
            user,
            group,
            app,
            idp,
            rule,
        })
}

/// `ty` in a random letter case: Okta's target types are compared without case.
fn any_case(ty: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), ty.len()).prop_map(move |upper| {
        ty.chars()
            .zip(upper)
            .map(|(c, up)| {
                if up {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// Targets of types no event kind looks at.
fn noise_targets() -> impl Strategy<Value = Vec<Value>> {
    proptest::collection::vec(
        (
            select(vec![
                "Policy",
                "PolicyRule",
                "Session",
                "Token",
                "AppSignOn",
            ]),
            "[0-9A-Za-z]{0,12}",
        )
            .prop_map(|(ty, id)| json!({"type": ty, "id": id})),
        0..4,
    )
}

/// The targets an event of `needs` names, with the ids of `ids`. A user may be named as an
/// `AppUser` (whose id is the user's), an IdP under any of its target types.
fn needed_targets(needs: Needs, ids: &Ids) -> BoxedStrategy<Vec<Value>> {
    let target = |ty: BoxedStrategy<String>, id: &str| {
        let id = id.to_owned();
        ty.prop_map(move |ty| json!({"type": ty, "id": id})).boxed()
    };
    let user = target(
        prop_oneof![any_case("User"), any_case("AppUser")].boxed(),
        &ids.user,
    );
    let group = target(any_case("UserGroup").boxed(), &ids.group);
    let app = target(any_case("AppInstance").boxed(), &ids.app);
    let idp = target(
        prop_oneof![
            any_case("IdentityProvider"),
            any_case("IdpInstance"),
            any_case("Idp")
        ]
        .boxed(),
        &ids.idp,
    );
    let rule = target(any_case("GroupRule").boxed(), &ids.rule);
    let one = |a: BoxedStrategy<Value>| a.prop_map(|a| vec![a]).boxed();
    let two = |a: BoxedStrategy<Value>, b: BoxedStrategy<Value>| {
        (a, b).prop_map(|(a, b)| vec![a, b]).boxed()
    };
    match needs {
        Needs::User => one(user),
        Needs::Group => one(group),
        Needs::App => one(app),
        Needs::Idp => one(idp),
        Needs::Rule => one(rule),
        Needs::GroupAndUser => two(group, user),
        Needs::AppAndUser => two(app, user),
        Needs::AppAndGroup => two(app, group),
    }
}

/// An outcome under which an event took effect: a success, or none at all.
fn effective_outcome() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!({"result": "SUCCESS"})),
        Just(json!({"result": "ALLOW"})),
        Just(json!({"result": null, "reason": "whatever"})),
    ]
}

fn event(event_type: &str, targets: Vec<Value>, outcome: Value, actor: Value) -> LogEvent {
    serde_json::from_value(json!({
        "uuid": "e1",
        "eventType": event_type,
        "published": "2026-01-01T00:00:00.000Z",
        "actor": actor,
        "outcome": outcome,
        "target": targets,
    }))
    .expect("a well-formed event deserializes")
}

/// A known event with its targets shuffled among unrelated ones.
fn known_event() -> impl Strategy<Value = (&'static str, Ids, Vec<Value>)> {
    (select(KNOWN.to_vec()), ids()).prop_flat_map(|((event_type, needs), ids)| {
        let targets = (needed_targets(needs, &ids), noise_targets())
            .prop_map(|(mut needed, noise)| {
                needed.extend(noise);
                needed
            })
            .prop_shuffle();
        (Just(event_type), Just(ids), targets)
    })
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        select(vec!["User", "AppUser", "UserGroup", "AppInstance", "Idp"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                select(vec!["id", "type", "result", "eventType", "x"]).prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An event-shaped object whose fields hold anything: known and unknown types, targets of
/// any shape, outcomes and actors of any shape.
fn arbitrary_event() -> impl Strategy<Value = Value> {
    let event_type = prop_oneof![
        select(KNOWN.iter().map(|(t, _)| *t).collect::<Vec<_>>()).prop_map(Value::from),
        "[a-z._]{0,40}".prop_map(Value::from),
        any_json(),
    ];
    (
        event_type,
        prop_oneof![
            any_json(),
            proptest::collection::vec(any_json(), 0..5).prop_map(Value::from)
        ],
        any_json(),
        any_json(),
    )
        .prop_map(|(event_type, targets, outcome, actor)| {
            json!({
                "uuid": "e1",
                "eventType": event_type,
                "target": targets,
                "outcome": outcome,
                "actor": actor,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_events(value in prop_oneof![arbitrary_event(), any_json()]) {
        // Whatever deserializes is classified, without panicking.
        if let Ok(event) = serde_json::from_value::<LogEvent>(value) {
            let _ = classify(&event);
        }
    }

    #[test]
    fn every_known_type_maps_to_its_documented_kind(
        (event_type, ids, targets) in known_event(),
        outcome in effective_outcome(),
    ) {
        let e = event(event_type, targets.clone(), outcome, Value::Null);
        prop_assert_eq!(
            classify(&e),
            documented_kind(event_type, &ids),
            "{} with targets {:?}",
            event_type,
            targets
        );
    }

    #[test]
    fn failed_events_are_ignored(
        (event_type, _ids, targets) in known_event(),
        result in prop_oneof![any_case("FAILURE"), any_case("DENY")],
    ) {
        let e = event(event_type, targets, json!({"result": result}), Value::Null);
        prop_assert_eq!(classify(&e), EventKind::Ignored);
    }

    #[test]
    fn an_event_without_the_target_its_kind_needs_is_ignored(
        (event_type, ids, targets) in known_event(),
        drop_user in any::<bool>(),
    ) {
        // A factor event without a user falls back to a User actor, an IdP event to its
        // first other target: neither is ever left without an id this way.
        prop_assume!(!event_type.starts_with("user.mfa.factor.") && !event_type.starts_with("system.idp."));
        let wanted = documented_kind(event_type, &ids);
        // Remove the user's targets, or every other needed one (group, app).
        let is_user = |t: &Value| {
            t["type"].as_str().is_some_and(|ty| ty.eq_ignore_ascii_case("User") || ty.eq_ignore_ascii_case("AppUser"))
        };
        let needs_user = matches!(
            wanted,
            EventKind::MembershipAdded { .. } | EventKind::MembershipRemoved { .. }
                | EventKind::UserCreated { .. } | EventKind::UserChanged { .. }
                | EventKind::UserDeleted { .. } | EventKind::UserRolesChanged { .. }
                | EventKind::AppUserChanged { .. }
        );
        let needs_other = !matches!(
            wanted,
            EventKind::UserCreated { .. } | EventKind::UserChanged { .. }
                | EventKind::UserDeleted { .. } | EventKind::UserRolesChanged { .. }
        );
        let drop_user = (drop_user && needs_user) || !needs_other;
        let kept: Vec<Value> = targets
            .into_iter()
            .filter(|t| {
                let noise = t["type"].as_str().is_some_and(|ty| {
                    ["Policy", "PolicyRule", "Session", "Token", "AppSignOn"].contains(&ty)
                });
                noise || is_user(t) != drop_user
            })
            .collect();
        let e = event(event_type, kept.clone(), Value::Null, Value::Null);
        prop_assert_eq!(classify(&e), EventKind::Ignored, "{} with {:?}", event_type, kept);
    }

    #[test]
    fn a_factor_event_without_a_user_target_names_the_acting_user(
        event_type in select(KNOWN.iter().map(|(t, _)| *t).filter(|t| t.starts_with("user.mfa.factor.")).collect::<Vec<_>>()),
        actor in okta_id("00u"),
        noise in noise_targets(),
    ) {
        let e = event(event_type, noise.clone(), Value::Null, json!({"type": "User", "id": actor}));
        prop_assert_eq!(classify(&e), EventKind::FactorsChanged { user: actor });
        // An actor that is not a user names nobody.
        let e = event(event_type, noise, Value::Null, json!({"type": "PublicClientApp", "id": "0oa1"}));
        prop_assert_eq!(classify(&e), EventKind::Ignored);
    }

    #[test]
    fn unknown_event_types_are_ignored(
        event_type in prop_oneof![
            "[a-z_]{1,12}(\\.[a-z_]{1,12}){0,3}",
            select(vec![
                "user.session.start",
                "user.authentication.sso",
                "policy.evaluate_sign_on",
                "group.user_membership.rule.evaluated",
                "app.oauth2.as.token.grant",
                "system.api_token.create",
            ]).prop_map(String::from),
        ],
        ids in ids(),
    ) {
        prop_assume!(!KNOWN_PREFIXES.iter().any(|p| event_type.starts_with(p)));
        let targets = vec![
            json!({"type": "User", "id": ids.user}),
            json!({"type": "UserGroup", "id": ids.group}),
            json!({"type": "AppInstance", "id": ids.app}),
        ];
        let e = event(&event_type, targets, Value::Null, Value::Null);
        prop_assert_eq!(classify(&e), EventKind::Ignored, "{}", event_type);
    }
}

/// The table above covers every kind but `Ignored`, so that the properties reach them all.
#[test]
fn the_table_reaches_every_kind() {
    let ids = Ids {
        user: "00u1".into(),
        group: "00g1".into(),
        app: "0oa1".into(),
        idp: "0oa2".into(),
        rule: "0pr1".into(),
    };
    let kinds: std::collections::BTreeSet<String> = KNOWN
        .iter()
        .map(|(t, _)| {
            let kind = format!("{:?}", documented_kind(t, &ids));
            kind.split([' ', '{']).next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(kinds.len(), 16, "{kinds:?}");
}
