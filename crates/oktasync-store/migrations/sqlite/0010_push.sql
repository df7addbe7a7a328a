-- oktasync mirror schema, version 10: push to other systems. Documented in SCHEMA.md. Like the
-- grants, oktasync's own records: a full sync never touches them.

-- What was last pushed to each target, per Okta user: what an incremental push compares the
-- mirror with, so that it sends only what changed.
CREATE TABLE push_state (
    org_id          INTEGER NOT NULL,
    target          TEXT NOT NULL,
    okta_user_id    TEXT NOT NULL,
    -- the id the target gave the account
    target_user_id  TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    -- SHA-256 of the mapped attributes and target groups as pushed
    content_hash    TEXT NOT NULL,
    -- JSON: the flat attributes as pushed ({"name.givenName": "Ada", ...})
    attributes      TEXT NOT NULL,
    -- JSON: the target groups the account was put in
    target_groups   TEXT NOT NULL,
    pushed_at       TEXT NOT NULL,
    PRIMARY KEY (org_id, target, okta_user_id)
);

-- One row per `oktasync push` (or push after a sync): what it planned and did.
CREATE TABLE push_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        INTEGER NOT NULL,
    target        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    ended_at      TEXT NOT NULL,
    -- 1: a dry run (nothing sent); 1: a full push (compared with the target's own listing)
    dry_run       INTEGER NOT NULL,
    full_push     INTEGER NOT NULL,
    -- succeeded, partial (some users failed), refused (over max_deletions), failed
    outcome       TEXT NOT NULL,
    -- JSON: operations planned and done, users skipped and failed
    counts        TEXT NOT NULL,
    -- JSON: [{"login": ..., "message": ...}] for each user that failed
    errors        TEXT NOT NULL,
    -- JSON: target HTTP calls by operation
    http_calls    TEXT NOT NULL,
    message       TEXT
);
CREATE INDEX push_runs_by_target ON push_runs (org_id, target, id);
