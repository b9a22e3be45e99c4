//! Server-side sessions: the tower-sessions store over Keycard's own `sessions` table
//! ([`store`]), typed session data ([`keys`]), loading the request's principal ([`principal`]),
//! signing in ([`sign_in`]) and out ([`sign_out`]), the page guard ([`guard`]), the one way sessions end and the one
//! definition of a live session ([`lifecycle`]), the expiry sweep ([`sweeper`]), the `next`
//! path check ([`next`]) and the frame's server functions ([`api`]).

pub mod api;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod keys;
#[cfg(feature = "ssr")]
pub mod lifecycle;
pub mod next;
#[cfg(feature = "ssr")]
pub mod principal;
#[cfg(feature = "ssr")]
pub mod sign_in;
#[cfg(feature = "ssr")]
pub mod sign_out;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod sweeper;
