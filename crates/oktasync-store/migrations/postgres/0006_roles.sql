-- oktasync mirror schema, version 6: group-to-role mapping. Documented in SCHEMA.md.

-- The `[[roles]]` of the configuration as last applied (after each sync, and by
-- `oktasync roles`): each role with the groups and apps its patterns named then, by id.
CREATE TABLE role_sources (
    org_id     BIGINT NOT NULL,
    role       TEXT COLLATE "C" NOT NULL,
    -- group or app; one row of kind role (object_id '') marks each role as applied
    kind       TEXT COLLATE "C" NOT NULL,
    object_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, role, kind, object_id)
);

-- Who held each role when it was last applied: what a later application compares against to
-- write role changes (entity user_roles) to the change log.
CREATE TABLE role_holders (
    org_id   BIGINT NOT NULL,
    role     TEXT COLLATE "C" NOT NULL,
    user_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, role, user_id)
);

-- A user's effective roles, one row per way they come: through a group they are a member of,
-- or through access to an app (directly or by a group assigned to it).
CREATE VIEW user_roles AS
SELECT r.org_id, r.role, m.user_id, u.login, 'group' AS via, r.object_id AS via_id,
       g.name AS via_name
FROM role_sources r
JOIN group_members m ON m.org_id = r.org_id AND m.group_id = r.object_id
LEFT JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id
LEFT JOIN groups g ON g.org_id = r.org_id AND g.id = r.object_id
WHERE r.kind = 'group'
UNION
SELECT r.org_id, r.role, a.user_id, a.login, 'app' AS via, r.object_id AS via_id,
       a.app_label AS via_name
FROM role_sources r
JOIN app_access a ON a.org_id = r.org_id AND a.app_id = r.object_id
WHERE r.kind = 'app';
