//! SQLite.

use sea_query::{
    BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, LikeExpr, SelectStatement, SqliteQueryBuilder, UpdateStatement,
    Values,
};

use super::{
    array_over_derived, json_bool, lit, order_clause, pairs_to_args, single_by_pairs, sqlite_path, ArrayQuery, BindContext, Dialect,
    JoinOrder, JsonItem,
};
use crate::catalog::{Column, ColumnType};
use crate::error::ApiError;
use crate::request::{JsonStep, Operator};
use crate::value::SqlValue;

/// SQLite 3.38+ (JSON functions and `->`/`->>` built in).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

/// Converts a LIKE pattern (`%`, `_`, `\` escapes) to a case-sensitive GLOB pattern.
fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '\\' => match chars.next() {
                Some(e) => push_glob_literal(&mut out, e),
                None => push_glob_literal(&mut out, '\\'),
            },
            c => push_glob_literal(&mut out, c),
        }
    }
    out
}

fn push_glob_literal(out: &mut String, c: char) {
    match c {
        '*' | '?' | '[' => {
            out.push('[');
            out.push(c);
            out.push(']');
        }
        c => out.push(c),
    }
}

/// SQLite caps function arguments at 127: build wide objects in chunks.
const SQLITE_PAIRS_PER_CALL: usize = 60;

impl Dialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    builders!(SqliteQueryBuilder);
    fn returning(&self) -> bool {
        true
    }

    fn join_rows(&self, column: &str, order: &[JoinOrder]) -> Option<String> {
        // group_concat(... ORDER BY ...) needs SQLite 3.44; the bundled library is newer.
        Some(format!("group_concat(\"{column}\", ','{})", order_clause(order, '"')))
    }

    fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr {
        if pairs.len() <= SQLITE_PAIRS_PER_CALL {
            return Func::cust("json_object").args(pairs_to_args(pairs)).into();
        }
        // rtrim(json_object(a..),'}') || ',' || substr(json_object(b..),2) …, re-marked as JSON.
        let mut chunks: Vec<Vec<(String, Expr)>> = Vec::new();
        let mut it = pairs.into_iter().peekable();
        while it.peek().is_some() {
            chunks.push(it.by_ref().take(SQLITE_PAIRS_PER_CALL).collect());
        }
        let n = chunks.len();
        let mut joined: Option<Expr> = None;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut part: Expr = Func::cust("json_object").args(pairs_to_args(chunk)).into();
            if i + 1 < n {
                part = Func::cust("rtrim").args([part, lit("}")]).into();
            }
            if i > 0 {
                part = Func::cust("substr").args([part, Expr::cust("2")]).into();
            }
            joined = Some(match joined {
                None => part,
                Some(j) => j.binary(BinOper::Custom("||"), lit(",")).binary(BinOper::Custom("||"), part),
            });
        }
        Func::cust("json").arg(joined.unwrap_or_else(|| Expr::cust("'{}'"))).into()
    }

    fn json_embed(&self, e: Expr) -> Expr {
        // A subquery's result loses its JSON subtype: re-mark it.
        Func::cust("json").arg(e).into()
    }

    fn json_single(&self, from: SelectStatement, items: Vec<JsonItem>) -> Expr {
        single_by_pairs(self, from, items)
    }

    fn json_array(&self, q: ArrayQuery) -> Expr {
        // json_group_array over no rows is already '[]'.
        array_over_derived(self, q, "json_group_array", |e| e)
    }

    fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Boolean => json_bool(e, "json('true')", "json('false')"),
            ColumnType::Json | ColumnType::Array => {
                Expr::case(Expr::from(Func::cust("json_valid").arg(e.clone())), Func::cust("json").arg(e.clone())).finally(e).into()
            }
            ColumnType::Timestamp | ColumnType::TimestampTz => Func::cust("replace").args([e, lit(" "), lit("T")]).into(),
            // Infinities would render as 9.0e+999, which strict JSON parsers
            // refuse: give the strings PostgreSQL's JSON uses instead.
            ColumnType::Float => Expr::case(e.clone().eq(Expr::cust("9e999")), lit("Infinity"))
                .case(e.clone().eq(Expr::cust("-9e999")), lit("-Infinity"))
                .finally(e)
                .into(),
            // hex(NULL) is '' in SQLite: keep NULL as NULL.
            ColumnType::Binary => Expr::case(e.clone().is_null(), Expr::cust("NULL"))
                .finally(lit("\\x").binary(BinOper::Custom("||"), Func::cust("lower").arg(Func::cust("hex").arg(e))))
                .into(),
            _ => e,
        }
    }

    fn json_path(&self, e: Expr, path: &[JsonStep], compare: bool) -> Expr {
        let as_text = path.last().is_some_and(|s| s.as_text);
        let p = lit(&sqlite_path(path));
        match (as_text, compare) {
            (true, true) => e.binary(BinOper::Custom("->>"), p).cast_as("TEXT"),
            (true, false) | (false, true) => e.binary(BinOper::Custom("->>"), p),
            (false, false) => e.binary(BinOper::Custom("->"), p),
        }
    }

    fn bind(&self, v: SqlValue, ctx: BindContext, _target: Option<&Column>) -> Expr {
        match (v, ctx) {
            // A JSON operand compared with `col->path` (which yields the SQL value): extract it too.
            (SqlValue::Json(j), BindContext::Compare) => Expr::val(j).binary(BinOper::Custom("->>"), lit("$")),
            (v, _) => Expr::val(v.into_sea()),
        }
    }

    fn default_value(&self, column: &Column) -> Expr {
        // SQLite has no DEFAULT keyword in VALUES/SET: use the declared expression.
        match &column.default {
            Some(d) => Expr::cust(format!("({d})")),
            None => Expr::cust("NULL"),
        }
    }

    fn cast(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Integer | ColumnType::Boolean => e.cast_as("INTEGER"),
            ColumnType::Float => e.cast_as("REAL"),
            ColumnType::Numeric => e.cast_as("NUMERIC"),
            ColumnType::Json => Func::cust("json").arg(e).into(),
            _ => e.cast_as("TEXT"),
        }
    }

    fn pattern(&self, e: Expr, op: Operator, pattern: &str) -> Result<Expr, ApiError> {
        Ok(match op {
            Operator::Like => e.binary(BinOper::Custom("GLOB"), Expr::val(like_to_glob(pattern))),
            Operator::ILike => e.like(LikeExpr::new(pattern).escape('\\')),
            Operator::Match => e.binary(BinOper::Custom("REGEXP"), Expr::val(pattern)),
            _ => e.binary(BinOper::Custom("REGEXP"), Expr::val(format!("(?i){pattern}"))),
        })
    }

    fn is_distinct(&self, a: Expr, b: Expr) -> Expr {
        a.binary(BinOper::IsNot, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::JsonKey;

    #[test]
    fn like_patterns_become_case_sensitive_globs() {
        assert_eq!(like_to_glob("Jo%"), "Jo*");
        assert_eq!(like_to_glob("a_c"), "a?c");
        assert_eq!(like_to_glob("100\\%"), "100%");
        assert_eq!(like_to_glob("x*[y]?"), "x[*][[]y][?]");
    }

    #[test]
    fn sqlite_paths() {
        let p = [
            JsonStep { as_text: false, key: JsonKey::Name("phones".into()) },
            JsonStep { as_text: false, key: JsonKey::Index(-1) },
            JsonStep { as_text: true, key: JsonKey::Name("number".into()) },
        ];
        assert_eq!(sqlite_path(&p), "$.\"phones\"[#-1].\"number\"");
    }
}
