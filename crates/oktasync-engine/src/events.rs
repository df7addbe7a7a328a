//! System Log events, classified by what they mean for the mirror (`okta-api.md` §2.1).
//!
//! An event either carries enough to apply it (membership adds and removes, deletions), or
//! names one entity to re-read with one targeted call. Anything else is ignored (and
//! counted): sign-ins, policy evaluations, and the many event types that change nothing a
//! mirror holds.

use okta_api::LogEvent;

/// What one event means for the mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `group.user_membership.add`.
    MembershipAdded { group: String, user: String },
    /// `group.user_membership.remove`.
    MembershipRemoved { group: String, user: String },
    /// `user.lifecycle.create`: re-read the user; Okta also adds it to Everyone (the
    /// BUILT_IN group) without writing a membership event.
    UserCreated { user: String },
    /// Any other `user.lifecycle.*` or `user.account.*` event: re-read the user.
    UserChanged { user: String },
    /// `user.lifecycle.delete.completed`: the user is gone with its memberships, app
    /// assignments, roles and factors (Okta removes those without events).
    UserDeleted { user: String },
    /// `group.lifecycle.create`, `group.profile.update`: re-read the group.
    GroupChanged { group: String },
    /// `group.lifecycle.delete`: the group is gone with its memberships, app assignments and
    /// roles.
    GroupDeleted { group: String },
    /// `application.lifecycle.*` except delete: re-read the app.
    AppChanged { app: String },
    /// `application.lifecycle.delete`: the app is gone with its assignments.
    AppDeleted { app: String },
    /// `application.user_membership.*`: re-read the user's assignment to the app.
    AppUserChanged { app: String, user: String },
    /// `group.application_assignment.*`: re-read the group's assignment to the app.
    AppGroupChanged { app: String, group: String },
    /// `user.account.privilege.grant|revoke`: re-list the user's roles.
    UserRolesChanged { user: String },
    /// `group.privilege.grant|revoke`: re-list the group's roles.
    GroupRolesChanged { group: String },
    /// `user.mfa.factor.*`: re-list the user's factors (if in the factor scope).
    FactorsChanged { user: String },
    /// `system.idp.lifecycle.*`: re-read the IdP.
    IdpChanged { idp: String },
    /// `group.user_membership.rule.trigger|deactivated|invalidate|add_exclusion` (a rule
    /// activated, deactivated, made invalid, or a user excluded from it): re-read the rule.
    GroupRuleChanged { rule: String },
    /// `policy.lifecycle.*`, `policy.rule.*`: re-list the policies, and the rules of the
    /// policy named (of every policy when the event names none).
    PolicyChanged { policy: Option<String> },
    /// Any other change to one of the org's security settings, each re-listed whole (they
    /// are short lists).
    SettingChanged(Setting),
    /// `app.oauth2.admin.consent.grant|revoke`: re-list the app's granted Okta API scopes.
    AppGrantsChanged { app: String },
    /// Nothing the mirror holds (or an event without the targets it should have).
    Ignored,
}

/// An org-wide security setting listed whole, and what changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Setting {
    /// `security.authenticator.lifecycle.*`.
    Authenticators,
    /// `zone.*`.
    NetworkZones,
    /// `system.api_token.*`.
    ApiTokens,
    /// `system.log_stream.lifecycle.*`.
    LogStreams,
    /// `security.threat.configuration.update`.
    ThreatInsight,
}

/// An Okta object that events, listings and re-reads name. Ordered users first, then groups,
/// apps and IdPs, each by id: the order in which a run reads them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Object {
    User(String),
    Group(String),
    App(String),
    Idp(String),
    GroupRule(String),
    Policy(String),
    /// The org as a whole: what a listing of the org's settings (zones, tokens, ...) reads.
    Org,
}

impl Object {
    pub(crate) fn user_id(&self) -> Option<&str> {
        match self {
            Object::User(id) => Some(id),
            _ => None,
        }
    }

    pub(crate) fn group_id(&self) -> Option<&str> {
        match self {
            Object::Group(id) => Some(id),
            _ => None,
        }
    }

    pub(crate) fn app_id(&self) -> Option<&str> {
        match self {
            Object::App(id) => Some(id),
            _ => None,
        }
    }
}

/// The id of the event's first target of one of `types`.
fn target(event: &LogEvent, types: &[&str]) -> Option<String> {
    event
        .targets
        .iter()
        .find(|t| {
            t.target_type
                .as_deref()
                .is_some_and(|ty| types.iter().any(|want| ty.eq_ignore_ascii_case(want)))
        })
        .and_then(|t| t.id.clone())
        .filter(|id| !id.is_empty())
}

