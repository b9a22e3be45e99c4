//! Keycard as an OpenID Connect provider: other apps sign people in through it (issue 31). So far
//! the registry of those apps ([`clients`]), which the operator keeps with `keycard admin apps …`,
//! and the keys Keycard signs with ([`keys`]), published at `/oauth/jwks` ([`endpoints`]).

pub mod clients;
pub mod endpoints;
pub mod keys;
