//! `purge`: what the periodic task deletes, now and in one transaction.

use super::AdminError;
use crate::core::principal::EndReason;
use crate::core::state::AppState;
use crate::sessions::lifecycle::{end_sessions, Sessions};
use crate::sessions::sweeper::{delete_old_ended, MAIL_LINK_GRACE_SECS};

/// What one purge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub sessions_expired: u64,
    pub sessions_deleted: u64,
    pub history_events: u64,
    pub throttle_rows: u64,
    pub mail_links: u64,
    pub app_tokens_and_requests: u64,
    pub signing_keys: u64,
}

/// Everything due at `now`, in one transaction: all of it goes, or (on an error) none of it.
pub async fn purge_now(state: &AppState, now: i64) -> Result<PurgeReport, sqlx::Error> {
    let retention = state.config.history_retention_days as i64 * 24 * 3600;
    let mut tx = state.db.pool.begin().await?;
    let report = PurgeReport {
        sessions_expired: end_sessions(&mut tx, Sessions::AnyUpTo(i64::MAX), EndReason::Expired, now).await?.len()
            as u64,
        sessions_deleted: delete_old_ended(&mut tx, now, i64::MAX).await?,
        history_events: crate::history::store::purge_batch(&mut tx, now - retention, i64::MAX).await?,
        throttle_rows: crate::core::throttle::purge_lapsed(&mut tx, now).await?,
        mail_links: crate::mail::links::purge_expired(&mut tx, now - MAIL_LINK_GRACE_SECS).await?,
        app_tokens_and_requests: crate::apps::service::purge_expired(&mut tx, now).await?,
        signing_keys: crate::oidc::keys::purge_unpublished(&mut tx, now).await?,
    };
    tx.commit().await?;
    Ok(report)
}

pub(super) async fn run(state: &AppState) -> Result<String, AdminError> {
    let r = purge_now(state, state.db.clock.now()).await?;
    Ok(format!(
        "purged: {} session(s) expired, {} old ended session(s) deleted, {} history event(s) past retention, \
         {} lapsed sign-in limit(s), {} expired mail link(s), {} expired app token(s) and pairing request(s), {} signing key(s) no longer published\n",
        r.sessions_expired,
        r.sessions_deleted,
        r.history_events,
        r.throttle_rows,
        r.mail_links,
        r.app_tokens_and_requests,
        r.signing_keys
    ))
}