fn user_target(event: &LogEvent) -> Option<String> {
    // An AppUser target's id is the user's id.
    target(event, &["User"]).or_else(|| target(event, &["AppUser"]))
}

fn group_target(event: &LogEvent) -> Option<String> {
    target(event, &["UserGroup"])
}

fn app_target(event: &LogEvent) -> Option<String> {
    target(event, &["AppInstance"])
}

/// What `event` means for the mirror. Events whose outcome is not a success changed
/// nothing and are ignored.
pub fn classify(event: &LogEvent) -> EventKind {
    let failed = event
        .outcome
        .as_ref()
        .and_then(|o| o.result.as_deref())
        .is_some_and(|r| r.eq_ignore_ascii_case("FAILURE") || r.eq_ignore_ascii_case("DENY"));
    let Some(event_type) = event.event_type.as_deref() else {
        return EventKind::Ignored;
    };
    if failed {
        return EventKind::Ignored;
    }
    classify_type(event, event_type).unwrap_or(EventKind::Ignored)
}

fn classify_type(event: &LogEvent, event_type: &str) -> Option<EventKind> {
    use EventKind as K;
    let kind = match event_type {
        "group.user_membership.add" => K::MembershipAdded {
            group: group_target(event)?,
            user: user_target(event)?,
        },
        "group.user_membership.remove" => K::MembershipRemoved {
            group: group_target(event)?,
            user: user_target(event)?,
        },
        "user.lifecycle.create" => K::UserCreated {
            user: user_target(event)?,
        },
        "user.lifecycle.delete.completed" => K::UserDeleted {
            user: user_target(event)?,
        },
        "user.account.privilege.grant" | "user.account.privilege.revoke" => K::UserRolesChanged {
            user: user_target(event)?,
        },
        "group.privilege.grant" | "group.privilege.revoke" => K::GroupRolesChanged {
            group: group_target(event)?,
        },
        "group.lifecycle.create" | "group.profile.update" => K::GroupChanged {
            group: group_target(event)?,
        },
        "group.lifecycle.delete" => K::GroupDeleted {
            group: group_target(event)?,
        },
        "application.lifecycle.delete" => K::AppDeleted {
            app: app_target(event)?,
        },
        t if t.starts_with("user.lifecycle.") || t.starts_with("user.account.") => K::UserChanged {
            user: user_target(event)?,
        },
        t if t.starts_with("application.lifecycle.") => K::AppChanged {
            app: app_target(event)?,
        },
        t if t.starts_with("application.user_membership.") => K::AppUserChanged {
            app: app_target(event)?,
            user: user_target(event)?,
        },
        t if t.starts_with("group.application_assignment.") => K::AppGroupChanged {
            app: app_target(event)?,
            group: group_target(event)?,
        },
        t if t.starts_with("user.mfa.factor.") => K::FactorsChanged {
            // The user is the target; when Okta names none, the user acted on themselves.
            user: user_target(event).or_else(|| {
                event
                    .actor
                    .as_ref()
                    .filter(|a| a.actor_type.as_deref() == Some("User"))
                    .and_then(|a| a.id.clone())
            })?,
        },
        // A rule activated (`trigger`), deactivated, made invalid (a target group deleted),
        // or a user put on its exclusion list. Per-user evaluations change no rule. Okta logs
        // no event when a rule is created, replaced or deleted.
        "group.user_membership.rule.trigger"
        | "group.user_membership.rule.deactivated"
        | "group.user_membership.rule.invalidate"
        | "group.user_membership.rule.add_exclusion" => K::GroupRuleChanged {
            rule: target(event, &["GroupRule"])?,
        },
        t if t.starts_with("policy.lifecycle.") || t.starts_with("policy.rule.") => {
            K::PolicyChanged {
                policy: event
                    .targets
                    .iter()
                    .find(|t| {
                        t.target_type
                            .as_deref()
                            .is_some_and(|ty| ty.starts_with("Policy") && ty != "PolicyRule")
                    })
                    .and_then(|t| t.id.clone())
                    .filter(|id| !id.is_empty()),
            }
        }
        t if t.starts_with("security.authenticator.lifecycle.") => {
            K::SettingChanged(Setting::Authenticators)
        }
        t if t.starts_with("zone.") => K::SettingChanged(Setting::NetworkZones),
        t if t.starts_with("system.api_token.") => K::SettingChanged(Setting::ApiTokens),
        t if t.starts_with("system.log_stream.lifecycle.") => {
            K::SettingChanged(Setting::LogStreams)
        }
        "security.threat.configuration.update" => K::SettingChanged(Setting::ThreatInsight),
        "app.oauth2.admin.consent.grant" | "app.oauth2.admin.consent.revoke" => {
            K::AppGrantsChanged {
                app: app_target(event)?,
            }
        }
        t if t.starts_with("system.idp.lifecycle.") => K::IdpChanged {
            idp: target(event, &["IdentityProvider", "IdpInstance", "Idp"]).or_else(|| {
                event
                    .targets
                    .iter()
                    .find(|t| t.target_type.as_deref() != Some("User"))
                    .and_then(|t| t.id.clone())
            })?,
        },
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: &str, targets: &[(&str, &str)]) -> LogEvent {
        let targets: Vec<serde_json::Value> = targets
            .iter()
            .map(|(ty, id)| serde_json::json!({"type": ty, "id": id}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "uuid": "e1",
            "eventType": event_type,
            "published": "2026-01-01T00:00:00.000Z",
            "outcome": {"result": "SUCCESS"},
            "target": targets,
        }))
        .unwrap()
    }

    #[test]
    fn security_settings_are_re_listed_by_the_events_that_change_them() {
        let rule = event(
            "policy.rule.update",
            &[("PolicyEntity", "00p1"), ("PolicyRule", "0pr1")],
        );
        assert_eq!(
            classify(&rule),
            EventKind::PolicyChanged {
                policy: Some("00p1".into())
            }
        );
        // A policy event without its policy re-lists every policy's rules.
        let bare = event("policy.lifecycle.update", &[]);
        assert_eq!(classify(&bare), EventKind::PolicyChanged { policy: None });
        for (event_type, setting) in [
            ("zone.deactivate", Setting::NetworkZones),
            ("system.api_token.revoke", Setting::ApiTokens),
            (
                "system.log_stream.lifecycle.deactivate",
                Setting::LogStreams,
            ),
            (
                "security.threat.configuration.update",
                Setting::ThreatInsight,
            ),
            (
                "security.authenticator.lifecycle.deactivate",
                Setting::Authenticators,
            ),
        ] {
            let e = event(event_type, &[]);
            assert_eq!(
                classify(&e),
                EventKind::SettingChanged(setting),
                "{event_type}"
            );
        }
        let grant = event("app.oauth2.admin.consent.grant", &[("AppInstance", "0oa1")]);
        assert_eq!(
            classify(&grant),
            EventKind::AppGrantsChanged { app: "0oa1".into() }
        );
        // A sign-in evaluated against a policy changes nothing.
        let evaluated = event("policy.evaluate_sign_on", &[("PolicyEntity", "00p1")]);
        assert_eq!(classify(&evaluated), EventKind::Ignored);
    }

    #[test]
    fn memberships_carry_both_ids() {
        let e = event(
            "group.user_membership.add",
            &[("User", "00u1"), ("UserGroup", "00g1")],
        );
        assert_eq!(
            classify(&e),
            EventKind::MembershipAdded {
                group: "00g1".into(),
                user: "00u1".into()
            }
        );
        // A membership event without its group is of no use.
        let e = event("group.user_membership.remove", &[("User", "00u1")]);
        assert_eq!(classify(&e), EventKind::Ignored);
    }

    #[test]
    fn app_user_events_name_the_user_through_app_user_targets() {
        let e = event(
            "application.user_membership.update",
            &[("AppUser", "00u1"), ("AppInstance", "0oa1")],
        );
        assert_eq!(
            classify(&e),
            EventKind::AppUserChanged {
                app: "0oa1".into(),
                user: "00u1".into()
            }
        );
    }

    #[test]
    fn specific_user_events_win_over_the_generic_ones() {
        let grant = event("user.account.privilege.grant", &[("User", "00u1")]);
        assert_eq!(
            classify(&grant),
            EventKind::UserRolesChanged {
                user: "00u1".into()
            }
        );
        let deleted = event("user.lifecycle.delete.completed", &[("User", "00u1")]);
        assert_eq!(
            classify(&deleted),
            EventKind::UserDeleted {
                user: "00u1".into()
            }
        );
        let locked = event("user.account.lock", &[("User", "00u1")]);
        assert_eq!(
            classify(&locked),
            EventKind::UserChanged {
                user: "00u1".into()
            }
        );
        let app_deleted = event("application.lifecycle.delete", &[("AppInstance", "0oa1")]);
        assert_eq!(
            classify(&app_deleted),
            EventKind::AppDeleted { app: "0oa1".into() }
        );
    }

    #[test]
    fn sign_ins_and_failures_are_ignored() {
        assert_eq!(
            classify(&event("user.session.start", &[("User", "00u1")])),
            EventKind::Ignored
        );
        let mut failed = event(
            "group.user_membership.add",
            &[("User", "00u1"), ("UserGroup", "00g1")],
        );
        failed.outcome = Some(okta_api::LogOutcome {
            result: Some("FAILURE".into()),
            reason: None,
        });
        assert_eq!(classify(&failed), EventKind::Ignored);
    }
}
