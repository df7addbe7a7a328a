-- Tokens of the REST API (see migrations/sqlite/0005).
CREATE TABLE api_tokens (
    name          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    scope         TEXT COLLATE "C" NOT NULL,
    org_name      TEXT COLLATE "C",
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at    TEXT COLLATE "C" NOT NULL,
    last_used_at  TEXT COLLATE "C"
);
