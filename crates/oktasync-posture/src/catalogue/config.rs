//! Checks of the org's security configuration: password and global session policies, the
//! Admin Console's app sign-in policy, ThreatInsight, network zones, log streams, Okta API
//! tokens, the Okta API scopes granted to apps and authenticators. They read the views of
//! SCHEMA.md's "Security configuration views" (`password_policies`, `session_policy_rules`,
//! `app_sign_in_rules`, `network_zone_anonymizers`, `threat_insight`,
//! `okta_api_token_owners`, `app_grant_scopes`, `authenticator_settings`) and the table
//! `log_streams`. Each group applies once a full sync read its resource (its rows are in the
//! mirror, or the resources the last full sync read, its `checkpoints` row `sync.resources`,
//! name it), and otherwise says which resource to sync and which Okta scope that needs.

use super::check;
use crate::check::{Applies, Check};
use oktasync_store::Severity::*;

/// A check over the rows of `$table` applies when some are in the mirror, or when the last
/// full sync read `$resource` (the engine's checkpoint `sync.resources` lists the resources
/// it read, comma-separated): an org with no log stream or no API token then fails or
/// passes instead of being mistaken for one never read.
macro_rules! synced {
    ($table:literal, $resource:literal, $otherwise:literal) => {
        Applies {
            sql: concat!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM ",
                $table,
                " WHERE org_id = $1) OR EXISTS (SELECT 1 FROM checkpoints WHERE org_id = $1 \
                 AND name = 'sync.resources' AND ',' || value || ',' LIKE '%,",
                $resource,
                ",%') THEN 1 ELSE 0 END AS applies"
            ),
            otherwise: $otherwise,
        }
    };
}

const POLICIES_READ: Applies = synced!(
    "policies",
    "policies",
    "the mirror holds no policies: sync the policies resource, which needs scope \
     okta.policies.read"
);

const POLICY_RULES_READ: Applies = synced!(
    "policy_rules",
    "policy_rules",
    "the mirror holds no policy rules: sync the policies and policy_rules resources, which \
     need scope okta.policies.read"
);

/// The Admin Console's app sign-in policy is the ACCESS_POLICY named "Okta Admin Console"
/// (the name Okta gives it and the STIG's checks look for; Okta's API ties an app to its
/// policy only through a link the mirror does not keep). Without its rules the checks say so
/// rather than pass.
const ADMIN_CONSOLE_RULES_READ: Applies = Applies {
    sql: "SELECT CASE WHEN EXISTS (SELECT 1 FROM app_sign_in_rules WHERE org_id = $1 \
          AND policy_name = 'Okta Admin Console') THEN 1 ELSE 0 END AS applies",
    otherwise: "the mirror holds no rules of an app sign-in policy named \"Okta Admin \
                Console\": sync the policies and policy_rules resources, which need scope \
                okta.policies.read (orgs on Okta Classic Engine have no app sign-in policies; \
                a renamed Admin Console policy is not recognised)",
};

const THREAT_INSIGHT_READ: Applies = synced!(
    "threat_insight",
    "threat_insight",
    "the mirror holds no ThreatInsight configuration: sync the threat_insight resource, which \
     needs scope okta.threatInsights.read"
);

const ZONES_READ: Applies = synced!(
    "network_zones",
    "network_zones",
    "the mirror holds no network zones: sync the network_zones resource, which needs scope \
     okta.networkZones.read"
);

const LOG_STREAMS_READ: Applies = synced!(
    "log_streams",
    "log_streams",
    "the mirror has not read the log streams: sync the log_streams resource, which needs \
     scope okta.logStreams.read"
);

const API_TOKENS_READ: Applies = synced!(
    "okta_api_tokens",
    "api_tokens",
    "the mirror has not read the Okta API tokens: sync the api_tokens resource, which needs \
     scope okta.apiTokens.read"
);

const APP_GRANTS_READ: Applies = synced!(
    "app_grants",
    "app_grants",
    "the mirror has not read the apps' Okta API scope grants: sync the app_grants resource, \
     which needs scope okta.appGrants.read"
);

