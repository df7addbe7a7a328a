-- oktasync mirror schema, version 5: what `oktasync serve` keeps (its API tokens, and how far
-- each change-feed sink has been delivered). Documented in SCHEMA.md.
--
-- Only a hash of each token is kept (SHA-256 of the whole token, hex): the token itself is
-- printed once, when it is created, and cannot be read back.
CREATE TABLE api_tokens (
    name          TEXT NOT NULL PRIMARY KEY,
    -- read, sync or admin
    scope         TEXT NOT NULL,
    -- the short name of the one org the token may reach; NULL: every org
    org_name      TEXT,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);

-- The change feed: per sink (`webhook:NAME`, `nats:SUBJECT-PREFIX`) and org, the last change
-- delivered. Delivery is at least once and in order: the position moves only after a sink
-- accepted everything up to it.
CREATE TABLE feed_positions (
    sink           TEXT NOT NULL,
    org_id         INTEGER NOT NULL,
    -- the change_id of the last change delivered
    change_id      INTEGER NOT NULL,
    delivered_at   TEXT,
    -- failed attempts since the last success
    failures       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    last_error_at  TEXT,
    PRIMARY KEY (sink, org_id)
);
