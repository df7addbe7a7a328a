//! The built-in checks (45): SQL over the mirror's tables and its documented views
//! (SCHEMA.md: `admins`, `admin_users`, `user_factor_summary`, `app_access`, `app_features`,
//! `idp_policies`, `group_rule_targets`, `log_events`; for the security configuration,
//! [`config`]'s `password_policies`, `session_policy_rules`, `app_sign_in_rules`,
//! `network_zone_anonymizers`, `threat_insight`, `okta_api_token_owners`, `app_grant_scopes`
//! and `authenticator_settings`). Their sources: the DISA Okta IDaaS STIG, Microsoft Defender
//! for Identity's Okta assessments (MDI), Okta HealthInsight (HI), Authomize's policies (AZ),
//! okta-inspector's list (OI) and Okta's customer-detections prevention notes (OD), as
//! `shared/docs/posture.md` §3 collects them.

mod config;

use crate::check::{Applies, Check};
use oktasync_store::Severity::{self, *};
use std::collections::BTreeMap;

/// Checks that read factors apply once the mirror holds some (`factors = "admins"`, the
/// default, reads admins'; `"all"` everyone's).
const FACTORS_READ: Applies = Applies {
    sql: "SELECT CASE WHEN EXISTS (SELECT 1 FROM factors WHERE org_id = $1) THEN 1 ELSE 0 END \
          AS applies",
    otherwise: "the mirror holds no MFA factors: sync with `factors = \"admins\"` (the default) \
                or \"all\"",
};

/// Checks of every user's factors apply when factors of users who are not admins were read.
const ALL_FACTORS_READ: Applies = Applies {
    sql: "SELECT CASE WHEN EXISTS (SELECT 1 FROM factors f WHERE f.org_id = $1 AND NOT EXISTS \
          (SELECT 1 FROM admin_users a WHERE a.org_id = f.org_id AND a.user_id = f.user_id)) \
          THEN 1 ELSE 0 END AS applies",
    otherwise: "the mirror holds the factors of admins only: sync with `factors = \"all\"` \
                (OKTASYNC_FACTORS=all) to check everyone's",
};

/// Checks over the System Log apply when the kept log reaches back over their window.
const LOG_KEPT_90_DAYS: Applies = Applies {
    sql: "SELECT CASE WHEN MIN(published) <= :unused_days_before THEN 1 ELSE 0 END AS applies \
          FROM log_events WHERE org_id = $1",
    otherwise: "the kept System Log does not reach back over the window yet: keep it longer \
                (log_retention, log_backfill) or wait",
};

#[allow(clippy::too_many_arguments)]
fn check(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    sources: &'static [&'static str],
    rationale: &'static str,
    remediation: &'static str,
    params: &[(&str, f64)],
    sql: &'static str,
    applies: Option<Applies>,
) -> Check {
    Check {
        id,
        title,
        severity,
        sources,
        rationale,
        remediation,
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect::<BTreeMap<_, _>>(),
        sql,
        applies,
    }
}

/// Every built-in check.
pub fn builtin() -> Vec<Check> {
    let mut checks = admins();
    checks.extend(users());
    checks.extend(apps());
    checks.extend(groups());
    checks.extend(idps());
    checks.extend(log());
    checks.extend(config::checks());
    checks
}

fn log() -> Vec<Check> {
    vec![check(
        "okta.log.not_kept",
        "The System Log is not kept",
        Medium,
        &["DISA Okta IDaaS STIG V-273202 (audit records off-loaded)"],
        "Okta keeps 90 days of System Log; without a copy, an incident found later has no \
         trail, and detection has nothing to read.",
        "Keep it in the mirror (log_retention, the default 90d; incremental syncs or watch \
         store every event) and stream it to your SIEM.",
        &[],
        "SELECT 'org' AS subject WHERE NOT EXISTS (SELECT 1 FROM log_events WHERE org_id = $1)",
        None,
    )]
}

