-- oktasync mirror schema, version 14: the org's security configuration, read for posture
-- checks. Documented in SCHEMA.md.

-- Policies of every type the sync lists (GET /api/v1/policies?type=...).
CREATE TABLE policies (
    org_id              INTEGER NOT NULL,
    id                  TEXT NOT NULL,
    -- OKTA_SIGN_ON, PASSWORD, MFA_ENROLL, ACCESS_POLICY, IDP_DISCOVERY, PROFILE_ENROLLMENT
    type                TEXT,
    name                TEXT,
    -- ACTIVE or INACTIVE
    status              TEXT,
    priority            INTEGER,
    -- 'true' for Okta's built-in policies
    system              TEXT,
    created             TEXT,
    last_updated        TEXT,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Rules of one policy (GET /api/v1/policies/{id}/rules).
CREATE TABLE policy_rules (
    org_id              INTEGER NOT NULL,
    policy_id           TEXT NOT NULL,
    id                  TEXT NOT NULL,
    name                TEXT,
    status              TEXT,
    priority            INTEGER,
    system              TEXT,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, policy_id, id)
);

-- Authenticators (GET /api/v1/authenticators).
CREATE TABLE authenticators (
    org_id              INTEGER NOT NULL,
    id                  TEXT NOT NULL,
    -- okta_verify, phone_number, webauthn, security_question, ...
    key                 TEXT,
    type                TEXT,
    name                TEXT,
    status              TEXT,
    created             TEXT,
    last_updated        TEXT,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Network zones (GET /api/v1/zones).
CREATE TABLE network_zones (
    org_id              INTEGER NOT NULL,
    id                  TEXT NOT NULL,
    -- IP, DYNAMIC or DYNAMIC_V2
    type                TEXT,
    name                TEXT,
    status              TEXT,
    -- POLICY or BLOCKLIST
    usage               TEXT,
    system              TEXT,
    created             TEXT,
    last_updated        TEXT,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Okta API tokens' metadata (GET /api/v1/api-tokens; never a secret).
CREATE TABLE okta_api_tokens (
    org_id              INTEGER NOT NULL,
    id                  TEXT NOT NULL,
    name                TEXT,
    -- the admin the token acts as
    user_id             TEXT,
    client_name         TEXT,
    -- ANYWHERE, ZONE, ...
    network_connection  TEXT,
    created             TEXT,
    last_updated        TEXT,
    expires_at          TEXT,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- System Log streams (GET /api/v1/logStreams).
CREATE TABLE log_streams (
    org_id              INTEGER NOT NULL,
    id                  TEXT NOT NULL,
    -- aws_eventbridge or splunk_cloud_logstreaming
    type                TEXT,
    name                TEXT,
    status              TEXT,
    created             TEXT,
    last_updated        TEXT,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Org-wide settings without an id, one row per name: threat_insight (GET /api/v1/threats/configuration).
CREATE TABLE org_settings (
    org_id              INTEGER NOT NULL,
    name                TEXT NOT NULL,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- Okta API scopes granted to an app (GET /api/v1/apps/{id}/grants).
CREATE TABLE app_grants (
    org_id              INTEGER NOT NULL,
    app_id              TEXT NOT NULL,
    id                  TEXT NOT NULL,
    -- okta.users.manage, ...
    scope_id            TEXT,
    status              TEXT,
    issuer              TEXT,
    created             TEXT,
    last_updated        TEXT,
    raw                 TEXT NOT NULL,
    PRIMARY KEY (org_id, app_id, id)
);

-- Views over the security configuration, read by posture checks (read them, adapt the checks:
-- `oktasync posture --list` prints each check's SQL). Each reads Okta's settings out of `raw`;
-- PostgreSQL has the same views, with the same columns and value types. A setting Okta leaves
-- out is NULL; a boolean setting is 1 or 0.

-- A password policy's settings, one row per PASSWORD policy. `auth_provider` is OKTA for
-- the users whose passwords Okta keeps (ACTIVE_DIRECTORY and LDAP policies defer to the
-- directory). A class count (`min_upper_case`, ...) of 0 means not required; `max_age_days`
-- 0 means passwords never expire; `lockout_max_attempts` 0 means no lockout.
CREATE VIEW password_policies AS
SELECT p.org_id, p.id AS policy_id, p.name, p.status, p.priority, p.system,
       json_extract(p.raw, '$.conditions.authProvider.provider') AS auth_provider,
       json_extract(p.raw, '$.settings.password.complexity.minLength') AS min_length,
       json_extract(p.raw, '$.settings.password.complexity.minUpperCase') AS min_upper_case,
       json_extract(p.raw, '$.settings.password.complexity.minLowerCase') AS min_lower_case,
       json_extract(p.raw, '$.settings.password.complexity.minNumber') AS min_number,
       json_extract(p.raw, '$.settings.password.complexity.minSymbol') AS min_symbol,
       CASE json_type(p.raw, '$.settings.password.complexity.excludeUsername')
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS exclude_username,
       CASE json_type(p.raw, '$.settings.password.complexity.dictionary.common.exclude')
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS exclude_common,
       json_extract(p.raw, '$.settings.password.age.maxAgeDays') AS max_age_days,
       json_extract(p.raw, '$.settings.password.age.minAgeMinutes') AS min_age_minutes,
       json_extract(p.raw, '$.settings.password.age.historyCount') AS history_count,
       json_extract(p.raw, '$.settings.password.lockout.maxAttempts') AS lockout_max_attempts,
       json_extract(p.raw, '$.settings.password.lockout.autoUnlockMinutes') AS auto_unlock_minutes
FROM policies p
WHERE p.type = 'PASSWORD';

-- A global session policy's rules (type OKTA_SIGN_ON), one row each, with their policy.
-- `max_session_lifetime_minutes` 0 means no limit.
CREATE VIEW session_policy_rules AS
SELECT r.org_id, p.id AS policy_id, p.name AS policy_name, p.status AS policy_status,
       p.priority AS policy_priority, r.id AS rule_id, r.name AS rule_name,
       r.status AS rule_status, r.priority AS rule_priority,
       json_extract(r.raw, '$.actions.signon.access') AS access,
       CASE json_type(r.raw, '$.actions.signon.requireFactor')
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS require_factor,
       json_extract(r.raw, '$.actions.signon.factorPromptMode') AS factor_prompt_mode,
       json_extract(r.raw, '$.actions.signon.session.maxSessionIdleMinutes')
           AS max_session_idle_minutes,
       json_extract(r.raw, '$.actions.signon.session.maxSessionLifetimeMinutes')
           AS max_session_lifetime_minutes,
       CASE json_type(r.raw, '$.actions.signon.session.usePersistentCookie')
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS use_persistent_cookie,
       json_extract(r.raw, '$.conditions.network.connection') AS network_connection
FROM policy_rules r
JOIN policies p ON p.org_id = r.org_id AND p.id = r.policy_id
WHERE p.type = 'OKTA_SIGN_ON';

-- An app sign-in (authentication) policy's rules (type ACCESS_POLICY), one row each, with
-- their policy. `factor_mode` is 1FA or 2FA (NULL for an authentication method chain);
-- `constraint_count` counts `verificationMethod.constraints`, any one of which satisfies the
-- rule, so `phishing_resistant` is 1 only when there are some and every one requires a
-- phishing-resistant possession factor (`possession.phishingResistant` REQUIRED).
CREATE VIEW app_sign_in_rules AS
SELECT r.org_id, p.id AS policy_id, p.name AS policy_name, p.status AS policy_status,
       r.id AS rule_id, r.name AS rule_name, r.status AS rule_status,
       r.priority AS rule_priority,
       json_extract(r.raw, '$.actions.appSignOn.access') AS access,
       json_extract(r.raw, '$.actions.appSignOn.verificationMethod.type') AS verification_type,
       json_extract(r.raw, '$.actions.appSignOn.verificationMethod.factorMode') AS factor_mode,
       json_extract(r.raw, '$.actions.appSignOn.verificationMethod.reauthenticateIn')
           AS reauthenticate_in,
       COALESCE(json_array_length(r.raw, '$.actions.appSignOn.verificationMethod.constraints'), 0)
           AS constraint_count,
       CASE WHEN COALESCE(json_array_length(r.raw,
                          '$.actions.appSignOn.verificationMethod.constraints'), 0) > 0
             AND NOT EXISTS (
                 SELECT 1 FROM json_each(r.raw, '$.actions.appSignOn.verificationMethod.constraints') c
                 WHERE (CASE WHEN c.type = 'object'
                             THEN json_extract(c.value, '$.possession.phishingResistant') END)
                       IS NOT 'REQUIRED')
            THEN 1 ELSE 0 END AS phishing_resistant,
       json_extract(r.raw, '$.conditions.network.connection') AS network_connection
FROM policy_rules r
JOIN policies p ON p.org_id = r.org_id AND p.id = r.policy_id
WHERE p.type = 'ACCESS_POLICY';

-- Which anonymizing proxies a network zone matches, one row per zone (whatever its usage
-- and status: a zone blocks them when it is an ACTIVE BLOCKLIST). `matches_tor`: Tor exit
-- nodes; `matches_other_anonymizers`: the other anonymizing proxies. From a dynamic zone's
-- `proxyType` (Any; Tor; NotTorAnonymizer) or an enhanced dynamic zone's
-- `ipServiceCategories` (ALL_ANONYMIZERS or ALL_IP_SERVICES; ANONYMIZER_TOR;
-- ALL_ANONYMIZERS_EXCEPT_TOR; less its exclusions).
CREATE VIEW network_zone_anonymizers AS
SELECT z.org_id, z.id AS zone_id, z.name, z.type, z.status, z.usage,
       json_extract(z.raw, '$.proxyType') AS proxy_type,
       CASE WHEN UPPER(COALESCE(json_extract(z.raw, '$.proxyType'), ''))
                     IN ('ANY', 'TOR', 'TORANONYMIZER')
              OR (EXISTS (SELECT 1 FROM json_each(z.raw, '$.ipServiceCategories.include') c
                          WHERE c.value IN ('ALL_ANONYMIZERS', 'ALL_IP_SERVICES', 'ANONYMIZER_TOR'))
                  AND NOT EXISTS (SELECT 1 FROM json_each(z.raw, '$.ipServiceCategories.exclude') c
                                  WHERE c.value IN ('ALL_ANONYMIZERS', 'ANONYMIZER_TOR')))
            THEN 1 ELSE 0 END AS matches_tor,
       CASE WHEN UPPER(COALESCE(json_extract(z.raw, '$.proxyType'), ''))
                     IN ('ANY', 'NOTTORANONYMIZER')
              OR (EXISTS (SELECT 1 FROM json_each(z.raw, '$.ipServiceCategories.include') c
                          WHERE c.value IN ('ALL_ANONYMIZERS', 'ALL_IP_SERVICES',
                                            'ALL_ANONYMIZERS_EXCEPT_TOR'))
                  AND NOT EXISTS (SELECT 1 FROM json_each(z.raw, '$.ipServiceCategories.exclude') c
                                  WHERE c.value IN ('ALL_ANONYMIZERS', 'ALL_ANONYMIZERS_EXCEPT_TOR')))
            THEN 1 ELSE 0 END AS matches_other_anonymizers
FROM network_zones z;

-- The ThreatInsight configuration, one row per org that has it: `action` none (off), audit
-- (logs suspicious requests) or block (logs and blocks them); `excluded_zones` counts the
-- network zones it leaves alone.
CREATE VIEW threat_insight AS
SELECT s.org_id, json_extract(s.raw, '$.action') AS action,
       COALESCE(json_array_length(s.raw, '$.excludeZones'), 0) AS excluded_zones,
       json_extract(s.raw, '$.lastUpdated') AS last_updated
FROM org_settings s
WHERE s.name = 'threat_insight';

-- Each Okta API token with its owner (the user it acts as): `owner_login` and
-- `owner_status` are NULL when the owner is not in the mirror; `owner_super_admin` is 1 when
-- the owner holds SUPER_ADMIN, directly or through a group (`admin_users`).
CREATE VIEW okta_api_token_owners AS
SELECT t.org_id, t.id AS token_id, t.name, t.client_name, t.network_connection,
       t.created, t.last_updated, t.expires_at, t.user_id,
       u.login AS owner_login, u.status AS owner_status,
       CASE WHEN EXISTS (SELECT 1 FROM admin_users a
                         WHERE a.org_id = t.org_id AND a.user_id = t.user_id
                           AND a.role_type = 'SUPER_ADMIN')
            THEN 1 ELSE 0 END AS owner_super_admin
FROM okta_api_tokens t
LEFT JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id;

-- The Okta API scopes granted to apps, one row per grant, with the app (`application_type`
-- service for a client-credentials app acting on its own). `admin_scope` is 1 for a scope
-- that changes the org (`okta.<resource>.manage`; not the signed-in user's own
-- `okta.myAccount.*` or `*.manage.self`).
CREATE VIEW app_grant_scopes AS
SELECT g.org_id, g.app_id, a.label AS app_label, a.status AS app_status,
       json_extract(a.raw, '$.settings.oauthClient.application_type') AS application_type,
       g.id AS grant_id, g.scope_id, g.status AS grant_status, g.created,
       CASE WHEN g.scope_id LIKE 'okta.%.manage' AND g.scope_id NOT LIKE 'okta.myAccount.%'
            THEN 1 ELSE 0 END AS admin_scope
FROM app_grants g
LEFT JOIN apps a ON a.org_id = g.org_id AND a.id = g.app_id;

-- An authenticator's settings that posture reads: `allowed_for` (any, sso, recovery, none:
-- what Phone, Email and Security Question may be used for), `fips` (Okta Verify's
-- `compliance.fips`: REQUIRED or OPTIONAL), `user_verification` (Okta Verify and WebAuthn).
CREATE VIEW authenticator_settings AS
SELECT a.org_id, a.id AS authenticator_id, a.key, a.type, a.name, a.status,
       json_extract(a.raw, '$.settings.allowedFor') AS allowed_for,
       json_extract(a.raw, '$.settings.compliance.fips') AS fips,
       json_extract(a.raw, '$.settings.userVerification') AS user_verification
FROM authenticators a;
