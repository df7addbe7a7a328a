-- oktasync mirror schema, version 2: the change log. Documented for readers in SCHEMA.md.
--
-- One row per mirror row that a run added, updated or removed. The first full sync of a table
-- is its baseline and writes no rows here; every later change does. `at` is when the change
-- happened in Okta (the System Log event's `published`) where an event says so, else when the
-- run observed it. History queries ("who was in group G at time T") start from the current
-- mirror and undo, per row key, the changes made after T (see SCHEMA.md).
CREATE TABLE changes (
    change_id       INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL,
    run_id          INTEGER NOT NULL,
    at              TEXT NOT NULL,
    -- full, delta or reconcile
    source          TEXT NOT NULL,
    -- the mirror table: users, groups, group_members, apps, app_users, app_groups,
    -- role_assignments, idps, factors
    entity          TEXT NOT NULL,
    -- the row's key columns joined by '/'
    entity_id       TEXT NOT NULL,
    -- add, update or remove
    op              TEXT NOT NULL,
    -- the user, group and app the row concerns, where it concerns one
    user_id         TEXT,
    group_id        TEXT,
    app_id          TEXT,
    -- JSON array of dotted paths into the Okta JSON (updates only)
    changed_fields  TEXT NOT NULL DEFAULT '[]',
    -- JSON: updates, the changed fields' old and new values by path; adds, `new` holds the
    -- row's columns; removes, `old` does
    old             TEXT,
    new             TEXT,
    event_uuid      TEXT
);
CREATE INDEX changes_at ON changes (org_id, at);
CREATE INDEX changes_entity ON changes (org_id, entity, entity_id, change_id);
CREATE INDEX changes_user ON changes (org_id, user_id, change_id);
CREATE INDEX changes_group ON changes (org_id, group_id, change_id);
