//! Reads the exposed schemas from pg_catalog into a catalog.

use std::collections::HashMap;

use restgate_core::catalog::{Catalog, Column, ColumnSource, ColumnType, ForeignKey, Table, TableKind};
use restgate_core::error::BackendError;
use restgate_sqlx::Connections;
use sqlx::{Postgres, Row};

use crate::classify;

/// Tables, views, materialized views, foreign and partitioned tables, with
/// what can be done to them (`pg_relation_is_updatable`, which counts
/// auto-updatable views, rules and INSTEAD OF triggers: 8 = INSERT,
/// 4 = UPDATE, 16 = DELETE).
const RELATIONS: &str = r#"
SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text,
       obj_description(c.oid, 'pg_class'),
       pg_relation_is_updatable(c.oid, true)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY n.nspname, c.relname
"#;

/// Columns in order. The type is the name PostgreSQL shows (`int4`,
/// `timestamptz`, `_int4`), schema-qualified and quoted when it lives
/// outside pg_catalog (enums, domains), so it can be written in a cast.
const COLUMNS: &str = r#"
SELECT a.attrelid::int8, a.attname::text,
       CASE WHEN tn.nspname = 'pg_catalog' THEN t.typname::text
            ELSE quote_ident(tn.nspname) || '.' || quote_ident(t.typname) END,
       a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid),
       a.attgenerated::text,
       a.attidentity::text,
       col_description(a.attrelid, a.attnum),
       t.typcategory::text,
       bt.typtype::text,
       bt.typname::text,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = bt.oid ORDER BY e.enumsortorder)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"#;

/// Primary keys, unique constraints and foreign keys, columns in key order.
const CONSTRAINTS: &str = r#"
SELECT con.conrelid::int8, con.conname::text, con.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
       fn.nspname::text, fc.relname::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE n.nspname = ANY($1) AND con.contype IN ('p', 'u', 'f')
ORDER BY con.conrelid, con.conname
"#;

/// Unique indexes that back no constraint (plain columns, no predicate).
const UNIQUE_INDEXES: &str = r#"
SELECT i.indrelid::int8,
       ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.ord)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL
  AND i.indexprs IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
ORDER BY i.indrelid, i.indexrelid
"#;

/// The base-table columns each view (or materialized view) reads, from the
/// dependencies of its rewrite rule. A view column whose name is that of
/// exactly one such base column is taken to show it unchanged, so the base
/// table's foreign keys carry over to the view.
const VIEW_SOURCES: &str = r#"
SELECT DISTINCT v.oid::int8, bn.nspname::text, bc.relname::text, a.attname::text
FROM pg_rewrite r
JOIN pg_class v ON v.oid = r.ev_class
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass
                AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
JOIN pg_class bc ON bc.oid = d.refobjid AND bc.relkind IN ('r', 'p')
JOIN pg_namespace bn ON bn.oid = bc.relnamespace
JOIN pg_attribute a ON a.attrelid = bc.oid AND a.attnum = d.refobjsubid
WHERE vn.nspname = ANY($1) AND v.relkind IN ('v', 'm') AND bc.oid <> v.oid
"#;

/// The logical type of a column from its type's category, kind and (base) name.
fn logical_type(category: &str, base_kind: &str, base_name: &str) -> ColumnType {
    if category == "A" {
        ColumnType::Array
    } else if base_kind == "e" {
        ColumnType::Enum
    } else {
        ColumnType::from_sql(base_name)
    }
}

