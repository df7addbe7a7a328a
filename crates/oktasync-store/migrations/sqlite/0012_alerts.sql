-- oktasync mirror schema, version 12: detection alerts. Documented in SCHEMA.md. Detection rules
-- run over log_events (each event once, from the `detect.seq` checkpoint); what they find is one
-- row per rule, entity and window, updated as more matching events arrive in that window.

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          INTEGER NOT NULL,
    -- the rule's stable id, e.g. okta.mfa.push_bombing
    rule_id         TEXT NOT NULL,
    -- info, low, medium, high, critical
    severity        TEXT NOT NULL,
    title           TEXT NOT NULL,
    -- what the alert is about: a user's login, a client IP, `dtHash user`, or `org`
    entity          TEXT NOT NULL,
    -- the start of the rule's deduplication window the alert belongs to (RFC 3339, UTC, ms)
    window_start    TEXT NOT NULL,
    -- `published` of the earliest and latest matching events
    first_event     TEXT NOT NULL,
    last_event      TEXT NOT NULL,
    event_count     INTEGER NOT NULL,
    -- JSON array of the matching events' uuids (log_events.uuid), oldest first
    event_uuids     TEXT NOT NULL,
    summary         TEXT NOT NULL,
    -- JSON object: the evidence (IPs, countries, counts, thresholds)
    detail          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (org_id, rule_id, entity, window_start)
);
CREATE INDEX alerts_by_time ON alerts (org_id, last_event);
