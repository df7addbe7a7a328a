-- oktasync mirror schema, version 3: the file says what it is.
--
-- `application_id` (SQLite's header field for exactly this, bytes 68-71) marks the file as an
-- oktasync mirror, so that commands can refuse a database of another program before changing
-- anything in it. `mirror_meta` holds facts about the file itself, e.g. `created_by = demo`
-- for a mirror that `oktasync demo` made and may therefore replace.
PRAGMA application_id = 1869312889; -- 0x6F6B7379, "oksy"

CREATE TABLE mirror_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Access answers name each user's status: a DEPROVISIONED or SUSPENDED user still listed by
-- an app or an admin group cannot sign in, and a reader must be able to tell.
DROP VIEW app_access;
CREATE VIEW app_access AS
SELECT au.org_id, au.app_id, a.label AS app_label, au.user_id, u.login,
       'DIRECT' AS via, NULL AS via_group_id, NULL AS via_group_name, u.status AS user_status
FROM app_users au
JOIN apps a ON a.org_id = au.org_id AND a.id = au.app_id
LEFT JOIN users u ON u.org_id = au.org_id AND u.id = au.user_id
WHERE au.scope = 'USER'
UNION ALL
SELECT ag.org_id, ag.app_id, a.label AS app_label, m.user_id, u.login,
       'GROUP' AS via, ag.group_id AS via_group_id, g.name AS via_group_name,
       u.status AS user_status
FROM app_groups ag
JOIN apps a ON a.org_id = ag.org_id AND a.id = ag.app_id
JOIN group_members m ON m.org_id = ag.org_id AND m.group_id = ag.group_id
LEFT JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id
LEFT JOIN groups g ON g.org_id = ag.org_id AND g.id = ag.group_id;

DROP VIEW admins;
CREATE VIEW admins AS
SELECT r.org_id, r.assignee_id AS user_id, u.login, r.role_type, r.label AS role_label,
       r.id AS assignment_id, r.status, 'DIRECT' AS via, NULL AS via_group_id,
       NULL AS via_group_name, u.status AS user_status
FROM role_assignments r
LEFT JOIN users u ON u.org_id = r.org_id AND u.id = r.assignee_id
WHERE r.assignee_type = 'USER'
UNION ALL
SELECT r.org_id, m.user_id, u.login, r.role_type, r.label AS role_label,
       r.id AS assignment_id, r.status, 'GROUP' AS via, r.assignee_id AS via_group_id,
       g.name AS via_group_name, u.status AS user_status
FROM role_assignments r
JOIN group_members m ON m.org_id = r.org_id AND m.group_id = r.assignee_id
LEFT JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id
LEFT JOIN groups g ON g.org_id = r.org_id AND g.id = r.assignee_id
WHERE r.assignee_type = 'GROUP';

-- Who made a change in Okta: the System Log event's actor ("alternateId (type)"), where an
-- event caused the change.
ALTER TABLE changes ADD COLUMN actor TEXT;