fn admins() -> Vec<Check> {
    vec![
        check(
            "okta.admins.too_many_super_admins",
            "Too many super admins",
            High,
            &[
                "Microsoft Defender for Identity: more than 5 super admins",
                "Okta HealthInsight",
                "okta-inspector",
            ],
            "Each super admin can do anything, including removing the others; every extra one is \
             another account whose takeover is total.",
            "Keep at most a few break-glass super admins; give everyone else the narrowest \
             standard or custom admin role.",
            &[("max_super_admins", 5.0)],
            "SELECT a.login AS subject, a.user_id, \
                    (SELECT COUNT(DISTINCT s.user_id) FROM admin_users s WHERE s.org_id = $1 \
                       AND s.role_type = 'SUPER_ADMIN' AND s.user_status = 'ACTIVE') AS super_admins \
             FROM admin_users a \
             WHERE a.org_id = $1 AND a.role_type = 'SUPER_ADMIN' AND a.user_status = 'ACTIVE' \
               AND (SELECT COUNT(DISTINCT s.user_id) FROM admin_users s WHERE s.org_id = $1 \
                      AND s.role_type = 'SUPER_ADMIN' AND s.user_status = 'ACTIVE') > :max_super_admins",
            None,
        ),
        check(
            "okta.admins.too_many_admins",
            "Too many admins",
            Medium,
            &["Microsoft Defender for Identity: more than 25 admins besides super admins"],
            "Every admin role widens the set of accounts whose takeover changes the org.",
            "Review who holds admin roles; remove roles not used, prefer custom roles on \
             resource sets.",
            &[("max_admins", 25.0)],
            "SELECT a.login AS subject, a.user_id, MIN(a.role_type) AS a_role \
             FROM admin_users a \
             WHERE a.org_id = $1 AND a.role_type <> 'SUPER_ADMIN' AND a.user_status = 'ACTIVE' \
               AND (SELECT COUNT(DISTINCT s.user_id) FROM admin_users s WHERE s.org_id = $1 \
                      AND s.role_type <> 'SUPER_ADMIN' AND s.user_status = 'ACTIVE') > :max_admins \
             GROUP BY a.login, a.user_id",
            None,
        ),
        check(
            "okta.admins.without_mfa",
            "Admin without MFA",
            Critical,
            &[
                "Microsoft Defender for Identity: privileged account with no MFA",
                "Authomize: user without MFA",
                "okta-inspector",
            ],
            "An admin account with a password alone falls to phishing, spraying or reuse.",
            "Enrol every admin in at least one strong factor, and require MFA for the Admin \
             Console in its authentication policy.",
            &[],
            "SELECT DISTINCT a.login AS subject, a.user_id \
             FROM admin_users a \
             LEFT JOIN user_factor_summary f ON f.org_id = a.org_id AND f.user_id = a.user_id \
             WHERE a.org_id = $1 AND a.user_status = 'ACTIVE' \
               AND COALESCE(f.active_factors, 0) = 0",
            Some(FACTORS_READ),
        ),
        check(
            "okta.admins.without_phishing_resistant_factor",
            "Admin without a phishing-resistant factor",
            High,
            &[
                "DISA Okta IDaaS STIG V-273191",
                "Okta customer-detections (admin console with weak MFA)",
            ],
            "Push, TOTP, SMS and email codes can be relayed by an adversary-in-the-middle page; \
             FIDO2/WebAuthn and FastPass cannot.",
            "Enrol admins in WebAuthn (a security key or platform authenticator) or Okta \
             FastPass, and require phishing resistance for the Admin Console.",
            &[],
            "SELECT DISTINCT a.login AS subject, a.user_id, COALESCE(f.active_factors, 0) AS active_factors \
             FROM admin_users a \
             LEFT JOIN user_factor_summary f ON f.org_id = a.org_id AND f.user_id = a.user_id \
             WHERE a.org_id = $1 AND a.user_status = 'ACTIVE' \
               AND COALESCE(f.phishing_resistant_factors, 0) = 0",
            Some(FACTORS_READ),
        ),
        check(
            "okta.admins.single_factor",
            "Admin with only one factor",
            Medium,
            &["okta-inspector: each super admin with at least two factors"],
            "An admin whose only factor is lost is reset by someone else: the reset path \
             becomes the way in.",
            "Enrol a second factor (ideally a second security key) for every admin.",
            &[],
            "SELECT DISTINCT a.login AS subject, a.user_id \
             FROM admin_users a \
             JOIN user_factor_summary f ON f.org_id = a.org_id AND f.user_id = a.user_id \
             WHERE a.org_id = $1 AND a.user_status = 'ACTIVE' AND f.active_factors = 1",
            Some(FACTORS_READ),
        ),
        check(
            "okta.admins.dormant",
            "Dormant admin",
            High,
            &["Microsoft Defender for Identity: privileged account dormant for 90 days"],
            "An admin account nobody uses is one nobody watches: its takeover goes unnoticed.",
            "Remove the roles of admins who have not signed in for the period, or deactivate \
             the accounts.",
            &[("dormant_days", 90.0)],
            "SELECT DISTINCT a.login AS subject, a.user_id, u.last_login, u.created \
             FROM admin_users a JOIN users u ON u.org_id = a.org_id AND u.id = a.user_id \
             WHERE a.org_id = $1 AND a.user_status = 'ACTIVE' AND u.created < :dormant_days_before \
               AND (u.last_login IS NULL OR u.last_login < :dormant_days_before)",
            None,
        ),
        check(
            "okta.admins.stale_password",
            "Admin password not changed for long",
            Medium,
            &[
                "Microsoft Defender for Identity: privileged password older than 180 days",
                "Authomize: admin password not updated",
            ],
            "Old admin passwords have had the longest time to leak, be reused or be cracked.",
            "Rotate the passwords of these admins, or move them to passwordless sign-in.",
            &[("password_age_days", 180.0)],
            "SELECT DISTINCT a.login AS subject, a.user_id, u.password_changed \
             FROM admin_users a JOIN users u ON u.org_id = a.org_id AND u.id = a.user_id \
             WHERE a.org_id = $1 AND a.user_status = 'ACTIVE' \
               AND u.password_changed < :password_age_days_before",
            None,
        ),
        check(
            "okta.admins.roles_on_inactive_accounts",
            "Admin roles held by accounts that are not active",
            Medium,
            &["offboarding hygiene (Authomize, ISPM)"],
            "A suspended or deprovisioned account keeps its roles; reactivated by mistake or by an \
             attacker with admin rights, it is an admin again.",
            "Remove admin roles from accounts that are not ACTIVE.",
            &[],
            "SELECT DISTINCT a.login AS subject, a.user_id, a.user_status, a.role_type \
             FROM admin_users a \
             WHERE a.org_id = $1 AND a.user_status IN ('SUSPENDED', 'DEPROVISIONED', 'STAGED', 'PROVISIONED')",
            None,
        ),
        check(
            "okta.admins.super_admin_through_group",
            "Super admin granted through a group",
            Medium,
            &[
                "Sigma/Elastic: admin role granted to a group",
                "Authomize: user assigned to a default admin role",
            ],
            "Whoever can add members to the group can make super admins; the grant is not \
             visible on the user.",
            "Grant super admin to named users, or protect the group (no rules, few owners) and \
             watch its membership.",
            &[],
            "SELECT DISTINCT a.login AS subject, a.user_id, a.via_group_name \
             FROM admins a \
             WHERE a.org_id = $1 AND a.role_type = 'SUPER_ADMIN' AND a.via = 'GROUP'",
            None,
        ),
        check(
            "okta.admins.granted_recently",
            "Admin role granted recently",
            Low,
            &[
                "Okta customer-detections: new super admin added",
                "Elastic/Sigma: admin role assigned",
            ],
            "New admin roles are the first thing an intruder with admin rights creates; each \
             recent one deserves a look.",
            "Confirm each recent grant with its requester; remove any nobody asked for.",
            &[("recent_days", 7.0)],
            "SELECT COALESCE(u.login, g.name, r.assignee_id) AS subject, r.role_type, \
                    r.assignee_type, r.created \
             FROM role_assignments r \
             LEFT JOIN users u ON u.org_id = r.org_id AND u.id = r.assignee_id \
             LEFT JOIN groups g ON g.org_id = r.org_id AND g.id = r.assignee_id \
             WHERE r.org_id = $1 AND r.created >= :recent_days_before",
            None,
        ),
        check(
            "okta.admins.sign_in_through_proxy",
            "Admin signed in through an anonymising proxy",
            Medium,
            &[
                "Elastic: first occurrence of a session through a proxy",
                "DISA Okta IDaaS STIG V-279692",
            ],
            "Admins have no reason to hide where they come from; an anonymiser is how stolen \
             credentials are used.",
            "Block anonymising proxies in a network zone and deny them in the Admin Console's \
             policy; check these sessions.",
            &[("proxy_days", 30.0)],
            "SELECT a.login AS subject, COUNT(*) AS sign_ins, MAX(e.published) AS last_seen, \
                    MAX(e.client_ip) AS an_ip \
             FROM log_events e JOIN admin_users a ON a.org_id = e.org_id AND a.user_id = e.actor_id \
             WHERE e.org_id = $1 AND e.event_type = 'user.session.start' \
               AND e.outcome_result = 'SUCCESS' AND e.is_proxy = 1 \
               AND e.published >= :proxy_days_before \
             GROUP BY a.login",
            None,
        ),
    ]
}

