//! Reads the connected database from information_schema into a catalog.

use std::collections::HashMap;

use restgate_core::catalog::{Catalog, Column, ColumnType, ForeignKey, Storage, Table, TableKind};
use restgate_core::error::BackendError;
use restgate_sqlx::Connections;
use sqlx::{AssertSqlSafe, MySql, MySqlConnection, Row};

use crate::classify;

/// Tables and views, with view updatability. Text columns are cast to
/// CHAR so both servers hand back strings (MySQL 8 shows some as BLOBs).
const RELATIONS: &str = r#"
SELECT CAST(t.TABLE_NAME AS CHAR), CAST(t.TABLE_TYPE AS CHAR), CAST(t.TABLE_COMMENT AS CHAR), CAST(v.IS_UPDATABLE AS CHAR)
FROM information_schema.TABLES t
LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA = DATABASE()
ORDER BY t.TABLE_NAME
"#;

const COLUMNS: &str = r#"
SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(DATA_TYPE AS CHAR),
       CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(EXTRA AS CHAR), CAST(COLUMN_COMMENT AS CHAR)
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, ORDINAL_POSITION
"#;

/// Primary keys, unique constraints and foreign keys, columns in key order.
const KEYS: &str = r#"
SELECT CAST(k.TABLE_NAME AS CHAR), CAST(k.CONSTRAINT_NAME AS CHAR), CAST(c.CONSTRAINT_TYPE AS CHAR), CAST(k.COLUMN_NAME AS CHAR),
       CAST(k.REFERENCED_TABLE_SCHEMA AS CHAR), CAST(k.REFERENCED_TABLE_NAME AS CHAR), CAST(k.REFERENCED_COLUMN_NAME AS CHAR)
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.TABLE_CONSTRAINTS c
  ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"#;

/// Single-column FULLTEXT indexes (what `MATCH (col) AGAINST` needs).
const FULLTEXT: &str = r#"
SELECT CAST(TABLE_NAME AS CHAR), CAST(MIN(COLUMN_NAME) AS CHAR)
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND INDEX_TYPE = 'FULLTEXT'
GROUP BY TABLE_NAME, INDEX_NAME
HAVING COUNT(*) = 1
"#;

/// MariaDB's JSON columns are LONGTEXT with a `json_valid` CHECK.
const JSON_CHECKS: &str = r#"
SELECT CAST(TABLE_NAME AS CHAR), CAST(CHECK_CLAUSE AS CHAR)
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE() AND CHECK_CLAUSE LIKE '%json_valid(%'
"#;

/// The values of `enum('a','b')`.
fn enum_values(column_type: &str) -> Vec<String> {
    let Some(inner) = column_type.strip_prefix("enum(").and_then(|s| s.strip_suffix(')')) else { return Vec::new() };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_str) {
            ('\'', false) => in_str = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            ('\'', true) => {
                in_str = false;
                out.push(std::mem::take(&mut cur));
            }
            (c, true) => cur.push(c),
            _ => {}
        }
    }
    out
}

/// The logical type of a column from its COLUMN_TYPE and DATA_TYPE.
fn column_type(column_type: &str, data_type: &str) -> ColumnType {
    match data_type.to_ascii_lowercase().as_str() {
        // TIMESTAMP is stored in UTC and shown in the session's zone (+00:00).
        "timestamp" => ColumnType::TimestampTz,
        "json" => ColumnType::Json,
        // MariaDB's native UUID; CHAR(36) is MySQL's usual uuid spelling.
        "uuid" => ColumnType::Uuid,
        "char" if column_type.eq_ignore_ascii_case("char(36)") => ColumnType::Uuid,
        // BIT(1) is a flag, as tinyint(1) is; wider BITs are the number
        // their bits spell (read as such, see `storage`).
        "bit" if column_type.eq_ignore_ascii_case("bit(1)") => ColumnType::Boolean,
        "bit" => ColumnType::Integer,
        // Spatial values are GeoJSON.
        d if is_spatial(d) => ColumnType::Json,
        _ => ColumnType::from_sql(column_type),
    }
}

/// The spatial DATA_TYPEs of MySQL and MariaDB.
fn is_spatial(data_type: &str) -> bool {
    matches!(
        data_type,
        "geometry"
            | "point"
            | "linestring"
            | "polygon"
            | "multipoint"
            | "multilinestring"
            | "multipolygon"
            | "geometrycollection"
            | "geomcollection"
    )
}

