//! Resource embedding: `rel(...)` in `select`, its cardinalities, hints,
//! join types, embedded filters/orders/limits, spreads, and embeds in the
//! representation of writes.
//!
//! The fixture's film schema: directors 1 Kurosawa (films 1 Rashomon 1950,
//! 2 Ikiru 1952, 3 Ran 1985), 2 Coppola (4 Lost in Translation 2003,
//! 5 Marie Antoinette 2006, 6 Somewhere 2010), 3 Vigo (no films). Film 6
//! has no roles, specs or nominations; actor 7 (Lloyd) has no roles.

use http::Method;
use serde_json::{json, Value};

use crate::TestGate;

const REPR: &str = "return=representation";

/// Asserts `actual == expected`, keys in the same order as well (objects
/// keep the order of the select list, embedded ones too).
fn same(what: &str, actual: &Value, expected: &Value) {
    assert_eq!(actual, expected, "{what}");
    assert_eq!(actual.to_string(), expected.to_string(), "{what}: same values, keys in another order");
}

/// GET `uri`, asserting 200 and the exact body (key order included).
async fn check(t: &TestGate, uri: &str, expected: Value) {
    let v = t.get_json(uri).await;
    same(&format!("GET {uri}"), &v, &expected);
}

// --- Cardinalities and shapes ---------------------------------------------

case!(many_to_one_embed_is_an_object, |t| {
    check(
        &t,
        "/films?select=title,directors(last_name)&order=id",
        json!([
            {"title": "Rashomon", "directors": {"last_name": "Kurosawa"}},
            {"title": "Ikiru", "directors": {"last_name": "Kurosawa"}},
            {"title": "Ran", "directors": {"last_name": "Kurosawa"}},
            {"title": "Lost in Translation", "directors": {"last_name": "Coppola"}},
            {"title": "Marie Antoinette", "directors": {"last_name": "Coppola"}},
            {"title": "Somewhere", "directors": {"last_name": "Coppola"}},
        ]),
    )
    .await;
});

case!(many_to_one_embed_is_null_when_the_key_is_null, |t| {
    check(
        &t,
        "/stock?select=id,warehouses(name)&id=in.(3,4)&order=id",
        json!([{"id": 3, "warehouses": {"name": "South depot"}}, {"id": 4, "warehouses": null}]),
    )
    .await;
});

case!(one_to_one_embed_is_an_object_or_null, |t| {
    check(
        &t,
        "/films?select=title,technical_specs(runtime_min,camera)&order=id",
        json!([
            {"title": "Rashomon", "technical_specs": {"runtime_min": 88, "camera": "Mitchell BNC"}},
            {"title": "Ikiru", "technical_specs": null},
            {"title": "Ran", "technical_specs": {"runtime_min": 162, "camera": "Panavision"}},
            {"title": "Lost in Translation", "technical_specs": {"runtime_min": 102, "camera": "Arriflex 435"}},
            {"title": "Marie Antoinette", "technical_specs": null},
            {"title": "Somewhere", "technical_specs": null},
        ]),
    )
    .await;
});

case!(one_to_one_embed_from_the_side_holding_the_key, |t| {
    check(
        &t,
        "/technical_specs?select=camera,films(title,year)&order=film_id",
        json!([
            {"camera": "Mitchell BNC", "films": {"title": "Rashomon", "year": 1950}},
            {"camera": "Panavision", "films": {"title": "Ran", "year": 1985}},
            {"camera": "Arriflex 435", "films": {"title": "Lost in Translation", "year": 2003}},
        ]),
    )
    .await;
});

case!(one_to_many_embed_is_an_array, |t| {
    check(
        &t,
        "/directors?select=last_name,films(title)&films.order=year&order=id",
        json!([
            {"last_name": "Kurosawa", "films": [{"title": "Rashomon"}, {"title": "Ikiru"}, {"title": "Ran"}]},
            {"last_name": "Coppola", "films": [{"title": "Lost in Translation"}, {"title": "Marie Antoinette"}, {"title": "Somewhere"}]},
            {"last_name": "Vigo", "films": []},
        ]),
    )
    .await;
});

case!(one_to_many_embed_without_children_is_an_empty_array, |t| {
    check(&t, "/directors?select=last_name,films(title)&id=eq.3", json!([{"last_name": "Vigo", "films": []}])).await;
    check(
        &t,
        "/films?select=title,nominations(category)&id=in.(2,6)&order=id",
        json!([{"title": "Ikiru", "nominations": []}, {"title": "Somewhere", "nominations": []}]),
    )
    .await;
});

case!(many_to_many_embed_goes_through_the_junction, |t| {
    check(
        &t,
        "/films?select=title,actors(first_name)&actors.order=first_name&order=id",
        json!([
            {"title": "Rashomon", "actors": [{"first_name": "Takashi"}, {"first_name": "Toshiro"}]},
            {"title": "Ikiru", "actors": [{"first_name": "Takashi"}]},
            {"title": "Ran", "actors": [{"first_name": "Tatsuya"}]},
            {"title": "Lost in Translation", "actors": [{"first_name": "Bill"}, {"first_name": "Scarlett"}]},
            {"title": "Marie Antoinette", "actors": [{"first_name": "Kirsten"}]},
            {"title": "Somewhere", "actors": []},
        ]),
    )
    .await;
});