fn users() -> Vec<Check> {
    vec![
        check(
            "okta.users.inactive",
            "Active users who have not signed in for long",
            Medium,
            &[
                "DISA Okta IDaaS STIG V-273188 (35 days)",
                "okta-inspector (90 days)",
            ],
            "Unused accounts keep their access and are nobody's to notice when misused.",
            "Deactivate them, or suspend them automatically after the period (Okta Workflows).",
            &[("inactive_days", 90.0)],
            "SELECT u.login AS subject, u.id AS user_id, u.last_login \
             FROM users u \
             WHERE u.org_id = $1 AND u.status = 'ACTIVE' AND u.last_login < :inactive_days_before",
            None,
        ),
        check(
            "okta.users.never_signed_in",
            "Accounts that never signed in",
            Low,
            &["account hygiene"],
            "An account created long ago and never used is an open invitation: its activation \
             or password reset lands with whoever asks.",
            "Deactivate accounts never used after the period, or find out why they exist.",
            &[("never_signed_in_days", 30.0)],
            "SELECT u.login AS subject, u.id AS user_id, u.status, u.created \
             FROM users u \
             WHERE u.org_id = $1 AND u.status IN ('ACTIVE', 'PROVISIONED') \
               AND u.last_login IS NULL AND u.created < :never_signed_in_days_before",
            None,
        ),
        check(
            "okta.users.without_mfa",
            "Users without MFA",
            Medium,
            &["Authomize: user without MFA", "Okta HealthInsight"],
            "A password alone is what password spray and credential stuffing defeat.",
            "Require enrolment in an MFA authenticator in the MFA enrolment policy.",
            &[],
            "SELECT u.login AS subject, u.id AS user_id \
             FROM users u \
             LEFT JOIN user_factor_summary f ON f.org_id = u.org_id AND f.user_id = u.id \
             WHERE u.org_id = $1 AND u.status = 'ACTIVE' AND COALESCE(f.active_factors, 0) = 0",
            Some(ALL_FACTORS_READ),
        ),
        check(
            "okta.users.only_weak_factors",
            "Users with only weak factors",
            Medium,
            &[
                "Okta HealthInsight: disable weak factors",
                "Okta customer-detections (weak MFA)",
            ],
            "SMS, voice, email and security questions are phished, SIM-swapped or guessed.",
            "Enrol these users in Okta Verify, FastPass or WebAuthn, then retire the weak factors.",
            &[],
            "SELECT u.login AS subject, u.id AS user_id, f.active_factors \
             FROM users u JOIN user_factor_summary f ON f.org_id = u.org_id AND f.user_id = u.id \
             WHERE u.org_id = $1 AND u.status = 'ACTIVE' AND f.active_factors > 0 \
               AND f.weak_factors = f.active_factors",
            Some(FACTORS_READ),
        ),
        check(
            "okta.users.suspended_with_access",
            "Suspended or deprovisioned users still holding access",
            Medium,
            &["offboarding hygiene (Authomize, ISPM)"],
            "Access that outlives the account's status comes back with a reactivation, and \
             downstream apps may not honour Okta's status.",
            "Remove these users from groups and apps (or let a group rule do it on status).",
            &[],
            "SELECT u.login AS subject, u.id AS user_id, u.status, \
                    (SELECT COUNT(*) FROM group_members m JOIN groups g \
                       ON g.org_id = m.org_id AND g.id = m.group_id \
                     WHERE m.org_id = u.org_id AND m.user_id = u.id AND g.type <> 'BUILT_IN') AS groups, \
                    (SELECT COUNT(*) FROM app_users au \
                     WHERE au.org_id = u.org_id AND au.user_id = u.id) AS apps \
             FROM users u \
             WHERE u.org_id = $1 AND u.status IN ('SUSPENDED', 'DEPROVISIONED') \
               AND (EXISTS (SELECT 1 FROM group_members m JOIN groups g \
                              ON g.org_id = m.org_id AND g.id = m.group_id \
                            WHERE m.org_id = u.org_id AND m.user_id = u.id AND g.type <> 'BUILT_IN') \
                    OR EXISTS (SELECT 1 FROM app_users au \
                               WHERE au.org_id = u.org_id AND au.user_id = u.id))",
            None,
        ),
        check(
            "okta.users.locked_out",
            "Locked-out users",
            Low,
            &[
                "Okta HealthInsight (lockout policy)",
                "Sigma/Panther: account locked out",
            ],
            "Lockouts come from forgotten passwords, or from someone guessing: many at once is \
             an attack.",
            "Check the System Log of these users for failed sign-ins from unknown places.",
            &[],
            "SELECT u.login AS subject, u.id AS user_id, u.status_changed \
             FROM users u WHERE u.org_id = $1 AND u.status = 'LOCKED_OUT'",
            None,
        ),
    ]
}

