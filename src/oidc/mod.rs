//! Keycard as an OpenID Connect provider: other apps sign people in through it (issue 31). So far
//! the registry of those apps ([`clients`]), which the operator keeps with `keycard admin apps …`,
//! the keys Keycard signs with ([`keys`]), published at `/oauth/jwks` ([`endpoints`]), and the
//! check of an authorization request ([`authorize`]) and of an app's credentials at the token
//! endpoint ([`client_auth`]), to be served with the sign-in, consent and token steps they lead to.

pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod endpoints;
pub mod keys;
