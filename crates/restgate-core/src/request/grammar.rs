//! The query-string grammar: select lists, filters, logic trees and order.
//!
//! Everything here is pure string work returning the typed pieces of an
//! [`ApiRequest`](super::ApiRequest); values stay text until the planner
//! coerces them by column type.

use crate::error::ApiError;

/// A column reference, possibly into a JSON value: `data->a->>b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// JSON path steps after the column.
    pub json_path: Vec<JsonStep>,
}

impl Field {
    /// A plain column reference.
    pub fn column(name: impl Into<String>) -> Self {
        Field { name: name.into(), json_path: Vec::new() }
    }

    /// The key this field gets in the output object: the last JSON key, or the column name.
    pub fn output_name(&self) -> String {
        match self.json_path.last() {
            Some(step) => match &step.key {
                JsonKey::Name(n) => n.clone(),
                JsonKey::Index(i) => i.to_string(),
            },
            None => self.name.clone(),
        }
    }

    /// Whether the last arrow is `->>` (the result is text, not JSON).
    pub fn is_text_path(&self) -> bool {
        self.json_path.last().is_some_and(|s| s.as_text)
    }
}

/// One `->key` / `->>key` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonStep {
    /// `->>` (as text) rather than `->` (as JSON).
    pub as_text: bool,
    /// Object key or array index.
    pub key: JsonKey,
}

/// An object key or an array index (negative counts from the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonKey {
    /// Object member.
    Name(String),
    /// Array element.
    Index(i64),
}

/// One item of `select=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    /// `*`: every (readable) column.
    Star,
    /// A column or JSON path, with optional alias and cast.
    Field {
        /// The column reference.
        field: Field,
        /// `alias:` prefix.
        alias: Option<String>,
        /// `::type` suffix.
        cast: Option<String>,
        /// `.sum()` etc.
        aggregate: Option<String>,
    },
    /// An embedded resource `[alias:]rel[!hint][!inner](…)`, optionally spread with `...`.
    Embed(Box<EmbedItem>),
}

/// An embedded resource in a select list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedItem {
    /// Relation (table, view) name.
    pub relation: String,
    /// Output key.
    pub alias: Option<String>,
    /// `!hint` (foreign key or column name).
    pub hint: Option<String>,
    /// `!inner` (true) or `!left`/absent (false).
    pub inner: bool,
    /// `...rel(...)`.
    pub spread: bool,
    /// The nested select list.
    pub select: Vec<SelectItem>,
}

/// Comparison and matching operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `=`
    Eq,
    /// `<>`
    Neq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// case-sensitive LIKE
    Like,
    /// case-insensitive LIKE
    ILike,
    /// POSIX regex
    Match,
    /// case-insensitive regex
    IMatch,
    /// `@>`
    Contains,
    /// `<@`
    ContainedIn,
    /// `&&`
    Overlap,
    /// `<<`
    StrictlyLeft,
    /// `>>`
    StrictlyRight,
    /// `&<`
    NotExtendRight,
    /// `&>`
    NotExtendLeft,
    /// `-|-`
    Adjacent,
}

impl Operator {
    fn parse(s: &str) -> Option<Operator> {
        Some(match s {
            "eq" => Operator::Eq,
            "neq" => Operator::Neq,
            "gt" => Operator::Gt,
            "gte" => Operator::Gte,
            "lt" => Operator::Lt,
            "lte" => Operator::Lte,
            "like" => Operator::Like,
            "ilike" => Operator::ILike,
            "match" => Operator::Match,
            "imatch" => Operator::IMatch,
            "cs" => Operator::Contains,
            "cd" => Operator::ContainedIn,
            "ov" => Operator::Overlap,
            "sl" => Operator::StrictlyLeft,
            "sr" => Operator::StrictlyRight,
            "nxr" => Operator::NotExtendRight,
            "nxl" => Operator::NotExtendLeft,
            "adj" => Operator::Adjacent,
            _ => return None,
        })
    }

