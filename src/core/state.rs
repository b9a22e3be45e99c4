//! State shared by every request: the database, the configuration and a few precomputed values.

use std::sync::Arc;

use leptos::config::LeptosOptions;

use super::{config::Config, db::Db};

/// Cheap to clone (one reference count): every request, server function and render takes a copy.
#[derive(Clone, Debug)]
pub struct AppState(Arc<SharedState>);

/// What [`AppState`] holds; its fields are read through `state.db`, `state.config` … (`Deref`).
#[derive(Clone, Debug)]
pub struct SharedState {
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
    pub fn new(shared: SharedState) -> AppState {
        AppState(Arc::new(shared))
    }

    /// A copy with `change` applied (tests swap a part, e.g. a smaller hashing pool).
    pub fn with(&self, change: impl FnOnce(&mut SharedState)) -> AppState {
        let mut shared = SharedState::clone(&self.0);
        change(&mut shared);
        AppState::new(shared)
    }

    /// The state, inside a server function or a page render.
    pub fn current() -> Result<AppState, crate::errors::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| crate::errors::AppError::internal("AppState missing"))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.0
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
