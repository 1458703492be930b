//! Stage 4: runs a plan's statements on a [`Backend`], in one transaction
//! for writes, and settles what the response needs to know.
//!
//! Writes are all or nothing: any failure, a `max-affected` breach, a
//! singular response over anything but one row, or `tx=rollback` ends the
//! transaction with a rollback.

use http::StatusCode;
use serde_json::Value as Json;

use crate::backend::{Backend, JsonRows, ReadOutput, ReadQuery, WriteTx};
use crate::catalog::Column;
use crate::error::ApiError;
use crate::plan::{ReadPlan, Returning, Shape, WriteOp, WritePlan};
use crate::request::{Action, Representation, Resolution};
use crate::sql::{self, WriteReturn};
use crate::value::{coerce_json, SqlValue};

/// Runs a read.
pub async fn read(backend: &dyn Backend, p: &ReadPlan<'_>) -> Result<ReadOutput, ApiError> {
    let d = backend.dialect();
    let rows = sql::read_statement(d, p)?;
    let count = match p.count {
        Some(_) => Some(sql::count_statement(d, p.table, p.filter.as_ref())?),
        None => None,
    };
    let out = backend.read(&ReadQuery { rows, count, count_kind: p.count }).await?;
    Ok(out)
}

/// What a write did.
#[derive(Debug, Clone, Default)]
pub struct WriteOutcome {
    /// Rows affected.
    pub affected: u64,
    /// Of those, rows that already existed (upserts only).
    pub existing: u64,
    /// The representation, when asked for.
    pub rows: Option<JsonRows>,
    /// Primary key of the first affected row, for `Location`.
    pub location: Option<Vec<(String, String)>>,
}

/// Runs a write in one transaction.
pub async fn write(backend: &dyn Backend, p: &WritePlan<'_>) -> Result<WriteOutcome, ApiError> {
    if let Some(out) = write_single(backend, p).await? {
        return Ok(out);
    }
    let mut tx = backend.begin().await?;
    match write_in(backend, &mut *tx, p).await {
        Ok(outcome) => {
            if p.rollback {
                tx.rollback().await?;
            } else {
                tx.commit().await?;
            }
            Ok(outcome)
        }
        Err(e) => {
            if let Err(rb) = tx.rollback().await {
                tracing::warn!(error = %rb, "rollback after a failed write failed");
            }
            Err(e)
        }
    }
}

/// The common write — one statement, nothing to count before or check
/// after — runs on its own through [`Backend::write_one`]. `None`: the write
/// needs the full transaction.
async fn write_single(backend: &dyn Backend, p: &WritePlan<'_>) -> Result<Option<WriteOutcome>, ApiError> {
    let d = backend.dialect();
    let merge = matches!(&p.op, WriteOp::Insert { conflict: Some(c), .. } if c.resolution == Resolution::MergeDuplicates);
    if p.rollback
        || p.max_affected.is_some()
        || p.accept.representation == Representation::SingleObject
        || merge
        || p.check.is_some()
        || p.upsert_guard.is_some()
    {
        return Ok(None);
    }
    let pk: Vec<&Column> = p.table.primary_key.iter().filter_map(|n| p.table.column(n)).collect();
    let ret = match &p.returning {
        Returning::Representation(s) if d.returning() && s.order.is_empty() && !s.has_embeds() => WriteReturn::Rows(s),
        Returning::Representation(_) => return Ok(None),
        Returning::Location if p.action == Action::Insert && !pk.is_empty() => {
            if !d.returning() {
                return Ok(None);
            }
            WriteReturn::Keys(&pk)
        }
        Returning::Location | Returning::Minimal => WriteReturn::Nothing,
    };
    let stmts = sql::write_statements(d, p.table, &p.op, &ret)?;
    let [stmt] = stmts.as_slice() else { return Ok(None) };
    let (rows, affected) = backend.write_one(stmt, !matches!(ret, WriteReturn::Nothing)).await?;
    let mut out = WriteOutcome { affected, ..WriteOutcome::default() };
    match ret {
        WriteReturn::Rows(_) => out.rows = Some(rows),
        WriteReturn::Keys(cols) => out.location = rows.iter().next().and_then(|first| location_pairs(cols, first)),
        WriteReturn::Nothing => {}
    }
    Ok(Some(out))
}