case!(many_to_many_embed_from_the_other_side, |t| {
    check(
        &t,
        "/actors?select=last_name,films(title)&films.order=year&order=id",
        json!([
            {"last_name": "Mifune", "films": [{"title": "Rashomon"}]},
            {"last_name": "Shimura", "films": [{"title": "Rashomon"}, {"title": "Ikiru"}]},
            {"last_name": "Nakadai", "films": [{"title": "Ran"}]},
            {"last_name": "Murray", "films": [{"title": "Lost in Translation"}]},
            {"last_name": "Johansson", "films": [{"title": "Lost in Translation"}]},
            {"last_name": "Dunst", "films": [{"title": "Marie Antoinette"}]},
            {"last_name": "Lloyd", "films": []},
        ]),
    )
    .await;
});

case!(junction_embeds_both_of_its_parents, |t| {
    check(
        &t,
        "/roles?select=character,films(title),actors(last_name)&film_id=eq.1&order=actor_id",
        json!([
            {"character": "Tajomaru", "films": {"title": "Rashomon"}, "actors": {"last_name": "Mifune"}},
            {"character": "Woodcutter", "films": {"title": "Rashomon"}, "actors": {"last_name": "Shimura"}},
        ]),
    )
    .await;
});

// --- Self-reference and composite keys ------------------------------------

case!(self_reference_to_the_parent_by_its_key_column, |t| {
    // As in PostgREST: the many-to-one side of a self-reference is named by
    // the key column (or the constraint) holding it.
    let managers = json!([
        {"name": "Alice", "manager": null},
        {"name": "Bob", "manager": {"name": "Alice"}},
        {"name": "Carol", "manager": {"name": "Alice"}},
        {"name": "Dave", "manager": {"name": "Bob"}},
        {"name": "Erin", "manager": {"name": "Bob"}},
        {"name": "Frank", "manager": {"name": "Carol"}},
    ]);
    check(&t, "/employees?select=name,manager:manager_id(name)&order=id", managers.clone()).await;
    check(&t, "/employees?select=name,manager:employees_manager_id_fkey(name)&order=id", managers).await;
    // Without an alias the key is the column's name.
    check(&t, "/employees?select=name,manager_id(name)&id=eq.2", json!([{"name": "Bob", "manager_id": {"name": "Alice"}}])).await;
});

case!(self_reference_by_name_is_the_children, |t| {
    // The table's own name (with or without the key column as a hint) means
    // the rows that point here: one-to-many.
    let reports = json!([
        {"name": "Alice", "reports": [{"name": "Bob"}, {"name": "Carol"}]},
        {"name": "Bob", "reports": [{"name": "Dave"}, {"name": "Erin"}]},
        {"name": "Carol", "reports": [{"name": "Frank"}]},
        {"name": "Dave", "reports": []},
        {"name": "Erin", "reports": []},
        {"name": "Frank", "reports": []},
    ]);
    check(&t, "/employees?select=name,reports:employees(name)&reports.order=id&order=id", reports.clone()).await;
    check(&t, "/employees?select=name,reports:employees!manager_id(name)&reports.order=id&order=id", reports.clone()).await;
    check(&t, "/employees?select=name,reports:employees!employees_manager_id_fkey(name)&reports.order=id&order=id", reports).await;
});

case!(self_reference_nests_in_both_directions, |t| {
    check(
        &t,
        "/employees?select=name,manager:manager_id(name,manager:manager_id(name))&id=eq.4",
        json!([{"name": "Dave", "manager": {"name": "Bob", "manager": {"name": "Alice"}}}]),
    )
    .await;
    check(
        &t,
        "/employees?select=name,reports:employees!manager_id(name,reports:employees!manager_id(name))&reports.order=id&reports.reports.order=id&id=eq.1",
        json!([{"name": "Alice", "reports": [
            {"name": "Bob", "reports": [{"name": "Dave"}, {"name": "Erin"}]},
            {"name": "Carol", "reports": [{"name": "Frank"}]},
        ]}]),
    )
    .await;
});

case!(self_reference_hint_on_the_near_column_is_pgrst200, |t| {
    // `!id` names no key column of the rows pointing here.
    t.get("/employees?select=name,reports:employees!id(name)").await.assert_error(400, "PGRST200");
});

case!(embed_by_key_column_or_constraint_name, |t| {
    check(
        &t,
        "/films?select=title,director_id(last_name)&id=eq.1",
        json!([{"title": "Rashomon", "director_id": {"last_name": "Kurosawa"}}]),
    )
    .await;
    check(
        &t,
        "/films?select=title,director:films_director_id_fkey(last_name)&id=eq.1",
        json!([{"title": "Rashomon", "director": {"last_name": "Kurosawa"}}]),
    )
    .await;
});

case!(composite_foreign_key_many_to_one, |t| {
    check(
        &t,
        "/stock?select=id,qty,warehouses(region,name)&order=id",
        json!([
            {"id": 1, "qty": 10, "warehouses": {"region": "north", "name": "North depot"}},
            {"id": 2, "qty": 5, "warehouses": {"region": "north", "name": "North depot"}},
            {"id": 3, "qty": 7, "warehouses": {"region": "south", "name": "South depot"}},
            {"id": 4, "qty": 3, "warehouses": null},
        ]),
    )
    .await;
});

