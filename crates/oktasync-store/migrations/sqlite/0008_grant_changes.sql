-- oktasync mirror schema, version 8: grants in the change log, and accounts created for grants.
-- Documented in SCHEMA.md.

-- The X-Okta-Request-Id of the request that made a change, as its System Log event names it
-- (debugContext.debugData.requestId): a membership a grant added or removed is told from one
-- someone else changed by it. Grant records (entity 'grants', source 'grant', run_id 0) carry
-- the request id of the call they record.
ALTER TABLE changes ADD COLUMN okta_request_id TEXT;
CREATE INDEX grant_audit_request ON grant_audit (org_id, okta_request_id);

-- The machine and process of the enforcer holding a grant's claim: on that machine, the claim
-- of a process that is gone is taken over at once instead of when it runs out.
ALTER TABLE grants ADD COLUMN claimed_host TEXT;
ALTER TABLE grants ADD COLUMN claimed_pid INTEGER;

-- Okta accounts oktasync created for a grant (`grant add --create-user`). Only these are ever
-- deactivated and deleted, `cleanup_after_days` after their last grant ended.
CREATE TABLE grant_users (
    org_id             INTEGER NOT NULL,
    login              TEXT NOT NULL,
    -- NULL until Okta answered the create
    user_id            TEXT,
    -- creating (asked, answer not recorded), created, deactivated, deleted
    state              TEXT NOT NULL,
    requested_at       TEXT NOT NULL,
    created_by         TEXT,
    -- from the policy that allowed the grant; NULL: never cleaned up
    cleanup_after_days INTEGER,
    deactivated_at     TEXT,
    deleted_at         TEXT,
    last_error         TEXT,
    PRIMARY KEY (org_id, login)
);
