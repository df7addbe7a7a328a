//! Every change to the org: Okta's status rules, timestamps, cascades and System Log events.
//! The API handlers and churn both call these.

use super::expr::{Expr, Subject};
use super::log::{Ctx, Target};
use super::objects::{
    AppGroupEntry, AppUserEntry, Group, GroupType, RoleAssignment, RoleType, User, UserStatus,
};
use super::rules::{
    EXPRESSION_TYPE, GroupRule, MAX_EXCLUDED_USERS, MAX_RULE_GROUPS, MAX_RULE_NAME, MAX_RULES,
    RuleStatus,
};
use super::{AssigneeType, Id, Org};
use crate::error::{OktaError, Result};
use axum::http::StatusCode;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// What `DELETE /api/v1/users/{id}` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDeletion {
    /// The user was not DEPROVISIONED yet: it is now.
    Deactivated,
    /// The user was DEPROVISIONED and is gone.
    Deleted,
}

fn user_not_found(id: &str) -> OktaError {
    OktaError::not_found(id, "User")
}

fn group_not_found(id: &str) -> OktaError {
    OktaError::not_found(id, "UserGroup")
}

fn app_not_found(id: &str) -> OktaError {
    OktaError::not_found(id, "AppInstance")
}

const REQUIRED_PROFILE: [&str; 4] = ["login", "email", "firstName", "lastName"];

fn validate_profile(profile: &Map<String, Value>) -> Result<()> {
    for field in REQUIRED_PROFILE {
        let blank = profile
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty());
        if blank {
            return Err(OktaError::validation(
                "User",
                format!("{field}: The field cannot be left blank"),
            ));
        }
    }
    Ok(())
}

/// Base profile attributes Okta always sends, `null` when unset: a user created (or a
/// profile replaced) without them still has them.
const NULLABLE_BASE_ATTRIBUTES: [&str; 2] = ["mobilePhone", "secondEmail"];

fn with_base_attributes(mut profile: Map<String, Value>) -> Map<String, Value> {
    for field in NULLABLE_BASE_ATTRIBUTES {
        profile.entry(field).or_insert(Value::Null);
    }
    profile
}

fn lifecycle_error(summary: &str) -> OktaError {
    OktaError::new(
        StatusCode::BAD_REQUEST,
        "E0000001",
        format!("Api validation failed: {summary}"),
    )
    .with_cause(summary.to_string())
}

impl Org {
    fn user_mut(&mut self, id: &str) -> Result<&mut User> {
        let key = self
            .find_user(id)
            .map(|u| u.id)
            .ok_or_else(|| user_not_found(id))?;
        self.users.get_mut(&key).ok_or_else(|| user_not_found(id))
    }

    pub fn user_id(&self, id_or_login: &str) -> Result<Id> {
        self.find_user(id_or_login)
            .map(|u| u.id)
            .ok_or_else(|| user_not_found(id_or_login))
    }

    pub fn group_id(&self, id: &str) -> Result<Id> {
        Id::parse(id)
            .filter(|g| self.groups.contains_key(g))
            .ok_or_else(|| group_not_found(id))
    }

    /// An app's id, of `apps` or a service app (every app `GET /api/v1/apps` lists).
    pub fn app_id(&self, id: &str) -> Result<Id> {
        Id::parse(id)
            .filter(|a| self.any_app(a).is_some())
            .ok_or_else(|| app_not_found(id))
    }

    /// An app that users and groups can be assigned to: not a service app, which signs in no
    /// user (Okta offers no assignment for one). 400 E0000001 naming `what` (`AppUser`,
    /// `GroupAppAssignment`) for a service app.
    fn assignable_app_id(&self, id: &str, what: &str, whom: &str) -> Result<Id> {
        let aid = self.app_id(id)?;
        if self.is_service_app(&aid) {
            return Err(OktaError::validation(
                what,
                format!(
                    "It is not possible to assign {whom} to an AppInstance of application type service"
                ),
            ));
        }
        Ok(aid)
    }

    fn user_target(&self, id: &Id) -> Target {
        self.users
            .get(id)
            .map(Target::user)
            .unwrap_or_else(|| Target {
                id: id.to_string(),
                kind: "User",
                alternate_id: String::new(),
                display_name: String::new(),
            })
    }

    pub(super) fn emit_user(&mut self, ctx: &Ctx, event: &'static str, id: &Id) {
        let t = self.user_target(id);
        self.emit(ctx, event, vec![t], None);
    }

    // ---- users -------------------------------------------------------------------------

    /// `POST /api/v1/users`: creates a user (STAGED, or activated when `activate`), adds it
    /// to Everyone and to `group_ids`.
    pub fn create_user(
        &mut self,
        ctx: &Ctx,
        profile: Map<String, Value>,
        has_password: bool,
        activate: bool,
        group_ids: &[Id],
    ) -> Result<Id> {
        let profile = with_base_attributes(profile);
        validate_profile(&profile)?;
        let login = profile
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        if self.logins.contains_key(&login) {
            return Err(OktaError::validation(
                "login",
                "login: An object with this field already exists in the current organization",
            ));
        }
        for g in group_ids {
            let group = self
                .groups
                .get(g)
                .ok_or_else(|| group_not_found(g.as_str()))?;
            if group.kind != GroupType::OktaGroup {
                return Err(OktaError::forbidden());
            }
        }
        let id = Id::random(b"00u", &mut self.rng);
        let user = User {
            id,
            status: UserStatus::Staged,
            created: ctx.now,
            activated: None,
            status_changed: None,
            last_login: None,
            last_updated: ctx.now,
            password_changed: has_password.then_some(ctx.now),
            type_id: self.user_type_id,
            profile,
            has_password,
            json: OnceLock::new(),
        };
        self.users.insert(id, user);
        self.logins.insert(login, id);
        self.emit_user(ctx, "user.lifecycle.create", &id);
        let everyone = self.everyone;
        self.insert_membership(ctx, everyone, id, false);
        for g in group_ids {
            self.insert_membership(ctx, *g, id, true);
        }
        if activate {
            // Activation evaluates the rules.
            self.activate_user(ctx, id.as_str())?;
        } else {
            self.evaluate_rules_for(ctx, id);
        }
        Ok(id)
    }