case!(composite_foreign_key_one_to_many, |t| {
    // Both warehouses coded 1 differ by region: joining on one column would mix them.
    check(
        &t,
        "/warehouses?select=name,stock(qty)&stock.order=id&order=region,code",
        json!([
            {"name": "North depot", "stock": [{"qty": 10}, {"qty": 5}]},
            {"name": "South depot", "stock": [{"qty": 7}]},
            {"name": "West depot", "stock": []},
        ]),
    )
    .await;
});

// --- Shaping: aliases, nesting, star, empty embeds, casts, JSON paths -------

case!(aliased_embed_is_keyed_by_its_alias, |t| {
    check(
        &t,
        "/films?select=title,director:directors(first_name,last_name)&id=in.(1,4)&order=id",
        json!([
            {"title": "Rashomon", "director": {"first_name": "Akira", "last_name": "Kurosawa"}},
            {"title": "Lost in Translation", "director": {"first_name": "Sofia", "last_name": "Coppola"}},
        ]),
    )
    .await;
});

case!(embeds_nest_three_levels, |t| {
    check(
        &t,
        "/directors?select=last_name,films(title,nominations(category))&films.order=year&films.nominations.order=category&order=id",
        json!([
            {"last_name": "Kurosawa", "films": [
                {"title": "Rashomon", "nominations": [{"category": "Honorary Award"}]},
                {"title": "Ikiru", "nominations": []},
                {"title": "Ran", "nominations": [
                    {"category": "Best Cinematography"}, {"category": "Best Costume Design"}, {"category": "Best Director"},
                ]},
            ]},
            {"last_name": "Coppola", "films": [
                {"title": "Lost in Translation", "nominations": [{"category": "Best Original Screenplay"}, {"category": "Best Picture"}]},
                {"title": "Marie Antoinette", "nominations": [{"category": "Best Costume Design"}]},
                {"title": "Somewhere", "nominations": []},
            ]},
            {"last_name": "Vigo", "films": []},
        ]),
    )
    .await;
});

case!(embeds_nest_through_the_junction_table, |t| {
    check(
        &t,
        "/films?select=title,roles(character,actors(last_name))&roles.order=actor_id&id=in.(1,4)&order=id",
        json!([
            {"title": "Rashomon", "roles": [
                {"character": "Tajomaru", "actors": {"last_name": "Mifune"}},
                {"character": "Woodcutter", "actors": {"last_name": "Shimura"}},
            ]},
            {"title": "Lost in Translation", "roles": [
                {"character": "Bob Harris", "actors": {"last_name": "Murray"}},
                {"character": "Charlotte", "actors": {"last_name": "Johansson"}},
            ]},
        ]),
    )
    .await;
});

case!(star_with_an_embedded_star, |t| {
    check(
        &t,
        "/films?select=*,directors(*)&id=eq.4",
        json!([{
            "id": 4, "director_id": 2, "title": "Lost in Translation", "year": 2003, "rating": 7.7,
            "directors": {"id": 2, "first_name": "Sofia", "last_name": "Coppola"},
        }]),
    )
    .await;
});

case!(empty_embed_adds_no_key, |t| {
    check(&t, "/films?select=title,directors()&id=eq.1", json!([{"title": "Rashomon"}])).await;
    // An empty embed with an embedded filter but no null check drops no parents.
    check(
        &t,
        "/directors?select=last_name,films()&films.year=gt.3000&order=id",
        json!([{"last_name": "Kurosawa"}, {"last_name": "Coppola"}, {"last_name": "Vigo"}]),
    )
    .await;
});

case!(casts_and_aliases_inside_embeds, |t| {
    check(
        &t,
        "/directors?select=last_name,films(title,year::text)&films.order=year&id=eq.2",
        json!([{"last_name": "Coppola", "films": [
            {"title": "Lost in Translation", "year": "2003"},
            {"title": "Marie Antoinette", "year": "2006"},
            {"title": "Somewhere", "year": "2010"},
        ]}]),
    )
    .await;
    check(
        &t,
        "/films?select=title,directors(surname:last_name,key:id::text)&id=eq.1",
        json!([{"title": "Rashomon", "directors": {"surname": "Kurosawa", "key": "1"}}]),
    )
    .await;
});

case!(json_paths_inside_embeds, |t| {
    check(
        &t,
        "/orders?select=id,people(name,data->>blood_type,phone:data->phones->0->>number)&order=id",
        json!([
            {"id": 1, "people": {"name": "Ada", "blood_type": "A-", "phone": "111"}},
            {"id": 2, "people": {"name": "Ada", "blood_type": "A-", "phone": "111"}},
            {"id": 3, "people": {"name": "Alan", "blood_type": "O+", "phone": null}},
        ]),
    )
    .await;
});

// --- Foreign-key hints and relationship errors ----------------------------

