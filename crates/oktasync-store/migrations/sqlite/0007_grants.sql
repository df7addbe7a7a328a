-- oktasync mirror schema, version 7: time-bound group grants and their audit trail.
-- Documented in SCHEMA.md. Unlike the mirrored tables these are oktasync's own records: a
-- full sync never touches them.
CREATE TABLE grants (
    grant_id         INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL,
    user_id          TEXT NOT NULL,
    group_id         TEXT NOT NULL,
    -- the user's login and the group's name when requested
    user_login       TEXT,
    group_name       TEXT,
    reason           TEXT,
    ticket           TEXT,
    requested_by     TEXT,
    -- the policy that allowed it
    policy           TEXT,
    requested_at     TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    -- pending_approval, denied, pending, adding, active, revoke_failed, revoked, ended_externally,
    -- failed
    state            TEXT NOT NULL,
    approved_by      TEXT,
    -- 1: the user was a member before the grant; the membership is never removed for it
    pre_existing     INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_error       TEXT,
    ended_at         TEXT,
    idempotency_key  TEXT,
    -- the enforcer working on it, and until when its claim holds
    claimed_by       TEXT,
    claimed_until    TEXT,
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX grants_work ON grants (org_id, state, expires_at);
CREATE INDEX grants_membership ON grants (org_id, user_id, group_id);

-- Append-only: one row per request, approval, add, extension, removal, failure.
CREATE TABLE grant_audit (
    seq              INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL,
    grant_id         INTEGER NOT NULL,
    at               TEXT NOT NULL,
    action           TEXT NOT NULL,
    actor            TEXT,
    detail           TEXT,
    -- Okta's X-Okta-Request-Id of the call recorded
    okta_request_id  TEXT,
    -- the System Log event showing that call, once seen
    log_event_uuid   TEXT
);
CREATE INDEX grant_audit_grant ON grant_audit (org_id, grant_id, seq);
