//! The conformance suite on MySQL / MariaDB.
#![cfg(feature = "mysql")]

restgate_testkit::conformance_suite!(restgate_testkit::mysql::MySqlHarness);
