//! One pool for SQLite or PostgreSQL through sqlx's `Any` driver: every query is written once in
//! portable SQL (`$n` placeholders, integers for times and flags, `RETURNING`, `ON CONFLICT`).

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::config::Config;

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub is_sqlite: bool,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens the pool; for SQLite the data directory and the database file are created if missing.
    pub async fn connect(config: &Config) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let is_sqlite = config.is_sqlite();
        if is_sqlite {
            if let Some(dir) = sqlite_parent_dir(&config.database_url) {
                std::fs::create_dir_all(&dir).map_err(sqlx::Error::Io)?;
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 8 } else { 10 })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if is_sqlite {
                        // WAL lets readers proceed while one writer commits; foreign keys enforce
                        // ON DELETE CASCADE; busy_timeout queues writers instead of failing.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&config.database_url)
            .await?;
        Ok(Db { pool, is_sqlite })
    }

    /// Applies the embedded migrations for this database kind.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        let migrator = if self.is_sqlite { &SQLITE_MIGRATIONS } else { &POSTGRES_MIGRATIONS };
        migrator.run(&self.pool).await
    }

    /// `SELECT 1`, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }
}

fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    std::path::Path::new(path).parent().map(|p| p.to_path_buf()).filter(|p| !p.as_os_str().is_empty())
}

/// Now, in Unix seconds: the only time format stored, identical on both databases.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// True when the error is a unique-constraint violation (duplicate email, say).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::sqlite_parent_dir;

    #[test]
    fn parent_dir_of_sqlite_urls() {
        assert_eq!(sqlite_parent_dir("sqlite://data/k.db?mode=rwc").unwrap(), std::path::Path::new("data"));
        assert_eq!(sqlite_parent_dir("sqlite:///tmp/x/k.db").unwrap(), std::path::Path::new("/tmp/x"));
        assert!(sqlite_parent_dir("sqlite::memory:").is_none());
        assert!(sqlite_parent_dir("sqlite://k.db").is_none());
    }
}