fn apps() -> Vec<Check> {
    vec![
        check(
            "okta.apps.direct_assignments",
            "Apps assigned to users directly",
            Low,
            &["Authomize: access granted directly, not through groups"],
            "Direct assignments escape group-based reviews and stay when people move.",
            "Assign apps to groups; remove direct assignments once a group covers them.",
            &[("min_direct_users", 1.0)],
            "SELECT a.label AS subject, a.id AS app_id, COUNT(*) AS direct_users \
             FROM app_users au JOIN apps a ON a.org_id = au.org_id AND a.id = au.app_id \
             WHERE au.org_id = $1 AND au.scope = 'USER' AND a.status = 'ACTIVE' \
             GROUP BY a.label, a.id HAVING COUNT(*) >= :min_direct_users",
            None,
        ),
        check(
            "okta.apps.unassigned",
            "Active apps assigned to nobody",
            Low,
            &["hygiene"],
            "An active integration nobody uses still holds credentials and trust. (OAuth service \
             apps granted Okta API scopes act as themselves and have no assignees: they are left \
             to okta.apps.admin_scopes_granted.)",
            "Deactivate or delete apps with no users and no groups.",
            &[],
            "SELECT a.label AS subject, a.id AS app_id, a.name \
             FROM apps a \
             WHERE a.org_id = $1 AND a.status = 'ACTIVE' \
               AND a.name NOT IN ('saasure', 'okta_enduser', 'okta_browser_plugin', 'flow') \
               AND NOT EXISTS (SELECT 1 FROM app_users au WHERE au.org_id = a.org_id AND au.app_id = a.id) \
               AND NOT EXISTS (SELECT 1 FROM app_groups ag WHERE ag.org_id = a.org_id AND ag.app_id = a.id) \
               AND NOT EXISTS (SELECT 1 FROM app_grant_scopes g WHERE g.org_id = a.org_id \
                                 AND g.app_id = a.id AND g.application_type = 'service')",
            None,
        ),
        check(
            "okta.apps.unused",
            "Apps nobody signed in to",
            Low,
            &["hygiene (System Log user.authentication.sso)"],
            "Assigned but unused apps are access nobody needs.",
            "Remove the assignments, or the app.",
            &[("unused_days", 90.0)],
            "SELECT a.label AS subject, a.id AS app_id \
             FROM apps a \
             WHERE a.org_id = $1 AND a.status = 'ACTIVE' \
               AND (EXISTS (SELECT 1 FROM app_users au WHERE au.org_id = a.org_id AND au.app_id = a.id) \
                    OR EXISTS (SELECT 1 FROM app_groups ag WHERE ag.org_id = a.org_id AND ag.app_id = a.id)) \
               AND NOT EXISTS (SELECT 1 FROM log_event_targets t JOIN log_events e \
                                 ON e.org_id = t.org_id AND e.seq = t.seq \
                               WHERE t.org_id = a.org_id AND t.target_id = a.id \
                                 AND e.event_type = 'user.authentication.sso' \
                                 AND e.published >= :unused_days_before)",
            Some(LOG_KEPT_90_DAYS),
        ),
        check(
            "okta.apps.password_vaulting",
            "Apps that store users' passwords",
            Low,
            &["Panther: SWA bulk access and password reveal rules"],
            "Secure Web Authentication apps keep passwords Okta can reveal, and sign in with \
             them where SSO cannot be enforced.",
            "Move these apps to SAML or OpenID Connect where the vendor supports it.",
            &[],
            "SELECT a.label AS subject, a.id AS app_id, a.sign_on_mode \
             FROM apps a \
             WHERE a.org_id = $1 AND a.status = 'ACTIVE' \
               AND a.sign_on_mode IN ('BROWSER_PLUGIN', 'AUTO_LOGIN', 'BASIC_AUTH', 'SECURE_PASSWORD_STORE')",
            None,
        ),
        check(
            "okta.apps.provisioning_without_deprovisioning",
            "Apps that provision users but never deprovision them",
            Medium,
            &["provisioning hygiene"],
            "Accounts created by Okta outlive the people who leave when deactivation is not \
             pushed.",
            "Turn on \"Deactivate Users\" in the app's provisioning settings.",
            &[],
            "SELECT f.label AS subject, f.app_id \
             FROM app_features f \
             WHERE f.org_id = $1 AND f.status = 'ACTIVE' AND f.feature = 'PUSH_NEW_USERS' \
               AND NOT EXISTS (SELECT 1 FROM app_features d WHERE d.org_id = f.org_id \
                                 AND d.app_id = f.app_id AND d.feature = 'PUSH_USER_DEACTIVATION')",
            None,
        ),
        check(
            "okta.apps.assigned_to_everyone",
            "Apps assigned to Everyone",
            Low,
            &["least privilege"],
            "Everyone includes every contractor and every new account, at once.",
            "Assign the app to the groups that need it.",
            &[],
            "SELECT a.label AS subject, a.id AS app_id, g.name AS group_name \
             FROM app_groups ag \
             JOIN apps a ON a.org_id = ag.org_id AND a.id = ag.app_id \
             JOIN groups g ON g.org_id = ag.org_id AND g.id = ag.group_id \
             WHERE ag.org_id = $1 AND g.type = 'BUILT_IN' AND a.status = 'ACTIVE'",
            None,
        ),
    ]
}