    /// `POST` (partial, `replace = false`) or `PUT` (`replace = true`) `/api/v1/users/{id}`.
    pub fn update_user_profile(
        &mut self,
        ctx: &Ctx,
        id: &str,
        changes: Map<String, Value>,
        replace: bool,
    ) -> Result<Id> {
        let uid = self.user_id(id)?;
        let old_login = self.users[&uid].login().to_lowercase();
        let mut profile = if replace {
            Map::new()
        } else {
            self.users[&uid].profile.clone()
        };
        for (k, v) in changes {
            profile.insert(k, v);
        }
        let profile = if replace {
            with_base_attributes(profile)
        } else {
            profile
        };
        validate_profile(&profile)?;
        let new_login = profile
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        if new_login != old_login && self.logins.contains_key(&new_login) {
            return Err(OktaError::validation(
                "login",
                "login: An object with this field already exists in the current organization",
            ));
        }
        let user = self.user_mut(uid.as_str())?;
        user.profile = profile;
        user.last_updated = ctx.now;
        user.touch();
        if new_login != old_login {
            self.logins.remove(&old_login);
            self.logins.insert(new_login, uid);
        }
        self.emit_user(ctx, "user.account.update_profile", &uid);
        self.evaluate_rules_for(ctx, uid);
        Ok(uid)
    }

    fn set_status(&mut self, ctx: &Ctx, uid: &Id, status: UserStatus) {
        if let Some(user) = self.users.get_mut(uid) {
            user.status = status;
            user.status_changed = Some(ctx.now);
            user.last_updated = ctx.now;
            if status == UserStatus::Active || status == UserStatus::Provisioned {
                user.activated = Some(ctx.now);
            }
            user.touch();
        }
    }

    /// `lifecycle/activate`: STAGED or DEPROVISIONED → ACTIVE (with a password) or PROVISIONED.
    pub fn activate_user(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        let uid = self.user_id(id)?;
        let user = &self.users[&uid];
        match user.status {
            UserStatus::Staged | UserStatus::Deprovisioned => {}
            UserStatus::Active => {
                return Err(OktaError::new(
                    StatusCode::FORBIDDEN,
                    "E0000016",
                    "Activation failed because the user is already active",
                ));
            }
            other => {
                return Err(lifecycle_error(&format!(
                    "Cannot activate a user with status {}",
                    other.as_str()
                )));
            }
        }
        let next = if user.has_password {
            UserStatus::Active
        } else {
            UserStatus::Provisioned
        };
        self.set_status(ctx, &uid, next);
        self.emit_user(ctx, "user.lifecycle.activate", &uid);
        // Okta evaluates group rules when a user is (re)activated.
        self.evaluate_rules_for(ctx, uid);
        Ok(uid)
    }

    /// `lifecycle/deactivate`: any status → DEPROVISIONED (a no-op when already there).
    pub fn deactivate_user(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        let uid = self.user_id(id)?;
        if self.users[&uid].status == UserStatus::Deprovisioned {
            return Ok(uid);
        }
        self.set_status(ctx, &uid, UserStatus::Deprovisioned);
        self.emit_user(ctx, "user.lifecycle.deactivate", &uid);
        Ok(uid)
    }

    /// `lifecycle/reactivate`: restarts the activation of a PROVISIONED or RECOVERY user
    /// (a new activation email); the status stays, 403 E0000038 otherwise.
    pub fn reactivate_user(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        let uid = self.user_id(id)?;
        match self.users[&uid].status {
            UserStatus::Provisioned | UserStatus::Recovery => {
                self.emit_user(ctx, "user.lifecycle.reactivate", &uid);
                Ok(uid)
            }
            _ => Err(OktaError::user_status_forbidden()),
        }
    }

    /// `lifecycle/suspend`: ACTIVE → SUSPENDED only.
    pub fn suspend_user(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        self.move_status(
            ctx,
            id,
            (UserStatus::Active, UserStatus::Suspended),
            "user.lifecycle.suspend",
            lifecycle_error("Cannot suspend a user that is not active"),
        )
    }

    /// `lifecycle/unsuspend`: SUSPENDED → ACTIVE only.
    pub fn unsuspend_user(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        self.move_status(
            ctx,
            id,
            (UserStatus::Suspended, UserStatus::Active),
            "user.lifecycle.unsuspend",
            lifecycle_error("Cannot unsuspend a user that is not suspended"),
        )
    }

    /// `lifecycle/unlock`: LOCKED_OUT → ACTIVE only (403 E0000032 otherwise).
    pub fn unlock_user(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        self.move_status(
            ctx,
            id,
            (UserStatus::LockedOut, UserStatus::Active),
            "user.account.unlock",
            OktaError::unlock_forbidden(),
        )
    }

    /// A transition allowed from exactly one status: refused with `refusal` otherwise, else
    /// the status moves and `event` is written.
    fn move_status(
        &mut self,
        ctx: &Ctx,
        id: &str,
        (from, to): (UserStatus, UserStatus),
        event: &'static str,
        refusal: OktaError,
    ) -> Result<Id> {
        let uid = self.user_id(id)?;
        if self.users[&uid].status != from {
            return Err(refusal);
        }
        self.set_status(ctx, &uid, to);
        self.emit_user(ctx, event, &uid);
        Ok(uid)
    }

    /// `DELETE /api/v1/users/{id}`: deactivates first; deletes a DEPROVISIONED user with
    /// its memberships, app assignments, roles and factors.
    pub fn delete_user(&mut self, ctx: &Ctx, id: &str) -> Result<UserDeletion> {
        let uid = self.user_id(id)?;
        if self.users[&uid].status != UserStatus::Deprovisioned {
            self.deactivate_user(ctx, id)?;
            return Ok(UserDeletion::Deactivated);
        }
        self.emit_user(ctx, "user.lifecycle.delete.initiated", &uid);
        let groups: Vec<Id> = self.groups_of(&uid).copied().collect();
        for g in groups {
            self.remove_membership(ctx, g, uid, false);
        }
        let apps: Vec<Id> = self
            .app_users
            .iter()
            .filter(|(_, users)| users.contains_key(&uid))
            .map(|(a, _)| *a)
            .collect();
        for app in apps {
            if let Some(users) = self.app_users.get_mut(&app) {
                users.remove(&uid);
            }
        }
        for role in self.roles_by_assignee.remove(&uid).unwrap_or_default() {
            self.roles.remove(&role);
        }
        self.factors.remove(&uid);
        self.user_groups.remove(&uid);
        let target = self.user_target(&uid);
        if let Some(user) = self.users.remove(&uid) {
            self.logins.remove(&user.login().to_lowercase());
        }
        if self.super_admin == Some(uid) {
            self.super_admin = None;
        }
        self.emit(ctx, "user.lifecycle.delete.completed", vec![target], None);
        Ok(UserDeletion::Deleted)
    }

    // ---- groups ------------------------------------------------------------------------