const AUTHENTICATORS_READ: Applies = synced!(
    "authenticators",
    "authenticators",
    "the mirror holds no authenticators: sync the authenticators resource, which needs scope \
     okta.authenticators.read"
);

/// Every check of the security configuration.
pub(super) fn checks() -> Vec<Check> {
    let mut checks = policies();
    checks.extend(admin_console());
    checks.extend(org_settings());
    checks.extend(api_tokens());
    checks.extend(app_grants());
    checks.extend(authenticators());
    checks
}

/// Password checks read the policies Okta enforces: ACTIVE, for the users whose passwords
/// Okta keeps (`auth_provider` OKTA; the STIG marks directory-sourced ones not applicable).
/// Session checks read every ACTIVE rule that lets users in, not only the top one: each
/// applies to someone.
fn policies() -> Vec<Check> {
    vec![
        check(
            "okta.policies.weak_password",
            "Password policy allows weak passwords",
            Medium,
            &[
                "DISA Okta IDaaS STIG V-273195 (minimum length 15)",
                "DISA Okta IDaaS STIG V-273196..V-273199 (upper case, lower case, number, symbol)",
                "DISA Okta IDaaS STIG V-273208 (common passwords rejected)",
                "Okta HealthInsight",
            ],
            "Short passwords, passwords without every character class and passwords from \
             breach lists are what spraying and stuffing guess first.",
            "In Security > Authenticators > Password, edit the policy: minimum length 15, \
             require upper case, lower case, a number and a symbol, and check \"Restrict use \
             of common passwords\".",
            &[("min_length", 15.0)],
            "SELECT * FROM ( \
               SELECT p.name AS subject, p.policy_id, p.priority, \
                      REPLACE(TRIM( \
                        CASE WHEN COALESCE(p.min_length, 0) < :min_length THEN 'minLength ' ELSE '' END || \
                        CASE WHEN COALESCE(p.min_upper_case, 0) < 1 THEN 'minUpperCase ' ELSE '' END || \
                        CASE WHEN COALESCE(p.min_lower_case, 0) < 1 THEN 'minLowerCase ' ELSE '' END || \
                        CASE WHEN COALESCE(p.min_number, 0) < 1 THEN 'minNumber ' ELSE '' END || \
                        CASE WHEN COALESCE(p.min_symbol, 0) < 1 THEN 'minSymbol ' ELSE '' END || \
                        CASE WHEN COALESCE(p.exclude_common, 0) = 0 \
                             THEN 'dictionary.common.exclude ' ELSE '' END), ' ', ', ') AS failing, \
                      p.min_length, p.min_upper_case, p.min_lower_case, p.min_number, \
                      p.min_symbol, p.exclude_common \
               FROM password_policies p \
               WHERE p.org_id = $1 AND p.status = 'ACTIVE' \
                 AND COALESCE(p.auth_provider, 'OKTA') = 'OKTA') f \
             WHERE f.failing <> ''",
            Some(POLICIES_READ),
        ),
        check(
            "okta.policies.password_age",
            "Password policy lets passwords live long or come back",
            Low,
            &[
                "DISA Okta IDaaS STIG V-273201 (maximum age 60 days; 0 never expires)",
                "DISA Okta IDaaS STIG V-273200 (minimum age 24 hours)",
                "DISA Okta IDaaS STIG V-273209 (history of 5)",
            ],
            "A password that never expires stays valid wherever it leaked; without a history \
             and a minimum age, a forced change is undone by changing it back at once.",
            "In the password policy, set \"Password expires after\" to at most 60 days, \
             \"Minimum password age\" to 24 hours and \"Enforce password history\" to at least \
             5. (NIST SP 800-63B advises against periodic expiry: if you follow it, disable \
             this check or raise max_age_days.)",
            &[
                ("max_age_days", 60.0),
                ("min_age_minutes", 1440.0),
                ("history_count", 5.0),
            ],
            "SELECT * FROM ( \
               SELECT p.name AS subject, p.policy_id, p.priority, \
                      REPLACE(TRIM( \
                        CASE WHEN COALESCE(p.max_age_days, 0) = 0 \
                               OR p.max_age_days > :max_age_days THEN 'maxAgeDays ' ELSE '' END || \
                        CASE WHEN COALESCE(p.min_age_minutes, 0) < :min_age_minutes \
                             THEN 'minAgeMinutes ' ELSE '' END || \
                        CASE WHEN COALESCE(p.history_count, 0) < :history_count \
                             THEN 'historyCount ' ELSE '' END), ' ', ', ') AS failing, \
                      p.max_age_days, p.min_age_minutes, p.history_count \
               FROM password_policies p \
               WHERE p.org_id = $1 AND p.status = 'ACTIVE' \
                 AND COALESCE(p.auth_provider, 'OKTA') = 'OKTA') f \
             WHERE f.failing <> ''",
            Some(POLICIES_READ),
        ),
        check(
            "okta.policies.account_lockout",
            "Password policy locks accounts late or never",
            Medium,
            &[
                "DISA Okta IDaaS STIG V-273189 (lock out after 3 invalid attempts)",
                "Okta HealthInsight",
            ],
            "Without a lockout, or with a generous one, a password can be guessed online at \
             the attacker's pace.",
            "In the password policy, check \"Lock out user after N unsuccessful attempts\" with \
             N at most 3.",
            &[("max_attempts", 3.0)],
            "SELECT p.name AS subject, p.policy_id, p.priority, p.lockout_max_attempts, \
                    p.auto_unlock_minutes \
             FROM password_policies p \
             WHERE p.org_id = $1 AND p.status = 'ACTIVE' \
               AND COALESCE(p.auth_provider, 'OKTA') = 'OKTA' \
               AND (COALESCE(p.lockout_max_attempts, 0) = 0 \
                    OR p.lockout_max_attempts > :max_attempts)",
            Some(POLICIES_READ),
        ),
        check(
            "okta.policies.weak_session",
            "Global session policy keeps sessions long",
            Medium,
            &[
                "DISA Okta IDaaS STIG V-273186 (idle at most 15 minutes)",
                "DISA Okta IDaaS STIG V-273203 (lifetime at most 18 hours)",
                "DISA Okta IDaaS STIG V-273206 (no persistent session cookie)",
                "Okta HealthInsight (session lifetime)",
            ],
            "An Okta session opens every app: a session left idle on a shared machine, kept \
             for days, or surviving the browser's restart is one a passer-by or a stolen \
             cookie reuses.",
            "In Security > Global Session Policy, edit each rule: maximum idle time 15 \
             minutes, maximum session lifetime 18 hours or less, and \"Okta global session \
             cookies persist across browser sessions\" off.",
            &[("max_idle_minutes", 15.0), ("max_lifetime_minutes", 1080.0)],
            // An unset idle time is Okta's default, 120 minutes; an unset or 0 lifetime is
            // no limit.
            "SELECT * FROM ( \
               SELECT r.policy_name || ' / ' || r.rule_name AS subject, r.policy_id, r.rule_id, \
                      REPLACE(TRIM( \
                        CASE WHEN COALESCE(r.max_session_idle_minutes, 120) > :max_idle_minutes \
                             THEN 'maxSessionIdleMinutes ' ELSE '' END || \
                        CASE WHEN COALESCE(r.max_session_lifetime_minutes, 0) = 0 \
                               OR r.max_session_lifetime_minutes > :max_lifetime_minutes \
                             THEN 'maxSessionLifetimeMinutes ' ELSE '' END || \
                        CASE WHEN r.use_persistent_cookie = 1 \
                             THEN 'usePersistentCookie ' ELSE '' END), ' ', ', ') AS failing, \
                      r.max_session_idle_minutes, r.max_session_lifetime_minutes, \
                      r.use_persistent_cookie \
               FROM session_policy_rules r \
               WHERE r.org_id = $1 AND r.policy_status = 'ACTIVE' AND r.rule_status = 'ACTIVE' \
                 AND COALESCE(r.access, 'ALLOW') <> 'DENY') f \
             WHERE f.failing <> ''",
            Some(POLICY_RULES_READ),
        ),
    ]
}

