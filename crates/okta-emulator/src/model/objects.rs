//! The Okta objects and their JSON as the API serves it (without `_links`).

use super::ids::{Id, Ts, format_ts};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

pub(super) fn ts(ms: Ts) -> Value {
    Value::String(format_ts(ms))
}

fn opt_ts(ms: Option<Ts>) -> Value {
    ms.map(ts).unwrap_or(Value::Null)
}

/// Serializes an object once and keeps the bytes until the object changes.
pub(super) fn cached(cell: &OnceLock<Bytes>, build: impl FnOnce() -> Value) -> Bytes {
    cell.get_or_init(|| Bytes::from(serde_json::to_vec(&build()).unwrap_or_default()))
        .clone()
}

/// Writes `object` (a JSON object's bytes) with `"_links": links` added before its closing
/// brace.
pub fn splice_links(out: &mut Vec<u8>, object: &[u8], links: &str) {
    match object.split_last() {
        Some((b'}', head)) if head.len() > 1 => {
            out.extend_from_slice(head);
            out.extend_from_slice(b",\"_links\":");
            out.extend_from_slice(links.as_bytes());
            out.push(b'}');
        }
        _ => out.extend_from_slice(object),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserStatus {
    Staged,
    Provisioned,
    Active,
    Recovery,
    PasswordExpired,
    LockedOut,
    Suspended,
    Deprovisioned,
}

impl UserStatus {
    pub const ALL: [UserStatus; 8] = [
        UserStatus::Staged,
        UserStatus::Provisioned,
        UserStatus::Active,
        UserStatus::Recovery,
        UserStatus::PasswordExpired,
        UserStatus::LockedOut,
        UserStatus::Suspended,
        UserStatus::Deprovisioned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Active => "ACTIVE",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

#[derive(Debug)]
pub struct User {
    pub id: Id,
    pub status: UserStatus,
    pub created: Ts,
    pub activated: Option<Ts>,
    pub status_changed: Option<Ts>,
    pub last_login: Option<Ts>,
    pub last_updated: Ts,
    pub password_changed: Option<Ts>,
    pub type_id: Id,
    pub profile: Map<String, Value>,
    pub has_password: bool,
    pub json: OnceLock<Bytes>,
}

impl User {
    pub fn login(&self) -> &str {
        self.profile
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn display_name(&self) -> String {
        let first = self
            .profile
            .get("firstName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let last = self
            .profile
            .get("lastName")
            .and_then(Value::as_str)
            .unwrap_or("");
        format!("{first} {last}").trim().to_string()
    }

    pub fn to_value(&self) -> Value {
        let mut credentials = Map::new();
        if self.has_password {
            credentials.insert("password".into(), json!({}));
        }
        credentials.insert("provider".into(), json!({"type": "OKTA", "name": "OKTA"}));
        json!({
            "id": self.id,
            "status": self.status.as_str(),
            "created": ts(self.created),
            "activated": opt_ts(self.activated),
            "statusChanged": opt_ts(self.status_changed),
            "lastLogin": opt_ts(self.last_login),
            "lastUpdated": ts(self.last_updated),
            "passwordChanged": opt_ts(self.password_changed),
            "type": {"id": self.type_id},
            "profile": self.profile,
            "credentials": credentials,
        })
    }

    pub fn json(&self) -> Bytes {
        cached(&self.json, || self.to_value())
    }

    /// Drops the cached JSON after a change.
    pub fn touch(&mut self) {
        self.json = OnceLock::new();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    OktaGroup,
    AppGroup,
    BuiltIn,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::OktaGroup => "OKTA_GROUP",
            GroupType::AppGroup => "APP_GROUP",
            GroupType::BuiltIn => "BUILT_IN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            GroupType::OktaGroup,
            GroupType::AppGroup,
            GroupType::BuiltIn,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

#[derive(Debug)]
pub struct Group {
    pub id: Id,
    pub kind: GroupType,
    pub created: Ts,
    pub last_updated: Ts,
    pub last_membership_updated: Ts,
    pub profile: Map<String, Value>,
    /// For APP_GROUP: the app the group is imported from (`_links.source`).
    pub source: Option<Id>,
    pub json: OnceLock<Bytes>,
}

impl Group {
    pub fn new(
        id: Id,
        kind: GroupType,
        created: Ts,
        profile: Map<String, Value>,
        source: Option<Id>,
    ) -> Self {
        Group {
            id,
            kind,
            created,
            last_updated: created,
            last_membership_updated: created,
            profile,
            source,
            json: OnceLock::new(),
        }
    }

    pub fn name(&self) -> &str {
        self.profile
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn to_value(&self) -> Value {
        let object_class = match self.kind {
            GroupType::AppGroup => "okta:windows_security_principal",
            _ => "okta:user_group",
        };
        json!({
            "id": self.id,
            "created": ts(self.created),
            "lastUpdated": ts(self.last_updated),
            "lastMembershipUpdated": ts(self.last_membership_updated),
            "objectClass": [object_class],
            "type": self.kind.as_str(),
            "profile": self.profile,
        })
    }

    pub fn json(&self) -> Bytes {
        cached(&self.json, || self.to_value())
    }

    pub fn touch(&mut self) {
        self.json = OnceLock::new();
    }
}

#[derive(Debug)]
pub struct App {
    pub id: Id,
    pub name: String,
    pub label: String,
    pub active: bool,
    pub created: Ts,
    pub last_updated: Ts,
    pub sign_on_mode: &'static str,
    pub features: Vec<&'static str>,
    pub credentials: Value,
    pub settings: Value,
    pub orn: String,
    pub json: OnceLock<Bytes>,
}

impl App {
    pub fn status(&self) -> &'static str {
        if self.active { "ACTIVE" } else { "INACTIVE" }
    }

    pub fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "orn": self.orn,
            "name": self.name,
            "label": self.label,
            "status": self.status(),
            "lastUpdated": ts(self.last_updated),
            "created": ts(self.created),
            "accessibility": {"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null},
            "visibility": {
                "autoLaunch": false,
                "autoSubmitToolbar": false,
                "hide": {"iOS": false, "web": false},
                "appLinks": {self.name.clone(): true},
            },
            "features": self.features,
            "signOnMode": self.sign_on_mode,
            "credentials": self.credentials,
            "settings": self.settings,
        })
    }

    pub fn json(&self) -> Bytes {
        cached(&self.json, || self.to_value())
    }
}

/// One user's assignment to an app: direct (scope USER), through groups (scope GROUP), or both.
#[derive(Debug)]
pub struct AppUserEntry {
    pub direct: bool,
    /// How many of the app's assigned groups hold the user.
    pub group_refs: u32,
    pub created: Ts,
    pub last_updated: Ts,
    /// `credentials.userName`, fixed when the assignment is made (as Okta does).
    pub user_name: String,
    pub json: OnceLock<Bytes>,
}

impl AppUserEntry {
    pub fn scope(&self) -> &'static str {
        if self.direct { "USER" } else { "GROUP" }
    }

    pub fn to_value(&self, user_id: &Id) -> Value {
        json!({
            "id": user_id,
            "externalId": null,
            "created": ts(self.created),
            "lastUpdated": ts(self.last_updated),
            "scope": self.scope(),
            "status": "ACTIVE",
            "statusChanged": ts(self.created),
            "passwordChanged": null,
            "syncState": "DISABLED",
            "credentials": {"userName": self.user_name},
            "profile": {},
        })
    }

    pub fn json(&self, user_id: &Id) -> Bytes {
        cached(&self.json, || self.to_value(user_id))
    }
}

/// One group's assignment to an app.
#[derive(Debug)]
pub struct AppGroupEntry {
    pub priority: u32,
    pub last_updated: Ts,
    pub json: OnceLock<Bytes>,
}

impl AppGroupEntry {
    pub fn to_value(&self, group_id: &Id) -> Value {
        json!({
            "id": group_id,
            "lastUpdated": ts(self.last_updated),
            "priority": self.priority,
            "profile": {},
        })
    }

    pub fn json(&self, group_id: &Id) -> Bytes {
        cached(&self.json, || self.to_value(group_id))
    }
}

/// Okta's standard admin role types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleType(pub &'static str);

impl RoleType {
    pub const ALL: [(&'static str, &'static str); 12] = [
        ("SUPER_ADMIN", "Super Administrator"),
        ("ORG_ADMIN", "Organization Administrator"),
        ("APP_ADMIN", "Application Administrator"),
        ("USER_ADMIN", "User Administrator"),
        ("HELP_DESK_ADMIN", "Help Desk Administrator"),
        ("READ_ONLY_ADMIN", "Read-only Administrator"),
        ("REPORT_ADMIN", "Report Administrator"),
        ("GROUP_MEMBERSHIP_ADMIN", "Group Membership Administrator"),
        (
            "API_ACCESS_MANAGEMENT_ADMIN",
            "API Access Management Administrator",
        ),
        ("WORKFLOWS_ADMIN", "Workflows Administrator"),
        (
            "ACCESS_CERTIFICATIONS_ADMIN",
            "Access Certifications Administrator",
        ),
        ("ACCESS_REQUESTS_ADMIN", "Access Requests Administrator"),
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == s)
            .map(|(t, _)| RoleType(t))
    }

    pub fn label(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self.0)
            .map(|(_, l)| *l)
            .unwrap_or(self.0)
    }
}

#[derive(Debug)]
pub struct RoleAssignment {
    pub id: Id,
    pub role_type: RoleType,
    pub assignee_type: super::AssigneeType,
    pub assignee: Id,
    pub created: Ts,
    pub last_updated: Ts,
}

impl RoleAssignment {
    /// The role as listed for `listed_for` (`GROUP` when a user sees a role through a group).
    pub fn to_value(&self, assignment_type: &str) -> Value {
        json!({
            "id": self.id,
            "label": self.role_type.label(),
            "type": self.role_type.0,
            "status": "ACTIVE",
            "created": ts(self.created),
            "lastUpdated": ts(self.last_updated),
            "assignmentType": assignment_type,
        })
    }
}

#[derive(Debug)]
pub struct Idp {
    pub id: Id,
    pub kind: &'static str,
    pub name: String,
    pub active: bool,
    pub created: Ts,
    pub last_updated: Ts,
    pub protocol: Value,
    pub json: OnceLock<Bytes>,
}

impl Idp {
    pub fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "issuerMode": "ORG_URL",
            "name": self.name,
            "status": if self.active { "ACTIVE" } else { "INACTIVE" },
            "created": ts(self.created),
            "lastUpdated": ts(self.last_updated),
            "protocol": self.protocol,
            "policy": {
                "provisioning": {
                    "action": "AUTO",
                    "profileMaster": false,
                    "groups": {"action": "NONE"},
                    "conditions": {"deprovisioned": {"action": "NONE"}, "suspended": {"action": "NONE"}},
                },
                "accountLink": {"filter": null, "action": "AUTO"},
                "subject": {
                    "userNameTemplate": {"template": "idpuser.email"},
                    "filter": null,
                    "matchType": "USERNAME",
                },
                "maxClockSkew": 120000,
            },
        })
    }

    pub fn json(&self) -> Bytes {
        cached(&self.json, || self.to_value())
    }
}

