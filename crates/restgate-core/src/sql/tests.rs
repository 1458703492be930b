//! Rendering of embedded resources: one statement per read, per dialect.

use super::*;
use crate::catalog::{Catalog, Column, ForeignKey, Table};
use crate::plan::{plan, Plan, PlanOptions};
use crate::request::ApiRequest;

fn catalog() -> Catalog {
    let table = |name: &str, cols: &[(&str, &str)], pk: &[&str]| {
        let mut t = Table::new("main", name);
        t.columns = cols.iter().map(|(n, ty)| Column::new(*n, *ty)).collect();
        t.primary_key = pk.iter().map(|s| s.to_string()).collect();
        t
    };
    let directors = table("directors", &[("id", "INTEGER"), ("last_name", "TEXT")], &["id"]);
    let mut films = table("films", &[("id", "INTEGER"), ("director_id", "INTEGER"), ("title", "TEXT")], &["id"]);
    films.foreign_keys.push(ForeignKey::new("films_director_id_fkey", ["director_id"], "directors", ["id"]));
    let actors = table("actors", &[("id", "INTEGER"), ("first_name", "TEXT")], &["id"]);
    let mut roles = table("roles", &[("film_id", "INTEGER"), ("actor_id", "INTEGER")], &["film_id", "actor_id"]);
    roles.foreign_keys.push(ForeignKey::new("roles_film_id_fkey", ["film_id"], "films", ["id"]));
    roles.foreign_keys.push(ForeignKey::new("roles_actor_id_fkey", ["actor_id"], "actors", ["id"]));
    Catalog::new(vec!["main".into()], vec![directors, films, actors, roles])
}

/// The read statement of `GET /films?<query>` over `catalog`: SQL and values.
fn render(catalog: &Catalog, query: &str, d: &dyn Dialect) -> (String, Vec<sea_query::Value>) {
    let req = ApiRequest::parse(&http::Method::GET, "/films", Some(query), &Default::default(), &[]).unwrap();
    let Plan::Read(p) = plan(&req, catalog, &PlanOptions::default()).unwrap() else { panic!("not a read") };
    let st = read_statement(d, &p).unwrap();
    (st.sql, st.values.0)
}

fn read_sql(d: &dyn Dialect, query: &str) -> String {
    render(&catalog(), query, d).0
}

/// Films with their director (many-to-one: an object) and their first two
/// actors by name (many-to-many through `roles`: an array), ten films.
const EMBED: &str = "select=title,directors(last_name),actors(first_name)&actors.order=first_name.desc&actors.limit=2&limit=10";

#[test]
fn embeds_render_as_one_statement_sqlite() {
    assert_eq!(
        read_sql(&SqliteDialect, EMBED),
        r#"SELECT group_concat("j", ','), count(*) FROM (SELECT json_object('title', "films"."title", 'directors', json((SELECT json_object('last_name', "_rg1"."last_name") FROM "main"."directors" AS "_rg1" WHERE "_rg1"."id" = "films"."director_id")), 'actors', json((SELECT json_group_array(json("j")) FROM (SELECT json_object('first_name', "_rg2"."first_name") AS "j" FROM "main"."actors" AS "_rg2" WHERE EXISTS(SELECT 1 FROM "main"."roles" AS "_rg3" WHERE "_rg3"."film_id" = "films"."id" AND "_rg3"."actor_id" = "_rg2"."id") ORDER BY "_rg2"."first_name" DESC NULLS FIRST LIMIT ?) AS "r"))) AS "j" FROM "main"."films" LIMIT 10) AS t"#
    );
}

/// PostgreSQL: objects as text over the ordered, limited derived table;
/// the to-one director a LEFT JOIN (its key is `directors`' primary key),
/// the to-many actors a correlated subquery.
#[test]
fn embeds_render_as_one_statement_postgres() {
    assert_eq!(
        read_sql(&PostgresDialect, EMBED),
        r#"SELECT string_agg('{"title":' || COALESCE(to_json("_rg_row"."title")::text, 'null') || ',"directors":' || COALESCE("_rg_row"."directors"::text, 'null') || ',"actors":' || COALESCE("_rg_row"."actors"::text, 'null') || '}', ','), count(*) FROM (SELECT "films"."title" AS "title", (CASE WHEN ("_rg1"."id" IS NULL) THEN NULL ELSE '{"last_name":' || COALESCE(to_json("_rg1"."last_name")::text, 'null') || '}' END) AS "directors", (SELECT COALESCE(('[' || string_agg('{"first_name":' || COALESCE(to_json("_rg_row"."first_name")::text, 'null') || '}', ',')) || ']', '[]') FROM (SELECT "_rg2"."first_name" AS "first_name" FROM "main"."actors" AS "_rg2" WHERE EXISTS(SELECT 1 FROM "main"."roles" AS "_rg3" WHERE "_rg3"."film_id" = "films"."id" AND "_rg3"."actor_id" = "_rg2"."id") ORDER BY "_rg2"."first_name" DESC NULLS FIRST LIMIT $1) AS "_rg_row") AS "actors" FROM "main"."films" LEFT JOIN "main"."directors" AS "_rg1" ON "_rg1"."id" = "films"."director_id" LIMIT 10) AS "_rg_row""#
    );
}

