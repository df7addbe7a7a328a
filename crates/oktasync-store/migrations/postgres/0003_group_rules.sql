-- oktasync mirror schema, version 3: group rules (GET /api/v1/groups/rules). Documented in
-- SCHEMA.md.
CREATE TABLE group_rules (
    org_id        BIGINT NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C",
    -- ACTIVE, INACTIVE or INVALID
    status        TEXT COLLATE "C",
    -- conditions.expression.value, in Okta Expression Language
    expression    TEXT COLLATE "C",
    created       TEXT COLLATE "C",
    last_updated  TEXT COLLATE "C",
    raw           TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One row per group a rule adds users to: "which rules feed this group?"
CREATE VIEW group_rule_targets AS
SELECT r.org_id, r.id AS rule_id, r.name AS rule_name, r.status AS rule_status,
       t.value AS group_id
FROM group_rules r,
     jsonb_array_elements_text(r.raw::jsonb -> 'actions' -> 'assignUserToGroups' -> 'groupIds') AS t(value);
