//! The conformance cases, one module per feature area. Each case is an
//! `async fn(&impl Harness)`; [`conformance_suite!`](crate::conformance_suite)
//! turns the list below into tests.

/// Defines a case: `case!(name, |t| { ... })`, optionally with a
/// configuration: `case!(name, config = |b| b.max_rows(3), |t| { ... })`.
macro_rules! case {
    ($(#[$m:meta])* $name:ident, |$t:ident| $body:block) => {
        $(#[$m])*
        #[doc = concat!("Conformance case `", stringify!($name), "`.")]
        pub async fn $name<H: $crate::Harness>(h: &H) {
            $crate::run(h, |$t: $crate::TestGate| async move $body).await
        }
    };
    ($(#[$m:meta])* $name:ident, config = $cfg:expr, |$t:ident| $body:block) => {
        $(#[$m])*
        #[doc = concat!("Conformance case `", stringify!($name), "`.")]
        pub async fn $name<H: $crate::Harness>(h: &H) {
            $crate::run_with(h, $cfg, |$t: $crate::TestGate| async move $body).await
        }
    };
}

/// The `id`s of a JSON array of rows.
pub(crate) fn ids(v: &serde_json::Value) -> Vec<i64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|r| r["id"].as_i64().unwrap_or(-1)).collect()
}

pub mod adapter;
pub mod embed;
pub mod errors;
pub mod filters;
pub mod media;
pub mod range;
pub mod security;
pub mod select;
pub mod types;
pub mod writes;

/// Expands to one `#[tokio::test]` per conformance case, run against `$harness`.
#[macro_export]
macro_rules! conformance_suite {
    ($harness:expr) => {
        $crate::__suite! { $harness;
            filters: [
                eq_and_comparisons, filters_are_anded, like_is_case_sensitive_with_star, ilike_is_case_insensitive,
                like_escapes_percent_and_underscore, match_and_imatch, invalid_regex_is_400, in_lists_with_quoted_values,
                empty_in_list_matches_nothing, is_operators, isdistinct_counts_null_as_a_value, not_negates,
                any_and_all_modifiers, or_and_trees, logic_tree_quoting, json_path_filters, typed_filters,
                views_are_readable, percent_encoded_names, unknown_column_in_filter_is_400, bad_value_type_in_filter_is_400,
            ],
            select: [
                select_columns_and_aliases, star_returns_every_column_in_order, casts_keep_the_column_name,
                json_paths_in_select, unknown_column_in_select_is_400, unknown_cast_is_400, aggregates_are_disabled,
                embed_filter_without_embed_is_pgrst108,
            ],
            range: [
                order_with_nulls_placement, order_by_several_columns, unknown_order_column_is_400, limit_and_offset,
                exact_count_gives_206_and_total, offset_past_total_is_416, offset_past_end_without_count_is_empty,
                limit_zero_is_empty, range_header, range_header_intersects_limit, inverted_range_is_416,
                negative_limit_is_416, max_rows_caps_every_read, head_has_headers_only, planned_count_gives_a_total,
                huge_ranges_are_safe, content_location_lists_sorted_parameters,
            ],
            media: [
                singular_object, singular_with_zero_or_many_rows_is_406, csv_output, csv_quotes_fields, nulls_stripped,
                unknown_accept_is_406, options_lists_allowed_verbs, root_serves_openapi, strict_handling_rejects_invalid_prefs,
                lenient_handling_ignores_invalid_prefs,
            ],
            writes: [
                insert_one_is_201_without_body, insert_with_representation_and_select, bulk_insert_is_one_transaction,
                bulk_insert_with_mismatched_keys_is_400, failing_row_writes_nothing, unique_violation_is_409,
                foreign_key_violation_is_409, not_null_violation_is_400, wrong_value_type_is_400_and_writes_nothing,
                unknown_payload_column_is_pgrst204, malformed_json_is_400, empty_body_is_400, oversized_body_is_413,
                columns_param_ignores_other_keys, missing_default_uses_column_defaults, headers_only_gives_location,
                insert_count_in_content_range, upsert_merge_duplicates, upsert_ignore_duplicates, upsert_on_primary_key,
                on_conflict_must_be_unique, put_inserts_then_updates, put_requires_exactly_the_primary_key,
                put_body_must_match_url, put_rejects_limit, put_on_composite_key, patch_updates_matching_rows,
                patch_with_representation, patch_failure_writes_nothing, patch_rejects_arrays, delete_by_filter,
                delete_with_representation_and_count, max_affected_with_strict_handling, tx_rollback_when_allowed,
                tx_rollback_ignored_when_not_allowed, singular_write_over_many_rows_rolls_back, writes_to_views_are_405,
                generated_columns_are_read_only, csv_insert, form_insert, order_shapes_write_representation,
                concurrent_writers_all_succeed,
            ],
            types: [type_fidelity_on_read, type_fidelity_round_trip, invalid_typed_values_are_400, nulls_of_every_type],
            errors: [
                unknown_table_is_404_with_hint, parse_errors_point_at_the_input, invalid_path_is_404,
                unsupported_method_is_405, unknown_function_is_404, unexposed_schema_is_406, problem_json_format,
            ],
            embed: [
                many_to_one_embed_is_an_object, many_to_one_embed_is_null_when_the_key_is_null, one_to_one_embed_is_an_object_or_null,
                one_to_one_embed_from_the_side_holding_the_key, one_to_many_embed_is_an_array,
                one_to_many_embed_without_children_is_an_empty_array, many_to_many_embed_goes_through_the_junction,
                many_to_many_embed_from_the_other_side, junction_embeds_both_of_its_parents,
                self_reference_to_the_parent_by_its_key_column, self_reference_by_name_is_the_children,
                self_reference_nests_in_both_directions, self_reference_hint_on_the_near_column_is_pgrst200, embed_by_key_column_or_constraint_name,
                composite_foreign_key_many_to_one, composite_foreign_key_one_to_many, aliased_embed_is_keyed_by_its_alias,
                embeds_nest_three_levels, embeds_nest_through_the_junction_table, star_with_an_embedded_star, empty_embed_adds_no_key,
                casts_and_aliases_inside_embeds, json_paths_inside_embeds, hints_pick_one_of_two_keys_to_the_same_table,
                hints_pick_one_of_two_keys_from_the_referenced_side, ambiguous_embed_is_300_with_the_candidates,
                ambiguous_embed_from_the_referenced_side_is_300, unknown_relationship_is_pgrst200,
                unknown_column_inside_an_embed_is_42703, table_without_foreign_key_is_not_embeddable,
                declared_relationship_embeds_both_ways,
                inner_join_drops_parents_without_a_match, inner_join_with_an_embedded_filter, left_join_is_the_default,
                is_null_on_an_embed_is_an_anti_join, not_is_null_on_an_embed_is_a_semi_join, top_level_or_checks_embeds_for_null,
                top_level_or_on_an_embed_not_in_select_is_400, other_operators_on_an_embed_are_pgrst120,
                embedded_filter_narrows_the_children_only, embedded_to_one_filter_gives_null, embedded_or_filter,
                embedded_order_and_limit, embedded_offset, nested_embed_parameters_take_the_path,
                aliased_embed_takes_parameters_by_its_alias, table_name_of_an_aliased_embed_is_pgrst108,
                order_by_a_to_one_embed_column, order_by_a_to_many_embed_is_pgrst118, order_by_an_embed_not_in_select_is_pgrst108,
                spread_of_a_to_one_embed_lifts_its_columns, spread_of_a_missing_to_one_row_nulls_its_nested_embeds_too,
                spread_of_a_to_many_embed_gives_correlated_arrays,
                exact_count_counts_parents_that_survive_an_inner_join, limit_and_range_apply_to_parents_not_children,
                insert_returns_embeds, bulk_insert_returns_embeds, update_returns_embeds_after_the_change, put_returns_embeds,
                delete_returns_embeds,
                write_with_an_invalid_embed_writes_nothing,
            ],
            adapter: [mounted_under_a_prefix_next_to_user_routes],
            security: [
                hidden_table_is_404_like_a_missing_one, hints_name_only_visible_tables,
                hidden_table_in_an_embed_is_like_a_missing_relationship, verbs_are_allowed_or_denied_by_role,
                reading_back_a_write_needs_the_read_verb, options_allow_lists_only_allowed_verbs,
                openapi_lists_only_what_the_caller_may_use, hidden_column_is_like_a_missing_one_everywhere,
                star_expands_to_readable_columns_only, writing_a_column_that_is_not_writable_is_403,
                tenants_see_only_their_rows_whatever_the_filter, counts_and_ranges_count_only_own_rows,
                embeds_apply_the_embedded_tables_row_filter, patch_and_delete_touch_only_own_rows,
                upsert_onto_another_tenants_key_is_403, upsert_cannot_rewrite_a_preset_the_update_rule_does_not_allow,
                put_onto_another_tenants_key_is_403, location_points_at_a_row_only_its_tenant_sees,
                errors_do_not_reveal_other_tenants_data, insert_check_refuses_rows_of_another_tenant,
                update_check_refuses_moving_rows_to_another_tenant, presets_override_what_the_client_sends,
                missing_claims_match_no_row, claim_values_cannot_change_a_filters_structure,
                expired_or_not_yet_valid_tokens_are_401_pgrst303, bad_tokens_are_401_pgrst301,
                no_credentials_without_anonymous_role_is_401_pgrst302, bare_jwt_authenticator_refuses_requests_without_a_role,
                token_in_a_cookie_is_accepted, api_keys_valid_unknown_and_in_the_wrong_header,
                revoked_api_key_is_401_like_an_unknown_one, embeds_through_a_hidden_column_do_not_exist,
                many_to_many_through_a_filtered_junction_does_not_exist, writes_return_only_rows_the_caller_may_read,
            ],
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite {
    ($h:expr; $($module:ident : [$($case:ident),* $(,)?]),* $(,)?) => {
        $(
            mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        $crate::cases::$module::$case(&$h).await
                    }
                )*
            }
        )*
    };
}
