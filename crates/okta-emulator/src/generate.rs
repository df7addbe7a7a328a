//! Seeded synthetic orgs: the same seed and counts give the same org, byte for byte.
//!
//! Every timestamp derives from [`GenParams::anchor`], the org's "now", never from the wall
//! clock: a server anchors its org to its clock at start, so the org's history always ends
//! just before the present, and the same seed and anchor give the same bytes. Generation is
//! single threaded with one `ChaCha8Rng`, so the order of every draw is fixed.

use crate::config::OrgSize;
use crate::model::{
    Actor, ApiToken, App, AssigneeType, Ctx, FACTOR_KINDS, Factor, Group, GroupType, Id, Idp, Org,
    RoleAssignment, RoleType, Target, TokenNetwork, Ts, User, UserStatus, idp_protocol,
    whole_second,
};
use chrono::{DateTime, Utc};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

mod posture;

/// Average number of (non-Everyone) groups per user.
const GROUPS_PER_USER: f64 = 10.0;

const DAY_MS: i64 = 86_400_000;

/// How big an org to generate, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenParams {
    pub seed: u64,
    pub users: usize,
    pub groups: usize,
    pub apps: usize,
    /// The org's "now" (ms since the epoch, a whole second): every generated timestamp and
    /// the month of System Log history lie before it.
    pub anchor: Ts,
}

impl GenParams {
    pub fn new(
        seed: u64,
        size: OrgSize,
        users: Option<usize>,
        groups: Option<usize>,
        apps: Option<usize>,
        anchor: DateTime<Utc>,
    ) -> Self {
        let (u, g, a) = size.counts();
        GenParams {
            seed,
            users: users.unwrap_or(u).max(1),
            groups: groups.unwrap_or(g).max(1),
            apps: apps.unwrap_or(a),
            anchor: whole_second(anchor.timestamp_millis()),
        }
    }
}