fn admin_console() -> Vec<Check> {
    vec![
        check(
            "okta.admin_console.single_factor",
            "Admin Console allows sign-in with one factor",
            High,
            &[
                "DISA Okta IDaaS STIG V-273193 (Admin Console requires MFA)",
                "Okta HealthInsight: MFA for the Admin Console",
            ],
            "The Admin Console changes the whole org: a rule that lets an admin in with a \
             password alone hands it to whoever phished, sprayed or reused that password.",
            "In Security > Authentication Policies > Okta Admin Console, set every rule that \
             allows access to \"Password/IdP + Another factor\" or \"Any 2 factor types\".",
            &[],
            "SELECT r.policy_name || ' / ' || r.rule_name AS subject, r.policy_id, r.rule_id, \
                    r.rule_priority, r.factor_mode, r.network_connection \
             FROM app_sign_in_rules r \
             WHERE r.org_id = $1 AND r.policy_name = 'Okta Admin Console' \
               AND r.policy_status = 'ACTIVE' AND r.rule_status = 'ACTIVE' \
               AND COALESCE(r.access, 'ALLOW') = 'ALLOW' AND r.factor_mode = '1FA'",
            Some(ADMIN_CONSOLE_RULES_READ),
        ),
        check(
            "okta.admin_console.not_phishing_resistant",
            "Admin Console allows phishable factors",
            High,
            &[
                "DISA Okta IDaaS STIG V-273191 (Admin Console: phishing-resistant only)",
                "Okta customer-detections (admin console with weak MFA)",
            ],
            "Push, TOTP, SMS and email codes can be relayed by an adversary-in-the-middle \
             page: an admin session phished that way is the org.",
            "In the Okta Admin Console policy, edit every rule that allows access: under \
             \"Possession factor constraints are\", check \"Phishing resistant\".",
            &[],
            "SELECT r.policy_name || ' / ' || r.rule_name AS subject, r.policy_id, r.rule_id, \
                    r.rule_priority, r.factor_mode, r.constraint_count \
             FROM app_sign_in_rules r \
             WHERE r.org_id = $1 AND r.policy_name = 'Okta Admin Console' \
               AND r.policy_status = 'ACTIVE' AND r.rule_status = 'ACTIVE' \
               AND COALESCE(r.access, 'ALLOW') = 'ALLOW' AND r.phishing_resistant = 0",
            Some(ADMIN_CONSOLE_RULES_READ),
        ),
    ]
}

