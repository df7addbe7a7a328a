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