/// Reads the catalog in one read-only transaction without the pool's
/// statement timeout: the timeout bounds requests, and reading a large
/// catalog on a busy server may take longer than any one request should.
pub(crate) async fn catalog(conns: &Connections<Postgres>, schemas: &[String]) -> Result<Catalog, BackendError> {
    let mut conn = conns.begin(None).await?;
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *conn).await.map_err(classify)?;
    let relations = sqlx::query(RELATIONS).bind(schemas).fetch_all(&mut *conn).await.map_err(classify)?;
    let mut tables: Vec<Table> = Vec::with_capacity(relations.len());
    let mut by_oid: HashMap<i64, usize> = HashMap::new();
    for r in relations {
        let oid: i64 = r.get(0);
        let mut t = Table::new(r.get::<String, _>(1), r.get::<String, _>(2));
        let kind: String = r.get(3);
        t.description = r.get(4);
        if matches!(kind.as_str(), "v" | "m") {
            t.kind = TableKind::View;
        }
        if kind != "r" && kind != "p" {
            let events: i32 = r.get(5);
            t.insertable = events & 8 != 0;
            t.updatable = events & 4 != 0;
            t.deletable = events & 16 != 0;
        }
        by_oid.insert(oid, tables.len());
        tables.push(t);
    }

    let columns = sqlx::query(COLUMNS).bind(schemas).fetch_all(&mut *conn).await.map_err(classify)?;
    for c in columns {
        let Some(&i) = by_oid.get(&c.get::<i64, _>(0)) else { continue };
        let mut col = Column::new(c.get::<String, _>(1), c.get::<String, _>(2));
        col.nullable = !c.get::<bool, _>(3);
        col.default = c.get(4);
        col.generated = c.get::<Option<String>, _>(5).is_some_and(|g| !g.is_empty());
        let identity = c.get::<Option<String>, _>(6).is_some_and(|g| !g.is_empty());
        col.auto_increment = identity || col.default.as_deref().is_some_and(|d| d.starts_with("nextval("));
        col.description = c.get(7);
        col.ty = logical_type(&c.get::<String, _>(8), &c.get::<String, _>(9), &c.get::<String, _>(10));
        col.enum_values = c.get(11);
        tables[i].columns.push(col);
    }

    let constraints = sqlx::query(CONSTRAINTS).bind(schemas).fetch_all(&mut *conn).await.map_err(classify)?;
    for c in constraints {
        let Some(&i) = by_oid.get(&c.get::<i64, _>(0)) else { continue };
        let t = &mut tables[i];
        let name: String = c.get(1);
        let kind: String = c.get(2);
        let cols: Vec<String> = c.get(3);
        match kind.as_str() {
            "p" => t.primary_key = cols,
            "u" => t.unique.push(cols),
            _ => t.foreign_keys.push(ForeignKey {
                name,
                columns: cols,
                foreign_schema: c.get::<Option<String>, _>(4).unwrap_or_default(),
                foreign_table: c.get::<Option<String>, _>(5).unwrap_or_default(),
                foreign_columns: c.get(6),
            }),
        }
    }

    let indexes = sqlx::query(UNIQUE_INDEXES).bind(schemas).fetch_all(&mut *conn).await.map_err(classify)?;
    for ix in indexes {
        let Some(&i) = by_oid.get(&ix.get::<i64, _>(0)) else { continue };
        let cols: Vec<String> = ix.get(1);
        let t = &mut tables[i];
        if !cols.is_empty() && !t.unique.contains(&cols) {
            t.unique.push(cols);
        }
    }

    let sources = sqlx::query(VIEW_SOURCES).bind(schemas).fetch_all(&mut *conn).await.map_err(classify)?;
    let mut by_view: HashMap<usize, Vec<ColumnSource>> = HashMap::new();
    for r in sources {
        let Some(&i) = by_oid.get(&r.get::<i64, _>(0)) else { continue };
        by_view.entry(i).or_default().push(ColumnSource { schema: r.get(1), table: r.get(2), column: r.get(3) });
    }
    for (i, used) in by_view {
        for col in &mut tables[i].columns {
            let mut same = used.iter().filter(|s| s.column == col.name);
            if let (Some(s), None) = (same.next(), same.next()) {
                col.source = Some(s.clone());
            }
        }
    }
    conn.commit().await.map_err(classify)?;
    Ok(Catalog::new(schemas.to_vec(), tables))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_holding_int_are_integers_only_when_they_are() {
        for name in ["int2", "int4", "int8"] {
            assert_eq!(logical_type("N", "b", name), ColumnType::Integer, "{name}");
        }
        for name in ["interval", "point", "int4range", "int8range", "int4multirange"] {
            assert_eq!(logical_type("X", "b", name), ColumnType::Text, "{name}");
        }
        assert_eq!(logical_type("A", "b", "_int4"), ColumnType::Array);
    }
}