// (display, ascii for logins)
const FIRST_NAMES: &[(&str, &str)] = &[
    ("James", "james"),
    ("Mary", "mary"),
    ("Robert", "robert"),
    ("Patricia", "patricia"),
    ("John", "john"),
    ("Jennifer", "jennifer"),
    ("Michael", "michael"),
    ("Linda", "linda"),
    ("David", "david"),
    ("Elizabeth", "elizabeth"),
    ("William", "william"),
    ("Barbara", "barbara"),
    ("Richard", "richard"),
    ("Susan", "susan"),
    ("Joseph", "joseph"),
    ("Jessica", "jessica"),
    ("Thomas", "thomas"),
    ("Sarah", "sarah"),
    ("Priya", "priya"),
    ("Arjun", "arjun"),
    ("Wei", "wei"),
    ("Mei", "mei"),
    ("Hiroshi", "hiroshi"),
    ("Yuki", "yuki"),
    ("José", "jose"),
    ("María", "maria"),
    ("François", "francois"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Zoë", "zoe"),
    ("Søren", "soren"),
    ("Łukasz", "lukasz"),
    ("Jürgen", "jurgen"),
    ("Ngọc", "ngoc"),
    ("Oluwaseun", "oluwaseun"),
    ("Aisha", "aisha"),
    ("Mohammed", "mohammed"),
    ("Fatima", "fatima"),
    ("Dmitri", "dmitri"),
    ("Olga", "olga"),
    ("Siobhán", "siobhan"),
    ("Seán", "sean"),
    ("Ana", "ana"),
    ("Mateus", "mateus"),
    ("Kwame", "kwame"),
    ("Ama", "ama"),
    ("Lars", "lars"),
    ("Ingrid", "ingrid"),
    ("Raúl", "raul"),
    ("Inés", "ines"),
    ("Hana", "hana"),
    ("Jin", "jin"),
];

const LAST_NAMES: &[(&str, &str)] = &[
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Jones", "jones"),
    ("Garcia", "garcia"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Rodriguez", "rodriguez"),
    ("Martinez", "martinez"),
    ("Lee", "lee"),
    ("Walker", "walker"),
    ("Patel", "patel"),
    ("Shah", "shah"),
    ("Nguyen", "nguyen"),
    ("Kim", "kim"),
    ("Tanaka", "tanaka"),
    ("Nakamura", "nakamura"),
    ("Müller", "muller"),
    ("Schröder", "schroder"),
    ("Sánchez", "sanchez"),
    ("Núñez", "nunez"),
    ("Østergaard", "ostergaard"),
    ("Åberg", "aberg"),
    ("Dvořák", "dvorak"),
    ("Kowalczyk", "kowalczyk"),
    ("O'Brien", "obrien"),
    ("Ó Súilleabháin", "osuilleabhain"),
    ("Lefèvre", "lefevre"),
    ("Gonçalves", "goncalves"),
    ("Adeyemi", "adeyemi"),
    ("Mensah", "mensah"),
    ("Ivanova", "ivanova"),
    ("Petrov", "petrov"),
    ("Chen", "chen"),
    ("Wang", "wang"),
    ("Zhang", "zhang"),
    ("Yılmaz", "yilmaz"),
    ("Haddad", "haddad"),
    ("Cohen", "cohen"),
];

const DEPARTMENTS: &[(&str, &[&str])] = &[
    (
        "Engineering",
        &[
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Engineering Manager",
            "SRE",
        ],
    ),
    (
        "Sales",
        &[
            "Account Executive",
            "Sales Development Representative",
            "Sales Manager",
        ],
    ),
    (
        "Marketing",
        &[
            "Marketing Manager",
            "Content Strategist",
            "Product Marketing Manager",
        ],
    ),
    (
        "Finance",
        &["Accountant", "Financial Analyst", "Controller"],
    ),
    (
        "Human Resources",
        &[
            "HR Business Partner",
            "Recruiter",
            "People Operations Specialist",
        ],
    ),
    (
        "Support",
        &[
            "Support Engineer",
            "Customer Success Manager",
            "Support Lead",
        ],
    ),
    (
        "IT",
        &[
            "IT Administrator",
            "Systems Engineer",
            "Help Desk Technician",
        ],
    ),
    ("Legal", &["Counsel", "Paralegal"]),
    (
        "Product",
        &["Product Manager", "Product Designer", "UX Researcher"],
    ),
    ("Operations", &["Operations Manager", "Business Analyst"]),
];

const LOCATIONS: &[&str] = &[
    "San Francisco",
    "New York",
    "London",
    "Berlin",
    "Tokyo",
    "São Paulo",
    "Bengaluru",
    "Zürich",
    "Montréal",
    "Sydney",
    "Remote",
];

const GROUP_WORDS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "HR",
    "Support",
    "IT",
    "Legal",
    "Product",
    "Operations",
    "Security",
    "Data",
    "Platform",
    "Mobile",
    "Web",
    "EMEA",
    "APAC",
    "AMER",
    "Contractors",
    "Interns",
    "Managers",
    "On-call",
    "Release",
    "Payroll",
    "Recruiting",
    "Design",
];

const GROUP_KINDS: &[&str] = &[
    "Team",
    "Project",
    "Access",
    "Distribution",
    "Admins",
    "Readers",
    "Approvers",
    "Guild",
];

// (label, name, signOnMode)
const APP_CATALOG: &[(&str, &str, &str)] = &[
    ("Salesforce.com", "salesforce", "SAML_2_0"),
    ("Slack", "slack", "SAML_2_0"),
    ("Google Workspace", "google", "SAML_2_0"),
    // The spec's WsFederationApplication allows only the template name (OIN WS-Fed apps such
    // as Office 365 use other names the discriminated schema rejects).
    ("SharePoint Portal", "template_wsfed", "WS_FEDERATION"),
    ("Zoom", "zoomus", "SAML_2_0"),
    ("GitHub Enterprise Cloud", "githubcloud", "SAML_2_0"),
    ("Atlassian Cloud", "atlassian", "SAML_2_0"),
    ("Workday", "workday", "SAML_2_0"),
    ("Box", "boxnet", "SAML_2_0"),
    ("Dropbox Business", "dropbox_for_business", "SAML_2_0"),
    ("AWS Account Federation", "amazon_aws", "SAML_2_0"),
    ("ServiceNow", "servicenow_ud", "SAML_2_0"),
    ("Internal Wiki", "bookmark", "BOOKMARK"),
    ("Expense Portal", "template_swa", "BROWSER_PLUGIN"),
    ("Legacy Intranet", "template_basic_auth", "BASIC_AUTH"),
    ("Shared Vault", "template_sps", "SECURE_PASSWORD_STORE"),
    ("Benefits Site", "template_swa3field", "AUTO_LOGIN"),
    ("Customer Portal", "oidc_client", "OPENID_CONNECT"),
    ("Analytics Dashboard", "oidc_client", "OPENID_CONNECT"),
    ("Legacy CRM", "template_saml_1_1", "SAML_1_1"),
];

fn pick_status(rng: &mut ChaCha8Rng) -> UserStatus {
    let r: f64 = rng.random();
    match r {
        r if r < 0.78 => UserStatus::Active,
        r if r < 0.82 => UserStatus::Staged,
        r if r < 0.86 => UserStatus::Provisioned,
        r if r < 0.89 => UserStatus::Suspended,
        r if r < 0.95 => UserStatus::Deprovisioned,
        r if r < 0.97 => UserStatus::LockedOut,
        r if r < 0.99 => UserStatus::PasswordExpired,
        _ => UserStatus::Recovery,
    }
}

/// A time in `[from, to)` on a whole second (Okta's object timestamps have no milliseconds);
/// `from` when the range holds no whole second after it.
fn time_between(rng: &mut ChaCha8Rng, from: Ts, to: Ts) -> Ts {
    let (from_s, to_s) = (from.div_euclid(1000), to.div_euclid(1000));
    if to_s <= from_s {
        whole_second(from)
    } else {
        rng.random_range(from_s..to_s) * 1000
    }
}

/// Builds the whole org. Deterministic in `params`.
pub fn generate(params: GenParams) -> Org {
    let anchor = whole_second(params.anchor);
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let org_created = anchor - 5 * 365 * DAY_MS;
    let mut org = Org::empty(params.seed, org_created);

    // ---- users ----
    let n = params.users;
    let mut user_ids: Vec<Id> = Vec::with_capacity(n);
    let domain = "example.com";
    for i in 0..n {
        let id = Id::random(b"00u", &mut rng);
        let (first, first_ascii) = *FIRST_NAMES.choose(&mut rng).unwrap_or(&("Ada", "ada"));
        let (last, last_ascii) = *LAST_NAMES
            .choose(&mut rng)
            .unwrap_or(&("Lovelace", "lovelace"));
        let status = if i == 0 {
            UserStatus::Active
        } else {
            pick_status(&mut rng)
        };
        let (dept, titles) = *DEPARTMENTS
            .choose(&mut rng)
            .unwrap_or(&("IT", &["Engineer"]));
        let title = *titles.choose(&mut rng).unwrap_or(&"Engineer");
        let login = if i == 0 {
            format!("admin@{domain}")
        } else {
            format!("{first_ascii}.{last_ascii}{i}@{domain}")
        };
        let created = time_between(&mut rng, org_created + DAY_MS, anchor - 2 * DAY_MS);
        let last_updated = time_between(&mut rng, created, anchor);
        let has_password =
            !matches!(status, UserStatus::Staged | UserStatus::Provisioned) || rng.random_bool(0.3);
        let activated = (status != UserStatus::Staged)
            .then(|| created + rng.random_range(0..DAY_MS / 1000) * 1000);
        let status_changed = activated.map(|a| time_between(&mut rng, a, last_updated));
        let last_login = (status == UserStatus::Active && rng.random_bool(0.9))
            .then(|| time_between(&mut rng, created, anchor));
        let password_changed = has_password.then(|| time_between(&mut rng, created, last_updated));
        let mut profile = Map::new();
        profile.insert("firstName".into(), first.into());
        profile.insert("lastName".into(), last.into());
        profile.insert(
            "mobilePhone".into(),
            if rng.random_bool(0.6) {
                format!(
                    "+1-555-{:03}-{:04}",
                    rng.random_range(100..999),
                    rng.random_range(0..10_000)
                )
                .into()
            } else {
                Value::Null
            },
        );
        profile.insert("secondEmail".into(), Value::Null);
        profile.insert("login".into(), login.clone().into());
        profile.insert("email".into(), login.into());
        profile.insert("displayName".into(), format!("{first} {last}").into());
        profile.insert("title".into(), title.into());
        profile.insert("department".into(), dept.into());
        profile.insert("employeeNumber".into(), format!("E{:06}", i + 1).into());
        profile.insert(
            "city".into(),
            (*LOCATIONS.choose(&mut rng).unwrap_or(&"Remote")).into(),
        );
        // Custom attributes, as an org's profile editor would add them.
        profile.insert(
            "costCenter".into(),
            format!("CC-{}", rng.random_range(100..140)).into(),
        );
        profile.insert(
            "hireDate".into(),
            crate::model::format_ts(created)[..10].to_string().into(),
        );
        if rng.random_bool(0.3) {
            profile.insert(
                "githubUsername".into(),
                format!("{first_ascii}{last_ascii}{}", rng.random_range(1..99)).into(),
            );
        }
        profile.insert("isContractor".into(), rng.random_bool(0.1).into());
        let user = User {
            id,
            status,
            created,
            activated,
            status_changed,
            last_login,
            last_updated,
            password_changed,
            type_id: org.user_type_id,
            profile,
            has_password,
            json: OnceLock::new(),
        };
        org.logins.insert(user.login().to_lowercase(), id);
        org.users.insert(id, user);
        user_ids.push(id);
    }
    org.super_admin = user_ids.first().copied();
    // managerId: a random earlier user, set after all ids exist.
    for i in 1..n {
        if rng.random_bool(0.8) {
            let m = user_ids[rng.random_range(0..i)];
            if let Some(u) = org.users.get_mut(&user_ids[i]) {
                u.profile.insert("managerId".into(), m.to_string().into());
            }
        }
    }

    // ---- apps (before groups: APP_GROUPs name their source app) ----
    let mut app_ids = Vec::with_capacity(params.apps);
    for i in 0..params.apps {
        let (label, name, mode) = APP_CATALOG[i % APP_CATALOG.len()];
        let label = if i < APP_CATALOG.len() {
            label.to_string()
        } else {
            format!("{label} {}", i / APP_CATALOG.len() + 1)
        };
        let id = Id::random(b"0oa", &mut rng);
        let created = time_between(&mut rng, org_created, anchor - 30 * DAY_MS);
        let last_updated = time_between(&mut rng, created, anchor);
        let (credentials, settings, features) = app_shape(mode, name, &label, &mut rng);
        let app = App {
            id,
            name: name.to_string(),
            label,
            active: rng.random_bool(0.9),
            created,
            last_updated,
            sign_on_mode: mode,
            features,
            credentials,
            settings,
            orn: format!("orn:okta:idp:{}:apps:{}:{}", org.org_id, name, id),
            json: OnceLock::new(),
        };
        org.apps.insert(id, app);
        app_ids.push(id);
    }

    // ---- groups ----
    let everyone = org.everyone;
    let everyone_members: BTreeSet<Id> = user_ids.iter().copied().collect();
    let mut group_ids: Vec<Id> = Vec::with_capacity(params.groups);
    let mut group_members: Vec<Vec<Id>> = Vec::new();
    let extra_groups = params.groups.saturating_sub(1);
    // Heavy-tailed sizes: Pareto weights scaled so that memberships ≈ GROUPS_PER_USER × users.
    let weights: Vec<f64> = (0..extra_groups)
        .map(|_| {
            let u: f64 = rng.random_range(0.0001..1.0);
            u.powf(-1.0 / 1.3)
        })
        .collect();
    let total_w: f64 = weights.iter().sum::<f64>().max(1.0);
    let target = GROUPS_PER_USER * n as f64;
    let cap = ((n as f64) * 0.6).ceil().max(1.0) as usize;
    let mut user_group_lists: Vec<Vec<Id>> = vec![Vec::new(); n];
    let mut picked = vec![u32::MAX; n];
    for (gi, w) in weights.iter().enumerate() {
        let id = Id::random(b"00g", &mut rng);
        let size = ((w / total_w * target).round() as usize).clamp(0, cap.min(n));
        let app_group = !app_ids.is_empty() && rng.random_bool(0.15);
        let word = GROUP_WORDS.choose(&mut rng).unwrap_or(&"Team");
        let kind = GROUP_KINDS.choose(&mut rng).unwrap_or(&"Team");
        let created = time_between(&mut rng, org_created, anchor - DAY_MS);
        let last_updated = time_between(&mut rng, created, anchor);
        let last_membership_updated = time_between(&mut rng, created, anchor);
        let mut profile = Map::new();
        let (gtype, source) = if app_group {
            let name = format!("{word}-{kind}-{gi}")
                .to_lowercase()
                .replace(' ', "-");
            profile.insert("name".into(), name.clone().into());
            profile.insert(
                "description".into(),
                format!("Imported {word} {kind}").into(),
            );
            profile.insert("samAccountName".into(), name.clone().into());
            profile.insert(
                "dn".into(),
                format!("CN={name},OU=Groups,DC=corp,DC=example,DC=com").into(),
            );
            profile.insert(
                "windowsDomainQualifiedName".into(),
                format!("CORP\\{name}").into(),
            );
            profile.insert("groupType".into(), "Security".into());
            profile.insert("groupScope".into(), "Global".into());
            profile.insert(
                "externalId".into(),
                format!("{:032x}", rng.random::<u128>()).into(),
            );
            (GroupType::AppGroup, app_ids.choose(&mut rng).copied())
        } else {
            profile.insert("name".into(), format!("{word} {kind} {gi}").into());
            profile.insert(
                "description".into(),
                if rng.random_bool(0.7) {
                    Value::from(format!("{word} {kind}"))
                } else {
                    Value::Null
                },
            );
            (GroupType::OktaGroup, None)
        };
        let mut group = Group::new(id, gtype, created, profile, source);
        group.last_updated = last_updated;
        group.last_membership_updated = last_membership_updated.max(last_updated.min(anchor));
        org.groups.insert(id, group);
        // Sample `size` distinct users.
        let mut members = Vec::with_capacity(size);
        let stamp = gi as u32;
        let mut attempts = 0usize;
        while members.len() < size && attempts < size * 4 + 16 {
            attempts += 1;
            let ui = rng.random_range(0..n);
            if picked[ui] != stamp {
                picked[ui] = stamp;
                members.push(id_at(&user_ids, ui));
                user_group_lists[ui].push(id);
            }
        }
        members.sort_unstable();
        group_members.push(members);
        group_ids.push(id);
    }
    for (gid, members) in group_ids.iter().zip(group_members) {
        org.members.insert(*gid, members.into_iter().collect());
    }
    org.members.insert(everyone, everyone_members);
    for (ui, mut groups) in user_group_lists.into_iter().enumerate() {
        groups.push(everyone);
        groups.sort_unstable();
        org.user_groups
            .insert(user_ids[ui], groups.into_iter().collect());
    }

    // ---- app assignments ----
    let anchor_ctx = Ctx::new(org.token_actor(), anchor, "/api/v1/apps");
    let okta_groups: Vec<Id> = group_ids.clone();
    for (ai, app) in app_ids.iter().enumerate() {
        // The first two apps go to everyone.
        if ai < 2 && n > 0 {
            assign_group_quiet(&mut org, *app, everyone, 0, &anchor_ctx);
        }
        let n_groups = if okta_groups.is_empty() {
            0
        } else {
            rng.random_range(0..=3usize)
        };
        for p in 0..n_groups {
            let g = *okta_groups.choose(&mut rng).unwrap_or(&everyone);
            // Keep app-user counts bounded: big groups rarely get apps.
            if org.members.get(&g).map_or(0, BTreeSet::len) > n / 4 + 10 && !rng.random_bool(0.1) {
                continue;
            }
            assign_group_quiet(&mut org, *app, g, p as u32 + 1, &anchor_ctx);
        }
        let direct = rng.random_range(0..=(n / 10).clamp(1, 150));
        for _ in 0..direct {
            let u = user_ids[rng.random_range(0..n)];
            assign_user_quiet(&mut org, *app, u, &anchor_ctx);
        }
    }

    // ---- admin roles ----
    let role_time =
        |rng: &mut ChaCha8Rng| time_between(rng, anchor - 400 * DAY_MS, anchor - DAY_MS);
    if let Some(admin) = org.super_admin {
        let t = role_time(&mut rng);
        add_role(
            &mut org,
            AssigneeType::User,
            admin,
            RoleType::parse("SUPER_ADMIN"),
            t,
            &mut rng,
        );
    }
    let admin_count = (n / 3).min(36);
    let role_types = [
        "ORG_ADMIN",
        "APP_ADMIN",
        "USER_ADMIN",
        "HELP_DESK_ADMIN",
        "READ_ONLY_ADMIN",
        "REPORT_ADMIN",
        "GROUP_MEMBERSHIP_ADMIN",
        "API_ACCESS_MANAGEMENT_ADMIN",
    ];
    for _ in 0..admin_count {
        let u = user_ids[rng.random_range(0..n)];
        let role = RoleType::parse(role_types.choose(&mut rng).unwrap_or(&"READ_ONLY_ADMIN"));
        let t = role_time(&mut rng);
        add_role(&mut org, AssigneeType::User, u, role, t, &mut rng);
    }
    let admin_groups = group_ids.len().min(3);
    for i in 0..admin_groups {
        let g = group_ids[i * group_ids.len() / admin_groups.max(1)];
        let role = RoleType::parse(["HELP_DESK_ADMIN", "APP_ADMIN", "READ_ONLY_ADMIN"][i]);
        let t = role_time(&mut rng);
        add_role(&mut org, AssigneeType::Group, g, role, t, &mut rng);
    }

    // ---- identity providers ----
    let idp_specs: &[(&str, &str)] = &[
        ("GOOGLE", "Google Workspace"),
        ("SAML2", "Corporate ADFS"),
        ("MICROSOFT", "Microsoft Entra ID"),
        ("OIDC", "Partner OIDC"),
    ];
    let idp_count = if n < 100 { 2 } else { idp_specs.len() };
    for (kind, name) in idp_specs.iter().take(idp_count) {
        let id = Id::random(b"0oa", &mut rng);
        let created = time_between(&mut rng, org_created, anchor - 10 * DAY_MS);
        org.idps.insert(
            id,
            Idp {
                id,
                kind,
                name: name.to_string(),
                active: true,
                created,
                last_updated: time_between(&mut rng, created, anchor),
                protocol: idp_protocol(kind),
                json: OnceLock::new(),
            },
        );
    }

    // ---- factors ----
    for uid in &user_ids {
        let Some(user) = org.users.get(uid) else {
            continue;
        };
        if !matches!(
            user.status,
            UserStatus::Active | UserStatus::LockedOut | UserStatus::PasswordExpired
        ) {
            continue;
        }
        let created = user.activated.unwrap_or(user.created);
        let count = rng.random_range(0..=3usize);
        let mut factors = Vec::with_capacity(count);
        let mut used = [false; FACTOR_KINDS.len()];
        for _ in 0..count {
            let k = rng.random_range(0..FACTOR_KINDS.len());
            if used[k] {
                continue;
            }
            used[k] = true;
            let kind = FACTOR_KINDS[k];
            let fc = time_between(&mut rng, created, anchor);
            let id = Id::random(kind.prefix, &mut rng);
            let active = rng.random_bool(0.95);
            factors.push(Factor::enroll(id, kind, user, active, fc));
        }
        if !factors.is_empty() {
            org.factors.insert(*uid, factors);
        }
    }

    generate_history(&mut org, &user_ids, &group_ids, anchor, &mut rng);
    // Rules draw from their own generator, so every object generated before them is the
    // same as it was before the org had rules.
    let mut rule_rng = ChaCha8Rng::seed_from_u64(params.seed ^ RULE_SEED_SALT);
    generate_rules(&mut org, &user_ids, &group_ids, anchor, &mut rule_rng);
    let mut token_rng = ChaCha8Rng::seed_from_u64(params.seed ^ TOKEN_SEED_SALT);
    generate_api_tokens(&mut org, anchor, &mut token_rng);
    // The security configuration draws from its own stream too, after everything it refers
    // to (groups, admin roles, OIDC apps) exists.
    let mut posture_rng = ChaCha8Rng::seed_from_u64(params.seed ^ posture::POSTURE_SEED_SALT);
    posture::generate_posture(&mut org, org_created, anchor, &mut posture_rng);
    org
}

/// Mixed into the seed of the API token generator (its own stream, like the rules').
const TOKEN_SEED_SALT: u64 = 0x746f_6b65_6e73;

/// The Super Admin's API tokens: one usable from anywhere, one limited to a network zone,
/// and in orgs of 100 users or more a third from anywhere. No System Log events (their
/// creation is older than the month of history).
fn generate_api_tokens(org: &mut Org, anchor: Ts, rng: &mut ChaCha8Rng) {
    let Some(owner) = org.super_admin else {
        return;
    };
    let zone = Id::random(b"nzo", rng).to_string();
    let mut specs = vec![
        ("Okta Workflows", TokenNetwork::anywhere()),
        ("SCIM provisioning", TokenNetwork::zones(vec![zone])),
    ];
    if org.users.len() >= 100 {
        specs.push(("SIEM log export", TokenNetwork::anywhere()));
    }
    for (name, network) in specs {
        let id = Id::random(b"00T", rng);
        let created = time_between(rng, anchor - 200 * DAY_MS, anchor - 2 * DAY_MS);
        let mut token = ApiToken::new(id, name, owner, created, network);
        token.last_updated = time_between(rng, created, anchor);
        org.api_tokens.insert(id, token);
    }
}

/// Mixed into the seed of the rule generator.
const RULE_SEED_SALT: u64 = 0x7275_6c65_7321;

/// The expressions generated rules use. Broad ones (a whole department, about a tenth of the
/// users) only in orgs of up to this many users, so that rules add a few percent of
/// memberships at most.
const BROAD_RULES_MAX_USERS: usize = 5_000;

/// One generated rule's expression, built from a real user's profile (department, title,
/// city), so that it matches at least that user, and for `isMemberOfAnyGroup` from a group of
/// theirs that no rule assigns users to (so rules never cascade and the generated memberships
/// are exactly what evaluating the rules gives).
fn rule_expression(
    i: usize,
    broad: bool,
    sample: &Map<String, Value>,
    member_of: Option<Id>,
    rng: &mut ChaCha8Rng,
) -> String {
    let text = |k: &str| {
        sample
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (dept, title, city) = (text("department"), text("title"), text("city"));
    let word = title.split(' ').next_back().unwrap_or("").to_string();
    let city_start: String = city.chars().take(3).collect();
    let kinds = if broad { 6 } else { 4 };
    match (i % kinds, member_of) {
        (0, Some(g)) => format!(r#"isMemberOfAnyGroup("{g}") and user.department == "{dept}""#),
        (0, None) | (1, _) => {
            format!(r#"user.department == "{dept}" AND user.title == "{title}""#)
        }
        (2, _) => {
            format!(r#"String.stringContains(user.title, "{word}") && user.city == "{city}""#)
        }
        (3, _) => {
            format!(
                r#"String.startsWith(user.city, "{city_start}") and user.department == "{dept}""#
            )
        }
        (4, _) => format!(r#"user.department == "{dept}""#),
        _ => {
            let (other, _) = *DEPARTMENTS.choose(rng).unwrap_or(&("Legal", &[]));
            format!(
                r#"(user.department == "{dept}" || user.department == "{other}") and !user.isContractor"#
            )
        }
    }
}

/// A handful of group rules for small orgs, tens for big ones, every third INACTIVE, over
/// OKTA_GROUPs that hold no admin role. Active rules have run: the users they match are
/// members of their groups, and those memberships are recorded as rule-made (a member who
/// was there already becomes rule-managed, as on Okta). No System Log events (history is
/// generated apart).
fn generate_rules(org: &mut Org, users: &[Id], groups: &[Id], anchor: Ts, rng: &mut ChaCha8Rng) {
    let count = (3 + groups.len() / 50).min(40);
    let candidates: Vec<Id> = groups
        .iter()
        .copied()
        .filter(|g| {
            org.groups
                .get(g)
                .is_some_and(|x| x.kind == GroupType::OktaGroup)
                && !org.group_has_admin_privilege(g)
        })
        .collect();
    if candidates.is_empty() || users.is_empty() {
        return;
    }
    let targets: Vec<Vec<Id>> = (0..count)
        .map(|i| {
            let n = if i % 5 == 4 { 2 } else { 1 };
            let mut t: Vec<Id> = candidates.choose_multiple(rng, n).copied().collect();
            t.sort_unstable();
            t
        })
        .collect();
    let targeted: BTreeSet<Id> = targets.iter().flatten().copied().collect();
    let broad = users.len() <= BROAD_RULES_MAX_USERS;
    for (i, group_ids) in targets.into_iter().enumerate() {
        // The user the rule is written around: one who is not DEPROVISIONED, if any.
        let mut sample = users[rng.random_range(0..users.len())];
        for _ in 0..16 {
            if org
                .users
                .get(&sample)
                .is_some_and(|u| u.status != UserStatus::Deprovisioned)
            {
                break;
            }
            sample = users[rng.random_range(0..users.len())];
        }
        let member_of = org
            .user_groups
            .get(&sample)
            .into_iter()
            .flatten()
            .filter(|g| **g != org.everyone && !targeted.contains(g))
            .copied()
            .collect::<Vec<Id>>()
            .choose(rng)
            .copied();
        let profile = org
            .users
            .get(&sample)
            .map(|u| u.profile.clone())
            .unwrap_or_default();
        let expression = rule_expression(i, broad, &profile, member_of, rng);
        let parsed = match crate::model::expr::Expr::parse(&expression) {
            Ok(p) => p,
            Err(_) => continue,
        };
        let id = Id::random(b"0pr", rng);
        let created = time_between(rng, anchor - 300 * DAY_MS, anchor - 10 * DAY_MS);
        let last_updated = time_between(rng, created, anchor - DAY_MS);
        let exclude_users: Vec<String> = if i % 3 == 0 {
            let n = rng.random_range(1..=2usize);
            let mut picked: Vec<String> = users
                .choose_multiple(rng, n)
                .filter(|u| **u != sample)
                .map(|u| u.to_string())
                .collect();
            picked.sort();
            picked
        } else {
            Vec::new()
        };
        let name = {
            let first = group_ids.first().and_then(|g| org.groups.get(g));
            let base = first.map_or("Group", |g| g.name());
            let name: String = format!("Assign {base}")
                .chars()
                .take(crate::model::rules::MAX_RULE_NAME - 4)
                .collect();
            format!("{name} #{}", i + 1)
        };
        let active = i % 3 != 2;
        let rule = crate::model::GroupRule {
            id,
            name,
            status: if active {
                crate::model::RuleStatus::Active
            } else {
                crate::model::RuleStatus::Inactive
            },
            created,
            last_updated,
            expression,
            parsed,
            exclude_users,
            exclude_groups: Vec::new(),
            group_ids,
            json: OnceLock::new(),
        };
        org.rules.insert(id, rule);
        if active {
            apply_rule_quiet(org, id, users, anchor);
        }
    }
}

/// Adds every user an active rule matches (DEPROVISIONED users aside) to its groups without
/// events, with the app assignments those groups give.
fn apply_rule_quiet(org: &mut Org, rid: Id, users: &[Id], anchor: Ts) {
    let Some(rule) = org.rules.get(&rid) else {
        return;
    };
    let matched: Vec<Id> = users
        .iter()
        .copied()
        .filter(|u| {
            org.users
                .get(u)
                .is_some_and(|x| x.status != UserStatus::Deprovisioned)
                && org.rule_matches(rule, u)
        })
        .collect();
    let targets = rule.group_ids.clone();
    for gid in targets {
        let apps: Vec<Id> = org
            .group_apps
            .get(&gid)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for &uid in &matched {
            org.rule_memberships.add(rid, gid, uid);
            if !org.members.entry(gid).or_default().insert(uid) {
                continue;
            }
            org.user_groups.entry(uid).or_default().insert(gid);
            for app in &apps {
                let user_name = org
                    .users
                    .get(&uid)
                    .map(|u| u.login().to_string())
                    .unwrap_or_default();
                org.app_users
                    .entry(*app)
                    .or_default()
                    .entry(uid)
                    .or_insert_with(|| crate::model::AppUserEntry {
                        direct: false,
                        group_refs: 0,
                        created: anchor - DAY_MS,
                        last_updated: anchor - DAY_MS,
                        user_name,
                        json: OnceLock::new(),
                    })
                    .group_refs += 1;
            }
        }
    }
}

fn id_at(ids: &[Id], i: usize) -> Id {
    ids[i]
}

fn add_role(
    org: &mut Org,
    assignee_type: AssigneeType,
    assignee: Id,
    role: Option<RoleType>,
    at: Ts,
    rng: &mut ChaCha8Rng,
) {
    let Some(role_type) = role else { return };
    if org
        .role_ids_of(&assignee)
        .any(|r| org.roles[r].role_type == role_type)
    {
        return;
    }
    let id = Id::random(b"ra1", rng);
    org.roles.insert(
        id,
        RoleAssignment {
            id,
            role_type,
            assignee_type,
            assignee,
            created: at,
            last_updated: at,
        },
    );
    org.roles_by_assignee
        .entry(assignee)
        .or_default()
        .insert(id);
}

/// App assignments during generation write no events (history is generated separately).
fn assign_group_quiet(org: &mut Org, app: Id, group: Id, priority: u32, ctx: &Ctx) {
    let groups = org.app_groups.entry(app).or_default();
    if groups.contains_key(&group) {
        return;
    }
    groups.insert(
        group,
        crate::model::AppGroupEntry {
            priority,
            last_updated: ctx.now,
            json: OnceLock::new(),
        },
    );
    org.group_apps.entry(group).or_default().insert(app);
    let members: Vec<Id> = org
        .members
        .get(&group)
        .into_iter()
        .flatten()
        .copied()
        .collect();
    let users = org.app_users.entry(app).or_default();
    for uid in members {
        let user_name = org
            .users
            .get(&uid)
            .map(|u| u.login().to_string())
            .unwrap_or_default();
        users
            .entry(uid)
            .or_insert_with(|| crate::model::AppUserEntry {
                direct: false,
                group_refs: 0,
                created: ctx.now - DAY_MS,
                last_updated: ctx.now - DAY_MS,
                user_name,
                json: OnceLock::new(),
            })
            .group_refs += 1;
    }
}

fn assign_user_quiet(org: &mut Org, app: Id, uid: Id, ctx: &Ctx) {
    let user_name = org
        .users
        .get(&uid)
        .map(|u| u.login().to_string())
        .unwrap_or_default();
    org.app_users
        .entry(app)
        .or_default()
        .entry(uid)
        .or_insert_with(|| crate::model::AppUserEntry {
            direct: false,
            group_refs: 0,
            created: ctx.now - DAY_MS,
            last_updated: ctx.now - DAY_MS,
            user_name,
            json: OnceLock::new(),
        })
        .direct = true;
}

/// The app's `credentials`, `settings` and `features` for its sign-on mode. Okta sends
/// `credentials.signing` and `settings.notifications.vpn` on every app, whatever its mode.
fn app_shape(
    mode: &str,
    name: &str,
    label: &str,
    rng: &mut ChaCha8Rng,
) -> (Value, Value, Vec<&'static str>) {
    let (mut credentials, mut settings, features) = mode_shape(mode, name, label, rng);
    add_every_app_fields(&mut credentials, &mut settings);
    (credentials, settings, features)
}

/// Adds `credentials.signing` and `settings.notifications.vpn` where they are missing.
fn add_every_app_fields(credentials: &mut Value, settings: &mut Value) {
    if let Value::Object(c) = credentials {
        c.entry("signing").or_insert_with(|| json!({}));
    }
    if let Value::Object(s) = settings {
        s.entry("notifications")
            .or_insert_with(|| json!({"vpn": {"network": {"connection": "DISABLED"}}}));
    }
}

fn mode_shape(
    mode: &str,
    name: &str,
    label: &str,
    rng: &mut ChaCha8Rng,
) -> (Value, Value, Vec<&'static str>) {
    let slug = label
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let user_name_template = json!({"template": "${source.login}", "type": "BUILT_IN"});
    match mode {
        "SAML_2_0" | "SAML_1_1" | "WS_FEDERATION" => {
            let credentials = json!({"userNameTemplate": user_name_template, "signing": {"kid": format!("{:040x}", rng.random::<u128>())}});
            let notifications = json!({"vpn": {"network": {"connection": "DISABLED"}}});
            let settings = match mode {
                // SamlApplicationSettingsSignOn requires these five booleans; the values are
                // the ones Okta reports for a typical OIN SAML 2.0 app.
                "SAML_2_0" => json!({"app": {}, "notifications": notifications, "signOn": {
                    "defaultRelayState": "",
                    "ssoAcsUrl": format!("https://{slug}.example.net/sso/saml"),
                    "allowMultipleAcsEndpoints": false,
                    "assertionSigned": true,
                    "honorForceAuthn": true,
                    "requestCompressed": false,
                    "responseSigned": true,
                }}),
                // Saml11ApplicationSettingsSignOn has only the override fields.
                "SAML_1_1" => json!({"app": {}, "notifications": notifications, "signOn": {
                    "defaultRelayState": "",
                    "ssoAcsUrlOverride": format!("https://{slug}.example.net/sso/saml"),
                }}),
                // WsFederationApplicationSettingsApplication's required fields.
                _ => json!({"app": {
                    "audienceRestriction": format!("urn:federation:{slug}"),
                    "groupValueFormat": "windowsDomainQualifiedName",
                    "wReplyURL": format!("https://{slug}.example.net/_trust/"),
                    "wReplyOverride": false,
                    "nameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                    "siteURL": format!("https://{slug}.example.net/"),
                    "usernameAttribute": "username",
                    "realm": format!("urn:federation:{slug}"),
                }, "notifications": notifications}),
            };
            (
                credentials,
                settings,
                vec!["PUSH_NEW_USERS", "PUSH_USER_DEACTIVATION"],
            )
        }
        "OPENID_CONNECT" => (
            json!({"userNameTemplate": user_name_template, "oauthClient": {"autoKeyRotation": true, "client_id": format!("0oa{:017x}", rng.random::<u64>()), "token_endpoint_auth_method": "client_secret_basic"}}),
            json!({"app": {}, "oauthClient": {"redirect_uris": [format!("https://{slug}.example.net/callback")], "response_types": ["code"], "grant_types": ["authorization_code", "refresh_token"], "application_type": "web"}}),
            vec![],
        ),
        "BOOKMARK" => (
            json!({"userNameTemplate": user_name_template}),
            json!({"app": {"requestIntegration": false, "url": format!("https://{slug}.example.net/")}}),
            vec![],
        ),
        // SecurePasswordStoreApplicationSettingsApplication requires the url and the two
        // form field names.
        "SECURE_PASSWORD_STORE" => (
            json!({"scheme": "EDIT_USERNAME_AND_PASSWORD", "userNameTemplate": user_name_template, "revealPassword": false}),
            json!({"app": {
                "url": format!("https://{slug}.example.net/login"),
                "usernameField": "username",
                "passwordField": "password",
            }}),
            vec![],
        ),
        // SwaApplicationSettingsApplication requires the three CSS selectors and the url.
        "BROWSER_PLUGIN" => (
            json!({"scheme": "EDIT_USERNAME_AND_PASSWORD", "userNameTemplate": user_name_template, "revealPassword": false}),
            json!({"app": {
                "url": format!("https://{slug}.example.net/login"),
                "usernameField": "#username",
                "passwordField": "#password",
                "buttonField": "button[type=submit]",
            }}),
            vec![],
        ),
        _ => (
            json!({"scheme": "EDIT_USERNAME_AND_PASSWORD", "userNameTemplate": user_name_template, "revealPassword": false}),
            json!({"app": {"url": format!("https://{slug}.example.net/login"), "authURL": format!("https://{name}.example.net/auth")}}),
            vec![],
        ),
    }
}

/// A month of System Log history before the anchor: creations, activations, membership
/// additions, sign-ins and privilege grants, in published order.
fn generate_history(org: &mut Org, users: &[Id], groups: &[Id], anchor: Ts, rng: &mut ChaCha8Rng) {
    let window = 30 * DAY_MS;
    let count = (users.len() / 2).clamp(50, 30_000);
    let admin_ctx = Ctx::new(org.token_actor(), anchor, "/api/v1/users");
    let mut planned: Vec<(Ts, u8, Id, Option<Id>)> = Vec::with_capacity(count);
    for _ in 0..count {
        let t = anchor - rng.random_range(1..window);
        let u = users[rng.random_range(0..users.len())];
        let kind = rng.random_range(0..10u8);
        let g = (!groups.is_empty()).then(|| groups[rng.random_range(0..groups.len())]);
        planned.push((t, kind, u, g));
    }
    planned.sort_by_key(|p| p.0);
    let mut by_user: BTreeMap<Id, Actor> = BTreeMap::new();
    for (t, kind, u, g) in planned {
        let Some(user) = org.users.get(&u) else {
            continue;
        };
        let target = Target::user(user);
        match kind {
            0..=5 => {
                let actor = by_user
                    .entry(u)
                    .or_insert_with(|| Actor::user(user))
                    .clone();
                let ctx = Ctx::new(actor, t, "/api/v1/authn");
                org.emit_at(&ctx, t, "user.session.start", vec![target], None);
            }
            6 => {
                org.emit_at(
                    &admin_ctx.at("/api/v1/users"),
                    t,
                    "user.lifecycle.create",
                    vec![target],
                    None,
                );
            }
            7 => {
                let uri = format!("/api/v1/users/{u}/lifecycle/activate");
                org.emit_at(
                    &admin_ctx.at(uri),
                    t,
                    "user.lifecycle.activate",
                    vec![target],
                    None,
                );
            }
            8 => {
                let uri = format!("/api/v1/users/{u}");
                org.emit_at(
                    &admin_ctx.at(uri),
                    t,
                    "user.account.update_profile",
                    vec![target],
                    None,
                );
            }
            _ => {
                if let Some(g) = g.and_then(|g| org.groups.get(&g)) {
                    let uri = format!("/api/v1/groups/{}/users/{u}", g.id);
                    let gt = Target::group(g);
                    org.emit_at(
                        &admin_ctx.at(uri),
                        t,
                        "group.user_membership.add",
                        vec![target, gt],
                        None,
                    );
                }
            }
        }
    }
}