case!(hints_pick_one_of_two_keys_to_the_same_table, |t| {
    check(
        &t,
        "/shipments?select=id,billing:addresses!billing_address_id(street),shipping:addresses!shipments_shipping_address_id_fkey(street)&order=id",
        json!([
            {"id": 1, "billing": {"street": "1 Main St"}, "shipping": {"street": "2 Oak Ave"}},
            {"id": 2, "billing": {"street": "3 Pine Rd"}, "shipping": {"street": "3 Pine Rd"}},
            {"id": 3, "billing": {"street": "2 Oak Ave"}, "shipping": null},
        ]),
    )
    .await;
});

case!(hints_pick_one_of_two_keys_from_the_referenced_side, |t| {
    check(
        &t,
        "/addresses?select=street,billed:shipments!shipments_billing_address_id_fkey(note),shipped:shipments!shipping_address_id(note)&order=id",
        json!([
            {"street": "1 Main St", "billed": [{"note": "gift"}], "shipped": []},
            {"street": "2 Oak Ave", "billed": [{"note": "pickup"}], "shipped": [{"note": "gift"}]},
            {"street": "3 Pine Rd", "billed": [{"note": "same address"}], "shipped": [{"note": "same address"}]},
        ]),
    )
    .await;
});

case!(ambiguous_embed_is_300_with_the_candidates, |t| {
    let e = t.get("/shipments?select=id,addresses(street)").await.assert_error(300, "PGRST201");
    assert!(e["message"].as_str().unwrap_or("").contains("'shipments' and 'addresses'"), "{e}");
    let details = e["details"].as_array().unwrap_or_else(|| panic!("details is not an array: {e}"));
    assert_eq!(details.len(), 2, "{e}");
    for d in details {
        assert_eq!(d["cardinality"], "many-to-one", "{e}");
        assert_eq!(d["embedding"], "shipments with addresses", "{e}");
        assert!(d["relationship"].is_string(), "{e}");
    }
    let rels: Vec<&str> = details.iter().map(|d| d["relationship"].as_str().unwrap_or("")).collect();
    for fk in ["shipments_billing_address_id_fkey", "shipments_shipping_address_id_fkey"] {
        assert!(rels.iter().any(|r| r.contains(fk)), "no candidate names {fk}: {e}");
        assert!(e["hint"].as_str().unwrap_or("").contains(&format!("addresses!{fk}")), "{e}");
    }
});

case!(ambiguous_embed_from_the_referenced_side_is_300, |t| {
    let e = t.get("/addresses?select=street,shipments(note)").await.assert_error(300, "PGRST201");
    let details = e["details"].as_array().unwrap_or_else(|| panic!("details is not an array: {e}"));
    assert_eq!(details.len(), 2, "{e}");
    for d in details {
        assert_eq!(d["cardinality"], "one-to-many", "{e}");
        assert_eq!(d["embedding"], "addresses with shipments", "{e}");
    }
    assert!(e["hint"].as_str().unwrap_or("").contains("shipments!"), "{e}");
});

case!(unknown_relationship_is_pgrst200, |t| {
    let e = t.get("/films?select=title,nope(id)").await.assert_error(400, "PGRST200");
    let m = e["message"].as_str().unwrap_or("");
    assert!(m.contains("'films'") && m.contains("'nope'"), "{e}");
    // The table exists, but no key links the two.
    t.get("/films?select=title,people(name)").await.assert_error(400, "PGRST200");
    // A hint that matches no key.
    t.get("/films?select=title,directors!nope(last_name)").await.assert_error(400, "PGRST200");
    // Nested: the error is about the inner pair.
    let e = t.get("/directors?select=last_name,films(title,nope(id))").await.assert_error(400, "PGRST200");
    assert!(e["message"].as_str().unwrap_or("").contains("'films'"), "{e}");
});

case!(unknown_column_inside_an_embed_is_42703, |t| {
    let e = t.get("/films?select=title,directors(nope)").await.assert_error(400, "42703");
    assert!(e["message"].as_str().unwrap_or("").contains("nope"), "{e}");
    t.get("/films?select=title,directors(last_name)&directors.nope=eq.1").await.assert_error(400, "42703");
    t.get("/directors?select=last_name,films(title)&films.order=nope").await.assert_error(400, "42703");
});

case!(table_without_foreign_key_is_not_embeddable, |t| {
    t.get("/films?select=title,film_notes(note)").await.assert_error(400, "PGRST200");
    t.get("/film_notes?select=note,films(title)").await.assert_error(400, "PGRST200");
});

case!(
    declared_relationship_embeds_both_ways,
    config = |b| b.foreign_key("film_notes", restgate_core::catalog::ForeignKey::new("film_notes_film", ["film_ref"], "films", ["id"])),
    |t| {
        check(
            &t,
            "/films?select=title,film_notes(note)&film_notes.order=id&id=in.(1,2,4)&order=id",
            json!([
                {"title": "Rashomon", "film_notes": [{"note": "restored in 2008"}, {"note": "shown at Venice"}]},
                {"title": "Ikiru", "film_notes": []},
                {"title": "Lost in Translation", "film_notes": [{"note": "shot in Tokyo"}]},
            ]),
        )
        .await;
        check(
            &t,
            "/film_notes?select=note,films(title)&order=id",
            json!([
                {"note": "restored in 2008", "films": {"title": "Rashomon"}},
                {"note": "shown at Venice", "films": {"title": "Rashomon"}},
                {"note": "shot in Tokyo", "films": {"title": "Lost in Translation"}},
            ]),
        )
        .await;
        // The declared name works as a hint.
        check(
            &t,
            "/film_notes?select=note,films!film_notes_film(title)&id=eq.3",
            json!([{"note": "shot in Tokyo", "films": {"title": "Lost in Translation"}}]),
        )
        .await;
    }
);