/// One kind of factor the emulator enrolls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorKind {
    pub factor_type: &'static str,
    pub provider: &'static str,
    pub vendor_name: &'static str,
    /// The id prefix Okta gives factors of this kind.
    pub prefix: &'static [u8; 3],
}

/// The factors users enroll (Okta Verify push, TOTP apps, SMS, email, WebAuthn).
pub const FACTOR_KINDS: [FactorKind; 6] = [
    FactorKind {
        factor_type: "push",
        provider: "OKTA",
        vendor_name: "OKTA",
        prefix: b"opf",
    },
    FactorKind {
        factor_type: "token:software:totp",
        provider: "GOOGLE",
        vendor_name: "GOOGLE",
        prefix: b"uft",
    },
    FactorKind {
        factor_type: "token:software:totp",
        provider: "OKTA",
        vendor_name: "OKTA",
        prefix: b"ost",
    },
    FactorKind {
        factor_type: "sms",
        provider: "OKTA",
        vendor_name: "OKTA",
        prefix: b"mbl",
    },
    FactorKind {
        factor_type: "email",
        provider: "OKTA",
        vendor_name: "OKTA",
        prefix: b"emf",
    },
    FactorKind {
        factor_type: "webauthn",
        provider: "FIDO",
        vendor_name: "FIDO",
        prefix: b"fwf",
    },
];

