//! SQL for `passkeys` and the account's passkey user handle.

use sqlx::{AnyConnection, Row};
use webauthn_rs::prelude::{Passkey, Uuid};

use crate::core::db::Db;

/// A stored passkey.
#[derive(Clone, Debug)]
pub struct StoredPasskey {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub passkey: Passkey,
    pub kind: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, name, credential, kind, created_at, last_used_at";

fn stored(row: &sqlx::any::AnyRow) -> Result<StoredPasskey, sqlx::Error> {
    let json: String = row.try_get(3)?;
    let passkey = serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(StoredPasskey {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        name: row.try_get(2)?,
        passkey,
        kind: row.try_get(4)?,
        created_at: row.try_get(5)?,
        last_used_at: row.try_get(6)?,
    })
}

/// The account's passkeys, oldest first.
pub async fn list(db: &Db, user_id: i64) -> Result<Vec<StoredPasskey>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY id"))
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(stored).collect()
}

/// The passkey with this credential id whose account has this user handle: both must match, so
/// a credential presented with another account's handle finds nothing.
pub async fn find_for_sign_in(
    db: &Db,
    credential_id: &str,
    user_handle: Uuid,
) -> Result<Option<StoredPasskey>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM passkeys p JOIN users u ON u.id = p.user_id \
         WHERE p.credential_id = $1 AND u.passkey_user_handle = $2",
        COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
    );
    let row = sqlx::query(&sql).bind(credential_id).bind(user_handle.to_string()).fetch_optional(&db.pool).await?;
    row.as_ref().map(stored).transpose()
}

/// The account's WebAuthn user handle, given now if it has none yet (one statement each way, so
/// two first passkeys added at once agree on it).
pub async fn user_handle(db: &Db, user_id: i64) -> Result<Uuid, sqlx::Error> {
    let fresh = Uuid::from_bytes(rand::random());
    sqlx::query("UPDATE users SET passkey_user_handle = $1 WHERE id = $2 AND passkey_user_handle IS NULL")
        .bind(fresh.to_string())
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    let text: String = sqlx::query_scalar("SELECT passkey_user_handle FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    Uuid::parse_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A new passkey row.
pub struct NewPasskey<'a> {
    pub user_id: i64,
    pub credential_id: &'a str,
    pub name: &'a str,
    pub passkey: &'a Passkey,
    pub kind: &'a str,
    pub at: i64,
}

/// Inserts the passkey unless the account already has [`super::MAX_PASSKEYS`] or the credential
/// is already registered; false when nothing was inserted.
pub async fn insert(conn: &mut AnyConnection, new: &NewPasskey<'_>) -> Result<bool, sqlx::Error> {
    let json = serde_json::to_string(new.passkey).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let inserted = sqlx::query(
        "INSERT INTO passkeys (user_id, credential_id, name, credential, kind, created_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) < $7 \
         ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(new.user_id)
    .bind(new.credential_id)
    .bind(new.name)
    .bind(json)
    .bind(new.kind)
    .bind(new.at)
    .bind(super::MAX_PASSKEYS)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// After a sign-in: the passkey's new counter and backup state, and when it was used.
pub async fn record_use(conn: &mut AnyConnection, id: i64, passkey: &Passkey, at: i64) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(passkey).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query("UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3")
        .bind(json)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Renames the account's passkey `id`; returns its old name, `None` when the account has no such passkey.
pub async fn rename(
    conn: &mut AnyConnection,
    user_id: i64,
    id: i64,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    let old: Option<String> = sqlx::query_scalar("SELECT name FROM passkeys WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    if old.is_some() {
        sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(id)
            .bind(user_id)
            .execute(conn)
            .await?;
    }
    Ok(old)
}

/// Deletes the account's passkey `id`; returns its name, `None` when there was none.
pub async fn remove(conn: &mut AnyConnection, user_id: i64, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name")
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}