// --- Join types and null checks on embeds ---------------------------------

case!(inner_join_drops_parents_without_a_match, |t| {
    check(
        &t,
        "/films?select=title,technical_specs!inner(camera)&order=id",
        json!([
            {"title": "Rashomon", "technical_specs": {"camera": "Mitchell BNC"}},
            {"title": "Ran", "technical_specs": {"camera": "Panavision"}},
            {"title": "Lost in Translation", "technical_specs": {"camera": "Arriflex 435"}},
        ]),
    )
    .await;
});

case!(inner_join_with_an_embedded_filter, |t| {
    check(
        &t,
        "/films?select=title,nominations!inner(category)&nominations.won=is.true&nominations.order=id&order=id",
        json!([
            {"title": "Rashomon", "nominations": [{"category": "Honorary Award"}]},
            {"title": "Ran", "nominations": [{"category": "Best Costume Design"}]},
            {"title": "Lost in Translation", "nominations": [{"category": "Best Original Screenplay"}]},
        ]),
    )
    .await;
    check(
        &t,
        "/actors?select=last_name,films!inner(title)&films.year=lt.1960&films.order=year&order=id",
        json!([
            {"last_name": "Mifune", "films": [{"title": "Rashomon"}]},
            {"last_name": "Shimura", "films": [{"title": "Rashomon"}, {"title": "Ikiru"}]},
        ]),
    )
    .await;
});

case!(left_join_is_the_default, |t| {
    let expected = json!([
        {"title": "Rashomon", "nominations": [{"category": "Honorary Award"}]},
        {"title": "Ikiru", "nominations": []},
        {"title": "Ran", "nominations": [{"category": "Best Costume Design"}]},
        {"title": "Lost in Translation", "nominations": [{"category": "Best Original Screenplay"}]},
        {"title": "Marie Antoinette", "nominations": []},
        {"title": "Somewhere", "nominations": []},
    ]);
    check(&t, "/films?select=title,nominations!left(category)&nominations.won=is.true&order=id", expected.clone()).await;
    check(&t, "/films?select=title,nominations(category)&nominations.won=is.true&order=id", expected).await;
});

case!(is_null_on_an_embed_is_an_anti_join, |t| {
    check(&t, "/films?select=title,roles()&roles=is.null&order=id", json!([{"title": "Somewhere"}])).await;
    check(&t, "/actors?select=last_name,roles()&roles=is.null", json!([{"last_name": "Lloyd"}])).await;
    check(&t, "/stock?select=id,warehouses()&warehouses=is.null", json!([{"id": 4}])).await;
});

case!(not_is_null_on_an_embed_is_a_semi_join, |t| {
    check(
        &t,
        "/films?select=title,nominations()&nominations=not.is.null&order=id",
        json!([{"title": "Rashomon"}, {"title": "Ran"}, {"title": "Lost in Translation"}, {"title": "Marie Antoinette"}]),
    )
    .await;
    // The embedded filter applies before the check.
    check(
        &t,
        "/films?select=title,nominations()&nominations.won=is.true&nominations=not.is.null&order=id",
        json!([{"title": "Rashomon"}, {"title": "Ran"}, {"title": "Lost in Translation"}]),
    )
    .await;
});

case!(top_level_or_checks_embeds_for_null, |t| {
    check(
        &t,
        "/films?select=title,roles()&or=(roles.is.null,year.lt.1990)&order=id",
        json!([{"title": "Rashomon"}, {"title": "Ikiru"}, {"title": "Ran"}, {"title": "Somewhere"}]),
    )
    .await;
    // Across two aliased embeds, each narrowed by its own filter.
    check(
        &t,
        "/films?select=title,specs:technical_specs(),noms:nominations()&noms.category=eq.Best Costume Design&or=(specs.not.is.null,noms.not.is.null)&order=id",
        json!([{"title": "Rashomon"}, {"title": "Ran"}, {"title": "Lost in Translation"}, {"title": "Marie Antoinette"}]),
    )
    .await;
});

case!(top_level_or_on_an_embed_not_in_select_is_400, |t| {
    // Not an embed of this request: `roles` is then an unknown column.
    let r = t.get("/films?select=title&or=(roles.is.null,year.lt.1990)").await;
    assert_eq!(r.status, 400, "{}", r.text());
    let code = r.json()["code"].clone();
    assert!(code == "PGRST108" || code == "42703", "{}", r.text());
});

case!(other_operators_on_an_embed_are_pgrst120, |t| {
    t.get("/films?select=title,roles()&roles=eq.1").await.assert_error(400, "PGRST120");
    t.get("/films?select=title,roles()&roles=not.eq.1").await.assert_error(400, "PGRST120");
    t.get("/films?select=title,directors(last_name)&directors=neq.x").await.assert_error(400, "PGRST120");
});

// --- Embedded scope: filters, or, order, limit, offset --------------------