#[derive(Debug, Clone)]
pub struct Factor {
    pub id: Id,
    pub kind: FactorKind,
    pub active: bool,
    pub created: Ts,
    pub last_updated: Ts,
    /// Fixed at enrollment (the phone number or email it was set up with): a later profile
    /// change does not change an enrolled factor.
    pub profile: Value,
}

impl Factor {
    /// A factor of `kind` that `user` enrolls at `at`.
    pub fn enroll(id: Id, kind: FactorKind, user: &User, active: bool, at: Ts) -> Factor {
        let login = user.login();
        let profile = match kind.factor_type {
            "sms" | "call" => {
                json!({"phoneNumber": user.profile.get("mobilePhone").cloned().unwrap_or(Value::Null)})
            }
            "email" => json!({"email": user.profile.get("email").cloned().unwrap_or(Value::Null)}),
            "push" => {
                json!({"credentialId": login, "deviceType": "SmartPhone_IPhone", "name": "iPhone", "platform": "IOS", "version": "17.4"})
            }
            "webauthn" => {
                json!({"credentialId": format!("webauthn-{id}"), "authenticatorName": "Touch ID"})
            }
            _ => json!({"credentialId": login}),
        };
        Factor {
            id,
            kind,
            active,
            created: at,
            last_updated: at,
            profile,
        }
    }

    pub fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "factorType": self.kind.factor_type,
            "provider": self.kind.provider,
            "vendorName": self.kind.vendor_name,
            "status": if self.active { "ACTIVE" } else { "PENDING_ACTIVATION" },
            "created": ts(self.created),
            "lastUpdated": ts(self.last_updated),
            "profile": self.profile,
        })
    }
}
