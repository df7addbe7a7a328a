-- oktasync mirror schema, version 6: group rules (GET /api/v1/groups/rules). Documented in
-- SCHEMA.md.
CREATE TABLE group_rules (
    org_id        INTEGER NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT,
    -- ACTIVE, INACTIVE or INVALID
    status        TEXT,
    -- conditions.expression.value, in Okta Expression Language
    expression    TEXT,
    created       TEXT,
    last_updated  TEXT,
    raw           TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One row per group a rule adds users to: "which rules feed this group?"
CREATE VIEW group_rule_targets AS
SELECT r.org_id, r.id AS rule_id, r.name AS rule_name, r.status AS rule_status,
       t.value AS group_id
FROM group_rules r, json_each(r.raw, '$.actions.assignUserToGroups.groupIds') t;