/// How the server holds a column's value, from its COLUMN_TYPE and
/// DATA_TYPE: BIT(n) as bytes and ZEROFILL numbers as padded digits
/// (`int(5) unsigned zerofill`), both read as numbers; spatial types as
/// geometries, read and written as GeoJSON.
fn storage(column_type: &str, data_type: &str) -> Storage {
    let data_type = data_type.to_ascii_lowercase();
    if data_type == "bit" || column_type.to_ascii_lowercase().split_whitespace().any(|w| w == "zerofill") {
        Storage::Number
    } else if is_spatial(&data_type) {
        Storage::Geometry
    } else {
        Storage::Native
    }
}

/// Reads the catalog without the pool's statement timeout (MariaDB's
/// `max_statement_time`, MySQL's `max_execution_time`): the timeout bounds
/// requests, and information_schema on a busy server with many databases
/// may take longer than any one request should. The session's value is put
/// back afterwards; a connection where that fails is closed, not reused.
pub(crate) async fn catalog(conns: &Connections<MySql>, mariadb: bool) -> Result<Catalog, BackendError> {
    let mut conn = conns.write().await?;
    let var = if mariadb { "max_statement_time" } else { "max_execution_time" };
    let prior: String =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT CAST(@@SESSION.{var} AS CHAR)"))).fetch_one(&mut *conn).await.map_err(classify)?;
    sqlx::query(AssertSqlSafe(format!("SET SESSION {var} = 0"))).execute(&mut *conn).await.map_err(classify)?;
    let read = read(&mut conn, mariadb).await;
    // `prior` is the server's own number (digits and a point), not input.
    let restore = AssertSqlSafe(format!("SET SESSION {var} = {prior}"));
    if sqlx::query(restore).execute(&mut *conn).await.is_err() {
        conn.close_on_drop();
    }
    read
}

