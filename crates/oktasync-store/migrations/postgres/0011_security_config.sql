-- oktasync mirror schema, version 11: the org's security configuration, read for posture
-- checks. Documented in SCHEMA.md.

-- Policies of every type the sync lists (GET /api/v1/policies?type=...).
CREATE TABLE policies (
    org_id              BIGINT NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    -- OKTA_SIGN_ON, PASSWORD, MFA_ENROLL, ACCESS_POLICY, IDP_DISCOVERY, PROFILE_ENROLLMENT
    type                TEXT COLLATE "C",
    name                TEXT COLLATE "C",
    -- ACTIVE or INACTIVE
    status              TEXT COLLATE "C",
    priority            BIGINT,
    -- 'true' for Okta's built-in policies
    system              TEXT COLLATE "C",
    created             TEXT COLLATE "C",
    last_updated        TEXT COLLATE "C",
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Rules of one policy (GET /api/v1/policies/{id}/rules).
CREATE TABLE policy_rules (
    org_id              BIGINT NOT NULL,
    policy_id           TEXT COLLATE "C" NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    name                TEXT COLLATE "C",
    status              TEXT COLLATE "C",
    priority            BIGINT,
    system              TEXT COLLATE "C",
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, policy_id, id)
);

-- Authenticators (GET /api/v1/authenticators).
CREATE TABLE authenticators (
    org_id              BIGINT NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    -- okta_verify, phone_number, webauthn, security_question, ...
    key                 TEXT COLLATE "C",
    type                TEXT COLLATE "C",
    name                TEXT COLLATE "C",
    status              TEXT COLLATE "C",
    created             TEXT COLLATE "C",
    last_updated        TEXT COLLATE "C",
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Network zones (GET /api/v1/zones).
CREATE TABLE network_zones (
    org_id              BIGINT NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    -- IP, DYNAMIC or DYNAMIC_V2
    type                TEXT COLLATE "C",
    name                TEXT COLLATE "C",
    status              TEXT COLLATE "C",
    -- POLICY or BLOCKLIST
    usage               TEXT COLLATE "C",
    system              TEXT COLLATE "C",
    created             TEXT COLLATE "C",
    last_updated        TEXT COLLATE "C",
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Okta API tokens' metadata (GET /api/v1/api-tokens; never a secret).
CREATE TABLE okta_api_tokens (
    org_id              BIGINT NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    name                TEXT COLLATE "C",
    -- the admin the token acts as
    user_id             TEXT COLLATE "C",
    client_name         TEXT COLLATE "C",
    -- ANYWHERE, ZONE, ...
    network_connection  TEXT COLLATE "C",
    created             TEXT COLLATE "C",
    last_updated        TEXT COLLATE "C",
    expires_at          TEXT COLLATE "C",
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- System Log streams (GET /api/v1/logStreams).
CREATE TABLE log_streams (
    org_id              BIGINT NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    -- aws_eventbridge or splunk_cloud_logstreaming
    type                TEXT COLLATE "C",
    name                TEXT COLLATE "C",
    status              TEXT COLLATE "C",
    created             TEXT COLLATE "C",
    last_updated        TEXT COLLATE "C",
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Org-wide settings without an id, one row per name: threat_insight (GET /api/v1/threats/configuration).
CREATE TABLE org_settings (
    org_id              BIGINT NOT NULL,
    name                TEXT COLLATE "C" NOT NULL,
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- Okta API scopes granted to an app (GET /api/v1/apps/{id}/grants).
CREATE TABLE app_grants (
    org_id              BIGINT NOT NULL,
    app_id              TEXT COLLATE "C" NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    -- okta.users.manage, ...
    scope_id            TEXT COLLATE "C",
    status              TEXT COLLATE "C",
    issuer              TEXT COLLATE "C",
    created             TEXT COLLATE "C",
    last_updated        TEXT COLLATE "C",
    raw                 TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, app_id, id)
);

-- Views over the security configuration, read by posture checks: the same views as SQLite's,
-- with the same columns and value types (JSON numbers as BIGINT, booleans as 1 or 0, NULL
-- for a setting Okta leaves out). Documented in SCHEMA.md and in the SQLite migration.

CREATE VIEW password_policies AS
SELECT p.org_id, p.id AS policy_id, p.name, p.status, p.priority, p.system,
       j.raw #>> '{conditions,authProvider,provider}' AS auth_provider,
       (s.pw #>> '{complexity,minLength}')::bigint AS min_length,
       (s.pw #>> '{complexity,minUpperCase}')::bigint AS min_upper_case,
       (s.pw #>> '{complexity,minLowerCase}')::bigint AS min_lower_case,
       (s.pw #>> '{complexity,minNumber}')::bigint AS min_number,
       (s.pw #>> '{complexity,minSymbol}')::bigint AS min_symbol,
       CASE s.pw #>> '{complexity,excludeUsername}'
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS exclude_username,
       CASE s.pw #>> '{complexity,dictionary,common,exclude}'
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS exclude_common,
       (s.pw #>> '{age,maxAgeDays}')::bigint AS max_age_days,
       (s.pw #>> '{age,minAgeMinutes}')::bigint AS min_age_minutes,
       (s.pw #>> '{age,historyCount}')::bigint AS history_count,
       (s.pw #>> '{lockout,maxAttempts}')::bigint AS lockout_max_attempts,
       (s.pw #>> '{lockout,autoUnlockMinutes}')::bigint AS auto_unlock_minutes
FROM policies p
CROSS JOIN LATERAL (SELECT p.raw::jsonb AS raw) j
CROSS JOIN LATERAL (SELECT j.raw #> '{settings,password}' AS pw) s
WHERE p.type = 'PASSWORD';

CREATE VIEW session_policy_rules AS
SELECT r.org_id, p.id AS policy_id, p.name AS policy_name, p.status AS policy_status,
       p.priority AS policy_priority, r.id AS rule_id, r.name AS rule_name,
       r.status AS rule_status, r.priority AS rule_priority,
       j.raw #>> '{actions,signon,access}' AS access,
       CASE j.raw #>> '{actions,signon,requireFactor}'
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS require_factor,
       j.raw #>> '{actions,signon,factorPromptMode}' AS factor_prompt_mode,
       (j.raw #>> '{actions,signon,session,maxSessionIdleMinutes}')::bigint
           AS max_session_idle_minutes,
       (j.raw #>> '{actions,signon,session,maxSessionLifetimeMinutes}')::bigint
           AS max_session_lifetime_minutes,
       CASE j.raw #>> '{actions,signon,session,usePersistentCookie}'
            WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS use_persistent_cookie,
       j.raw #>> '{conditions,network,connection}' AS network_connection
FROM policy_rules r
JOIN policies p ON p.org_id = r.org_id AND p.id = r.policy_id
CROSS JOIN LATERAL (SELECT r.raw::jsonb AS raw) j
WHERE p.type = 'OKTA_SIGN_ON';

CREATE VIEW app_sign_in_rules AS
SELECT r.org_id, p.id AS policy_id, p.name AS policy_name, p.status AS policy_status,
       r.id AS rule_id, r.name AS rule_name, r.status AS rule_status,
       r.priority AS rule_priority,
       j.raw #>> '{actions,appSignOn,access}' AS access,
       j.raw #>> '{actions,appSignOn,verificationMethod,type}' AS verification_type,
       j.raw #>> '{actions,appSignOn,verificationMethod,factorMode}' AS factor_mode,
       j.raw #>> '{actions,appSignOn,verificationMethod,reauthenticateIn}' AS reauthenticate_in,
       jsonb_array_length(c.list)::bigint AS constraint_count,
       CASE WHEN jsonb_array_length(c.list) > 0
             AND NOT EXISTS (
                 SELECT 1 FROM jsonb_array_elements(c.list) AS e(value)
                 WHERE (CASE WHEN jsonb_typeof(e.value) = 'object'
                             THEN e.value #>> '{possession,phishingResistant}' END)
                       IS DISTINCT FROM 'REQUIRED')
            THEN 1 ELSE 0 END AS phishing_resistant,
       j.raw #>> '{conditions,network,connection}' AS network_connection
FROM policy_rules r
JOIN policies p ON p.org_id = r.org_id AND p.id = r.policy_id
CROSS JOIN LATERAL (SELECT r.raw::jsonb AS raw) j
CROSS JOIN LATERAL (
    SELECT CASE WHEN jsonb_typeof(j.raw #> '{actions,appSignOn,verificationMethod,constraints}')
                     = 'array'
                THEN j.raw #> '{actions,appSignOn,verificationMethod,constraints}'
                ELSE '[]'::jsonb END AS list) c
WHERE p.type = 'ACCESS_POLICY';

CREATE VIEW network_zone_anonymizers AS
SELECT z.org_id, z.id AS zone_id, z.name, z.type, z.status, z.usage,
       j.raw ->> 'proxyType' AS proxy_type,
       CASE WHEN UPPER(COALESCE(j.raw ->> 'proxyType', '')) IN ('ANY', 'TOR', 'TORANONYMIZER')
              OR ((c.inc @> '["ALL_ANONYMIZERS"]' OR c.inc @> '["ALL_IP_SERVICES"]'
                   OR c.inc @> '["ANONYMIZER_TOR"]')
                  AND NOT (c.exc @> '["ALL_ANONYMIZERS"]' OR c.exc @> '["ANONYMIZER_TOR"]'))
            THEN 1 ELSE 0 END AS matches_tor,
       CASE WHEN UPPER(COALESCE(j.raw ->> 'proxyType', '')) IN ('ANY', 'NOTTORANONYMIZER')
              OR ((c.inc @> '["ALL_ANONYMIZERS"]' OR c.inc @> '["ALL_IP_SERVICES"]'
                   OR c.inc @> '["ALL_ANONYMIZERS_EXCEPT_TOR"]')
                  AND NOT (c.exc @> '["ALL_ANONYMIZERS"]'
                           OR c.exc @> '["ALL_ANONYMIZERS_EXCEPT_TOR"]'))
            THEN 1 ELSE 0 END AS matches_other_anonymizers
FROM network_zones z
CROSS JOIN LATERAL (SELECT z.raw::jsonb AS raw) j
CROSS JOIN LATERAL (
    SELECT COALESCE(j.raw #> '{ipServiceCategories,include}', '[]'::jsonb) AS inc,
           COALESCE(j.raw #> '{ipServiceCategories,exclude}', '[]'::jsonb) AS exc) c;

CREATE VIEW threat_insight AS
SELECT s.org_id, j.raw ->> 'action' AS action,
       CASE WHEN jsonb_typeof(j.raw -> 'excludeZones') = 'array'
            THEN jsonb_array_length(j.raw -> 'excludeZones')::bigint ELSE 0 END AS excluded_zones,
       j.raw ->> 'lastUpdated' AS last_updated
FROM org_settings s
CROSS JOIN LATERAL (SELECT s.raw::jsonb AS raw) j
WHERE s.name = 'threat_insight';

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

CREATE VIEW app_grant_scopes AS
SELECT g.org_id, g.app_id, a.label AS app_label, a.status AS app_status,
       a.raw::jsonb #>> '{settings,oauthClient,application_type}' AS application_type,
       g.id AS grant_id, g.scope_id, g.status AS grant_status, g.created,
       CASE WHEN g.scope_id LIKE 'okta.%.manage' AND g.scope_id NOT LIKE 'okta.myAccount.%'
            THEN 1 ELSE 0 END AS admin_scope
FROM app_grants g
LEFT JOIN apps a ON a.org_id = g.org_id AND a.id = g.app_id;

CREATE VIEW authenticator_settings AS
SELECT a.org_id, a.id AS authenticator_id, a.key, a.type, a.name, a.status,
       j.raw #>> '{settings,allowedFor}' AS allowed_for,
       j.raw #>> '{settings,compliance,fips}' AS fips,
       j.raw #>> '{settings,userVerification}' AS user_verification
FROM authenticators a
CROSS JOIN LATERAL (SELECT a.raw::jsonb AS raw) j;