    /// The operator's name in the URL grammar.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Neq => "neq",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Like => "like",
            Operator::ILike => "ilike",
            Operator::Match => "match",
            Operator::IMatch => "imatch",
            Operator::Contains => "cs",
            Operator::ContainedIn => "cd",
            Operator::Overlap => "ov",
            Operator::StrictlyLeft => "sl",
            Operator::StrictlyRight => "sr",
            Operator::NotExtendRight => "nxr",
            Operator::NotExtendLeft => "nxl",
            Operator::Adjacent => "adj",
        }
    }

    fn quantifiable(self) -> bool {
        matches!(
            self,
            Operator::Eq
                | Operator::Gt
                | Operator::Gte
                | Operator::Lt
                | Operator::Lte
                | Operator::Like
                | Operator::ILike
                | Operator::Match
                | Operator::IMatch
        )
    }
}

/// `(any)` / `(all)` on a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// true when any element matches.
    Any,
    /// true when every element matches.
    All,
}

/// The full-text operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtsOperator {
    /// `to_tsquery`
    Fts,
    /// `plainto_tsquery`
    Plain,
    /// `phraseto_tsquery`
    Phrase,
    /// `websearch_to_tsquery`
    Websearch,
}

/// The operand of `is.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    /// `is.null`
    Null,
    /// `is.not_null`
    NotNull,
    /// `is.true`
    True,
    /// `is.false`
    False,
    /// `is.unknown`
    Unknown,
}

/// What a filter tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `op.value`
    Compare(Operator, String),
    /// `op(any).{a,b}` / `op(all).{a,b}`
    Quantified(Operator, Quantifier, Vec<String>),
    /// `in.(a,b)`
    In(Vec<String>),
    /// `is.null` …
    Is(IsValue),
    /// `isdistinct.value`
    IsDistinct(String),
    /// `fts(lang).query`
    Fts(FtsOperator, Option<String>, String),
}

/// One horizontal filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The column (or JSON path) filtered.
    pub field: Field,
    /// `not.` prefix on the value.
    pub negate: bool,
    /// The test.
    pub operation: Operation,
}

/// `and(...)` / `or(...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOp {
    /// all must hold
    And,
    /// one must hold
    Or,
}

/// A nested boolean tree of filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicTree {
    /// AND or OR.
    pub op: LogicOp,
    /// `not.` prefix.
    pub negate: bool,
    /// The operands.
    pub children: Vec<LogicNode>,
}

/// A node of a [`LogicTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogicNode {
    /// A leaf filter.
    Filter(Filter),
    /// A nested tree.
    Tree(LogicTree),
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// ascending
    Asc,
    /// descending
    Desc,
}

/// Where NULLs sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// NULLS FIRST
    First,
    /// NULLS LAST
    Last,
}

/// One term of `order=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerm {
    /// `rel(col)` ordering by a to-one embed's column.
    pub relation: Option<String>,
    /// The column (or JSON path).
    pub field: Field,
    /// Direction, when given.
    pub direction: Option<Direction>,
    /// NULLS placement, when given.
    pub nulls: Option<Nulls>,
}

// ---------------------------------------------------------------------------
// Parsing

fn perr(what: &str, input: &str, detail: impl Into<String>) -> ApiError {
    ApiError::parse(format!("\"failed to parse {what} ({input})\""), detail)
}

/// How deeply embeds and logic trees may nest; the parsers recurse, so an
/// unbounded depth would let one query string overflow the stack.
const MAX_DEPTH: usize = 64;

