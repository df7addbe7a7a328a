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
