//! Every change to the org: Okta's status rules, timestamps, cascades and System Log events.
//! The API handlers and churn both call these.

use super::log::{Ctx, Target};
use super::objects::{
    AppGroupEntry, AppUserEntry, Group, GroupType, RoleAssignment, RoleType, User, UserStatus,
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

    pub fn app_id(&self, id: &str) -> Result<Id> {
        Id::parse(id)
            .filter(|a| self.apps.contains_key(a))
            .ok_or_else(|| app_not_found(id))
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
            self.activate_user(ctx, id.as_str())?;
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
        for uid in self.members.remove(&gid).unwrap_or_default() {
            if let Some(gs) = self.user_groups.get_mut(&uid) {
                gs.remove(&gid);
            }
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
        Ok(())
    }

    /// `PUT /api/v1/groups/{gid}/users/{uid}`: OKTA_GROUP only; true when it changed anything.
    pub fn add_member(&mut self, ctx: &Ctx, group: &str, user: &str) -> Result<bool> {
        let gid = self.group_id(group)?;
        let uid = self.user_id(user)?;
        self.check_membership_writable(&gid)?;
        Ok(self.insert_membership(ctx, gid, uid, true))
    }

    /// `DELETE /api/v1/groups/{gid}/users/{uid}`: OKTA_GROUP only.
    pub fn remove_member(&mut self, ctx: &Ctx, group: &str, user: &str) -> Result<bool> {
        let gid = self.group_id(group)?;
        let uid = self.user_id(user)?;
        self.check_membership_writable(&gid)?;
        Ok(self.remove_membership(ctx, gid, uid, true))
    }

    fn check_membership_writable(&self, gid: &Id) -> Result<()> {
        match self.groups[gid].kind {
            GroupType::OktaGroup => Ok(()),
            kind => Err(OktaError::forbidden().with_cause(format!(
                "Memberships of {} groups are managed by Okta; only OKTA_GROUP memberships can be changed",
                kind.as_str()
            ))),
        }
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
        let aid = self.app_id(app)?;
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
        let aid = self.app_id(app)?;
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
        if let Some(a) = self.apps.get(&app) {
            let t = Target::app(a);
            self.emit(ctx, event, vec![t], None);
        }
    }

    /// `POST /api/v1/apps/{id}/lifecycle/activate|deactivate`.
    pub fn set_app_active(&mut self, ctx: &Ctx, app: &str, active: bool) -> Result<Id> {
        let aid = self.app_id(app)?;
        let Some(a) = self.apps.get_mut(&aid) else {
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

    /// `PUT /api/v1/apps/{id}`: the emulator's apps change only their label; moves
    /// `lastUpdated` and writes `application.lifecycle.update`.
    pub fn relabel_app(&mut self, ctx: &Ctx, app: &str, label: &str) -> Result<Id> {
        let aid = self.app_id(app)?;
        if label.trim().is_empty() {
            return Err(OktaError::validation(
                "AppInstance",
                "label: The field cannot be left blank",
            ));
        }
        let Some(a) = self.apps.get_mut(&aid) else {
            return Err(app_not_found(app));
        };
        a.label = label.to_string();
        a.last_updated = ctx.now;
        a.json = OnceLock::new();
        self.app_lifecycle_event(ctx, "application.lifecycle.update", aid);
        Ok(aid)
    }

    /// `DELETE /api/v1/apps/{id}`: only an INACTIVE app; removes its user and group
    /// assignments.
    pub fn delete_app(&mut self, ctx: &Ctx, app: &str) -> Result<()> {
        let aid = self.app_id(app)?;
        if self.apps[&aid].active {
            return Err(OktaError::app_delete_forbidden());
        }
        for gid in self.app_groups.remove(&aid).unwrap_or_default().into_keys() {
            if let Some(apps) = self.group_apps.get_mut(&gid) {
                apps.remove(&aid);
            }
        }
        self.app_users.remove(&aid);
        self.app_lifecycle_event(ctx, "application.lifecycle.delete", aid);
        self.apps.remove(&aid);
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
        let assignee_id = match assignee_type {
            AssigneeType::User => self.user_id(assignee)?,
            AssigneeType::Group => self.group_id(assignee)?,
        };
        let role_type = RoleType::parse(role).ok_or_else(|| {
            OktaError::validation("type", format!("type: Invalid role type {role}"))
        })?;
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
        self.role_event(ctx, true, assignee_type, assignee_id, role_type);
        Ok(id)
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
