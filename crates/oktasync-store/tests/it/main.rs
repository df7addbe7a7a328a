//! Integration tests of the store against real databases: the stories of `runs` and `changes`
//! run on SQLite (files in temporary directories) and on PostgreSQL (a database of their own
//! on the server at 127.0.0.1:5432, see `backend`); `files` covers what only SQLite files
//! have, `postgres` what only PostgreSQL databases have.

mod backend;
mod changes;
mod files;
mod grants;
mod leases;
mod log_events;
mod postgres;
mod push;
mod roles;
mod runs;