    /// `POST /api/v1/groups`: an OKTA_GROUP.
    pub fn create_group(&mut self, ctx: &Ctx, profile: Map<String, Value>) -> Result<Id> {
        let name = profile.get("name").and_then(Value::as_str).unwrap_or("");
        if name.trim().is_empty() {
            return Err(OktaError::validation(
                "UserGroup",
                "name: The field cannot be left blank",
            ));
        }
        let id = Id::random(b"00g", &mut self.rng);
        self.groups.insert(
            id,
            Group::new(id, GroupType::OktaGroup, ctx.now, profile, None),
        );
        self.members.insert(id, BTreeSet::new());
        let t = Target::group(&self.groups[&id]);
        self.emit(ctx, "group.lifecycle.create", vec![t], None);
        Ok(id)
    }

    /// `PUT /api/v1/groups/{id}`: replaces the profile of an OKTA_GROUP; moves `lastUpdated`.
    pub fn update_group(&mut self, ctx: &Ctx, id: &str, profile: Map<String, Value>) -> Result<Id> {
        let gid = self.group_id(id)?;
        let name = profile.get("name").and_then(Value::as_str).unwrap_or("");
        if name.trim().is_empty() {
            return Err(OktaError::validation(
                "UserGroup",
                "name: The field cannot be left blank",
            ));
        }
        let group = self
            .groups
            .get_mut(&gid)
            .ok_or_else(|| group_not_found(id))?;
        if group.kind != GroupType::OktaGroup {
            return Err(OktaError::forbidden()
                .with_cause("Only OKTA_GROUP profiles can be changed through the API"));
        }
        group.profile = profile;
        group.last_updated = ctx.now;
        group.touch();
        let t = Target::group(group);
        self.emit(ctx, "group.profile.update", vec![t], None);
        Ok(gid)
    }

    /// `DELETE /api/v1/groups/{id}`: an OKTA_GROUP or APP_GROUP, with its memberships, app
    /// assignments and roles.
    pub fn delete_group(&mut self, ctx: &Ctx, id: &str) -> Result<()> {
        let gid = self.group_id(id)?;
        if self.groups[&gid].kind == GroupType::BuiltIn {
            return Err(OktaError::forbidden().with_cause("The Everyone group cannot be deleted"));
        }
        let apps: Vec<Id> = self
            .group_apps
            .get(&gid)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for app in apps {
            self.unassign_group_from_app(ctx, app.as_str(), id)?;
        }
        for role in self.roles_by_assignee.remove(&gid).unwrap_or_default() {
            self.roles.remove(&role);
        }
        let former = self.members.remove(&gid).unwrap_or_default();
        for uid in &former {
            if let Some(gs) = self.user_groups.get_mut(uid) {
                gs.remove(&gid);
            }
            self.rule_memberships.forget(gid, *uid);
        }
        self.group_apps.remove(&gid);
        if let Some(group) = self.groups.remove(&gid) {
            self.emit(
                ctx,
                "group.lifecycle.delete",
                vec![Target::group(&group)],
                None,
            );
        }
        self.invalidate_rules_of(ctx, gid);
        // Rules reading memberships (isMemberOfGroup) see the former members change.
        if self.rules.values().any(|r| r.status == RuleStatus::Active) {
            for uid in former {
                self.evaluate_rules_for(ctx, uid);
            }
        }
        Ok(())
    }

    /// `PUT /api/v1/groups/{gid}/users/{uid}`: OKTA_GROUP only; true when it changed anything
    /// (adding a member again changes nothing and is no error).
    pub fn add_member(&mut self, ctx: &Ctx, group: &str, user: &str) -> Result<bool> {
        let gid = self.group_id(group)?;
        let uid = self.user_id(user)?;
        self.check_membership_writable(ctx, &gid)?;
        let changed = self.insert_membership(ctx, gid, uid, true);
        if changed {
            // Rules read memberships (isMemberOfGroup): Okta re-evaluates the user.
            self.evaluate_rules_for(ctx, uid);
        }
        Ok(changed)
    }

    /// `DELETE /api/v1/groups/{gid}/users/{uid}`: OKTA_GROUP only. Removing a member a rule
    /// added puts the user on that rule's exclusion list (so the rule does not add them back);
    /// when that list already holds [`MAX_EXCLUDED_USERS`] users, nothing changes and the
    /// request is refused.
    pub fn remove_member(&mut self, ctx: &Ctx, group: &str, user: &str) -> Result<bool> {
        let gid = self.group_id(group)?;
        let uid = self.user_id(user)?;
        self.check_membership_writable(ctx, &gid)?;
        if !self.members.get(&gid).is_some_and(|m| m.contains(&uid)) {
            return Ok(false);
        }
        let holders: Vec<Id> = self.rule_memberships.rules_of(gid, uid).copied().collect();
        for rid in &holders {
            if let Some(rule) = self.rules.get(rid)
                && !rule.excludes(&uid)
                && rule.exclude_users.len() >= MAX_EXCLUDED_USERS
            {
                return Err(exclusion_list_full(rule));
            }
        }
        let changed = self.remove_membership(ctx, gid, uid, true);
        for rid in holders {
            self.exclude_from_rule(ctx, rid, gid, uid);
        }
        if changed {
            self.evaluate_rules_for(ctx, uid);
        }
        Ok(changed)
    }

    /// Okta answers 403 E0000006 for memberships it manages itself (APP_GROUP, BUILT_IN), even
    /// to a Super Admin, and for groups holding admin roles to anyone but a Super Admin.
    fn check_membership_writable(&self, ctx: &Ctx, gid: &Id) -> Result<()> {
        match self.groups[gid].kind {
            GroupType::OktaGroup => {}
            kind => {
                return Err(OktaError::forbidden().with_cause(format!(
                    "Memberships of {} groups are managed by Okta; only OKTA_GROUP memberships can be changed",
                    kind.as_str()
                )));
            }
        }
        if !ctx.super_admin && self.group_has_admin_privilege(gid) {
            return Err(OktaError::forbidden().with_cause(
                "The group holds admin roles: only a Super Admin can change its memberships",
            ));
        }
        Ok(())
    }

    /// Adds a membership (moving only `lastMembershipUpdated`) and the app users it implies.
    pub fn insert_membership(&mut self, ctx: &Ctx, gid: Id, uid: Id, log: bool) -> bool {
        if !self.members.entry(gid).or_default().insert(uid) {
            return false;
        }
        self.user_groups.entry(uid).or_default().insert(gid);
        if let Some(group) = self.groups.get_mut(&gid) {
            group.last_membership_updated = ctx.now;
            group.touch();
        }
        if log {
            let c = ctx.at(format!("/api/v1/groups/{gid}/users/{uid}"));
            let targets = vec![self.user_target(&uid), Target::group(&self.groups[&gid])];
            self.emit(&c, "group.user_membership.add", targets, None);
        }
        let apps: Vec<Id> = self
            .group_apps
            .get(&gid)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for app in apps {
            self.app_user_gain(ctx, app, uid, true);
        }
        true
    }

