-- What `oktasync serve` keeps: API tokens, change-feed positions (see migrations/sqlite/0005).
CREATE TABLE api_tokens (
    name          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    scope         TEXT COLLATE "C" NOT NULL,
    org_name      TEXT COLLATE "C",
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at    TEXT COLLATE "C" NOT NULL,
    last_used_at  TEXT COLLATE "C"
);

CREATE TABLE feed_positions (
    sink           TEXT COLLATE "C" NOT NULL,
    org_id         BIGINT NOT NULL,
    change_id      BIGINT NOT NULL,
    delivered_at   TEXT COLLATE "C",
    failures       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT COLLATE "C",
    last_error_at  TEXT COLLATE "C",
    PRIMARY KEY (sink, org_id)
);