fn org_settings() -> Vec<Check> {
    vec![
        check(
            "okta.threat_insight.not_blocking",
            "ThreatInsight does not block suspicious IPs",
            Medium,
            &["Okta HealthInsight: ThreatInsight (Critical)"],
            "ThreatInsight knows the IPs behind password spraying and credential stuffing \
             across Okta's customers; logging them (audit) or nothing (none) lets them keep \
             guessing.",
            "In Security > General > Okta ThreatInsight settings, choose \"Log and enforce \
             security based on threat level\", excluding your own egress zones if needed.",
            &[],
            "SELECT 'ThreatInsight' AS subject, t.action, t.excluded_zones \
             FROM threat_insight t \
             WHERE t.org_id = $1 AND COALESCE(t.action, 'none') <> 'block'",
            Some(THREAT_INSIGHT_READ),
        ),
        check(
            "okta.zones.no_anonymizer_block",
            "Anonymizing proxies and Tor are not blocked",
            Medium,
            &[
                "DISA Okta IDaaS STIG V-279692 (network zones block anonymized proxies)",
                "Okta customer-detections (sign-in through anonymizers)",
            ],
            "Spraying, stuffing and session replay come through Tor and anonymizing proxies; \
             a blocklist zone stops them before any password is tried.",
            "In Security > Networks, activate DefaultEnhancedDynamicZone (a blocklist of \
             ALL_ANONYMIZERS), or add an active blocklist zone matching Tor and the other \
             anonymizing proxies.",
            &[],
            "SELECT 'org' AS subject, \
                    CASE WHEN EXISTS (SELECT 1 FROM network_zone_anonymizers z \
                                      WHERE z.org_id = $1 AND z.status = 'ACTIVE' \
                                        AND z.usage = 'BLOCKLIST' AND z.matches_tor = 1) \
                         THEN 1 ELSE 0 END AS tor_blocked, \
                    CASE WHEN EXISTS (SELECT 1 FROM network_zone_anonymizers z \
                                      WHERE z.org_id = $1 AND z.status = 'ACTIVE' \
                                        AND z.usage = 'BLOCKLIST' \
                                        AND z.matches_other_anonymizers = 1) \
                         THEN 1 ELSE 0 END AS other_anonymizers_blocked, \
                    (SELECT MIN(z.name) FROM network_zone_anonymizers z \
                     WHERE z.org_id = $1 AND z.status <> 'ACTIVE' AND z.usage = 'BLOCKLIST' \
                       AND (z.matches_tor = 1 OR z.matches_other_anonymizers = 1)) \
                        AS inactive_blocklist_zone \
             WHERE NOT EXISTS (SELECT 1 FROM network_zone_anonymizers z \
                               WHERE z.org_id = $1 AND z.status = 'ACTIVE' \
                                 AND z.usage = 'BLOCKLIST' AND z.matches_tor = 1) \
                OR NOT EXISTS (SELECT 1 FROM network_zone_anonymizers z \
                               WHERE z.org_id = $1 AND z.status = 'ACTIVE' \
                                 AND z.usage = 'BLOCKLIST' AND z.matches_other_anonymizers = 1)",
            Some(ZONES_READ),
        ),
        check(
            "okta.log.not_streamed",
            "The System Log is not streamed",
            High,
            &[
                "DISA Okta IDaaS STIG V-273202 (audit records off-loaded)",
                "okta-inspector",
            ],
            "Okta keeps 90 days of System Log, and an intruder with admin rights can act \
             before anyone reads it; a stream puts each event in your SIEM as it happens.",
            "In Reports > Log Streaming, add and activate a stream (AWS EventBridge or Splunk \
             Cloud), or confirm your SIEM pulls the log through the API (then disable this \
             check: a pull is not visible in Okta's configuration).",
            &[],
            "SELECT 'org' AS subject, \
                    (SELECT COUNT(*) FROM log_streams s WHERE s.org_id = $1) AS log_streams \
             WHERE NOT EXISTS (SELECT 1 FROM log_streams s \
                               WHERE s.org_id = $1 AND s.status = 'ACTIVE')",
            Some(LOG_STREAMS_READ),
        ),
    ]
}

