//! MySQL and MariaDB.

use sea_query::{
    BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, LikeExpr, MysqlQueryBuilder, SelectStatement, UpdateStatement, Values,
};

use super::{json_bool, lit, pairs_to_args, sqlite_path, Dialect};
use crate::catalog::ColumnType;
use crate::error::ApiError;
use crate::request::{JsonStep, Operator};

/// MySQL 8 and MariaDB 10.6+.
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect;

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        "mysql"
    }
    builders!(MysqlQueryBuilder);
    fn returning(&self) -> bool {
        false
    }
    fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr {
        Func::cust("JSON_OBJECT").args(pairs_to_args(pairs)).into()
    }
    fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Boolean => json_bool(e, "JSON_EXTRACT('true', '$')", "JSON_EXTRACT('false', '$')"),
            ColumnType::Json => Func::cust("JSON_EXTRACT").args([e, lit("$")]).into(),
            _ => e,
        }
    }
    fn json_path(&self, e: Expr, path: &[JsonStep], compare: bool) -> Expr {
        let _ = compare;
        let as_text = path.last().is_some_and(|s| s.as_text);
        let p = lit(&sqlite_path(path).replace("[#-", "[last-"));
        let extracted: Expr = Func::cust("JSON_EXTRACT").args([e, p]).into();
        if as_text {
            Func::cust("JSON_UNQUOTE").arg(extracted).into()
        } else {
            extracted
        }
    }
    fn cast(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Integer => e.cast_as("SIGNED"),
            ColumnType::Float => e.cast_as("DOUBLE"),
            ColumnType::Numeric => e.cast_as("DECIMAL(65,30)"),
            ColumnType::Json => e.cast_as("JSON"),
            _ => e.cast_as("CHAR"),
        }
    }
    fn pattern(&self, e: Expr, op: Operator, pattern: &str) -> Result<Expr, ApiError> {
        Ok(match op {
            Operator::Like => e.binary(BinOper::Custom("LIKE BINARY"), Expr::val(pattern)),
            Operator::ILike => e.like(LikeExpr::new(pattern)),
            Operator::Match => Func::cust("REGEXP_LIKE").args([e, Expr::val(pattern), lit("c")]).into(),
            _ => Func::cust("REGEXP_LIKE").args([e, Expr::val(pattern), lit("i")]).into(),
        })
    }
    fn is_distinct(&self, a: Expr, b: Expr) -> Expr {
        a.binary(BinOper::Custom("<=>"), b).not()
    }
}
