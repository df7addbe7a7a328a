-- oktasync mirror schema, version 5: tokens of the REST API (`oktasync serve`). Documented in
-- SCHEMA.md.
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
