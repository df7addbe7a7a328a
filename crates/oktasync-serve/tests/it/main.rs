//! Integration tests of `oktasync serve`: the real server on 127.0.0.1 in front of a real
//! mirror (a SQLite file, and a PostgreSQL database of the test's own), kept fresh from the
//! emulator over real HTTP.

mod api;
mod feed;
mod grants;
mod instances;
mod roles;
mod support;