    pub fn remove_membership(&mut self, ctx: &Ctx, gid: Id, uid: Id, log: bool) -> bool {
        if !self.members.get_mut(&gid).is_some_and(|m| m.remove(&uid)) {
            return false;
        }
        self.rule_memberships.forget(gid, uid);
        if let Some(gs) = self.user_groups.get_mut(&uid) {
            gs.remove(&gid);
        }
        if let Some(group) = self.groups.get_mut(&gid) {
            group.last_membership_updated = ctx.now;
            group.touch();
        }
        if log {
            let c = ctx.at(format!("/api/v1/groups/{gid}/users/{uid}"));
            let targets = vec![self.user_target(&uid), Target::group(&self.groups[&gid])];
            self.emit(&c, "group.user_membership.remove", targets, None);
        }
        let apps: Vec<Id> = self
            .group_apps
            .get(&gid)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for app in apps {
            self.app_user_lose(ctx, app, uid, true);
        }
        true
    }

    // ---- app assignments -----------------------------------------------------------------

    fn app_user_event(&mut self, ctx: &Ctx, event: &'static str, app: Id, uid: Id) {
        let (Some(a), Some(u)) = (self.apps.get(&app), self.users.get(&uid)) else {
            return;
        };
        let targets = vec![Target::app_user(u), Target::app(a), Target::user(u)];
        let c = ctx.at(format!("/api/v1/apps/{app}/users/{uid}"));
        self.emit(&c, event, targets, None);
    }

    /// The user gains the app directly or through one more group.
    fn app_user_gain(&mut self, ctx: &Ctx, app: Id, uid: Id, via_group: bool) {
        let user_name = self
            .users
            .get(&uid)
            .map(|u| u.login().to_string())
            .unwrap_or_default();
        let users = self.app_users.entry(app).or_default();
        let mut added = false;
        let entry = users.entry(uid).or_insert_with(|| {
            added = true;
            AppUserEntry {
                direct: false,
                group_refs: 0,
                created: ctx.now,
                last_updated: ctx.now,
                user_name,
                json: OnceLock::new(),
            }
        });
        let old_scope = entry.scope();
        if via_group {
            entry.group_refs += 1;
        } else {
            entry.direct = true;
        }
        let rescoped = !added && entry.scope() != old_scope;
        if added || rescoped {
            entry.last_updated = ctx.now;
            entry.json = OnceLock::new();
        }
        if added {
            self.app_user_event(ctx, "application.user_membership.add", app, uid);
        } else if rescoped {
            // The assignment changed from through-a-group to direct: its scope and
            // lastUpdated moved, which a log reader must be able to see.
            self.app_user_event(ctx, "application.user_membership.update", app, uid);
        }
    }

    /// The user loses a direct assignment or one group's; removed when nothing is left.
    fn app_user_lose(&mut self, ctx: &Ctx, app: Id, uid: Id, via_group: bool) {
        let Some(users) = self.app_users.get_mut(&app) else {
            return;
        };
        let Some(entry) = users.get_mut(&uid) else {
            return;
        };
        let old_scope = entry.scope();
        if via_group {
            entry.group_refs = entry.group_refs.saturating_sub(1);
        } else {
            entry.direct = false;
        }
        if !entry.direct && entry.group_refs == 0 {
            users.remove(&uid);
            self.app_user_event(ctx, "application.user_membership.remove", app, uid);
        } else if entry.scope() != old_scope {
            entry.last_updated = ctx.now;
            entry.json = OnceLock::new();
            self.app_user_event(ctx, "application.user_membership.update", app, uid);
        }
    }

    /// `POST /api/v1/apps/{appId}/users`: a direct (scope USER) assignment.
    pub fn assign_user_to_app(&mut self, ctx: &Ctx, app: &str, user: &str) -> Result<(Id, Id)> {
        let aid = self.assignable_app_id(app, "AppUser", "users")?;
        let uid = self.user_id(user)?;
        let already = self
            .app_users
            .get(&aid)
            .and_then(|u| u.get(&uid))
            .is_some_and(|e| e.direct);
        if !already {
            self.app_user_gain(ctx, aid, uid, false);
        }
        Ok((aid, uid))
    }

    /// `DELETE /api/v1/apps/{appId}/users/{userId}`: removes a direct assignment.
    pub fn unassign_user_from_app(&mut self, ctx: &Ctx, app: &str, user: &str) -> Result<()> {
        let aid = self.app_id(app)?;
        let uid = self.user_id(user)?;
        match self.app_users.get(&aid).and_then(|u| u.get(&uid)) {
            None => Err(OktaError::not_found(user, "AppUser")),
            Some(e) if !e.direct => Err(OktaError::forbidden()
                .with_cause("The user is assigned through a group; remove the group assignment")),
            Some(_) => {
                self.app_user_lose(ctx, aid, uid, false);
                Ok(())
            }
        }
    }

    /// `PUT /api/v1/apps/{appId}/groups/{groupId}`: members become app users (scope GROUP).
    pub fn assign_group_to_app(
        &mut self,
        ctx: &Ctx,
        app: &str,
        group: &str,
        priority: Option<u32>,
    ) -> Result<(Id, Id)> {
        let aid = self.assignable_app_id(app, "GroupAppAssignment", "groups")?;
        let gid = self.group_id(group)?;
        let groups = self.app_groups.entry(aid).or_default();
        if let Some(entry) = groups.get_mut(&gid) {
            if let Some(p) = priority {
                entry.priority = p;
                entry.last_updated = ctx.now;
                entry.json = OnceLock::new();
            }
            return Ok((aid, gid));
        }
        let priority = priority.unwrap_or(groups.len() as u32);
        groups.insert(
            gid,
            AppGroupEntry {
                priority,
                last_updated: ctx.now,
                json: OnceLock::new(),
            },
        );
        self.group_apps.entry(gid).or_default().insert(aid);
        let targets = vec![
            Target::app(&self.apps[&aid]),
            Target::group(&self.groups[&gid]),
        ];
        let c = ctx.at(format!("/api/v1/apps/{aid}/groups/{gid}"));
        self.emit(&c, "group.application_assignment.add", targets, None);
        let members: Vec<Id> = self
            .members
            .get(&gid)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for uid in members {
            self.app_user_gain(ctx, aid, uid, true);
        }
        Ok((aid, gid))
    }