async fn write_in(backend: &dyn Backend, tx: &mut dyn WriteTx, p: &WritePlan<'_>) -> Result<WriteOutcome, ApiError> {
    let d = backend.dialect();
    let t = p.table;
    let pk: Vec<&Column> = t.primary_key.iter().filter_map(|n| t.column(n)).collect();
    let mut out = WriteOutcome::default();

    // Upserts: how many of the rows exist already (tells 200 from 201).
    if let WriteOp::Insert { columns, rows, conflict: Some(c) } = &p.op {
        if c.resolution == Resolution::MergeDuplicates {
            let idx: Option<Vec<usize>> = c.target.iter().map(|tc| columns.iter().position(|col| col.name == tc.name)).collect();
            if let Some(idx) = idx {
                let keys: Vec<Vec<SqlValue>> =
                    rows.iter().filter_map(|r| idx.iter().map(|&i| r[i].clone()).collect::<Option<Vec<_>>>()).collect();
                if !keys.is_empty() {
                    if let Some(guard) = &p.upsert_guard {
                        // Rows the caller may not update are not theirs to merge into.
                        if tx.fetch_count(&sql::violations(d, t, &c.target, &keys, guard)?).await? > 0 {
                            return Err(denial(p));
                        }
                    }
                    out.existing = tx.fetch_count(&sql::existing_keys(d, t, &c.target, &keys)).await?;
                }
            }
        }
    }

    let shape = match &p.returning {
        Returning::Representation(s) => Some(s),
        _ => None,
    };
    let want_location = matches!(p.returning, Returning::Location) && p.action == Action::Insert;

    if let (WriteOp::Delete { filter }, Some(shape)) = (&p.op, shape) {
        // The representation of deleted rows is read first, in the same transaction.
        let rows = tx.fetch_rows(&sql::rows_matching(d, t, shape, filter.as_ref())?).await?;
        for stmt in sql::write_statements(d, t, &p.op, &WriteReturn::Nothing)? {
            out.affected += tx.execute(&stmt).await?;
        }
        out.rows = Some(rows);
    } else if !d.returning() {
        write_without_returning(d, tx, p, &pk, shape, want_location, &mut out).await?;
    } else {
        let ret = match shape {
            Some(s) if s.has_embeds() && pk.is_empty() => {
                return Err(ApiError::not_implemented(
                    "Embedding in a write's representation needs a primary key",
                    format!("'{}' has no primary key to read the written rows back by", t.name),
                ))
            }
            // Embeds are read back by key: a RETURNING list cannot hold them
            // everywhere; a check reads the written rows by key too.
            Some(s) if d.returning() && !s.has_embeds() && p.check.is_none() && (s.order.is_empty() || pk.is_empty()) => {
                WriteReturn::Rows(s)
            }
            Some(_) if !pk.is_empty() => WriteReturn::Keys(&pk),
            None if (want_location || p.check.is_some()) && !pk.is_empty() => WriteReturn::Keys(&pk),
            None => WriteReturn::Nothing,
            Some(_) => {
                return Err(ApiError::not_implemented(
                    "return=representation needs a primary key on this database",
                    format!("the {} backend cannot return written rows of a table without a primary key", d.name()),
                ))
            }
        };
        if !matches!(ret, WriteReturn::Nothing) && !d.returning() {
            return Err(ApiError::not_implemented(
                "Returning written rows is not available on this database yet",
                format!("the {} backend has no RETURNING", d.name()),
            ));
        }
        let mut returned = JsonRows::new();
        for stmt in sql::write_statements(d, t, &p.op, &ret)? {
            match ret {
                WriteReturn::Nothing => out.affected += tx.execute(&stmt).await?,
                _ => {
                    let rows = tx.fetch_rows(&stmt).await?;
                    out.affected += rows.len() as u64;
                    for r in rows.iter() {
                        returned.push(r);
                    }
                }
            }
        }
        match ret {
            WriteReturn::Rows(_) => out.rows = Some(returned),
            WriteReturn::Keys(cols) => {
                let keys = parse_keys(cols, &returned)?;
                check_written(d, tx, p, cols, &keys).await?;
                if want_location {
                    out.location = returned.iter().next().and_then(|first| location_pairs(cols, first));
                }
                if let Some(shape) = shape {
                    out.rows = Some(tx.fetch_rows(&sql::rows_by_keys(d, t, shape, cols, &keys)?).await?);
                }
            }
            WriteReturn::Nothing => {}
        }
    }

    if let Some(max) = p.max_affected {
        if out.affected > max {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "PGRST124", "Query result exceeds max-affected preference constraint")
                .with_details(format!("The query affects {} rows", out.affected)));
        }
    }
    if p.accept.representation == Representation::SingleObject && out.affected != 1 {
        return Err(singular_error(out.affected));
    }
    Ok(out)
}

