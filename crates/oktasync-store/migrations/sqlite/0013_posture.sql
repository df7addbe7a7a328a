-- oktasync mirror schema, version 13: posture. Documented in SCHEMA.md. Views that posture
-- checks read (read them, adapt the checks: `oktasync posture --list` prints each check's SQL),
-- and the findings of each run, kept with when they were first seen, last seen and resolved.

-- Each user's MFA factors summed up: how many are ACTIVE, how many of those resist phishing
-- (WebAuthn/FIDO2, U2F, Okta FastPass's signed nonce), and how many are weak (SMS, voice call,
-- email, security question). Users without factor rows are absent.
CREATE VIEW user_factor_summary AS
SELECT f.org_id, f.user_id,
       SUM(CASE WHEN f.status = 'ACTIVE' THEN 1 ELSE 0 END) AS active_factors,
       SUM(CASE WHEN f.status = 'ACTIVE'
                 AND f.factor_type IN ('webauthn', 'u2f', 'signed_nonce') THEN 1 ELSE 0 END)
           AS phishing_resistant_factors,
       SUM(CASE WHEN f.status = 'ACTIVE'
                 AND f.factor_type IN ('sms', 'call', 'email', 'question') THEN 1 ELSE 0 END)
           AS weak_factors
FROM factors f
GROUP BY f.org_id, f.user_id;

-- One row per admin user (ACTIVE or not) and role, however held (the `admins` view, distinct).
CREATE VIEW admin_users AS
SELECT DISTINCT a.org_id, a.user_id, a.login, a.role_type, a.user_status
FROM admins a
WHERE a.user_id IS NOT NULL;

-- An app's provisioning features (`features[]`), one row each.
CREATE VIEW app_features AS
SELECT a.org_id, a.id AS app_id, a.label, a.status, f.value AS feature
FROM apps a, json_each(a.raw, '$.features') f
WHERE json_type(a.raw, '$.features') = 'array';

-- An identity provider's provisioning and account-link policy.
CREATE VIEW idp_policies AS
SELECT i.org_id, i.id AS idp_id, i.name, i.type, i.status, i.created,
       json_extract(i.raw, '$.policy.provisioning.action') AS provisioning_action,
       json_extract(i.raw, '$.policy.accountLink.action') AS account_link_action
FROM idps i;

-- One posture run.
CREATE TABLE posture_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          INTEGER NOT NULL,
    at              TEXT NOT NULL,
    checks          INTEGER NOT NULL,
    failing         INTEGER NOT NULL,
    findings        INTEGER NOT NULL,
    new_findings    INTEGER NOT NULL,
    resolved        INTEGER NOT NULL
);

-- One row per check and subject (a user's login, an app, a group...) ever found failing.
-- `resolved_at` is set by the first run that no longer finds it; a finding that comes back
-- opens again (resolved_at cleared, first_seen kept).
CREATE TABLE posture_findings (
    org_id          INTEGER NOT NULL,
    check_id        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    severity        TEXT NOT NULL,
    -- JSON object: the row the check's SQL returned
    evidence        TEXT NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    resolved_at     TEXT,
    PRIMARY KEY (org_id, check_id, subject)
);