    /// `DELETE /api/v1/apps/{appId}/groups/{groupId}`.
    pub fn unassign_group_from_app(&mut self, ctx: &Ctx, app: &str, group: &str) -> Result<()> {
        let aid = self.app_id(app)?;
        let gid = self.group_id(group)?;
        let removed = self.app_groups.get_mut(&aid).and_then(|g| g.remove(&gid));
        if removed.is_none() {
            return Err(OktaError::not_found(group, "ApplicationGroupAssignment"));
        }
        if let Some(apps) = self.group_apps.get_mut(&gid) {
            apps.remove(&aid);
        }
        let targets = vec![
            Target::app(&self.apps[&aid]),
            Target::group(&self.groups[&gid]),
        ];
        let c = ctx.at(format!("/api/v1/apps/{aid}/groups/{gid}"));
        self.emit(&c, "group.application_assignment.remove", targets, None);
        let members: Vec<Id> = self
            .members
            .get(&gid)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for uid in members {
            self.app_user_lose(ctx, aid, uid, true);
        }
        Ok(())
    }

    // ---- app lifecycle ---------------------------------------------------------------------

    fn app_lifecycle_event(&mut self, ctx: &Ctx, event: &'static str, app: Id) {
        if let Some(a) = self.any_app(&app) {
            let t = Target::app(a);
            self.emit(ctx, event, vec![t], None);
        }
    }

    /// `POST /api/v1/apps/{id}/lifecycle/activate|deactivate`, of any app: Okta deactivates
    /// a service app too (its client then gets no token).
    pub fn set_app_active(&mut self, ctx: &Ctx, app: &str, active: bool) -> Result<Id> {
        let aid = self.app_id(app)?;
        let Some(a) = self.any_app_mut(&aid) else {
            return Err(app_not_found(app));
        };
        if a.active != active {
            a.active = active;
            a.last_updated = ctx.now;
            a.json = OnceLock::new();
            let event = if active {
                "application.lifecycle.activate"
            } else {
                "application.lifecycle.deactivate"
            };
            self.app_lifecycle_event(ctx, event, aid);
        }
        Ok(aid)
    }

    /// `PUT /api/v1/apps/{id}` (a service app too): the emulator's apps change only their label; moves
    /// `lastUpdated` and writes `application.lifecycle.update`.
    pub fn relabel_app(&mut self, ctx: &Ctx, app: &str, label: &str) -> Result<Id> {
        let aid = self.app_id(app)?;
        if label.trim().is_empty() {
            return Err(OktaError::validation(
                "AppInstance",
                "label: The field cannot be left blank",
            ));
        }
        let Some(a) = self.any_app_mut(&aid) else {
            return Err(app_not_found(app));
        };
        a.label = label.to_string();
        a.last_updated = ctx.now;
        a.json = OnceLock::new();
        self.app_lifecycle_event(ctx, "application.lifecycle.update", aid);
        Ok(aid)
    }

    /// `DELETE /api/v1/apps/{id}`: only an INACTIVE app (a service app too); removes its user
    /// and group assignments and its scope grants (a grant names the app's client, which is
    /// gone).
    pub fn delete_app(&mut self, ctx: &Ctx, app: &str) -> Result<()> {
        let aid = self.app_id(app)?;
        if self.any_app(&aid).is_some_and(|a| a.active) {
            return Err(OktaError::app_delete_forbidden());
        }
        for gid in self.app_groups.remove(&aid).unwrap_or_default().into_keys() {
            if let Some(apps) = self.group_apps.get_mut(&gid) {
                apps.remove(&aid);
            }
        }
        self.app_users.remove(&aid);
        self.app_grants.remove(&aid);
        self.app_lifecycle_event(ctx, "application.lifecycle.delete", aid);
        self.apps.remove(&aid);
        self.service_apps.remove(&aid);
        Ok(())
    }

    // ---- roles ---------------------------------------------------------------------------

    /// `POST /api/v1/{users|groups}/{id}/roles` with a standard role type.
    pub fn grant_role(
        &mut self,
        ctx: &Ctx,
        assignee_type: AssigneeType,
        assignee: &str,
        role: &str,
    ) -> Result<Id> {
        let (id, assignee_id, role_type) = self.insert_role(ctx, assignee_type, assignee, role)?;
        self.role_event(ctx, true, assignee_type, assignee_id, role_type);
        Ok(id)
    }

    /// Several roles granted to a user at once, as the Admin Console does: one
    /// `user.account.privilege.grant` whose `privilegeGranted` reads `privileges` (the
    /// console's wording, e.g. "Organization administrator, Application administrator (all)").
    pub fn grant_user_roles(
        &mut self,
        ctx: &Ctx,
        user: &str,
        roles: &[&str],
        privileges: &str,
    ) -> Result<Vec<Id>> {
        let mut ids = Vec::with_capacity(roles.len());
        let mut assignee = None;
        for role in roles {
            let (id, uid, _) = self.insert_role(ctx, AssigneeType::User, user, role)?;
            ids.push(id);
            assignee = Some(uid);
        }
        if let Some(uid) = assignee {
            let target = self.user_target(&uid);
            self.emit(
                &ctx.at(format!("/api/internal/administrators/{uid}")),
                "user.account.privilege.grant",
                vec![target],
                Some(("privilegeGranted", privileges.to_string())),
            );
        }
        Ok(ids)
    }

    /// Validates and records one role assignment, without its event.
    pub(crate) fn insert_role(
        &mut self,
        ctx: &Ctx,
        assignee_type: AssigneeType,
        assignee: &str,
        role: &str,
    ) -> Result<(Id, Id, RoleType)> {
        let assignee_id = match assignee_type {
            AssigneeType::User => self.user_id(assignee)?,
            AssigneeType::Group => self.group_id(assignee)?,
        };
        let role_type = RoleType::parse(role).ok_or_else(|| {
            OktaError::validation("type", format!("type: Invalid role type {role}"))
        })?;
        if assignee_type == AssigneeType::Group
            && let Some(rule) = self
                .rules
                .values()
                .find(|r| r.group_ids.contains(&assignee_id))
        {
            // Okta help, "Group rules": a group that is the target of a group rule cannot be
            // granted admin privileges.
            return Err(OktaError::validation(
                "groupId",
                format!(
                    "The group is assigned users by group rule {} ({}): a group rule target cannot be granted admin privileges",
                    rule.name, rule.id
                ),
            ));
        }
        if self
            .role_ids_of(&assignee_id)
            .any(|r| self.roles[r].role_type == role_type)
        {
            return Err(OktaError::new(
                StatusCode::CONFLICT,
                "E0000090",
                "Duplicate role assignment exception.",
            ));
        }
        let id = Id::random(b"ra1", &mut self.rng);
        self.roles.insert(
            id,
            RoleAssignment {
                id,
                role_type,
                assignee_type,
                assignee: assignee_id,
                created: ctx.now,
                last_updated: ctx.now,
            },
        );
        self.roles_by_assignee
            .entry(assignee_id)
            .or_default()
            .insert(id);
        Ok((id, assignee_id, role_type))
    }

