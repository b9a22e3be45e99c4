//! SQL for `totp_secrets` and `recovery_codes`. Single-use rules are conditional UPDATEs, so
//! they hold across instances sharing the database: a step or a recovery code is consumed by
//! exactly one request, whichever commits first.

use sqlx::Row;

use crate::core::db::Db;
use crate::core::origin::RequestOrigin;
use crate::core::state::AppState;
use crate::history::{store as history, Kind};

/// An account's TOTP row. `secret` is sealed (see [`crate::core::secrets`]).
#[derive(Clone)]
pub struct TotpRow {
    pub secret: String,
    pub enabled: bool,
    pub last_used_step: i64,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("secret", &"[sealed]")
            .field("enabled", &self.enabled)
            .field("last_used_step", &self.last_used_step)
            .finish()
    }
}

pub async fn totp_row(db: &Db, user_id: i64) -> Result<Option<TotpRow>, sqlx::Error> {
    let row = sqlx::query("SELECT secret, enabled_at, last_used_step FROM totp_secrets WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| TotpRow {
        secret: row.get(0),
        enabled: row.get::<Option<i64>, _>(1).is_some(),
        last_used_step: row.get(2),
    }))
}

pub async fn is_enabled(db: &Db, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(totp_row(db, user_id).await?.is_some_and(|row| row.enabled))
}

/// Stores a new pending secret, replacing an earlier pending one. Does nothing (returns false)
/// when two-step is already on: the confirmed secret is never overwritten this way.
pub async fn begin_enrolment(db: &Db, user_id: i64, sealed: &str, at: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO totp_secrets (user_id, secret, enabled_at, last_used_step, created_at) \
         VALUES ($1, $2, NULL, 0, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_used_step = 0, \
         created_at = excluded.created_at WHERE totp_secrets.enabled_at IS NULL",
    )
    .bind(user_id)
    .bind(sealed)
    .bind(at)
    .execute(&db.pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Turns two-step on (the pending secret, confirmed with the code of `step`) and stores the first
/// recovery codes, in one transaction. False when there was no pending enrolment to confirm.
pub async fn confirm_enrolment(
    state: &AppState,
    user_id: i64,
    step: i64,
    code_hashes: &[String],
    origin: &RequestOrigin,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = state.db.pool.begin().await?;
    let enabled = sqlx::query(
        "UPDATE totp_secrets SET enabled_at = $2, last_used_step = $3 \
         WHERE user_id = $1 AND enabled_at IS NULL AND last_used_step < $3",
    )
    .bind(user_id)
    .bind(at)
    .bind(step)
    .execute(&mut *tx)
    .await?;
    if enabled.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    insert_recovery_codes(&mut tx, user_id, code_hashes, at).await?;
    let event = history::Event::from_origin(origin, user_id, Kind::TwoStepOn, at, "Authenticator app");
    record(&mut tx, state, &event, None).await?;
    tx.commit().await?;
    Ok(true)
}

/// The change's history event and its notice by mail, in the change's transaction.
async fn record(
    conn: &mut sqlx::AnyConnection,
    state: &AppState,
    event: &history::Event,
    codes_left: Option<i64>,
) -> Result<(), sqlx::Error> {
    history::record(&mut *conn, event).await?;
    crate::mail::notices::for_event(conn, state, event, codes_left).await
}

async fn insert_recovery_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    code_hashes: &[String],
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, NULL)")
            .bind(user_id)
            .bind(hash)
            .bind(at)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Replaces the whole set of recovery codes in one transaction; false when two-step is off.
pub async fn replace_recovery_codes(
    state: &AppState,
    user_id: i64,
    code_hashes: &[String],
    origin: &RequestOrigin,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = state.db.pool.begin().await?;
    let enabled: Option<i64> =
        sqlx::query("SELECT COUNT(*) FROM totp_secrets WHERE user_id = $1 AND enabled_at IS NOT NULL")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
    if enabled.unwrap_or(0) == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    insert_recovery_codes(&mut tx, user_id, code_hashes, at).await?;
    let event = history::Event::from_origin(origin, user_id, Kind::RecoveryCodesRegenerated, at, "");
    record(&mut tx, state, &event, None).await?;
    tx.commit().await?;
    Ok(true)
}

/// Marks `step` used if it is newer than every step used before.
/// False when another request already used this step or a newer one.
pub async fn use_step(db: &Db, user_id: i64, step: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE totp_secrets SET last_used_step = $2 \
         WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_used_step < $2",
    )
    .bind(user_id)
    .bind(step)
    .execute(&db.pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks an unused recovery code used. False when no such unused code exists.
pub async fn use_recovery_code(
    state: &AppState,
    user_id: i64,
    code_hash: &str,
    origin: &RequestOrigin,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = state.db.pool.begin().await?;
    let result =
        sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(user_id)
            .bind(code_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    if result.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    let detail = if left == 1 { "1 code left".to_owned() } else { format!("{left} codes left") };
    let event = history::Event::from_origin(origin, user_id, Kind::RecoveryCodeUsed, at, &detail);
    record(&mut tx, state, &event, Some(left)).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn recovery_codes_left(db: &Db, user_id: i64) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?
        .get(0))
}

/// Turns two-step off: the secret and every recovery code go, in one transaction, with the
/// `two_step_off` history event when it was on.
pub async fn disable(state: &AppState, user_id: i64, origin: &RequestOrigin) -> Result<(), sqlx::Error> {
    turn_off(state, user_id, Kind::TwoStepOff, origin).await.map(|_| ())
}

/// Turns two-step off, recorded as `kind` (with its notice) when it was on: the secret and every
/// recovery code go, and a sign-in waiting at the code step ends (it could never finish), all in
/// one transaction. Returns whether it was on.
pub async fn turn_off(state: &AppState, user_id: i64, kind: Kind, origin: &RequestOrigin) -> Result<bool, sqlx::Error> {
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    let was_on = sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1 AND enabled_at IS NOT NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    if was_on {
        let t = state.db.clock.now();
        let waiting = crate::sessions::lifecycle::Sessions::CodeStepOf(user_id);
        crate::sessions::lifecycle::end_sessions(
            &mut tx,
            waiting,
            crate::core::principal::EndReason::SignedOutElsewhere,
            t,
        )
        .await?;
        record(&mut tx, state, &history::Event::from_origin(origin, user_id, kind, t, ""), None).await?;
    }
    tx.commit().await?;
    Ok(was_on)
}
