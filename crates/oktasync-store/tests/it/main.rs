//! Integration tests of the SQLite store against real files in temporary directories.

mod changes;
mod runs;
