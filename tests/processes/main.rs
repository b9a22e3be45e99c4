//! Keycard as operators run it: real `keycard` processes over TCP on PostgreSQL.
//!
//! - Two processes on one database agree: a session signed out through one is refused by the other
//!   at its next request, a TOTP time step used on one is refused on the other, wrong passwords
//!   count on both, and the sweepers of both never end (or record) a session twice.
//! - PostgreSQL restarting under load: a cluster of the test's own is stopped and started while
//!   requests keep coming; meanwhile they get a clear 503 page quickly and `/readyz` says not
//!   ready; afterwards Keycard serves again by itself, with no session or event lost.
//!
//! Both need PostgreSQL (the machine's, and its server binaries), so they are ignored unless asked
//! for (`--include-ignored`, as `scripts/test` does).

// Tests stop at the first surprise: unwrapping is how they say so.
#![allow(clippy::unwrap_used)]

mod harness;
mod postgres_restart;
mod two_processes;