fn api_tokens() -> Vec<Check> {
    vec![
        check(
            "okta.api_tokens.usable_anywhere",
            "Okta API tokens usable from any network",
            Medium,
            &[
                "DISA Okta IDaaS STIG V-279689 (API tokens restricted to network zones)",
                "Okta customer-detections (API token abuse)",
            ],
            "An API token acts as its admin with no second factor: leaked from a CI log or a \
             laptop, it works from anywhere unless a network zone stops it.",
            "In Security > API > Tokens, edit the token's network restriction to allow only \
             the zones of the systems that call the API (or replace it with an OAuth service \
             app).",
            &[],
            "SELECT COALESCE(t.name, '') || ' (' || t.token_id || ')' AS subject, t.token_id, \
                    t.owner_login, t.network_connection \
             FROM okta_api_token_owners t \
             WHERE t.org_id = $1 AND COALESCE(t.network_connection, 'ANYWHERE') = 'ANYWHERE'",
            Some(API_TOKENS_READ),
        ),
        check(
            "okta.api_tokens.owned_by_super_admin",
            "Okta API tokens owned by a super admin",
            High,
            &[
                "Microsoft Defender for Identity: highly privileged API token",
                "DISA Okta IDaaS STIG V-279690 (API tokens under dedicated accounts)",
            ],
            "A token acts with all of its owner's roles: a super admin's token is the whole \
             org in a string, and it outlives the owner's password changes.",
            "Create tokens under a dedicated service account holding only the admin roles the \
             integration needs (or use an OAuth service app with narrow scopes), then revoke \
             this one.",
            &[],
            "SELECT COALESCE(t.name, '') || ' (' || t.token_id || ')' AS subject, t.token_id, \
                    t.user_id, t.owner_login, t.network_connection \
             FROM okta_api_token_owners t \
             WHERE t.org_id = $1 AND t.owner_super_admin = 1",
            Some(API_TOKENS_READ),
        ),
        check(
            "okta.api_tokens.owner_not_active",
            "Okta API tokens whose owner is suspended, deactivated or gone",
            Medium,
            &[
                "DISA Okta IDaaS STIG V-279690 (API tokens under dedicated accounts)",
                "offboarding hygiene",
            ],
            "Okta revokes a deactivated user's tokens, but not a suspended one's: the token \
             of someone who left keeps working, and nobody owns it. (An owner locked out, in \
             recovery or with an expired password is still an enabled account.)",
            "Revoke the token, or move the integration to a token of an active dedicated \
             account.",
            &[],
            "SELECT COALESCE(t.name, '') || ' (' || t.token_id || ')' AS subject, t.token_id, \
                    t.user_id, t.owner_login, t.owner_status \
             FROM okta_api_token_owners t \
             WHERE t.org_id = $1 \
               AND COALESCE(t.owner_status, 'NOT_IN_MIRROR') NOT IN \
                   ('ACTIVE', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'RECOVERY')",
            Some(API_TOKENS_READ),
        ),
    ]
}

