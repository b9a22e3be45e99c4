//! One pool for SQLite or PostgreSQL through sqlx's `Any` driver: every query is written once in
//! portable SQL (`$n` placeholders, integers for times and flags, `RETURNING`, `ON CONFLICT`).

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

use super::clock::Clock;
use super::config::Config;
use super::sqlite_reads::{Columns, NotRead, Param, SqliteReader};

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub is_sqlite: bool,
    /// For a SQLite file: reads on the request's own thread ([`Db::read_rows`]).
    sqlite_reader: Option<std::sync::Arc<SqliteReader>>,
    /// The one source of "now" for every stored or compared time (the system's unless a test
    /// put its own).
    pub clock: Clock,
}

/// How long a request waits for a database connection before it is answered 503.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A PostgreSQL connection idle in the pool for this long is pinged before it is handed out (a
/// dead one is dropped and another taken): the server may have restarted meanwhile. One idle for
/// less passed sqlx's ping when it was put back, that long ago at most, so a request meets a
/// connection the server closed only in that window (as a 503, like any unreachable database).
pub const RECHECK_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Each database's migrations, `(version, description, SQL)` in version order, written by
/// build.rs from `migrations/<database>/<version>_<description>.sql`.
mod migration_files {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

static SQLITE_MIGRATIONS: std::sync::LazyLock<Migrator> =
    std::sync::LazyLock::new(|| migrator(migration_files::SQLITE));
static POSTGRES_MIGRATIONS: std::sync::LazyLock<Migrator> =
    std::sync::LazyLock::new(|| migrator(migration_files::POSTGRES));

/// The migrator sqlx's `migrate!` would build from these files: the checksum is that of the SQL
/// text (so databases migrated before keep matching), `-- no-transaction` is honoured.
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            let no_tx = sql.starts_with("-- no-transaction");
            Migration::new(version, description.into(), MigrationType::Simple, sql.into(), no_tx)
        })
        .collect();
    Migrator { migrations: std::borrow::Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

impl Db {
    /// Opens the pool; for SQLite the data directory (0700) and the database file (0600) are
    /// created if missing, and a database file readable by others is made the owner's only.
    pub async fn connect(config: &Config) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let is_sqlite = config.is_sqlite();
        if is_sqlite {
            prepare_sqlite_file(&config.database_url).map_err(sqlx::Error::Io)?;
        }
        let options = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 8 } else { 10 })
            // A database that is down answers within seconds (503), instead of holding every
            // request for sqlx's default 30 s.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx would ping every pooled connection before handing it out, in case the server
            // hung up: a round trip as long as a small query, on every query. sqlx already pings
            // each connection as it goes back to the pool, so only one idle for a while is checked
            // again (see [`RECHECK_AFTER_IDLE`]); an embedded SQLite connection cannot hang up.
            .test_before_acquire(false)
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
            });
        let options = if is_sqlite {
            options
        } else {
            options.before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= RECHECK_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
        };
        let pool = options.connect(&config.database_url).await?;
        let sqlite_reader = is_sqlite
            .then(|| sqlite_file(&config.database_url))
            .flatten()
            .map(|file| std::sync::Arc::new(SqliteReader::new(file)));
        Ok(Db { pool, is_sqlite, sqlite_reader, clock: Clock::system() })
    }

    /// The reader of a SQLite file database (none for PostgreSQL or an in-memory database).
    pub fn sqlite_reader(&self) -> Option<&SqliteReader> {
        self.sqlite_reader.as_deref()
    }

    /// A short read on a page's path: every row of `sql` (`$n` = `params[n - 1]`), mapped by `map`.
    /// On a SQLite file it runs on this thread (see `core::sqlite_reads`); otherwise, when SQLite
    /// answers busy, or once the pool is closed, through the pool. Only for indexed reads of a few
    /// rows: the thread runs nothing else meanwhile.
    pub async fn read_rows<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl Fn(&dyn Columns) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, sqlx::Error> {
        // A closed pool means the database is shut down (Keycard stopping, or an outage as the
        // tests make one): reads fail as every other statement does, through the pool.
        if let Some(reader) = self.sqlite_reader.as_ref().filter(|_| !self.pool.is_closed()) {
            match reader.read(sql, params, &map) {
                Ok(rows) => return Ok(rows),
                Err(NotRead::Failed(err)) => return Err(err),
                Err(NotRead::Busy) => {}
            }
        }
        self.read_rows_through_pool(sql, params, map).await
    }

    /// [`Db::read_rows`] through the pool.
    pub async fn read_rows_through_pool<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl Fn(&dyn Columns) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, sqlx::Error> {
        let mut query = sqlx::query(sql);
        for param in params {
            query = match *param {
                Param::Int(value) => query.bind(value),
                Param::Text(value) => query.bind(value),
            };
        }
        query.fetch_all(&self.pool).await?.iter().map(|row| map(row)).collect()
    }

    /// Applies the embedded migrations for this database kind.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        let migrator = if self.is_sqlite { &*SQLITE_MIGRATIONS } else { &*POSTGRES_MIGRATIONS };
        migrator.run(&self.pool).await
    }

    /// Copies the whole SQLite database into the new file `to` with `VACUUM INTO`: one read
    /// transaction, so the copy is consistent while Keycard keeps serving (writers are not blocked
    /// in WAL mode). The file is created owner-only first and must not exist yet.
    pub async fn backup_sqlite(&self, to: &std::path::Path) -> Result<(), BackupError> {
        if !self.is_sqlite {
            return Err(BackupError::NotSqlite);
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(to).map_err(|err| BackupError::Target(to.display().to_string(), err))?;
        let target = to
            .to_str()
            .ok_or_else(|| BackupError::Target(to.display().to_string(), std::io::ErrorKind::InvalidFilename.into()))?;
        let copied = sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await;
        if let Err(err) = copied {
            // Never leave a partial copy that could be mistaken for a backup.
            let _ = std::fs::remove_file(to);
            return Err(BackupError::Db(err));
        }
        Ok(())
    }

    /// `SELECT 1`, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }
}

