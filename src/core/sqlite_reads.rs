//! Short reads on a page's path, run on the request's own thread on SQLite.
//!
//! sqlx runs each SQLite statement on its connection's worker thread: a query is a hand-off to
//! that thread and back for every row, and sqlx pings the connection on that thread again as it
//! returns to the pool. Under load those thread switches cost more CPU than the reads themselves.
//! The reads every signed-in page makes (the session row) and the devices page's list are small
//! indexed reads, so on SQLite [`super::db::Db::read_rows`] runs them here, on a connection of
//! Keycard's own that may only read (`query_only`), inside the request's task.
//!
//! - Each statement is its own read transaction (autocommit, reset as soon as its rows are read),
//!   so it sees everything committed before it started: an ended session fails on its next request.
//! - In WAL mode readers do not wait for writers. Should SQLite answer "busy" all the same, the read
//!   does not wait on this thread (no busy timeout here): it goes through the pool like any statement.
//! - PostgreSQL and in-memory SQLite databases always read through the pool, and so does a database
//!   whose pool is closed (the read then fails like every other statement).

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::OpenFlags;

/// A statement's parameter: the only two kinds Keycard stores (times and flags are integers).
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

/// One row's columns by index, the same way through sqlx and here, so a row is mapped once.
pub trait Columns {
    fn int(&self, index: usize) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, index: usize) -> Result<Option<i64>, sqlx::Error>;
    fn text(&self, index: usize) -> Result<String, sqlx::Error>;
    fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error>;
}

impl Columns for sqlx::any::AnyRow {
    fn int(&self, index: usize) -> Result<i64, sqlx::Error> {
        sqlx::Row::try_get(self, index)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>, sqlx::Error> {
        sqlx::Row::try_get(self, index)
    }
    fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        sqlx::Row::try_get(self, index)
    }
    fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error> {
        sqlx::Row::try_get(self, index)
    }
}

/// Column `index` of `row` (NULL is `None` for an `Option`), failing as sqlx's decoding does.
fn column<T: rusqlite::types::FromSql>(row: &rusqlite::Row<'_>, index: usize) -> Result<T, sqlx::Error> {
    row.get(index).map_err(|err| sqlx::Error::ColumnDecode { index: index.to_string(), source: Box::new(err) })
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, index: usize) -> Result<i64, sqlx::Error> {
        column(self, index)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>, sqlx::Error> {
        column(self, index)
    }
    fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        column(self, index)
    }
    fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error> {
        column(self, index)
    }
}

/// The target of the event each statement read here logs (at debug level; sqlx's are `sqlx::query`).
pub const STATEMENT_EVENTS: &str = "keycard::sqlite_reads";

/// Idle read connections kept for the next read; more are opened when several reads run at once
/// (at most one per thread running requests), and only this many are kept.
const KEPT_CONNECTIONS: usize = 8;

/// Read connections to one SQLite database file.
#[derive(Debug)]
pub struct SqliteReader {
    file: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

/// Why a read did not run here: it goes through the pool instead.
#[derive(Debug)]
pub enum NotRead {
    /// SQLite answered "busy" or "locked" (another connection holds a lock readers must wait for).
    Busy,
    Failed(sqlx::Error),
}

impl SqliteReader {
    pub fn new(file: PathBuf) -> SqliteReader {
        SqliteReader { file, idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> Result<rusqlite::Connection, rusqlite::Error> {
        // Read-write at the file level (a WAL reader updates the shared-memory index), refused
        // every write by `query_only`.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(&self.file, flags)?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// Runs `sql` with `params` (`$n` names the n-th) and maps every row.
    pub fn read<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl Fn(&dyn Columns) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, NotRead> {
        let taken = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open()?,
        };
        let rows = run(&conn, sql, params, &map);
        // A connection that failed is dropped, not kept: the next read opens a fresh one.
        if rows.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if idle.len() < KEPT_CONNECTIONS {
                idle.push(conn);
            }
        }
        rows
    }
}

fn run<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param<'_>],
    map: &impl Fn(&dyn Columns) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, NotRead> {
    let mut statement = conn.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let param = parameter_number(statement.parameter_name(index))
            .and_then(|n| params.get(n - 1))
            .ok_or_else(|| sqlx::Error::Protocol(format!("no value for parameter {index}")))?;
        match *param {
            Param::Int(value) => statement.raw_bind_parameter(index, value)?,
            Param::Text(value) => statement.raw_bind_parameter(index, value)?,
        }
    }
    let mut rows = statement.raw_query();
    let mut mapped = Vec::new();
    while let Some(row) = rows.next()? {
        mapped.push(map(row)?);
    }
    // Like sqlx's own statement events, so statement counts (tests/queries_per_page.rs) see these too.
    tracing::debug!(target: STATEMENT_EVENTS, { db.statement = sql, rows = mapped.len() }, "read on the request's thread");
    Ok(mapped)
}

/// `$3` → 3 (as sqlx binds SQLite parameters: by the number in their name).
fn parameter_number(name: Option<&str>) -> Option<usize> {
    name?.strip_prefix('$')?.parse().ok().filter(|n| *n > 0)
}

impl From<rusqlite::Error> for NotRead {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match &err {
            rusqlite::Error::SqliteFailure(failure, _) if matches!(failure.code, DatabaseBusy | DatabaseLocked) => {
                NotRead::Busy
            }
            _ => NotRead::Failed(sqlx::Error::Protocol(format!("SQLite read: {err}"))),
        }
    }
}

