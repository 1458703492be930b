//! The conformance suite on SQLite.

restgate_testkit::conformance_suite!(restgate_testkit::sqlite::SqliteHarness);