fn groups() -> Vec<Check> {
    vec![
        check(
            "okta.groups.grant_admin_roles",
            "Groups that grant admin roles",
            Info,
            &[
                "Authomize: user assigned to a default admin role",
                "Sigma: admin role assigned to a group",
            ],
            "Membership of these groups is an admin grant; they deserve the care of the roles.",
            "Review their members and who can change them.",
            &[],
            "SELECT g.name AS subject, g.id AS group_id, MIN(r.role_type) AS a_role, \
                    (SELECT COUNT(*) FROM group_members m \
                     WHERE m.org_id = g.org_id AND m.group_id = g.id) AS members \
             FROM role_assignments r JOIN groups g ON g.org_id = r.org_id AND g.id = r.assignee_id \
             WHERE r.org_id = $1 AND r.assignee_type = 'GROUP' \
             GROUP BY g.org_id, g.name, g.id",
            None,
        ),
        check(
            "okta.groups.admin_group_fed_by_rule",
            "Admin groups filled by group rules",
            High,
            &[
                "Elastic/Sigma: admin role granted to a group",
                "group rule abuse",
            ],
            "A group rule adds anyone whose profile matches: whoever can edit a profile \
             attribute (an HR import, the user) can become an admin.",
            "Remove the rule, or grant the role to a group managed by hand.",
            &[],
            "SELECT DISTINCT g.name AS subject, g.id AS group_id, t.rule_name, r.role_type \
             FROM group_rule_targets t \
             JOIN role_assignments r ON r.org_id = t.org_id AND r.assignee_type = 'GROUP' \
               AND r.assignee_id = t.group_id \
             JOIN groups g ON g.org_id = t.org_id AND g.id = t.group_id \
             WHERE t.org_id = $1 AND t.rule_status = 'ACTIVE'",
            None,
        ),
        check(
            "okta.groups.empty_with_entitlements",
            "Empty groups with entitlements",
            Low,
            &["Authomize: empty group with entitlements"],
            "An empty group that grants apps or roles is a grant waiting for its first member.",
            "Remove the grants, or the group.",
            &[],
            "SELECT g.name AS subject, g.id AS group_id \
             FROM groups g \
             WHERE g.org_id = $1 AND g.type <> 'BUILT_IN' \
               AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.org_id = g.org_id AND m.group_id = g.id) \
               AND (EXISTS (SELECT 1 FROM app_groups ag WHERE ag.org_id = g.org_id AND ag.group_id = g.id) \
                    OR EXISTS (SELECT 1 FROM role_assignments r WHERE r.org_id = g.org_id \
                                 AND r.assignee_type = 'GROUP' AND r.assignee_id = g.id))",
            None,
        ),
        check(
            "okta.groups.orphaned",
            "Orphaned groups",
            Info,
            &["hygiene"],
            "Groups with no members, apps, roles or rules only add noise to reviews.",
            "Delete them.",
            &[],
            "SELECT g.name AS subject, g.id AS group_id \
             FROM groups g \
             WHERE g.org_id = $1 AND g.type = 'OKTA_GROUP' \
               AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.org_id = g.org_id AND m.group_id = g.id) \
               AND NOT EXISTS (SELECT 1 FROM app_groups ag WHERE ag.org_id = g.org_id AND ag.group_id = g.id) \
               AND NOT EXISTS (SELECT 1 FROM role_assignments r WHERE r.org_id = g.org_id \
                                 AND r.assignee_type = 'GROUP' AND r.assignee_id = g.id) \
               AND NOT EXISTS (SELECT 1 FROM group_rule_targets t WHERE t.org_id = g.org_id AND t.group_id = g.id)",
            None,
        ),
    ]
}