impl From<sqlx::Error> for NotRead {
    fn from(err: sqlx::Error) -> Self {
        NotRead::Failed(err)
    }
}

#[cfg(test)]
mod tests {
    use super::{parameter_number, Columns, Param};
    use crate::core::{config::Config, db::Db};

    async fn database(name: &str) -> (Db, std::path::PathBuf) {
        let root = std::env::temp_dir().join(format!("kc_sqlite_reads_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let config = Config::for_tests(&crate::core::config::sqlite_url_in(&root), root.clone());
        let db = Db::connect(&config).await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)")
            .execute(&db.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (id, name, note) VALUES (1, 'one', NULL), (2, 'two', 'b'), (3, 'three', 'c')")
            .execute(&db.pool)
            .await
            .unwrap();
        (db, root)
    }

    fn row(columns: &dyn Columns) -> Result<(i64, String, Option<String>), sqlx::Error> {
        Ok((columns.int(0)?, columns.text(1)?, columns.opt_text(2)?))
    }

    #[test]
    fn parameters_are_bound_by_the_number_in_their_name() {
        assert_eq!(parameter_number(Some("$1")), Some(1));
        assert_eq!(parameter_number(Some("$12")), Some(12));
        assert_eq!(parameter_number(Some("$0")), None);
        assert_eq!(parameter_number(Some(":name")), None);
        assert_eq!(parameter_number(None), None);
    }

    /// The same rows on the request's thread as through the pool, parameters bound by number
    /// whatever their order in the text, NULLs as `None`.
    #[tokio::test]
    async fn reads_here_match_reads_through_the_pool() {
        let (db, root) = database("match").await;
        let reader = db.sqlite_reader().expect("a file database has a reader");
        let sql = "SELECT id, name, note FROM t WHERE id >= $2 AND name <> $1 ORDER BY id";
        let params = [Param::Text("two"), Param::Int(1)];
        let here = reader.read(sql, &params, row).unwrap();
        assert_eq!(here, vec![(1, "one".to_owned(), None), (3, "three".to_owned(), Some("c".to_owned()))]);
        assert_eq!(db.read_rows(sql, &params, row).await.unwrap(), here);
        // The pool's own path (as on PostgreSQL) maps the rows the same way.
        assert_eq!(db.read_rows_through_pool(sql, &params, row).await.unwrap(), here);
        // Once the pool is closed (shut down, or an outage as the tests make one), reads fail here too.
        db.pool.close().await;
        assert!(matches!(db.read_rows(sql, &params, row).await, Err(sqlx::Error::PoolClosed)));
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A kept connection sees what was committed after its last read (no snapshot outlives a
    /// statement), and it cannot write.
    #[tokio::test]
    async fn a_kept_connection_sees_the_latest_commit_and_cannot_write() {
        let (db, root) = database("fresh").await;
        let reader = db.sqlite_reader().unwrap();
        let count = |c: &dyn Columns| c.int(0);
        assert_eq!(reader.read("SELECT COUNT(*) FROM t", &[], count).unwrap(), vec![3]);
        sqlx::query("DELETE FROM t WHERE id = 1").execute(&db.pool).await.unwrap();
        assert_eq!(reader.read("SELECT COUNT(*) FROM t", &[], count).unwrap(), vec![2]);
        assert!(matches!(reader.read("DELETE FROM t RETURNING id", &[], count), Err(super::NotRead::Failed(_))));
        assert_eq!(reader.read("SELECT COUNT(*) FROM t", &[], count).unwrap(), vec![2]);
        db.pool.close().await;
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// While another connection holds a lock readers must wait for (here: exclusive locking mode,
    /// possible only once the pool's connections are closed), the read does not wait on this
    /// thread: it answers busy at once, which sends `Db::read_rows` to the pool. Once the lock is
    /// given up, reads here work again.
    #[tokio::test]
    async fn a_locked_database_answers_busy_at_once() {
        let (db, root) = database("busy").await;
        let reader = super::SqliteReader::new(root.join("keycard.db"));
        let count = |c: &dyn Columns| c.int(0);
        // The pool's connections (and any kept here) hold WAL's shared lock, which exclusive mode needs gone.
        db.pool.close().await;
        drop(db);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let locker = rusqlite::Connection::open(root.join("keycard.db")).unwrap();
        locker.pragma_update(None, "locking_mode", "EXCLUSIVE").unwrap();
        locker.execute_batch("BEGIN EXCLUSIVE; UPDATE t SET name = 'uno' WHERE id = 1;").unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(reader.read("SELECT COUNT(*) FROM t", &[], count), Err(super::NotRead::Busy)));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "no busy timeout on this thread");
        locker.execute_batch("COMMIT;").unwrap();
        drop(locker);
        let names = reader.read("SELECT name FROM t WHERE id = $1", &[Param::Int(1)], |c| c.text(0)).unwrap();
        assert_eq!(names, vec!["uno".to_owned()]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
