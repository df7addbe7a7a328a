//! Integration tests of the sync engine: the emulator over real HTTP on 127.0.0.1, real
//! SQLite files in temporary directories.

mod calendar;
mod events;
mod failure;
mod incremental;
mod killed;
mod mirror;
mod reader;
mod same_second;
mod scope;
mod support;