case!(embedded_filter_narrows_the_children_only, |t| {
    check(
        &t,
        "/directors?select=last_name,films(title)&films.year=gt.2004&films.order=year&order=id",
        json!([
            {"last_name": "Kurosawa", "films": []},
            {"last_name": "Coppola", "films": [{"title": "Marie Antoinette"}, {"title": "Somewhere"}]},
            {"last_name": "Vigo", "films": []},
        ]),
    )
    .await;
});

case!(embedded_to_one_filter_gives_null, |t| {
    // A filtered-out to-one embed is null; the parent stays.
    check(
        &t,
        "/films?select=title,directors(last_name)&directors.last_name=eq.Coppola&id=in.(1,4)&order=id",
        json!([
            {"title": "Rashomon", "directors": null},
            {"title": "Lost in Translation", "directors": {"last_name": "Coppola"}},
        ]),
    )
    .await;
});

case!(embedded_or_filter, |t| {
    check(
        &t,
        "/films?select=title,nominations(category)&nominations.or=(won.is.true,category.eq.Best Director)&nominations.order=id&id=in.(3,4)&order=id",
        json!([
            {"title": "Ran", "nominations": [{"category": "Best Director"}, {"category": "Best Costume Design"}]},
            {"title": "Lost in Translation", "nominations": [{"category": "Best Original Screenplay"}]},
        ]),
    )
    .await;
});

case!(embedded_order_and_limit, |t| {
    check(
        &t,
        "/directors?select=last_name,films(title)&films.order=year.desc&films.limit=1&order=id",
        json!([
            {"last_name": "Kurosawa", "films": [{"title": "Ran"}]},
            {"last_name": "Coppola", "films": [{"title": "Somewhere"}]},
            {"last_name": "Vigo", "films": []},
        ]),
    )
    .await;
});

case!(embedded_offset, |t| {
    check(
        &t,
        "/directors?select=last_name,films(title)&films.order=year&films.offset=1&order=id",
        json!([
            {"last_name": "Kurosawa", "films": [{"title": "Ikiru"}, {"title": "Ran"}]},
            {"last_name": "Coppola", "films": [{"title": "Marie Antoinette"}, {"title": "Somewhere"}]},
            {"last_name": "Vigo", "films": []},
        ]),
    )
    .await;
    check(
        &t,
        "/directors?select=last_name,films(title)&films.order=year&films.limit=1&films.offset=1&order=id",
        json!([
            {"last_name": "Kurosawa", "films": [{"title": "Ikiru"}]},
            {"last_name": "Coppola", "films": [{"title": "Marie Antoinette"}]},
            {"last_name": "Vigo", "films": []},
        ]),
    )
    .await;
});

case!(nested_embed_parameters_take_the_path, |t| {
    check(
        &t,
        "/directors?select=last_name,films(title,nominations(category))&films.order=year&films.nominations.order=category.desc&films.nominations.won=is.false&id=eq.1",
        json!([{"last_name": "Kurosawa", "films": [
            {"title": "Rashomon", "nominations": []},
            {"title": "Ikiru", "nominations": []},
            {"title": "Ran", "nominations": [{"category": "Best Director"}, {"category": "Best Cinematography"}]},
        ]}]),
    )
    .await;
    check(
        &t,
        "/directors?select=last_name,films(title,nominations(category))&films.order=year&films.nominations.order=category&films.nominations.limit=1&films.year=eq.1985&id=eq.1",
        json!([{"last_name": "Kurosawa", "films": [{"title": "Ran", "nominations": [{"category": "Best Cinematography"}]}]}]),
    )
    .await;
});

case!(aliased_embed_takes_parameters_by_its_alias, |t| {
    check(
        &t,
        "/films?select=title,noms:nominations(category)&noms.won=is.true&noms.order=id&id=in.(3,4)&order=id",
        json!([
            {"title": "Ran", "noms": [{"category": "Best Costume Design"}]},
            {"title": "Lost in Translation", "noms": [{"category": "Best Original Screenplay"}]},
        ]),
    )
    .await;
    check(
        &t,
        "/films?select=title,noms:nominations(category)&noms.order=category&noms.limit=1&id=eq.3",
        json!([{"title": "Ran", "noms": [{"category": "Best Cinematography"}]}]),
    )
    .await;
});

case!(table_name_of_an_aliased_embed_is_pgrst108, |t| {
    // v16 with url-use-legacy-target-names=false: an aliased embed is addressed by its alias only.
    let e = t.get("/films?select=title,noms:nominations(category)&nominations.won=is.true").await.assert_error(400, "PGRST108");
    assert!(e["message"].as_str().unwrap_or("").contains("nominations"), "{e}");
    t.get("/films?select=title,noms:nominations(category)&nominations.order=id").await.assert_error(400, "PGRST108");
    t.get("/films?select=title,noms:nominations(category)&nominations.limit=1").await.assert_error(400, "PGRST108");
});

// --- Ordering by embeds ---------------------------------------------------

