-- oktasync mirror schema, version 4: many orgs, several instances. Documented in SCHEMA.md.
--
-- Each org has a short name, unique in the mirror (by default the first label of its host:
-- `acme` for https://acme.okta.com). Orgs of older mirrors get theirs when a sync opens the
-- mirror (oktasync fills in names that are missing, choosing `acme-2` on a clash).
ALTER TABLE orgs ADD COLUMN name TEXT;
CREATE UNIQUE INDEX orgs_name ON orgs (name);

-- Which machine ran a run (with `pid`), and the lease it held, if any: a run whose lease has
-- expired, or (without a lease) whose process is gone from this machine, is `interrupted`.
ALTER TABLE sync_runs ADD COLUMN host TEXT;
ALTER TABLE sync_runs ADD COLUMN lease_owner TEXT;

-- Leases: who may do a piece of work now. A sync of one org is held by the row
-- (org_id, 'sync'); its holder renews `expires_at` while it works. A holder that dies stops
-- renewing, and once `expires_at` has passed anyone may take the lease over.
CREATE TABLE leases (
    org_id       INTEGER NOT NULL,
    purpose      TEXT NOT NULL,
    -- the holder's random token
    owner        TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    acquired_at  TEXT NOT NULL,
    renewed_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (org_id, purpose)
);
