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