    /// `DELETE /api/v1/{users|groups}/{id}/roles/{roleAssignmentId}`.
    pub fn revoke_role(
        &mut self,
        ctx: &Ctx,
        assignee_type: AssigneeType,
        assignee: &str,
        role_id: &str,
    ) -> Result<()> {
        let assignee_id = match assignee_type {
            AssigneeType::User => self.user_id(assignee)?,
            AssigneeType::Group => self.group_id(assignee)?,
        };
        let rid = Id::parse(role_id)
            .filter(|r| {
                self.roles
                    .get(r)
                    .is_some_and(|ra| ra.assignee == assignee_id)
            })
            .ok_or_else(|| OktaError::not_found(role_id, "RoleAssignment"))?;
        let Some(role) = self.roles.remove(&rid) else {
            return Err(OktaError::not_found(role_id, "RoleAssignment"));
        };
        if let Some(set) = self.roles_by_assignee.get_mut(&assignee_id) {
            set.remove(&rid);
            if set.is_empty() {
                self.roles_by_assignee.remove(&assignee_id);
            }
        }
        self.role_event(ctx, false, assignee_type, assignee_id, role.role_type);
        Ok(())
    }

    fn role_event(
        &mut self,
        ctx: &Ctx,
        grant: bool,
        assignee_type: AssigneeType,
        assignee: Id,
        role: RoleType,
    ) {
        let (event, target, path) = match (assignee_type, grant) {
            (AssigneeType::User, g) => (
                if g {
                    "user.account.privilege.grant"
                } else {
                    "user.account.privilege.revoke"
                },
                self.user_target(&assignee),
                format!("/api/v1/users/{assignee}/roles"),
            ),
            (AssigneeType::Group, g) => (
                if g {
                    "group.privilege.grant"
                } else {
                    "group.privilege.revoke"
                },
                Target::group(&self.groups[&assignee]),
                format!("/api/v1/groups/{assignee}/roles"),
            ),
        };
        let key = if grant {
            "privilegeGranted"
        } else {
            "privilegeRevoked"
        };
        self.emit(
            &ctx.at(path),
            event,
            vec![target],
            Some((key, role.label().to_string())),
        );
    }
}

/// 400 E0000001 when removing a rule-made member would push the rule's exclusion list past
/// Okta's limit. Okta's help says an admin must clear the list before more users can be
/// excluded; refusing keeps Okta's promise that a manual removal sticks.
fn exclusion_list_full(rule: &GroupRule) -> OktaError {
    OktaError::validation(
        "conditions.people.users.exclude",
        format!(
            "conditions.people.users.exclude: Group rule {} ({}) already excludes {MAX_EXCLUDED_USERS} users, the most a rule can exclude; remove users from its exclusion list first",
            rule.name, rule.id
        ),
    )
}

fn rule_not_found(id: &str) -> OktaError {
    OktaError::not_found(id, "GroupRule")
}

/// How many times a user's rules are re-run after one change: a rule-made membership can
/// make another rule (isMemberOfGroup) match. Okta warns against such cascades; the bound
/// stops rules that would flip each other forever.
const MAX_RULE_PASSES: usize = 4;

/// A group rule as a create (`POST`) or replace (`PUT`) request gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleInput {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub expression: Option<String>,
    pub expression_type: Option<String>,
    pub exclude_users: Vec<String>,
    pub exclude_groups: Vec<String>,
    pub group_ids: Vec<String>,
}

/// A rule input checked against the org.
struct ValidRule {
    name: String,
    expression: String,
    parsed: Expr,
    exclude_users: Vec<String>,
    exclude_groups: Vec<String>,
    group_ids: Vec<Id>,
}

impl Org {
    // ---- group rules ---------------------------------------------------------------------

    /// Okta help, "Group rules": only Super Admins (and Org Admins) edit rules; a Group Admin
    /// may only read them. The emulator's principals are Super Admins or not.
    fn check_rule_editor(ctx: &Ctx) -> Result<()> {
        if ctx.super_admin {
            Ok(())
        } else {
            Err(OktaError::forbidden().with_cause(
                "Only Super Admins and Org Admins can create, change or delete group rules",
            ))
        }
    }

    fn rule_id(&self, id: &str) -> Result<Id> {
        Id::parse(id)
            .filter(|r| self.rules.contains_key(r))
            .ok_or_else(|| rule_not_found(id))
    }