case!(order_by_a_to_one_embed_column, |t| {
    check(
        &t,
        "/films?select=title,directors(last_name)&order=directors(last_name).desc,year.desc",
        json!([
            {"title": "Ran", "directors": {"last_name": "Kurosawa"}},
            {"title": "Ikiru", "directors": {"last_name": "Kurosawa"}},
            {"title": "Rashomon", "directors": {"last_name": "Kurosawa"}},
            {"title": "Somewhere", "directors": {"last_name": "Coppola"}},
            {"title": "Marie Antoinette", "directors": {"last_name": "Coppola"}},
            {"title": "Lost in Translation", "directors": {"last_name": "Coppola"}},
        ]),
    )
    .await;
    // By the alias when the embed has one.
    check(
        &t,
        "/films?select=title,director:directors(last_name)&order=director(last_name),id&limit=2",
        json!([
            {"title": "Lost in Translation", "director": {"last_name": "Coppola"}},
            {"title": "Marie Antoinette", "director": {"last_name": "Coppola"}},
        ]),
    )
    .await;
    // NULL placement applies to the embedded column.
    check(
        &t,
        "/stock?select=id,warehouses(name)&order=warehouses(name).nullsfirst,id",
        json!([
            {"id": 4, "warehouses": null},
            {"id": 1, "warehouses": {"name": "North depot"}},
            {"id": 2, "warehouses": {"name": "North depot"}},
            {"id": 3, "warehouses": {"name": "South depot"}},
        ]),
    )
    .await;
});

case!(order_by_a_to_many_embed_is_pgrst118, |t| {
    t.get("/films?select=title,nominations(category)&order=nominations(category)").await.assert_error(400, "PGRST118");
    t.get("/films?select=title,actors(last_name)&order=actors(last_name)").await.assert_error(400, "PGRST118");
});

case!(order_by_an_embed_not_in_select_is_pgrst108, |t| {
    t.get("/films?select=title&order=directors(last_name)").await.assert_error(400, "PGRST108");
    // An aliased embed is ordered by its alias, not its table's name.
    t.get("/films?select=title,director:directors(last_name)&order=directors(last_name)").await.assert_error(400, "PGRST108");
});

// --- Spread ---------------------------------------------------------------

case!(spread_of_a_to_one_embed_lifts_its_columns, |t| {
    check(
        &t,
        "/films?select=title,...directors(director_last:last_name)&id=lte.4&order=id",
        json!([
            {"title": "Rashomon", "director_last": "Kurosawa"},
            {"title": "Ikiru", "director_last": "Kurosawa"},
            {"title": "Ran", "director_last": "Kurosawa"},
            {"title": "Lost in Translation", "director_last": "Coppola"},
        ]),
    )
    .await;
    // A missing to-one row spreads as nulls; the keys sit where the spread is.
    check(
        &t,
        "/films?select=...technical_specs(runtime_min,camera),title&id=in.(1,2)&order=id",
        json!([
            {"runtime_min": 88, "camera": "Mitchell BNC", "title": "Rashomon"},
            {"runtime_min": null, "camera": null, "title": "Ikiru"},
        ]),
    )
    .await;
});

case!(spread_of_a_missing_to_one_row_nulls_its_nested_embeds_too, |t| {
    // Stock 4 has no warehouse: its lifted name and the warehouse's own
    // stock list are both null, not an empty list (composite key).
    check(
        &t,
        "/stock?select=id,...warehouses(name,stock(id))&warehouses.stock.order=id&id=in.(1,4)&order=id",
        json!([
            {"id": 1, "name": "North depot", "stock": [{"id": 1}, {"id": 2}]},
            {"id": 4, "name": null, "stock": null},
        ]),
    )
    .await;
    // Not spread: the object is null, and a filter on it nulls it too.
    check(
        &t,
        "/stock?select=id,warehouses(name,stock(id))&warehouses.name=eq.North%20depot&id=in.(1,3,4)&order=id",
        json!([
            {"id": 1, "warehouses": {"name": "North depot", "stock": [{"id": 1}, {"id": 2}]}},
            {"id": 3, "warehouses": null},
            {"id": 4, "warehouses": null},
        ]),
    )
    .await;
});

case!(spread_of_a_to_many_embed_gives_correlated_arrays, |t| {
    check(
        &t,
        "/directors?select=last_name,...films(titles:title,years:year)&films.order=year&order=id",
        json!([
            {"last_name": "Kurosawa", "titles": ["Rashomon", "Ikiru", "Ran"], "years": [1950, 1952, 1985]},
            {"last_name": "Coppola", "titles": ["Lost in Translation", "Marie Antoinette", "Somewhere"], "years": [2003, 2006, 2010]},
            {"last_name": "Vigo", "titles": [], "years": []},
        ]),
    )
    .await;
    check(
        &t,
        "/directors?select=last_name,...films(titles:title,years:year)&films.order=year.desc&id=eq.1",
        json!([{"last_name": "Kurosawa", "titles": ["Ran", "Ikiru", "Rashomon"], "years": [1985, 1952, 1950]}]),
    )
    .await;
});

// --- Counts and ranges stay at the top level ------------------------------

case!(exact_count_counts_parents_that_survive_an_inner_join, |t| {
    let uri = "/films?select=title,nominations!inner(category)&nominations.won=is.true&order=id";
    let r = t.req(Method::GET, uri).header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (200, Some("0-2/3")), "{}", r.text());
    let r = t.req(Method::GET, &format!("{uri}&limit=2")).header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("0-1/3")), "{}", r.text());
    let r = t.req(Method::GET, "/films?select=title,roles()&roles=is.null").header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (200, Some("0-0/1")), "{}", r.text());
});