/// A tiny cursor over a string, with position for error messages.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    /// Current nesting depth of embeds / logic trees.
    depth: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0, depth: 0 }
    }
    /// Enters one nesting level; errors past [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels at position {}", self.pos + 1));
        }
        Ok(())
    }
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn eat(&mut self, t: &str) -> bool {
        if self.rest().starts_with(t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn unexpected(&self) -> String {
        match self.peek() {
            Some(c) => format!("unexpected \"{c}\" at position {}", self.pos + 1),
            None => "unexpected end of input".to_owned(),
        }
    }
}

/// Characters that end an unquoted name.
fn is_name_char(c: char) -> bool {
    !matches!(c, ',' | '.' | ':' | '(' | ')' | '!' | '"' | '*' | '\'' | '-' | '>' | '{' | '}' | '&' | '=' | '[' | ']') && !c.is_control()
}

/// A quoted `"..."` string with `\"` and `\\` escapes; the cursor is on the opening quote.
fn quoted(c: &mut Cursor<'_>) -> Option<String> {
    if !c.eat("\"") {
        return None;
    }
    let mut out = String::new();
    loop {
        match c.bump()? {
            '"' => return Some(out),
            '\\' => match c.bump()? {
                ch @ ('"' | '\\') => out.push(ch),
                ch => {
                    out.push('\\');
                    out.push(ch);
                }
            },
            ch => out.push(ch),
        }
    }
}

/// A column or relation name: quoted, or identifier runs joined by single dashes.
fn name(c: &mut Cursor<'_>) -> Option<String> {
    if c.peek() == Some('"') {
        return quoted(c);
    }
    // Scan bytes: every byte of a multi-byte character is >= 0x80 and part of the name.
    let bytes = c.s.as_bytes();
    let start = c.pos;
    let mut i = start;
    loop {
        while i < bytes.len() && (bytes[i] >= 0x80 || is_name_char(bytes[i] as char)) {
            i += 1;
        }
        // A dash continues the name unless it starts an arrow.
        if i > start && bytes.get(i) == Some(&b'-') && bytes.get(i + 1) != Some(&b'>') {
            i += 1;
            continue;
        }
        break;
    }
    c.pos = i;
    let n = c.s[start..i].trim();
    (!n.is_empty()).then(|| n.to_owned())
}

fn json_path(c: &mut Cursor<'_>) -> Result<Vec<JsonStep>, String> {
    let mut steps = Vec::new();
    while c.rest().starts_with("->") {
        let as_text = c.eat("->>") || {
            c.eat("->");
            false
        };
        let r = c.rest();
        let digits = r.strip_prefix('-').unwrap_or(r);
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        let key = if n > 0 && !digits[n..].starts_with(|ch: char| is_name_char(ch)) {
            let len = n + (r.len() - digits.len());
            let idx = r[..len].parse::<i64>().map_err(|_| format!("invalid array index at position {}", c.pos + 1))?;
            c.pos += len;
            JsonKey::Index(idx)
        } else {
            match name(c) {
                Some(k) => JsonKey::Name(k),
                None => return Err(format!("expected a JSON key after the arrow; {}", c.unexpected())),
            }
        };
        steps.push(JsonStep { as_text, key });
    }
    Ok(steps)
}

fn field(c: &mut Cursor<'_>) -> Result<Field, String> {
    let n = name(c).ok_or_else(|| format!("expected a column name; {}", c.unexpected()))?;
    Ok(Field { name: n, json_path: json_path(c)? })
}

/// Parses `select=`.
pub fn parse_select(input: &str) -> Result<Vec<SelectItem>, ApiError> {
    let mut c = Cursor::new(input);
    let items = select_list(&mut c).map_err(|d| perr("select", input, d))?;
    if !c.eof() {
        return Err(perr("select", input, c.unexpected()));
    }
    Ok(items)
}

fn select_list(c: &mut Cursor<'_>) -> Result<Vec<SelectItem>, String> {
    let mut items = Vec::new();
    if c.eof() || c.peek() == Some(')') {
        return Ok(items);
    }
    loop {
        items.push(select_item(c)?);
        if !c.eat(",") {
            break;
        }
    }
    Ok(items)
}

fn select_item(c: &mut Cursor<'_>) -> Result<SelectItem, String> {
    if c.eat("*") {
        return Ok(SelectItem::Star);
    }
    let spread = c.eat("...");
    let first = name(c).ok_or_else(|| format!("expected a column or relation name; {}", c.unexpected()))?;
    // `alias:` (but not `::cast`)
    let (alias, n) = if c.rest().starts_with(':') && !c.rest().starts_with("::") {
        c.bump();
        let n = name(c).ok_or_else(|| format!("expected a name after the alias; {}", c.unexpected()))?;
        (Some(first), n)
    } else {
        (None, first)
    };
    // A bare `count()` is the row-count aggregate, not an embed.
    if !spread && n == "count" && c.rest().starts_with("()") {
        c.pos += 2;
        let mut cast = None;
        if c.eat("::") {
            cast = Some(name(c).ok_or_else(|| format!("expected a type after \"::\"; {}", c.unexpected()))?);
        }
        return Ok(SelectItem::Field { field: Field::column("*"), alias, cast, aggregate: Some("count".into()) });
    }
    // Embedded resource: name[!hint][!inner|!left](...)
    if c.peek() == Some('!') || c.peek() == Some('(') {
        let mut hint = None;
        let mut inner = false;
        while c.eat("!") {
            let h = name(c).ok_or_else(|| format!("expected a hint or join type after \"!\"; {}", c.unexpected()))?;
            match h.as_str() {
                "inner" => inner = true,
                "left" => inner = false,
                _ if hint.is_none() => hint = Some(h),
                _ => return Err(format!("unexpected second hint \"{h}\"")),
            }
        }
        if !c.eat("(") {
            return Err(format!("expected \"(\" after the embedded resource; {}", c.unexpected()));
        }
        c.descend()?;
        let select = select_list(c)?;
        c.depth -= 1;
        if !c.eat(")") {
            return Err(format!("expected \")\"; {}", c.unexpected()));
        }
        return Ok(SelectItem::Embed(Box::new(EmbedItem { relation: n, alias, hint, inner, spread, select })));
    }
    if spread {
        return Err("\"...\" must be followed by an embedded resource".to_owned());
    }
    let f = Field { name: n, json_path: json_path(c)? };
    let mut cast = None;
    let mut aggregate = None;
    if c.eat("::") {
        cast = Some(name(c).ok_or_else(|| format!("expected a type after \"::\"; {}", c.unexpected()))?);
    }
    if c.rest().starts_with('.') {
        c.bump();
        let agg = name(c).ok_or_else(|| format!("expected an aggregate after \".\"; {}", c.unexpected()))?;
        if !c.eat("()") {
            return Err(format!("expected \"()\" after the aggregate; {}", c.unexpected()));
        }
        aggregate = Some(agg);
        if c.eat("::") {
            cast = Some(name(c).ok_or_else(|| format!("expected a type after \"::\"; {}", c.unexpected()))?);
        }
    }
    Ok(SelectItem::Field { field: f, alias, cast, aggregate })
}

/// Parses `order=`.
pub fn parse_order(input: &str) -> Result<Vec<OrderTerm>, ApiError> {
    let mut c = Cursor::new(input);
    let mut terms = Vec::new();
    let fail = |c: &Cursor<'_>, d: String| perr("order", input, format!("{d}; {}", c.unexpected()));
    loop {
        let first = name(&mut c).ok_or_else(|| fail(&c, "expected a column name".into()))?;
        let (relation, field) = if c.eat("(") {
            let f = field(&mut c).map_err(|d| perr("order", input, d))?;
            if !c.eat(")") {
                return Err(fail(&c, "expected \")\"".into()));
            }
            (Some(first), f)
        } else {
            let path = json_path(&mut c).map_err(|d| perr("order", input, d))?;
            (None, Field { name: first, json_path: path })
        };
        let mut direction = None;
        let mut nulls = None;
        while c.eat(".") {
            let word = name(&mut c).unwrap_or_default();
            match word.as_str() {
                "asc" if direction.is_none() && nulls.is_none() => direction = Some(Direction::Asc),
                "desc" if direction.is_none() && nulls.is_none() => direction = Some(Direction::Desc),
                "nullsfirst" if nulls.is_none() => nulls = Some(Nulls::First),
                "nullslast" if nulls.is_none() => nulls = Some(Nulls::Last),
                _ => {
                    return Err(perr(
                        "order",
                        input,
                        format!("unexpected \"{word}\", expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
                    ))
                }
            }
        }
        terms.push(OrderTerm { relation, field, direction, nulls });
        if c.eof() {
            break;
        }
        if !c.eat(",") {
            return Err(fail(&c, "expected \",\"".into()));
        }
    }
    Ok(terms)
}

/// Parses the value of a filter pair `key=value` (`[not.]op[(mod)].operand`).
pub fn parse_filter(key: &str, field: Field, value: &str) -> Result<Filter, ApiError> {
    let (negate, operation) = operation(value, false).map_err(|d| perr("filter", &format!("{key}={value}"), d))?;
    Ok(Filter { field, negate, operation })
}

/// Parses an operation; in a logic tree (`in_tree`) operands may be quoted.
fn operation(value: &str, in_tree: bool) -> Result<(bool, Operation), String> {
    let (negate, rest) = match value.strip_prefix("not.") {
        Some(r) => (true, r),
        None => (false, value),
    };
    let op_end = rest.find(['.', '(']).ok_or_else(|| {
        if rest.is_empty() {
            "expected an operator, e.g. \"eq.\"; unexpected end of input".to_owned()
        } else {
            format!("unknown operator \"{rest}\" or missing operand after it")
        }
    })?;
    let op_name = &rest[..op_end];
    let mut after = &rest[op_end..];
    let mut modifier = None;
    if let Some(m) = after.strip_prefix('(') {
        let close = m.find(')').ok_or_else(|| format!("expected \")\" after \"{op_name}(\""))?;
        modifier = Some(&m[..close]);
        after = &m[close + 1..];
    }
    let operand = after.strip_prefix('.').ok_or_else(|| format!("expected \".\" after the operator \"{op_name}\""))?;
    let scalar = |s: &str| if in_tree { unquote(s) } else { s.to_owned() };
    let op = match op_name {
        "in" => {
            if modifier.is_some() {
                return Err("\"in\" takes no modifier".into());
            }
            Operation::In(in_list(operand)?)
        }
        "is" => {
            if modifier.is_some() {
                return Err("\"is\" takes no modifier".into());
            }
            let v = match operand.to_ascii_lowercase().as_str() {
                "null" => IsValue::Null,
                "not_null" => IsValue::NotNull,
                "true" => IsValue::True,
                "false" => IsValue::False,
                "unknown" => IsValue::Unknown,
                _ => return Err(format!("unexpected \"{operand}\" after \"is.\", expecting null, not_null, true, false or unknown")),
            };
            Operation::Is(v)
        }
        "isdistinct" => {
            if modifier.is_some() {
                return Err("\"isdistinct\" takes no modifier".into());
            }
            Operation::IsDistinct(scalar(operand))
        }
        "fts" | "plfts" | "phfts" | "wfts" => {
            let f = match op_name {
                "fts" => FtsOperator::Fts,
                "plfts" => FtsOperator::Plain,
                "phfts" => FtsOperator::Phrase,
                _ => FtsOperator::Websearch,
            };
            Operation::Fts(f, modifier.map(str::to_owned), scalar(operand))
        }
        _ => {
            let op = Operator::parse(op_name).ok_or_else(|| format!("unknown operator \"{op_name}\""))?;
            match modifier {
                None => Operation::Compare(op, scalar(operand)),
                Some(m) => {
                    let q = match m {
                        "any" => Quantifier::Any,
                        "all" => Quantifier::All,
                        _ => return Err(format!("unknown modifier \"{m}\", expecting any or all")),
                    };
                    if !op.quantifiable() {
                        return Err(format!("the operator \"{op_name}\" takes no (any)/(all) modifier"));
                    }
                    Operation::Quantified(op, q, array_literal(operand)?)
                }
            }
        }
    };
    Ok((negate, op))
}

/// `"a\"b"` → `a"b`; anything not fully quoted is returned as is.
fn unquote(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        let mut c = Cursor::new(s);
        if let Some(q) = quoted(&mut c) {
            if c.eof() {
                return q;
            }
        }
    }
    s.to_owned()
}

/// Items of a comma-separated list, honouring double quotes.
fn list_items(inner: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    let mut c = Cursor::new(inner);
    loop {
        if c.peek() == Some('"') {
            items.push(quoted(&mut c).ok_or("unterminated quoted value")?);
        } else {
            let start = c.pos;
            while c.peek().is_some_and(|ch| ch != ',') {
                c.bump();
            }
            items.push(inner[start..c.pos].to_owned());
        }
        if c.eof() {
            return Ok(items);
        }
        if !c.eat(",") {
            return Err(format!("expected \",\" between list items; {}", c.unexpected()));
        }
    }
}

fn in_list(operand: &str) -> Result<Vec<String>, String> {
    let inner = operand
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected a list in parentheses after \"in.\", got \"{operand}\""))?;
    list_items(inner)
}