async fn read(conn: &mut MySqlConnection, mariadb: bool) -> Result<Catalog, BackendError> {
    let schema: Option<String> = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)").fetch_one(&mut *conn).await.map_err(classify)?;
    let schema = schema.unwrap_or_default();

    let mut tables: Vec<Table> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for r in sqlx::query(RELATIONS).fetch_all(&mut *conn).await.map_err(classify)? {
        let name: String = r.get(0);
        let kind: String = r.get(1);
        let mut t = Table::new(schema.clone(), name.clone());
        t.description = r.get::<Option<String>, _>(2).filter(|c| !c.is_empty() && kind != "VIEW");
        if kind == "VIEW" {
            t.kind = TableKind::View;
            let updatable = r.get::<Option<String>, _>(3).is_some_and(|u| u.eq_ignore_ascii_case("YES"));
            t.insertable = updatable;
            t.updatable = updatable;
            t.deletable = updatable;
        }
        by_name.insert(name, tables.len());
        tables.push(t);
    }

    let mut json_cols: Vec<(String, String)> = Vec::new();
    if mariadb {
        if let Ok(rows) = sqlx::query(JSON_CHECKS).fetch_all(&mut *conn).await {
            for r in rows {
                let table: String = r.get(0);
                let clause: String = r.get(1);
                for part in clause.split("json_valid(").skip(1) {
                    let col = part.split(')').next().unwrap_or("").trim().trim_matches('`').replace("``", "`");
                    json_cols.push((table.clone(), col));
                }
            }
        }
    }

    for r in sqlx::query(COLUMNS).fetch_all(&mut *conn).await.map_err(classify)? {
        let table: String = r.get(0);
        let Some(&i) = by_name.get(&table) else { continue };
        let name: String = r.get(1);
        let ctype: String = r.get(2);
        let dtype: String = r.get(3);
        let extra: String = r.get::<Option<String>, _>(6).unwrap_or_default().to_ascii_lowercase();
        let mut c = Column::new(name.clone(), ctype.clone());
        c.ty = column_type(&ctype, &dtype);
        c.storage = storage(&ctype, &dtype);
        if json_cols.iter().any(|(t, col)| *t == table && *col == name) {
            c.ty = ColumnType::Json;
        }
        c.nullable = r.get::<String, _>(4).eq_ignore_ascii_case("YES");
        // MariaDB shows "no default" of a nullable column as the text NULL.
        c.default = r.get::<Option<String>, _>(5).filter(|d| !d.eq_ignore_ascii_case("NULL"));
        c.generated = extra.contains("generated") && !extra.contains("default_generated");
        c.auto_increment = extra.contains("auto_increment");
        c.description = r.get::<Option<String>, _>(7).filter(|d| !d.is_empty());
        if c.ty == ColumnType::Enum {
            c.enum_values = enum_values(&ctype);
        }
        tables[i].columns.push(c);
    }

    // Keys: rows arrive per constraint in column order.
    let mut current: Option<(String, String)> = None;
    for r in sqlx::query(KEYS).fetch_all(&mut *conn).await.map_err(classify)? {
        let table: String = r.get(0);
        let Some(&i) = by_name.get(&table) else { continue };
        let cname: String = r.get(1);
        let ctype: String = r.get(2);
        let col: String = r.get(3);
        let key = (table.clone(), cname.clone());
        let first = current.as_ref() != Some(&key);
        current = Some(key);
        let t = &mut tables[i];
        match ctype.as_str() {
            "PRIMARY KEY" => t.primary_key.push(col),
            "UNIQUE" => {
                if first {
                    t.unique.push(Vec::new());
                }
                if let Some(u) = t.unique.last_mut() {
                    u.push(col);
                }
            }
            _ => {
                if first {
                    t.foreign_keys.push(ForeignKey {
                        name: cname,
                        columns: Vec::new(),
                        foreign_schema: r.get::<Option<String>, _>(4).unwrap_or_default(),
                        foreign_table: r.get::<Option<String>, _>(5).unwrap_or_default(),
                        foreign_columns: Vec::new(),
                    });
                }
                if let Some(fk) = t.foreign_keys.last_mut() {
                    fk.columns.push(col);
                    fk.foreign_columns.push(r.get::<Option<String>, _>(6).unwrap_or_default());
                }
            }
        }
    }

    for r in sqlx::query(FULLTEXT).fetch_all(&mut *conn).await.map_err(classify)? {
        let table: String = r.get(0);
        let col: String = r.get(1);
        if let Some(&i) = by_name.get(&table) {
            if let Some(c) = tables[i].columns.iter_mut().find(|c| c.name == col) {
                c.fulltext = true;
            }
        }
    }
    Ok(Catalog::new(vec![schema], tables))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_and_types() {
        assert_eq!(enum_values("enum('sad','it''s','happy')"), ["sad", "it's", "happy"]);
        assert_eq!(column_type("tinyint(1)", "tinyint"), ColumnType::Boolean);
        assert_eq!(column_type("timestamp(6)", "timestamp"), ColumnType::TimestampTz);
        assert_eq!(column_type("datetime(6)", "datetime"), ColumnType::Timestamp);
        assert_eq!(column_type("char(36)", "char"), ColumnType::Uuid);
    }

    #[test]
    fn bits_zerofill_and_spatial_types() {
        assert_eq!(column_type("bit(1)", "bit"), ColumnType::Boolean);
        assert_eq!(column_type("bit(8)", "bit"), ColumnType::Integer);
        assert_eq!(column_type("int(5) unsigned zerofill", "int"), ColumnType::Integer);
        assert_eq!(column_type("decimal(8,2) unsigned zerofill", "decimal"), ColumnType::Numeric);
        assert_eq!(column_type("mediumint(8) unsigned", "mediumint"), ColumnType::Integer);
        assert_eq!(column_type("point", "point"), ColumnType::Json);
        assert_eq!(column_type("geometry", "geometry"), ColumnType::Json);
        assert_eq!(column_type("multipolygon", "multipolygon"), ColumnType::Json);

        assert_eq!(storage("bit(1)", "bit"), Storage::Number);
        assert_eq!(storage("bit(64)", "bit"), Storage::Number);
        assert_eq!(storage("int(5) unsigned zerofill", "int"), Storage::Number);
        assert_eq!(storage("point", "point"), Storage::Geometry);
        assert_eq!(storage("geometrycollection", "geometrycollection"), Storage::Geometry);
        assert_eq!(storage("int(11)", "int"), Storage::Native);
        assert_eq!(storage("bigint(20) unsigned", "bigint"), Storage::Native);
    }
}