/// A write on a dialect without RETURNING: the main statement runs on its
/// own, and the keys of the rows it touched are settled in the same
/// transaction — from the payload (inserts that carry their key or the
/// upsert's conflict target), from `LAST_INSERT_ID()` (an auto-increment
/// key; a multi-row INSERT's ids are consecutive from it), or by locking
/// the matching rows before an UPDATE. The representation and `Location`
/// are then read back by those keys.
async fn write_without_returning(
    d: &dyn sql::Dialect,
    tx: &mut dyn WriteTx,
    p: &WritePlan<'_>,
    pk: &[&Column],
    shape: Option<&Shape<'_>>,
    want_location: bool,
    out: &mut WriteOutcome,
) -> Result<(), ApiError> {
    let t = p.table;
    let stmts = sql::write_statements(d, t, &p.op, &WriteReturn::Nothing)?;
    let upsert = matches!(&p.op, WriteOp::Insert { conflict: Some(_), .. });
    if shape.is_none() && !want_location && !upsert && p.check.is_none() {
        for stmt in &stmts {
            out.affected += tx.execute(stmt).await?;
        }
        return Ok(());
    }
    let no_key = || {
        ApiError::not_implemented(
            "return=representation needs a primary key on this database",
            format!("the {} backend cannot return written rows of a table without a primary key", d.name()),
        )
    };
    let (cols, keys): (Vec<&Column>, Vec<Vec<SqlValue>>) = match &p.op {
        WriteOp::Insert { columns, rows, conflict } => {
            let from_payload = |key_cols: &[&Column]| -> Option<Vec<Vec<SqlValue>>> {
                let idx: Vec<usize> =
                    key_cols.iter().map(|k| columns.iter().position(|c| c.name == k.name)).collect::<Option<Vec<usize>>>()?;
                rows.iter().map(|r| idx.iter().map(|&i| r[i].clone()).collect::<Option<Vec<SqlValue>>>()).collect()
            };
            let key_cols: Vec<&Column> = match conflict {
                Some(c) if !c.target.is_empty() && from_payload(&c.target).is_some() => c.target.clone(),
                _ => pk.to_vec(),
            };
            match (!key_cols.is_empty()).then(|| from_payload(&key_cols)).flatten() {
                Some(mut keys) => {
                    // ignore-duplicates returns only the rows it inserted.
                    let ignore = conflict.as_ref().is_some_and(|c| c.resolution == Resolution::IgnoreDuplicates);
                    let existing = if ignore && !keys.is_empty() {
                        let stmt = sql::key_rows(d, t, &key_cols, None, Some((&key_cols, &keys)), false)?;
                        parse_keys(&key_cols, &tx.fetch_rows(&stmt).await?)?
                    } else {
                        Vec::new()
                    };
                    for stmt in &stmts {
                        out.affected += tx.execute(stmt).await?;
                    }
                    keys.retain(|k| !existing.contains(k));
                    let mut unique: Vec<Vec<SqlValue>> = Vec::with_capacity(keys.len());
                    for k in keys {
                        if !unique.contains(&k) {
                            unique.push(k);
                        }
                    }
                    if conflict.is_some() {
                        // ON DUPLICATE KEY UPDATE counts an update as 2.
                        out.affected = unique.len() as u64;
                    }
                    (key_cols, unique)
                }
                None => match pk {
                    [c] if c.auto_increment => {
                        let mut keys = Vec::new();
                        for stmt in &stmts {
                            let n = tx.execute(stmt).await?;
                            out.affected += n;
                            let first = tx.fetch_count(&sql::last_insert_id()).await?;
                            keys.extend((0..n).map(|i| vec![SqlValue::Int((first + i) as i64)]));
                        }
                        (vec![*c], keys)
                    }
                    _ if shape.is_none() && !want_location && p.check.is_none() => {
                        for stmt in &stmts {
                            out.affected += tx.execute(stmt).await?;
                        }
                        return Ok(());
                    }
                    _ => return Err(no_key()),
                },
            }
        }
        WriteOp::Update { set, filter } => {
            if pk.is_empty() {
                return Err(no_key());
            }
            let stmt = sql::key_rows(d, t, pk, filter.as_ref(), None, true)?;
            let mut keys = parse_keys(pk, &tx.fetch_rows(&stmt).await?)?;
            for stmt in &stmts {
                out.affected += tx.execute(stmt).await?;
            }
            // Keys the UPDATE itself changes take their new values.
            for (c, v) in set {
                if let (Some(i), Some(v)) = (pk.iter().position(|k| k.name == c.name), v) {
                    for k in &mut keys {
                        k[i] = v.clone();
                    }
                }
            }
            (pk.to_vec(), keys)
        }
        WriteOp::Delete { .. } => {
            for stmt in &stmts {
                out.affected += tx.execute(stmt).await?;
            }
            return Ok(());
        }
    };
    check_written(d, tx, p, &cols, &keys).await?;
    if want_location && !pk.is_empty() {
        if let Some(first) = keys.first() {
            let stmt = sql::key_rows(d, t, pk, None, Some((&cols, std::slice::from_ref(first))), false)?;
            out.location = tx.fetch_rows(&stmt).await?.iter().next().and_then(|row| location_pairs(pk, row));
        }
    }
    if let Some(shape) = shape {
        out.rows = Some(tx.fetch_rows(&sql::rows_by_keys(d, t, shape, &cols, &keys)?).await?);
    }
    Ok(())
}