fn app_grants() -> Vec<Check> {
    vec![check(
        "okta.apps.admin_scopes_granted",
        "Service apps granted Okta admin scopes",
        Medium,
        &[
            "Okta customer-detections (OAuth token abuse)",
            "Elastic: OAuth client credentials abuse",
        ],
        "A service app with okta.*.manage scopes changes users, groups or apps with no person \
         and no MFA involved: its private key or secret is an admin credential.",
        "Grant the narrowest scopes the integration needs (read scopes where it only reads), \
         give the app a custom admin role on a resource set, and keep its key in a vault.",
        &[],
        "SELECT COALESCE(g.app_label, g.app_id) AS subject, g.app_id, g.application_type, \
                COUNT(*) AS admin_scopes, MIN(g.scope_id) AS a_scope \
         FROM app_grant_scopes g \
         WHERE g.org_id = $1 AND g.admin_scope = 1 AND g.application_type = 'service' \
           AND COALESCE(g.grant_status, 'ACTIVE') = 'ACTIVE' \
           AND COALESCE(g.app_status, 'ACTIVE') = 'ACTIVE' \
         GROUP BY g.app_label, g.app_id, g.application_type",
        Some(APP_GRANTS_READ),
    )]
}

fn authenticators() -> Vec<Check> {
    vec![
        check(
            "okta.authenticators.weak_enabled",
            "Weak authenticators allowed for sign-in",
            Low,
            &[
                "Okta HealthInsight: disable weak factors",
                "Okta customer-detections (weak MFA)",
            ],
            "SMS and voice codes are SIM-swapped and relayed; security questions are looked \
             up or guessed. Active for sign-in, they are the factor an attacker picks.",
            "In Security > Authenticators, deactivate Phone and Security Question, or set them \
             to recovery only once users have stronger authenticators.",
            &[],
            "SELECT a.name AS subject, a.authenticator_id, a.key, a.allowed_for \
             FROM authenticator_settings a \
             WHERE a.org_id = $1 AND a.status = 'ACTIVE' \
               AND a.key IN ('phone_number', 'security_question') \
               AND COALESCE(a.allowed_for, 'any') IN ('any', 'sso')",
            Some(AUTHENTICATORS_READ),
        ),
        check(
            "okta.authenticators.okta_verify_not_fips",
            "Okta Verify accepts devices without FIPS-validated cryptography",
            Low,
            &["DISA Okta IDaaS STIG V-273205 (Okta Verify FIPS-compliant only)"],
            "Where FIPS 140 validation is required (US federal systems), Okta Verify keys on \
             devices without a validated module do not meet it.",
            "In Security > Authenticators > Okta Verify, set \"FIPS compliance\" to \"FIPS \
             compliant devices only\" (or disable this check if FIPS does not apply to you).",
            &[],
            "SELECT a.name AS subject, a.authenticator_id, a.fips \
             FROM authenticator_settings a \
             WHERE a.org_id = $1 AND a.key = 'okta_verify' AND a.status = 'ACTIVE' \
               AND COALESCE(a.fips, 'OPTIONAL') <> 'REQUIRED'",
            Some(AUTHENTICATORS_READ),
        ),
    ]
}