    /// Checks a rule as Okta does on create and replace: name, type, expression (syntax and
    /// attributes), target groups (existing OKTA_GROUPs without admin roles, 1 to 100), and
    /// excluded users (existing, at most 100).
    fn validate_rule(&self, input: RuleInput) -> Result<ValidRule> {
        if input.kind.as_deref() != Some("group_rule") {
            return Err(OktaError::validation(
                "type",
                "type: The field must be 'group_rule'",
            ));
        }
        let name = input.name.unwrap_or_default();
        if name.trim().is_empty() {
            return Err(OktaError::validation(
                "name",
                "name: The field cannot be left blank",
            ));
        }
        if name.chars().count() > MAX_RULE_NAME {
            return Err(OktaError::validation(
                "name",
                format!("name: The field cannot exceed {MAX_RULE_NAME} characters"),
            ));
        }
        if input.expression_type.as_deref() != Some(EXPRESSION_TYPE) {
            return Err(OktaError::validation(
                "conditions.expression.type",
                format!("conditions.expression.type: The only supported type is {EXPRESSION_TYPE}"),
            ));
        }
        let expression = input.expression.unwrap_or_default();
        if expression.trim().is_empty() {
            return Err(OktaError::validation(
                "conditions.expression.value",
                "conditions.expression.value: The field cannot be left blank",
            ));
        }
        let parsed = Expr::parse(&expression).map_err(|e| {
            OktaError::validation(
                "validateRule",
                format!("Parameter conditions.expression.value is not a valid expression: {e}"),
            )
        })?;
        if input.group_ids.is_empty() || input.group_ids.len() > MAX_RULE_GROUPS {
            return Err(OktaError::validation(
                "actions.assignUserToGroups.groupIds",
                format!(
                    "actions.assignUserToGroups.groupIds: A rule assigns users to 1 to {MAX_RULE_GROUPS} groups"
                ),
            ));
        }
        let mut group_ids = Vec::with_capacity(input.group_ids.len());
        for g in &input.group_ids {
            let gid = self.group_id(g).map_err(|_| {
                OktaError::validation(
                    "actions.assignUserToGroups.groupIds",
                    format!("actions.assignUserToGroups.groupIds: Group {g} does not exist"),
                )
            })?;
            let group = &self.groups[&gid];
            if group.kind != GroupType::OktaGroup {
                return Err(OktaError::validation(
                    "actions.assignUserToGroups.groupIds",
                    format!(
                        "actions.assignUserToGroups.groupIds: Group {g} is of type {}; rules assign users to OKTA_GROUP groups only",
                        group.kind.as_str()
                    ),
                ));
            }
            if self.group_has_admin_privilege(&gid) {
                return Err(OktaError::validation(
                    "actions.assignUserToGroups.groupIds",
                    format!(
                        "actions.assignUserToGroups.groupIds: Group {g} holds admin roles; group rules cannot assign users to admin groups"
                    ),
                ));
            }
            if !group_ids.contains(&gid) {
                group_ids.push(gid);
            }
        }
        if input.exclude_users.len() > MAX_EXCLUDED_USERS {
            return Err(OktaError::validation(
                "conditions.people.users.exclude",
                format!(
                    "conditions.people.users.exclude: A rule can exclude at most {MAX_EXCLUDED_USERS} users"
                ),
            ));
        }
        let mut exclude_users: Vec<String> = Vec::with_capacity(input.exclude_users.len());
        for u in input.exclude_users {
            let uid = Id::parse(&u)
                .filter(|id| self.users.contains_key(id))
                .ok_or_else(|| {
                    OktaError::validation(
                        "conditions.people.users.exclude",
                        format!("conditions.people.users.exclude: User {u} does not exist"),
                    )
                })?;
            if !exclude_users.iter().any(|x| x == uid.as_str()) {
                exclude_users.push(uid.to_string());
            }
        }
        Ok(ValidRule {
            name,
            expression,
            parsed,
            exclude_users,
            exclude_groups: input.exclude_groups,
            group_ids,
        })
    }

    /// `POST /api/v1/groups/rules`: a new rule, INACTIVE (Okta creates rules inactive). No
    /// System Log event: Okta's event catalogue has none for creating a rule.
    pub fn create_rule(&mut self, ctx: &Ctx, input: RuleInput) -> Result<Id> {
        Self::check_rule_editor(ctx)?;
        if self.rules.len() >= MAX_RULES {
            return Err(OktaError::validation(
                "GroupRule",
                format!("An org can have at most {MAX_RULES} group rules"),
            ));
        }
        let v = self.validate_rule(input)?;
        let id = Id::random(b"0pr", &mut self.rng);
        self.rules.insert(
            id,
            GroupRule {
                id,
                name: v.name,
                status: RuleStatus::Inactive,
                created: ctx.now,
                last_updated: ctx.now,
                expression: v.expression,
                parsed: v.parsed,
                exclude_users: v.exclude_users,
                exclude_groups: v.exclude_groups,
                group_ids: v.group_ids,
                json: OnceLock::new(),
            },
        );
        Ok(id)
    }

    /// `PUT /api/v1/groups/rules/{id}`: replaces name, expression and exclusions of an
    /// INACTIVE rule. An ACTIVE rule must be deactivated first, an INVALID one can only be
    /// deleted, and the target groups (`actions`) cannot change.
    pub fn replace_rule(&mut self, ctx: &Ctx, id: &str, input: RuleInput) -> Result<Id> {
        let rid = self.rule_id(id)?;
        Self::check_rule_editor(ctx)?;
        match self.rules[&rid].status {
            RuleStatus::Inactive => {}
            RuleStatus::Active => {
                return Err(OktaError::validation(
                    "status",
                    "status: An ACTIVE group rule cannot be updated; deactivate it first",
                ));
            }
            RuleStatus::Invalid => {
                return Err(OktaError::validation(
                    "status",
                    "status: An INVALID group rule cannot be updated; delete it and create a new one",
                ));
            }
        }
        let v = self.validate_rule(input)?;
        let rule = self.rules.get_mut(&rid).ok_or_else(|| rule_not_found(id))?;
        if v.group_ids != rule.group_ids {
            return Err(OktaError::validation(
                "actions",
                "actions: The groups a rule assigns users to cannot be updated; delete the rule and create a new one",
            ));
        }
        rule.name = v.name;
        rule.expression = v.expression;
        rule.parsed = v.parsed;
        rule.exclude_users = v.exclude_users;
        rule.exclude_groups = v.exclude_groups;
        rule.last_updated = ctx.now;
        rule.touch();
        Ok(rid)
    }

    /// `POST /api/v1/groups/rules/{id}/lifecycle/activate`: runs the rule over every user
    /// (`group.user_membership.rule.trigger`, then Okta System's membership adds). Activating
    /// an ACTIVE rule changes nothing; an INVALID rule cannot be activated.
    pub fn activate_rule(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        let rid = self.rule_id(id)?;
        Self::check_rule_editor(ctx)?;
        let rule = self.rules.get_mut(&rid).ok_or_else(|| rule_not_found(id))?;
        match rule.status {
            RuleStatus::Active => return Ok(rid),
            RuleStatus::Invalid => {
                return Err(OktaError::validation(
                    "status",
                    "status: An INVALID group rule cannot be activated; delete it and create a new one",
                ));
            }
            RuleStatus::Inactive => {}
        }
        rule.status = RuleStatus::Active;
        rule.last_updated = ctx.now;
        rule.touch();
        let t = Target::rule(rule);
        self.emit(ctx, "group.user_membership.rule.trigger", vec![t], None);
        let users: Vec<Id> = self.users.keys().copied().collect();
        let mut changed = Vec::new();
        for uid in users {
            if self.apply_rule_to_user(ctx, rid, uid) {
                changed.push(uid);
            }
        }
        for uid in changed {
            self.evaluate_rules_for(ctx, uid);
        }
        Ok(rid)
    }

