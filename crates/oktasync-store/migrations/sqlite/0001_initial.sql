-- oktasync mirror schema, version 1. Documented for readers in SCHEMA.md.
--
-- Every mirrored row is keyed by (org_id, Okta id). `raw` holds the Okta JSON object as
-- received, without `_links` and `_embedded`, keys sorted. Timestamps are Okta's ISO-8601
-- UTC strings (`2024-05-01T12:00:00.000Z`), which sort correctly as text.
-- No foreign keys between mirrored tables: Okta itself is not read in one snapshot (a
-- membership can name a user created after the user listing), and the mirror keeps what
-- Okta returned.

CREATE TABLE orgs (
    org_id      INTEGER PRIMARY KEY,
    url         TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    org_id            INTEGER NOT NULL,
    id                TEXT NOT NULL,
    status            TEXT,
    login             TEXT,
    email             TEXT,
    first_name        TEXT,
    last_name         TEXT,
    display_name      TEXT,
    department        TEXT,
    title             TEXT,
    employee_number   TEXT,
    manager_id        TEXT,
    user_type_id      TEXT,
    created           TEXT,
    activated         TEXT,
    status_changed    TEXT,
    last_login        TEXT,
    last_updated      TEXT,
    password_changed  TEXT,
    raw               TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX users_login ON users (org_id, login);
CREATE INDEX users_email ON users (org_id, email);
CREATE INDEX users_status ON users (org_id, status);
CREATE INDEX users_department ON users (org_id, department);

CREATE TABLE groups (
    org_id                   INTEGER NOT NULL,
    id                       TEXT NOT NULL,
    type                     TEXT,
    name                     TEXT,
    description              TEXT,
    created                  TEXT,
    last_updated             TEXT,
    last_membership_updated  TEXT,
    raw                      TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX groups_name ON groups (org_id, name);

CREATE TABLE group_members (
    org_id    INTEGER NOT NULL,
    group_id  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    PRIMARY KEY (org_id, group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (org_id, user_id);

CREATE TABLE apps (
    org_id        INTEGER NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT,
    label         TEXT,
    status        TEXT,
    sign_on_mode  TEXT,
    created       TEXT,
    last_updated  TEXT,
    raw           TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX apps_label ON apps (org_id, label);

-- One row per AppUser: scope USER means assigned directly, GROUP means through a group
-- (which group: join app_groups with group_members, or use the app_access view).
CREATE TABLE app_users (
    org_id          INTEGER NOT NULL,
    app_id          TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    scope           TEXT,
    status          TEXT,
    external_id     TEXT,
    user_name       TEXT,
    sync_state      TEXT,
    created         TEXT,
    last_updated    TEXT,
    status_changed  TEXT,
    raw             TEXT NOT NULL,
    PRIMARY KEY (org_id, app_id, user_id)
);
CREATE INDEX app_users_user ON app_users (org_id, user_id);

CREATE TABLE app_groups (
    org_id        INTEGER NOT NULL,
    app_id        TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    priority      INTEGER,
    last_updated  TEXT,
    raw           TEXT NOT NULL,
    PRIMARY KEY (org_id, app_id, group_id)
);
CREATE INDEX app_groups_group ON app_groups (org_id, group_id);

-- Admin role assignments. assignee_type USER rows are roles granted to the user directly;
-- GROUP rows are roles granted to a group (its members hold them: see the admins view).
CREATE TABLE role_assignments (
    org_id           INTEGER NOT NULL,
    assignee_type    TEXT NOT NULL,
    assignee_id      TEXT NOT NULL,
    id               TEXT NOT NULL,
    role_type        TEXT,
    label            TEXT,
    status           TEXT,
    assignment_type  TEXT,
    role_id          TEXT,
    created          TEXT,
    last_updated     TEXT,
    raw              TEXT NOT NULL,
    PRIMARY KEY (org_id, assignee_type, assignee_id, id)
);

CREATE TABLE idps (
    org_id         INTEGER NOT NULL,
    id             TEXT NOT NULL,
    name           TEXT,
    type           TEXT,
    status         TEXT,
    issuer_mode    TEXT,
    protocol_type  TEXT,
    created        TEXT,
    last_updated   TEXT,
    raw            TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE factors (
    org_id        INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    id            TEXT NOT NULL,
    factor_type   TEXT,
    provider      TEXT,
    vendor_name   TEXT,
    status        TEXT,
    created       TEXT,
    last_updated  TEXT,
    raw           TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, id)
);

-- One row per sync run. A run is inserted as `running` when it starts; it becomes
-- `succeeded` in the same transaction that applies its data, or `failed` (with `error`) when
-- it stops on an error. A row left `running` by a killed process is marked `interrupted` by
-- the next run. JSON columns: counts {resource: n}, changes {table: {added, updated,
-- removed}}, calls_by_bucket {bucket: n}, resources [name].
CREATE TABLE sync_runs (
    run_id             INTEGER PRIMARY KEY,
    org_id             INTEGER NOT NULL,
    kind               TEXT NOT NULL,
    resources          TEXT NOT NULL,
    started_at         TEXT NOT NULL,
    ended_at           TEXT,
    outcome            TEXT NOT NULL,
    error              TEXT,
    counts             TEXT,
    changes            TEXT,
    api_calls          INTEGER,
    fewest_calls       INTEGER,
    calls_by_bucket    TEXT,
    http_429           INTEGER,
    retries            INTEGER,
    rate_limit_wait_s  REAL,
    pid                INTEGER
);
CREATE INDEX sync_runs_org ON sync_runs (org_id, run_id);

-- Named resume points per org (System Log `next` link, watermarks) for incremental sync.
-- Written in the same transaction as the data they describe.
CREATE TABLE checkpoints (
    org_id      INTEGER NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    run_id      INTEGER,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- A user's groups.
CREATE VIEW user_groups AS
SELECT u.org_id, u.id AS user_id, u.login, g.id AS group_id, g.name AS group_name,
       g.type AS group_type
FROM group_members m
JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id
JOIN groups g ON g.org_id = m.org_id AND g.id = m.group_id;

-- Who can use each app, and through what: one row per (app, user, way). `via` is DIRECT
-- for a direct assignment, GROUP for access through the group named in via_group_id (a user
-- in two assigned groups has two rows).
CREATE VIEW app_access AS
SELECT au.org_id, au.app_id, a.label AS app_label, au.user_id, u.login,
       'DIRECT' AS via, NULL AS via_group_id, NULL AS via_group_name
FROM app_users au
JOIN apps a ON a.org_id = au.org_id AND a.id = au.app_id
LEFT JOIN users u ON u.org_id = au.org_id AND u.id = au.user_id
WHERE au.scope = 'USER'
UNION ALL
SELECT ag.org_id, ag.app_id, a.label AS app_label, m.user_id, u.login,
       'GROUP' AS via, ag.group_id AS via_group_id, g.name AS via_group_name
FROM app_groups ag
JOIN apps a ON a.org_id = ag.org_id AND a.id = ag.app_id
JOIN group_members m ON m.org_id = ag.org_id AND m.group_id = ag.group_id
LEFT JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id
LEFT JOIN groups g ON g.org_id = ag.org_id AND g.id = ag.group_id;

-- Admins and how they hold each role: DIRECT (granted to the user) or GROUP (granted to
-- the group named in via_group_id, of which the user is a member).
CREATE VIEW admins AS
SELECT r.org_id, r.assignee_id AS user_id, u.login, r.role_type, r.label AS role_label,
       r.id AS assignment_id, r.status, 'DIRECT' AS via, NULL AS via_group_id,
       NULL AS via_group_name
FROM role_assignments r
LEFT JOIN users u ON u.org_id = r.org_id AND u.id = r.assignee_id
WHERE r.assignee_type = 'USER'
UNION ALL
SELECT r.org_id, m.user_id, u.login, r.role_type, r.label AS role_label,
       r.id AS assignment_id, r.status, 'GROUP' AS via, r.assignee_id AS via_group_id,
       g.name AS via_group_name
FROM role_assignments r
JOIN group_members m ON m.org_id = r.org_id AND m.group_id = r.assignee_id
LEFT JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id
LEFT JOIN groups g ON g.org_id = r.org_id AND g.id = r.assignee_id
WHERE r.assignee_type = 'GROUP';