/// MariaDB: the to-one director is a LEFT JOIN (its key is `directors`'
/// primary key), the to-many actors a correlated subquery.
#[test]
fn embeds_render_as_one_statement_mysql() {
    assert_eq!(
        read_sql(&MySqlDialect, EMBED),
        r#"SELECT CONCAT('{\"title\":', IFNULL(CONCAT('#', LENGTH(CONVERT(`films`.`title` USING utf8mb4)), ':', CONVERT(`films`.`title` USING utf8mb4)), 'null'), ',\"directors\":', IFNULL((CASE WHEN (`_rg1`.`id` IS NULL) THEN NULL ELSE IFNULL(CONCAT('{\"last_name\":', IFNULL(CONCAT('#', LENGTH(CONVERT(`_rg1`.`last_name` USING utf8mb4)), ':', CONVERT(`_rg1`.`last_name` USING utf8mb4)), 'null'), '}'), '\0') END), 'null'), ',\"actors\":', IFNULL((SELECT IF(@@group_concat_max_len < @@max_allowed_packet, '\0', IFNULL(CONCAT('[', IFNULL(GROUP_CONCAT(IFNULL(CONCAT('{\"first_name\":', IFNULL(CONCAT('#', LENGTH(CONVERT(`_rg2`.`first_name` USING utf8mb4)), ':', CONVERT(`_rg2`.`first_name` USING utf8mb4)), 'null'), '}'), '\0') ORDER BY `_rg2`.`first_name` IS NULL DESC, `_rg2`.`first_name` DESC SEPARATOR ',' LIMIT 2 OFFSET 0), ''), ']'), '\0')) FROM `main`.`actors` AS `_rg2` WHERE EXISTS(SELECT 1 FROM `main`.`roles` AS `_rg3` WHERE `_rg3`.`film_id` = `films`.`id` AND `_rg3`.`actor_id` = `_rg2`.`id`)), 'null'), '}') AS `j` FROM `main`.`films` LEFT JOIN `main`.`directors` AS `_rg1` ON `_rg1`.`id` = `films`.`director_id` LIMIT 10"#
    );
}

/// MySQL: the same texts as MariaDB's, the to-one director a LEFT JOIN as there,
/// the actors windowed in a derived table (GROUP_CONCAT has no LIMIT).
#[test]
fn embeds_render_as_one_statement_mysql8() {
    assert_eq!(
        read_sql(&MySql8Dialect, EMBED),
        r#"SELECT CONCAT('{\"title\":', IFNULL(CONCAT('#', LENGTH(CONVERT(`films`.`title` USING utf8mb4)), ':', CONVERT(`films`.`title` USING utf8mb4)), 'null'), ',\"directors\":', IFNULL((CASE WHEN (`_rg1`.`id` IS NULL) THEN NULL ELSE IFNULL(CONCAT('{\"last_name\":', IFNULL(CONCAT('#', LENGTH(CONVERT(`_rg1`.`last_name` USING utf8mb4)), ':', CONVERT(`_rg1`.`last_name` USING utf8mb4)), 'null'), '}'), '\0') END), 'null'), ',\"actors\":', IFNULL((SELECT IF(@@group_concat_max_len < @@max_allowed_packet, '\0', IFNULL(CONCAT('[', IFNULL(GROUP_CONCAT(`j` ORDER BY `k0` IS NULL DESC, `k0` DESC SEPARATOR ','), ''), ']'), '\0')) FROM (SELECT IFNULL(CONCAT('{\"first_name\":', IFNULL(CONCAT('#', LENGTH(CONVERT(`_rg2`.`first_name` USING utf8mb4)), ':', CONVERT(`_rg2`.`first_name` USING utf8mb4)), 'null'), '}'), '\0') AS `j`, `_rg2`.`first_name` AS `k0` FROM `main`.`actors` AS `_rg2` WHERE EXISTS(SELECT 1 FROM `main`.`roles` AS `_rg3` WHERE `_rg3`.`film_id` = `films`.`id` AND `_rg3`.`actor_id` = `_rg2`.`id`) ORDER BY `_rg2`.`first_name` IS NULL DESC, `_rg2`.`first_name` DESC LIMIT ?) AS `r`), 'null'), '}') AS `j` FROM `main`.`films` LEFT JOIN `main`.`directors` AS `_rg1` ON `_rg1`.`id` = `films`.`director_id` LIMIT 10"#
    );
}

