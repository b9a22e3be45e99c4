//! State shared by every request: the database, the configuration and a few precomputed values.

use std::sync::Arc;

use leptos::config::LeptosOptions;

use super::{config::Config, db::Db};

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// An argon2id hash of a random password, verified against when the email is unknown so that
    /// both answers cost the same work.
    pub dummy_hash: Arc<str>,
    pub leptos_options: LeptosOptions,
    /// Encrypts TOTP secrets and keys recovery-code hashes (see [`super::secrets`]).
    pub secrets: Arc<super::secrets::SecretKey>,
    /// Bounds concurrent password hashing (see [`super::hashing`]).
    pub hashing: super::hashing::HashingPool,
    /// Work requests start without waiting for it (see [`super::detached`]).
    pub detached: super::detached::Detached,
}

impl AppState {
    /// The state, inside a server function or a page render.
    pub fn current() -> Result<AppState, crate::errors::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| crate::errors::AppError::internal("AppState missing"))
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
