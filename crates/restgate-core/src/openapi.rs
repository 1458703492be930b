//! `GET /`: an OpenAPI 3.1 description of the tables and views served.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Map, Value};

use std::sync::Arc;

use crate::catalog::{Catalog, Column, ColumnType, Storage, Table};
use crate::plan::Access;
use crate::policy::{Rule, Verb};
use crate::response::Body;

fn schema_of(ty: ColumnType) -> Value {
    match ty {
        ColumnType::Integer => json!({"type": "integer"}),
        ColumnType::Float | ColumnType::Numeric => json!({"type": "number"}),
        ColumnType::Boolean => json!({"type": "boolean"}),
        ColumnType::Json => json!({}),
        ColumnType::Array => json!({"type": "array"}),
        ColumnType::Date => json!({"type": "string", "format": "date"}),
        ColumnType::Time => json!({"type": "string", "format": "time"}),
        ColumnType::Timestamp | ColumnType::TimestampTz => json!({"type": "string", "format": "date-time"}),
        ColumnType::Uuid => json!({"type": "string", "format": "uuid"}),
        ColumnType::Binary => json!({"type": "string", "description": "\\x followed by lowercase hex"}),
        _ => json!({"type": "string"}),
    }
}

/// A column's schema: its logical type's, a GeoJSON object for a spatial column.
fn column_schema(c: &Column) -> Value {
    match c.storage {
        Storage::Geometry => json!({"type": "object", "description": "GeoJSON geometry"}),
        _ => schema_of(c.ty),
    }
}

fn table_schema(t: &Table, shown: &dyn Fn(&str) -> bool) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for c in t.columns.iter().filter(|c| shown(&c.name)) {
        let mut s = column_schema(c);
        if let Value::Object(m) = &mut s {
            if c.nullable && m.contains_key("type") {
                let ty = m["type"].clone();
                m.insert("type".into(), json!([ty, "null"]));
            }
            if let Some(d) = &c.description {
                m.insert("description".into(), json!(d));
            }
            if !c.enum_values.is_empty() {
                m.insert("enum".into(), json!(c.enum_values));
            }
            if t.primary_key.contains(&c.name) {
                m.insert(
                    "description".into(),
                    json!(format!("{} (primary key)", c.description.clone().unwrap_or_default()).trim().to_owned()),
                );
            }
        }
        if !c.nullable && c.default.is_none() && !c.auto_increment && !c.generated {
            required.push(c.name.clone());
        }
        props.insert(c.name.clone(), s);
    }
    let mut s = json!({"type": "object", "properties": props, "required": required});
    if let Some(d) = &t.description {
        s["description"] = json!(d);
    }
    s
}

/// The OpenAPI document for `catalog` served under `prefix`.
pub fn document(catalog: &Catalog, prefix: &str) -> Value {
    document_for(catalog, prefix, None)
}

/// The OpenAPI document as the caller of `access` sees it: only the tables,
/// operations and columns their policy lets them use.
pub fn document_for(catalog: &Catalog, prefix: &str, access: Option<Access<'_>>) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let p = |n: &str| json!({"$ref": format!("#/components/parameters/{n}")});
    for t in catalog.tables() {
        if t.schema != catalog.default_schema() {
            continue;
        }
        let rule = |v: Verb| -> Option<Option<Arc<Rule>>> {
            match access {
                None => Some(None),
                Some(a) => a.policy.rule(a.identity, t, v).map(Some),
            }
        };
        let (read, create, update, delete) = (rule(Verb::Read), rule(Verb::Create), rule(Verb::Update), rule(Verb::Delete));
        if read.is_none() && create.is_none() && update.is_none() && delete.is_none() {
            continue;
        }
        let shown = |c: &str| {
            [&read, &create, &update].iter().any(|r| match r {
                Some(None) => true,
                Some(Some(rule)) => rule.allows_column(c),
                None => false,
            })
        };
        let reference = json!({"$ref": format!("#/components/schemas/{}", t.name)});
        let rows = json!({"type": "array", "items": reference});
        let ok =
            json!({"description": "OK", "content": {"application/json": {"schema": rows}, "text/csv": {"schema": {"type": "string"}}}});
        let mut item = Map::new();
        if read.is_some() {
            item.insert(
                "get".into(),
                json!({
                    "summary": t.description.clone().unwrap_or_else(|| format!("Read rows of {}", t.name)),
                    "tags": [t.name],
                    "parameters": [p("select"), p("order"), p("limit"), p("offset"), p("range"), p("prefer_count")],
                    "responses": {"200": ok, "206": {"description": "Partial Content"}, "416": {"description": "Range Not Satisfiable"}}
                }),
            );
        }
        let body = json!({"required": true, "content": {"application/json": {"schema": {"oneOf": [reference, rows]}}}});
        if t.insertable && create.is_some() {
            item.insert(
                "post".into(),
                json!({"summary": format!("Insert rows into {}", t.name), "tags": [t.name],
                "parameters": [p("select"), p("columns"), p("on_conflict"), p("prefer_write")], "requestBody": body,
                "responses": {"201": {"description": "Created"}, "409": {"description": "Conflict"}}}),
            );
        }
        if t.updatable && update.is_some() {
            item.insert("patch".into(), json!({"summary": format!("Update rows of {}", t.name), "tags": [t.name],
                "parameters": [p("select"), p("prefer_write")], "requestBody": {"required": true, "content": {"application/json": {"schema": reference}}},
                "responses": {"204": {"description": "No Content"}, "200": ok}}));
        }
        if t.deletable && delete.is_some() {
            item.insert(
                "delete".into(),
                json!({"summary": format!("Delete rows of {}", t.name), "tags": [t.name],
                "parameters": [p("select"), p("prefer_write")], "responses": {"204": {"description": "No Content"}, "200": ok}}),
            );
        }
        paths.insert(format!("/{}", t.name), Value::Object(item));
        schemas.insert(t.name.clone(), table_schema(t, &shown));
    }
    let q = |name: &str, d: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": d});
    let hd = |name: &str, d: &str| json!({"name": name, "in": "header", "required": false, "schema": {"type": "string"}, "description": d});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "restgate", "version": env!("CARGO_PKG_VERSION"), "description": "Tables and views served by restgate with PostgREST's URL grammar. Filters are query parameters `column=operator.value`."},
        "servers": [{"url": if prefix.is_empty() { "/" } else { prefix }}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {
                "select": q("select", "Columns to return: `a,b,alias:c,d::text,j->>k`"),
                "order": q("order", "Ordering: `col.desc.nullslast,other`"),
                "limit": q("limit", "Maximum number of rows"),
                "offset": q("offset", "Rows to skip"),
                "columns": q("columns", "Payload keys to insert"),
                "on_conflict": q("on_conflict", "Unique columns for an upsert"),
                "range": hd("Range", "Rows to return, e.g. `0-24`"),
                "prefer_count": hd("Prefer", "`count=exact|planned|estimated`"),
                "prefer_write": hd("Prefer", "`return=minimal|headers-only|representation`, `resolution=merge-duplicates|ignore-duplicates`, `missing=default`, `tx=commit|rollback`, `handling=strict`, `max-affected=N`")
            }
        }
    })
}

/// The `GET /` response, as the caller of `access` sees it.
pub fn response(catalog: &Catalog, prefix: &str, head: bool, access: Option<Access<'_>>) -> Response<Body> {
    let body =
        if head { Bytes::new() } else { Bytes::from(serde_json::to_vec(&document_for(catalog, prefix, access)).unwrap_or_default()) };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/openapi+json; charset=utf-8"));
    r
}