fn idps() -> Vec<Check> {
    vec![
        check(
            "okta.idps.auto_provisioning",
            "Identity providers that create or link accounts automatically",
            High,
            &[
                "Okta customer-detections: new IdP",
                "cross-tenant impersonation research",
            ],
            "An inbound IdP that auto-links or auto-provisions lets whoever controls it sign in \
             as your users.",
            "Set account linking and provisioning to manual, or restrict them with a filter.",
            &[],
            "SELECT p.name AS subject, p.idp_id, p.type, p.provisioning_action, p.account_link_action \
             FROM idp_policies p \
             WHERE p.org_id = $1 AND p.status = 'ACTIVE' \
               AND (p.provisioning_action = 'AUTO' OR p.account_link_action = 'AUTO')",
            None,
        ),
        check(
            "okta.idps.created_recently",
            "Identity provider created recently",
            Medium,
            &[
                "Okta customer-detections detections/new_idp_created.yml",
                "Splunk: IdP lifecycle modifications",
            ],
            "A new IdP is the quietest persistence an admin-level intruder can leave.",
            "Confirm each new IdP with its owner.",
            &[("recent_days", 30.0)],
            "SELECT p.name AS subject, p.idp_id, p.type, p.created \
             FROM idp_policies p WHERE p.org_id = $1 AND p.created >= :recent_days_before",
            None,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::builtin;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_every_check_says_where_it_comes_from_and_what_to_do() {
        let checks = builtin();
        assert_eq!(checks.len(), 45);
        let ids: BTreeSet<&str> = checks.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), checks.len(), "duplicate ids");
        for c in &checks {
            assert!(c.id.starts_with("okta."), "{}", c.id);
            assert!(
                !c.sources.is_empty() && !c.remediation.is_empty(),
                "{}",
                c.id
            );
            assert!(
                c.sql.contains("$1") && c.sql.contains("subject"),
                "{}",
                c.id
            );
            if let Some(applies) = &c.applies {
                assert!(applies.sql.contains("AS applies"), "{}", c.id);
            }
        }
    }
}