fn array_literal(operand: &str) -> Result<Vec<String>, String> {
    let inner = operand
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| format!("expected an array literal like {{a,b}} after the modifier, got \"{operand}\""))?;
    list_items(inner)
}

/// Parses the value of `or=`/`and=` (the part in parentheses).
pub fn parse_logic(key: &str, op: LogicOp, negate: bool, value: &str) -> Result<LogicTree, ApiError> {
    let fail = |d: String| perr("logic tree", &format!("{key}={value}"), d);
    let mut c = Cursor::new(value);
    if !c.eat("(") {
        return Err(fail(format!("expected \"(\"; {}", c.unexpected())));
    }
    let children = logic_children(&mut c).map_err(fail)?;
    if !c.eat(")") {
        return Err(fail(format!("expected \")\"; {}", c.unexpected())));
    }
    if !c.eof() {
        return Err(fail(c.unexpected()));
    }
    Ok(LogicTree { op, negate, children })
}

fn logic_children(c: &mut Cursor<'_>) -> Result<Vec<LogicNode>, String> {
    let mut nodes = Vec::new();
    loop {
        nodes.push(logic_node(c)?);
        if !c.eat(",") {
            return Ok(nodes);
        }
    }
}

fn logic_node(c: &mut Cursor<'_>) -> Result<LogicNode, String> {
    let save = c.pos;
    let negate = c.eat("not.");
    for (word, op) in [("and(", LogicOp::And), ("or(", LogicOp::Or)] {
        if c.eat(word) {
            c.descend()?;
            let children = logic_children(c)?;
            c.depth -= 1;
            if !c.eat(")") {
                return Err(format!("expected \")\"; {}", c.unexpected()));
            }
            return Ok(LogicNode::Tree(LogicTree { op, negate, children }));
        }
    }
    c.pos = save;
    let f = field(c)?;
    if !c.eat(".") {
        return Err(format!("expected \".\" after the column; {}", c.unexpected()));
    }
    // The value runs to the next top-level ',' or ')'; quotes, {…} and (…) nest.
    let start = c.pos;
    let mut depth = 0usize;
    while let Some(ch) = c.peek() {
        match ch {
            '"' => {
                quoted(c).ok_or("unterminated quoted value")?;
                continue;
            }
            '(' | '{' => depth += 1,
            ')' | '}' if depth > 0 => depth -= 1,
            ',' | ')' if depth == 0 => break,
            _ => {}
        }
        c.bump();
    }
    let (negate, operation) = operation(&c.s[start..c.pos], true)?;
    Ok(LogicNode::Filter(Filter { field: f, negate, operation }))
}

