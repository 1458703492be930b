//! The conformance suite on PostgreSQL.
#![cfg(feature = "postgres")]

restgate_testkit::conformance_suite!(restgate_testkit::postgres::PgHarness);