#[test]
fn plain_select_lists_are_rendered_once_per_table_and_reused_verbatim() {
    let catalog = catalog();
    let render = |query: &str, d: &dyn Dialect| {
        let (sql, values) = render(&catalog, query, d);
        (sql, values.len())
    };
    let films = catalog.tables().iter().find(|t| t.name == "films").unwrap();
    let count = || films.select_lists.0.read().unwrap().len();
    let dialects: [&dyn Dialect; 3] = [&SqliteDialect, &PostgresDialect, &MySqlDialect];
    for d in dialects {
        let before = count();
        let first = render("select=id,title&id=eq.3&order=title", d);
        assert_eq!(count(), before + 1, "{}: the list is kept", d.name());
        // Same shape, other values: the same SQL, the list reused.
        let (sql, values) = render("select=id,title&id=eq.9&order=title", d);
        assert_eq!((sql, values), first);
        assert_eq!(count(), before + 1);
        // Other keys or columns are other lists; casts are never kept.
        let (renamed, _) = render("select=id,name:title&id=eq.3&order=title", d);
        assert_ne!(renamed, first.0);
        assert!(renamed.contains("name"));
        assert_eq!(count(), before + 2);
        render("select=id,title::text", d);
        assert_eq!(count(), before + 2);
        // Embeds are kept when nothing in them binds a value: reused for
        // the same shape, another list for other embedded columns.
        let embed = render("select=title,directors(last_name),actors(first_name)&actors.order=first_name&id=gt.1", d);
        assert_eq!(count(), before + 3);
        assert_eq!(render("select=title,directors(last_name),actors(first_name)&actors.order=first_name&id=gt.7", d), embed);
        assert_eq!(count(), before + 3);
        render("select=title,directors(id),actors(first_name)&actors.order=first_name", d);
        assert_eq!(count(), before + 4);
        // An embedded filter or limit binds values: not kept.
        render("select=title,directors(last_name)&directors.last_name=eq.Ozu", d);
        render("select=title,actors(first_name)&actors.limit=2", d);
        assert_eq!(count(), before + 4);
    }
}

/// A kept list with embeds is the SQL the uncached path writes, to the byte.
#[test]
fn kept_embed_lists_are_the_uncached_sql() {
    let query = "select=title,directors(last_name),actors(first_name,roles(film_id))&actors.order=first_name.desc&id=gte.2&order=title";
    let dialects: [&dyn Dialect; 3] = [&SqliteDialect, &PostgresDialect, &MySqlDialect];
    for d in dialects {
        let kept = catalog();
        let first = render(&kept, query, d);
        assert_eq!(render(&kept, query, d), first, "{}: reused", d.name());
        // A catalog whose films table keeps as many lists as it may renders afresh.
        let full = catalog();
        for n in 0..SelectLists::MAX {
            render(&full, &format!("select=k{n}:id"), d);
        }
        assert_eq!(render(&full, query, d), first, "{}: the same SQL uncached", d.name());
    }
}

/// Plain comparisons are written directly ([`plain_where`]), in each
/// dialect's quoting and placeholders, values in order; anything else
/// (an OR, a pattern, a JSON path) still goes through sea-query.
#[test]
fn plain_filters_are_written_directly() {
    let catalog = catalog();
    let render = |query: &str, d: &dyn Dialect| render(&catalog, query, d);
    let q = "select=id&id=gte.2&title=neq.Ran&director_id=lt.9&limit=5";
    let (sql, values) = render(q, &SqliteDialect);
    assert!(sql.contains(r#"WHERE "id" >= ? AND "title" <> ? AND "director_id" < ? LIMIT 5"#), "{sql}");
    assert_eq!(
        values,
        [sea_query::Value::BigInt(Some(2)), sea_query::Value::String(Some("Ran".into())), sea_query::Value::BigInt(Some(9))]
    );
    let (sql, values) = render(q, &PostgresDialect);
    // PostgreSQL binds the LIMIT too (Dialect::binds_limits).
    assert!(sql.contains(r#"WHERE "id" >= $1 AND "title" <> $2 AND "director_id" < $3 LIMIT $4"#), "{sql}");
    assert_eq!(values.len(), 4);
    assert_eq!(values[3], sea_query::Value::BigInt(Some(5)));
    let (sql, _) = render(q, &MySqlDialect);
    assert!(sql.contains("WHERE `id` >= ? AND `title` <> ? AND `director_id` < ? LIMIT 5"), "{sql}");
    // Not plain: sea-query renders them, as before.
    let (sql, values) = render("select=id&or=(id.eq.1,id.eq.2)&title=like.R*", &PostgresDialect);
    assert!(sql.contains(r#"WHERE ("title" LIKE $1) AND ("id" = $2 OR "id" = $3)"#), "{sql}");
    assert_eq!(values.len(), 3);
}