/// Splits a filter key into its embed path and the field: `a.b.col->x` →
/// (`[a, b]`, `col->x`). Dots inside quotes do not split.
pub fn split_key(key: &str) -> Result<(Vec<String>, Field), ApiError> {
    let mut path = Vec::new();
    let mut c = Cursor::new(key);
    loop {
        let f = field(&mut c).map_err(|d| perr("filter", key, d))?;
        if c.eof() {
            return Ok((path, f));
        }
        if f.json_path.is_empty() && c.eat(".") {
            path.push(f.name);
            continue;
        }
        return Err(perr("filter", key, c.unexpected()));
    }
}

/// Splits a reserved key with an embed prefix: `actors.order` → (`[actors]`, `order`).
pub fn split_reserved(key: &str) -> (Vec<String>, &str) {
    // Most keys are filters: decide on the last dot-separated word first.
    let last = key.rsplit('.').next().unwrap_or(key);
    if !matches!(last, "order" | "limit" | "offset" | "or" | "and") {
        return (Vec::new(), key);
    }
    for word in ["not.or", "not.and", "order", "limit", "offset", "or", "and"] {
        if key == word {
            return (Vec::new(), word);
        }
        if let Some(prefix) = key.strip_suffix(word).and_then(|p| p.strip_suffix('.')) {
            if !prefix.is_empty() && !prefix.contains('"') && !prefix.ends_with(".not") {
                return (prefix.split('.').map(str::to_owned).collect(), word);
            }
        }
    }
    (Vec::new(), key)
}
