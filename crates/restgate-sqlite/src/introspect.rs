//! Reads SQLite's schema (sqlite_schema and the table pragmas) into a catalog.

use restgate_core::catalog::{Catalog, Column, ForeignKey, Table, TableKind};
use restgate_core::error::BackendError;
use sqlx::{Row, SqlitePool};

use crate::classify;

/// The schema name SQLite's main database goes by.
pub const SCHEMA: &str = "main";

pub(crate) async fn catalog(pool: &SqlitePool) -> Result<Catalog, BackendError> {
    let mut conn = pool.acquire().await.map_err(classify)?;
    let objects = sqlx::query(
        "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    let triggers: Vec<(String, String)> =
        sqlx::query("SELECT tbl_name, upper(sql) FROM sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL")
            .fetch_all(&mut *conn)
            .await
            .map_err(classify)?
            .into_iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect();

    let mut tables = Vec::with_capacity(objects.len());
    for obj in objects {
        let name: String = obj.get(0);
        let kind: String = obj.get(1);
        let mut t = Table::new(SCHEMA, name.clone());
        if kind == "view" {
            t.kind = TableKind::View;
            let instead = |verb: &str| triggers.iter().any(|(tbl, sql)| tbl == &name && sql.contains(&format!("INSTEAD OF {verb}")));
            t.insertable = instead("INSERT");
            t.updatable = instead("UPDATE");
            t.deletable = instead("DELETE");
        }
        let cols = sqlx::query("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid")
            .bind(&name)
            .fetch_all(&mut *conn)
            .await
            .map_err(classify)?;
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in cols {
            let hidden: i64 = c.get(5);
            if hidden == 1 {
                continue; // a hidden column of a virtual table
            }
            let cname: String = c.get(0);
            let mut col = Column::new(cname.clone(), c.get::<String, _>(1));
            col.nullable = c.get::<i64, _>(2) == 0;
            col.default = c.get::<Option<String>, _>(3);
            col.generated = hidden == 2 || hidden == 3;
            let pk_pos: i64 = c.get(4);
            if pk_pos > 0 {
                pk.push((pk_pos, cname));
            }
            t.columns.push(col);
        }
        pk.sort();
        t.primary_key = pk.into_iter().map(|(_, n)| n).collect();
        if let [only] = t.primary_key.as_slice() {
            // INTEGER PRIMARY KEY is the rowid: assigned when NULL or absent.
            if let Some(c) = t.columns.iter_mut().find(|c| &c.name == only) {
                if c.sql_type.eq_ignore_ascii_case("INTEGER") {
                    c.auto_increment = true;
                    c.nullable = false;
                }
            }
        }
        if t.kind == TableKind::Table {
            let fks = sqlx::query("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(classify)?;
            for fk in fks {
                let id: i64 = fk.get(0);
                let foreign: String = fk.get(1);
                let from: String = fk.get(2);
                let to: Option<String> = fk.get(3);
                // SQLite keeps no constraint names: keys are told apart by
                // id here and named as PostgreSQL names them by default.
                let key = format!("\0{id}");
                let entry = match t.foreign_keys.iter_mut().find(|f| f.name == key) {
                    Some(e) => e,
                    None => {
                        t.foreign_keys.push(ForeignKey {
                            name: key.clone(),
                            columns: Vec::new(),
                            foreign_schema: SCHEMA.into(),
                            foreign_table: foreign,
                            foreign_columns: Vec::new(),
                        });
                        t.foreign_keys.last_mut().expect("just pushed")
                    }
                };
                entry.columns.push(from);
                entry.foreign_columns.push(to.unwrap_or_default());
            }
            for fk in &mut t.foreign_keys {
                fk.name = format!("{name}_{}_fkey", fk.columns.join("_"));
            }
            let indexes = sqlx::query("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin <> 'pk'")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(classify)?;
            for idx in indexes {
                let iname: String = idx.get(0);
                let cols: Vec<String> = sqlx::query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind(&iname)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(classify)?
                    .into_iter()
                    .filter_map(|r| r.get::<Option<String>, _>(0))
                    .collect();
                if !cols.is_empty() {
                    t.unique.push(cols);
                }
            }
        }
        tables.push(t);
    }
    // Foreign keys that name no columns reference the other table's primary key.
    let pks: Vec<(String, Vec<String>)> = tables.iter().map(|t| (t.name.clone(), t.primary_key.clone())).collect();
    for t in &mut tables {
        for fk in &mut t.foreign_keys {
            if fk.foreign_columns.iter().any(String::is_empty) {
                if let Some((_, pk)) = pks.iter().find(|(n, _)| n == &fk.foreign_table) {
                    fk.foreign_columns = pk.clone();
                }
            }
        }
    }
    Ok(Catalog::new(vec![SCHEMA.to_owned()], tables))
}
