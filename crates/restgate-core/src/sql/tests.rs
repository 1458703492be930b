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

fn read_sql(d: &dyn Dialect, query: &str) -> String {
    let catalog = catalog();
    let req = ApiRequest::parse(&http::Method::GET, "/films", Some(query), &Default::default(), &[]).unwrap();
    let Plan::Read(p) = plan(&req, &catalog, &PlanOptions::default()).unwrap() else { panic!("not a read") };
    read_statement(d, &p).unwrap().sql
}

/// Films with their director (many-to-one: an object) and their first two
/// actors by name (many-to-many through `roles`: an array), ten films.
const EMBED: &str = "select=title,directors(last_name),actors(first_name)&actors.order=first_name.desc&actors.limit=2&limit=10";

#[test]
fn embeds_render_as_one_statement_sqlite() {
    assert_eq!(
        read_sql(&SqliteDialect, EMBED),
        r#"SELECT group_concat("j", ','), count(*) FROM (SELECT json_object('title', "films"."title", 'directors', json((SELECT json_object('last_name', "_rg1"."last_name") FROM "main"."directors" AS "_rg1" WHERE "_rg1"."id" = "films"."director_id" LIMIT ?)), 'actors', json((SELECT json_group_array(json("j")) FROM (SELECT json_object('first_name', "_rg2"."first_name") AS "j" FROM "main"."actors" AS "_rg2" WHERE EXISTS(SELECT 1 FROM "main"."roles" AS "_rg3" WHERE "_rg3"."film_id" = "films"."id" AND "_rg3"."actor_id" = "_rg2"."id") ORDER BY "_rg2"."first_name" DESC NULLS FIRST LIMIT ?) AS "r"))) AS "j" FROM "main"."films" LIMIT 10) AS t"#
    );
}

#[test]
fn embeds_render_as_one_statement_postgres() {
    assert_eq!(
        read_sql(&PostgresDialect, EMBED),
        r#"SELECT string_agg(row_to_json("_rg_row".*)::text, ','), count(*) FROM (SELECT "films"."title" AS "title", (SELECT row_to_json("_rg_row".*) FROM (SELECT "_rg1"."last_name" AS "last_name" FROM "main"."directors" AS "_rg1" WHERE "_rg1"."id" = "films"."director_id" LIMIT $1) AS "_rg_row") AS "directors", (SELECT COALESCE(CAST((('[' || string_agg(CAST(row_to_json("_rg_row".*) AS text), ',')) || ']') AS json), '[]'::json) FROM (SELECT "_rg2"."first_name" AS "first_name" FROM "main"."actors" AS "_rg2" WHERE EXISTS(SELECT 1 FROM "main"."roles" AS "_rg3" WHERE "_rg3"."film_id" = "films"."id" AND "_rg3"."actor_id" = "_rg2"."id") ORDER BY "_rg2"."first_name" DESC NULLS FIRST LIMIT $2) AS "_rg_row") AS "actors" FROM "main"."films" LIMIT 10) AS "_rg_row""#
    );
}

#[test]
fn embeds_render_as_one_statement_mysql() {
    assert_eq!(
        read_sql(&MySqlDialect, EMBED),
        r#"SELECT CONCAT('{\"title\":', COALESCE(JSON_QUOTE(`films`.`title`), CONVERT(`films`.`title` USING utf8mb4), 'null'), ',\"directors\":', IFNULL((SELECT IFNULL(CONCAT('{\"last_name\":', COALESCE(JSON_QUOTE(`_rg1`.`last_name`), CONVERT(`_rg1`.`last_name` USING utf8mb4), 'null'), '}'), '\0') FROM `main`.`directors` AS `_rg1` WHERE `_rg1`.`id` = `films`.`director_id` LIMIT ?), 'null'), ',\"actors\":', IFNULL((SELECT IF(@@group_concat_max_len < @@max_allowed_packet, '\0', IFNULL(CONCAT('[', IFNULL(GROUP_CONCAT(IFNULL(CONCAT('{\"first_name\":', COALESCE(JSON_QUOTE(`_rg2`.`first_name`), CONVERT(`_rg2`.`first_name` USING utf8mb4), 'null'), '}'), '\0') ORDER BY `_rg2`.`first_name` IS NULL DESC, `_rg2`.`first_name` DESC SEPARATOR ',' LIMIT 2 OFFSET 0), ''), ']'), '\0')) FROM `main`.`actors` AS `_rg2` WHERE EXISTS(SELECT 1 FROM `main`.`roles` AS `_rg3` WHERE `_rg3`.`film_id` = `films`.`id` AND `_rg3`.`actor_id` = `_rg2`.`id`)), 'null'), '}') AS `j` FROM `main`.`films` LIMIT 10"#
    );
}

#[test]
fn plain_select_lists_are_rendered_once_per_table_and_reused_verbatim() {
    let catalog = catalog();
    let render = |query: &str, d: &dyn Dialect| {
        let req = ApiRequest::parse(&http::Method::GET, "/films", Some(query), &Default::default(), &[]).unwrap();
        let Plan::Read(p) = plan(&req, &catalog, &PlanOptions::default()).unwrap() else { panic!("not a read") };
        let st = read_statement(d, &p).unwrap();
        (st.sql, st.values.0.len())
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
        // Other keys or columns are other lists; embeds and casts are never kept.
        let (renamed, _) = render("select=id,name:title&id=eq.3&order=title", d);
        assert_ne!(renamed, first.0);
        assert!(renamed.contains("name"));
        assert_eq!(count(), before + 2);
        render("select=id,title::text", d);
        render("select=title,directors(last_name)", d);
        assert_eq!(count(), before + 2);
    }
}