/// The policy's check on the rows a write touched (by key): any that fails
/// refuses the write (the caller rolls back).
async fn check_written(
    d: &dyn sql::Dialect,
    tx: &mut dyn WriteTx,
    p: &WritePlan<'_>,
    cols: &[&Column],
    keys: &[Vec<SqlValue>],
) -> Result<(), ApiError> {
    if let Some(check) = &p.check {
        if !keys.is_empty() && tx.fetch_count(&sql::violations(d, p.table, cols, keys, check)?).await? > 0 {
            return Err(denial(p));
        }
    }
    Ok(())
}

fn denial(p: &WritePlan<'_>) -> ApiError {
    p.denial.clone().unwrap_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "42501", "new row violates row-level security policy"))
}

/// 406 PGRST116 for a singular response over `n` rows.
pub fn singular_error(n: u64) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, "PGRST116", "Cannot coerce the result to a single JSON object")
        .with_details(format!("The result contains {n} rows"))
}

/// Key tuples from the JSON objects a RETURNING of the key columns produced.
fn parse_keys(cols: &[&Column], rows: &JsonRows) -> Result<Vec<Vec<SqlValue>>, ApiError> {
    rows.iter()
        .map(|text| {
            let obj: serde_json::Map<String, Json> = serde_json::from_slice(text).map_err(|_| ApiError::internal())?;
            cols.iter().map(|c| coerce_json(c.ty, obj.get(&c.name).unwrap_or(&Json::Null))).collect()
        })
        .collect()
}

fn location_pairs(cols: &[&Column], first: &[u8]) -> Option<Vec<(String, String)>> {
    let obj: serde_json::Map<String, Json> = serde_json::from_slice(first).ok()?;
    Some(
        cols.iter()
            .map(|c| {
                let v = match obj.get(&c.name) {
                    Some(Json::String(s)) => s.clone(),
                    Some(Json::Null) | None => "null".to_owned(),
                    Some(other) => other.to_string(),
                };
                (c.name.clone(), v)
            })
            .collect(),
    )
}
