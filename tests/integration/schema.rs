//! SQLite and PostgreSQL hold the same schema after every migration: the same tables, each with the
//! same columns, each allowing NULL or not alike. The queries are written once for both, so a
//! migration written for one database and not the other fails here, not in production.

use std::collections::BTreeMap;

use crate::common::TestApp;
use sqlx::Row;

/// Table → column → whether it may be NULL.
type Schema = BTreeMap<String, BTreeMap<String, bool>>;

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
fn both_databases_have_the_same_tables_and_columns() {
    crate::common::run(async {
        let sqlite = sqlite_schema(&TestApp::sqlite().await).await;
        let postgres = postgres_schema(&TestApp::postgres().await).await;
        assert!(sqlite.contains_key("users") && sqlite.contains_key("oidc_signing_keys"), "{sqlite:?}");
        assert_eq!(sqlite, postgres);
    });
}

async fn sqlite_schema(app: &TestApp) -> Schema {
    let rows = sqlx::query(
        "SELECT m.name, p.name, p.\"notnull\", p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for row in rows {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        // An INTEGER PRIMARY KEY is the row id: never NULL, though SQLite does not mark it so.
        let nullable = row.get::<i64, _>(2) == 0 && row.get::<i64, _>(3) == 0;
        schema.entry(table).or_default().insert(column, nullable);
    }
    schema
}

async fn postgres_schema(app: &TestApp) -> Schema {
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for row in rows {
        let (table, column, nullable): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        schema.entry(table).or_default().insert(column, nullable == "YES");
    }
    schema
}