/// Why `keycard backup` made no copy.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("keycard backup copies SQLite databases; for PostgreSQL use pg_dump (see docs/operating.md, Backups)")]
    NotSqlite,
    #[error("cannot create {0}: {1} (the backup file must not exist yet)")]
    Target(String, std::io::Error),
    #[error("the copy failed: {0}")]
    Db(#[from] sqlx::Error),
}

/// The file of a `sqlite:` URL; `None` for in-memory databases.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = query.split('&').any(|pair| pair == "mode=memory");
    if path.is_empty() || path == ":memory:" || in_memory {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    sqlite_file(url)?.parent().map(|p| p.to_path_buf()).filter(|p| !p.as_os_str().is_empty())
}

/// Before sqlx opens a SQLite database: its directory is created readable by the owner only, and
/// the file itself is created 0600 when the URL asks for creation (`mode=rwc`), so that it never
/// exists with the umask's wider permissions; an existing file (and its `-wal`/`-shm` files,
/// which SQLite creates with the database file's permissions) is narrowed to 0600.
fn prepare_sqlite_file(url: &str) -> std::io::Result<()> {
    let Some(file) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(dir) = sqlite_parent_dir(url) {
        super::secrets::create_private_dir(&dir)?;
    }
    let creates = url.split_once('?').is_some_and(|(_, query)| query.split('&').any(|pair| pair == "mode=rwc"));
    if creates && !file.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&file) {
            Ok(_) => {}
            // Another instance created it a moment ago: narrowed below like any existing file.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut companions = vec![file.clone()];
        for suffix in ["-wal", "-shm"] {
            let mut name = file.clone().into_os_string();
            name.push(suffix);
            companions.push(name.into());
        }
        for path in companions {
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            if metadata.is_file() && metadata.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// True when the error is a unique-constraint violation (duplicate email, say).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// An `EXISTS (…)` column read as a flag: PostgreSQL answers it with a boolean, SQLite with 0 or 1.
pub fn exists_column(row: &sqlx::any::AnyRow, index: usize) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    match row.try_get::<bool, _>(index) {
        Ok(flag) => Ok(flag),
        Err(_) => Ok(row.try_get::<i64, _>(index)? != 0),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::migrate::Migrator;

    use super::{sqlite_file, sqlite_parent_dir, Config, Db, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

    #[test]
    fn parent_dir_of_sqlite_urls() {
        assert_eq!(sqlite_parent_dir("sqlite://data/k.db?mode=rwc").unwrap(), std::path::Path::new("data"));
        assert_eq!(sqlite_parent_dir("sqlite:///tmp/x/k.db").unwrap(), std::path::Path::new("/tmp/x"));
        assert!(sqlite_parent_dir("sqlite::memory:").is_none());
        assert!(sqlite_parent_dir("sqlite://k.db").is_none());
        assert!(sqlite_file("sqlite://k.db?mode=memory").is_none());
    }

    /// The compiled-in migrations are what sqlx itself reads from the folders (as `migrate!` did):
    /// same versions, descriptions, checksums and transaction mode, none left out.
    #[tokio::test]
    async fn compiled_in_migrations_equal_sqlx_reading_the_folders() {
        for (database, compiled) in [("sqlite", &*SQLITE_MIGRATIONS), ("postgres", &*POSTGRES_MIGRATIONS)] {
            let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(database);
            let files = std::fs::read_dir(&folder).unwrap().count();
            let read = Migrator::new(folder).await.unwrap();
            let summary = |m: &Migrator| -> Vec<_> {
                m.iter().map(|m| (m.version, m.description.to_string(), m.checksum.to_vec(), m.no_tx)).collect()
            };
            assert_eq!(summary(compiled), summary(&read), "{database}");
            assert_eq!(compiled.iter().count(), files, "{database}: one migration per file");
        }
    }

    /// A fresh data directory is 0700 and the database file 0600 once `Db::connect` returns, and a
    /// database file left readable by others is narrowed to 0600.
    #[cfg(unix)]
    #[tokio::test]
    async fn sqlite_files_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let root = std::env::temp_dir().join(format!("kc_db_modes_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let data_dir = root.join("data");
        let config = Config::for_tests(&crate::core::config::sqlite_url_in(&data_dir), data_dir.clone());
        let db = Db::connect(&config).await.unwrap();
        db.migrate().await.unwrap();
        assert_eq!(mode(&data_dir), 0o700);
        assert_eq!(mode(&data_dir.join("keycard.db")), 0o600);
        let wal = data_dir.join("keycard.db-wal");
        assert!(wal.exists(), "WAL mode is on");
        assert_eq!(mode(&wal), 0o600);
        db.pool.close().await;

        std::fs::set_permissions(data_dir.join("keycard.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let db = Db::connect(&config).await.unwrap();
        db.ping().await.unwrap();
        assert_eq!(mode(&data_dir.join("keycard.db")), 0o600);
        db.pool.close().await;
        std::fs::remove_dir_all(&root).unwrap();
    }
}
