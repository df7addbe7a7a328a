-- oktasync mirror schema, version 11: the System Log, kept. Documented in SCHEMA.md. Every event
-- an incremental run reads is stored once (by uuid), with typed columns for what posture and
-- detection ask of it, and pruned past the retention in the same transaction. A full sync
-- never touches these tables.

CREATE TABLE log_events (
    -- local order of arrival: what detection walks
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id              INTEGER NOT NULL,
    uuid                TEXT NOT NULL,
    -- RFC 3339 in UTC with milliseconds (2026-12-02T03:04:05.678Z): sorts as text
    published           TEXT NOT NULL,
    event_type          TEXT,
    severity            TEXT,
    display_message     TEXT,
    actor_id            TEXT,
    actor_type          TEXT,
    actor_alternate_id  TEXT,
    actor_display_name  TEXT,
    client_ip           TEXT,
    country             TEXT,
    state               TEXT,
    city                TEXT,
    lat                 REAL,
    lon                 REAL,
    user_agent          TEXT,
    ua_os               TEXT,
    ua_browser          TEXT,
    outcome_result      TEXT,
    outcome_reason      TEXT,
    -- securityContext: 1/0, NULL when Okta did not say
    is_proxy            INTEGER,
    as_number           INTEGER,
    as_org              TEXT,
    isp                 TEXT,
    -- authenticationContext.externalSessionId and authenticationContext.rootSessionId
    session_id          TEXT,
    root_session_id     TEXT,
    -- debugContext.debugData.dtHash and .requestId
    dt_hash             TEXT,
    request_id          TEXT,
    -- transaction.id
    transaction_id      TEXT,
    -- the sync run that stored it
    run_id              INTEGER,
    -- the event as Okta returned it (JSON)
    raw                 TEXT NOT NULL,
    UNIQUE (org_id, uuid)
);
CREATE INDEX log_events_by_time ON log_events (org_id, published);
CREATE INDEX log_events_by_type ON log_events (org_id, event_type, published);
CREATE INDEX log_events_by_actor ON log_events (org_id, actor_id, published);
CREATE INDEX log_events_by_ip ON log_events (org_id, client_ip, published);
CREATE INDEX log_events_by_dt_hash ON log_events (org_id, dt_hash) WHERE dt_hash IS NOT NULL;

-- An event's targets (`target[]`), in order.
CREATE TABLE log_event_targets (
    org_id          INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    idx             INTEGER NOT NULL,
    target_id       TEXT,
    target_type     TEXT,
    alternate_id    TEXT,
    display_name    TEXT,
    PRIMARY KEY (org_id, seq, idx)
);
CREATE INDEX log_event_targets_by_id ON log_event_targets (org_id, target_id, seq);