    /// `POST /api/v1/groups/rules/{id}/lifecycle/deactivate`: the rule stops running; the
    /// members it added stay (Okta support, "What happens if group rules are deactivated and
    /// deleted"), still attributed to it for a later delete with `removeUsers`.
    pub fn deactivate_rule(&mut self, ctx: &Ctx, id: &str) -> Result<Id> {
        let rid = self.rule_id(id)?;
        Self::check_rule_editor(ctx)?;
        let rule = self.rules.get_mut(&rid).ok_or_else(|| rule_not_found(id))?;
        match rule.status {
            RuleStatus::Inactive => return Ok(rid),
            RuleStatus::Invalid => {
                return Err(OktaError::validation(
                    "status",
                    "status: An INVALID group rule cannot be deactivated; delete it",
                ));
            }
            RuleStatus::Active => {}
        }
        rule.status = RuleStatus::Inactive;
        rule.last_updated = ctx.now;
        rule.touch();
        let t = Target::rule(rule);
        self.emit(ctx, "group.user_membership.rule.deactivated", vec![t], None);
        Ok(rid)
    }

    /// `DELETE /api/v1/groups/rules/{id}?removeUsers=`: an INACTIVE or INVALID rule (an ACTIVE
    /// one must be deactivated first). With `removeUsers=true` the memberships only this rule
    /// holds are removed; otherwise they stay, as manual memberships.
    pub fn delete_rule(&mut self, ctx: &Ctx, id: &str, remove_users: bool) -> Result<()> {
        let rid = self.rule_id(id)?;
        Self::check_rule_editor(ctx)?;
        if self.rules[&rid].status == RuleStatus::Active {
            return Err(OktaError::validation(
                "status",
                "status: An ACTIVE group rule cannot be deleted; deactivate it first",
            ));
        }
        let system = ctx.acting_as(self.system_actor());
        let mut removed = Vec::new();
        for (gid, uid) in self.rule_memberships.of_rule(&rid) {
            let unheld = self.rule_memberships.release(rid, gid, uid);
            if remove_users && unheld && self.remove_membership(&system, gid, uid, true) {
                removed.push(uid);
            }
        }
        self.rules.remove(&rid);
        removed.sort_unstable();
        removed.dedup();
        for uid in removed {
            self.evaluate_rules_for(ctx, uid);
        }
        Ok(())
    }

    /// A rule-made member removed by hand joins the rule's exclusion list
    /// (`group.user_membership.rule.add_exclusion`, by Okta System).
    fn exclude_from_rule(&mut self, ctx: &Ctx, rid: Id, gid: Id, uid: Id) {
        let Some(rule) = self.rules.get_mut(&rid) else {
            return;
        };
        if rule.excludes(&uid) {
            return;
        }
        // Okta does not move the rule's lastUpdated for this (rules seen in the wild carry
        // exclusions of users created long after their lastUpdated).
        rule.exclude_users.push(uid.to_string());
        rule.touch();
        let targets = vec![
            self.user_target(&uid),
            Target::group(&self.groups[&gid]),
            Target::rule(&self.rules[&rid]),
        ];
        let system = ctx.acting_as(self.system_actor());
        self.emit(
            &system,
            "group.user_membership.rule.add_exclusion",
            targets,
            None,
        );
    }

    /// A deleted group invalidates the rules assigning users to it
    /// (`group.user_membership.rule.invalidate`): they stop running and can only be deleted.
    fn invalidate_rules_of(&mut self, ctx: &Ctx, gid: Id) {
        let hit: Vec<Id> = self
            .rules
            .values()
            .filter(|r| r.group_ids.contains(&gid) && r.status != RuleStatus::Invalid)
            .map(|r| r.id)
            .collect();
        let system = ctx.acting_as(self.system_actor());
        for rid in hit {
            let Some(rule) = self.rules.get_mut(&rid) else {
                continue;
            };
            rule.status = RuleStatus::Invalid;
            rule.last_updated = ctx.now;
            rule.touch();
            let t = Target::rule(rule);
            self.emit(
                &system,
                "group.user_membership.rule.invalidate",
                vec![t],
                None,
            );
        }
    }

    /// Re-runs every ACTIVE rule for one user after a change Okta re-evaluates on (profile,
    /// activation, membership), until nothing changes.
    pub fn evaluate_rules_for(&mut self, ctx: &Ctx, uid: Id) {
        let active: Vec<Id> = self
            .rules
            .values()
            .filter(|r| r.status == RuleStatus::Active)
            .map(|r| r.id)
            .collect();
        if active.is_empty() {
            return;
        }
        for _ in 0..MAX_RULE_PASSES {
            let mut changed = false;
            for rid in &active {
                changed |= self.apply_rule_to_user(ctx, *rid, uid);
            }
            if !changed {
                break;
            }
        }
    }

    /// Whether `rule` matches `uid` now: not excluded, and the expression holds.
    pub fn rule_matches(&self, rule: &GroupRule, uid: &Id) -> bool {
        let Some(user) = self.users.get(uid) else {
            return false;
        };
        !rule.excludes(uid)
            && rule.parsed.eval(&Subject {
                profile: &user.profile,
                groups: self.user_groups.get(uid),
            })
    }

    /// Brings one user's memberships from one rule in line with the rule: a match gains the
    /// rule's groups (a member already there becomes rule-managed, as in Okta's console);
    /// a user who stops matching loses the memberships only rules held. DEPROVISIONED users
    /// are left alone: Okta does not evaluate them, and deactivating a user does not remove
    /// rule memberships (Okta support, "Deactivated users not removed from Okta groups
    /// automatically"). True when a membership changed.
    fn apply_rule_to_user(&mut self, ctx: &Ctx, rid: Id, uid: Id) -> bool {
        let Some(rule) = self.rules.get(&rid) else {
            return false;
        };
        if self
            .users
            .get(&uid)
            .is_none_or(|u| u.status == UserStatus::Deprovisioned)
        {
            return false;
        }
        let matches = self.rule_matches(rule, &uid);
        let targets = rule.group_ids.len();
        let mut system: Option<Ctx> = None;
        let mut changed = false;
        for i in 0..targets {
            let gid = self.rules[&rid].group_ids[i];
            if !self.groups.contains_key(&gid) {
                continue;
            }
            let held = self.rule_memberships.holds(&rid, gid, uid);
            if matches && !held {
                self.rule_memberships.add(rid, gid, uid);
                let c = system.get_or_insert_with(|| ctx.acting_as(self.system_actor()));
                changed |= self.insert_membership(c, gid, uid, true);
            } else if !matches && held && self.rule_memberships.release(rid, gid, uid) {
                let c = system.get_or_insert_with(|| ctx.acting_as(self.system_actor()));
                changed |= self.remove_membership(c, gid, uid, true);
            }
        }
        changed
    }
}