case!(limit_and_range_apply_to_parents_not_children, |t| {
    let r = t.get("/directors?select=last_name,films(title)&films.order=year&order=id&limit=1").await;
    assert_eq!(r.header("content-range"), Some("0-0/*"));
    same("limit=1", &r.json(), &json!([{"last_name": "Kurosawa", "films": [{"title": "Rashomon"}, {"title": "Ikiru"}, {"title": "Ran"}]}]));
    let r = t.req(Method::GET, "/directors?select=last_name,films(title)&films.order=year&order=id").header("range", "1-2").send().await;
    assert_eq!(r.header("content-range"), Some("1-2/*"));
    same(
        "Range: 1-2",
        &r.json(),
        &json!([
            {"last_name": "Coppola", "films": [{"title": "Lost in Translation"}, {"title": "Marie Antoinette"}, {"title": "Somewhere"}]},
            {"last_name": "Vigo", "films": []},
        ]),
    );
    // The total counts directors, not films.
    let r = t.req(Method::GET, "/directors?select=last_name,films(title)&limit=1").header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("0-0/3")), "{}", r.text());
});

// --- Embeds in the representation of writes -------------------------------

case!(insert_returns_embeds, |t| {
    let body = json!({"director_id": 1, "title": "Dreams", "year": 1990, "rating": 7.8});
    let r = t.post("/films?select=title,directors(last_name)", body).header("prefer", REPR).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    same("POST /films", &r.json(), &json!([{"title": "Dreams", "directors": {"last_name": "Kurosawa"}}]));
    check(
        &t,
        "/directors?select=films(title)&films.order=year&id=eq.1",
        json!([{"films": [{"title": "Rashomon"}, {"title": "Ikiru"}, {"title": "Ran"}, {"title": "Dreams"}]}]),
    )
    .await;
});

case!(bulk_insert_returns_embeds, |t| {
    let body = json!([
        {"director_id": 2, "title": "The Beguiled", "year": 2017},
        {"director_id": 3, "title": "L'Atalante", "year": 1934},
    ]);
    let r = t.post("/films?select=title,director:directors(last_name)", body).header("prefer", REPR).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    same(
        "POST /films",
        &r.json(),
        &json!([
            {"title": "The Beguiled", "director": {"last_name": "Coppola"}},
            {"title": "L'Atalante", "director": {"last_name": "Vigo"}},
        ]),
    );
    // A new parent embeds its (empty) children.
    let r = t
        .post("/directors?select=last_name,films(title)", json!({"first_name": "Agnes", "last_name": "Varda"}))
        .header("prefer", REPR)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    same("POST /directors", &r.json(), &json!([{"last_name": "Varda", "films": []}]));
});

case!(update_returns_embeds_after_the_change, |t| {
    let r = t.patch("/films?id=eq.5&select=title,directors(last_name)", json!({"director_id": 1})).header("prefer", REPR).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The embed follows the new key.
    same("PATCH /films", &r.json(), &json!([{"title": "Marie Antoinette", "directors": {"last_name": "Kurosawa"}}]));
    check(
        &t,
        "/directors?select=films(title)&films.order=year&id=eq.2",
        json!([{"films": [{"title": "Lost in Translation"}, {"title": "Somewhere"}]}]),
    )
    .await;
});

case!(put_returns_embeds, |t| {
    let body = json!({"id": 6, "director_id": 1, "title": "Somewhere", "year": 2010, "rating": null});
    let r = t.put("/films?id=eq.6&select=title,directors(last_name)", body).header("prefer", REPR).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    same("PUT /films", &r.json(), &json!([{"title": "Somewhere", "directors": {"last_name": "Kurosawa"}}]));
});

case!(delete_returns_embeds, |t| {
    let r = t.delete("/films?id=eq.6&select=title,year,directors(last_name)").header("prefer", REPR).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    same("DELETE /films", &r.json(), &json!([{"title": "Somewhere", "year": 2010, "directors": {"last_name": "Coppola"}}]));
    check(&t, "/films?select=id&id=eq.6", json!([])).await;
    let r = t.delete("/directors?id=eq.3&select=last_name,films(title)").header("prefer", REPR).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    same("DELETE /directors", &r.json(), &json!([{"last_name": "Vigo", "films": []}]));
});

case!(write_with_an_invalid_embed_writes_nothing, |t| {
    let before = t.snapshot("films", "id").await;
    let body = json!({"director_id": 1, "title": "Dreams", "year": 1990});
    t.post("/films?select=title,nope(id)", body).header("prefer", REPR).send().await.assert_error(400, "PGRST200");
    t.patch("/films?id=eq.1&select=title,nope(id)", json!({"year": 1951}))
        .header("prefer", REPR)
        .send()
        .await
        .assert_error(400, "PGRST200");
    t.delete("/films?id=eq.6&select=title,addresses(street)").header("prefer", REPR).send().await.assert_error(400, "PGRST200");
    assert_eq!(t.snapshot("films", "id").await, before);
});
