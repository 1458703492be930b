//! The restgate conformance suite.
//!
//! Every backend (and every adapter) is held to the same HTTP-level tests:
//! the suite sends real `http::Request`s through restgate mounted in an
//! axum `Router` and checks statuses, headers and JSON bodies against a
//! database loaded with the same logical fixture. A backend plugs in by
//! implementing [`Harness`]: give each test a fresh, isolated database
//! loaded with the fixture, and build a [`RestGate`](restgate_core::RestGate) over it. Then:
//!
//! ```ignore
//! // tests/conformance.rs of your backend crate
//! restgate_testkit::conformance_suite!(my_backend::tests::MyHarness::default());
//! ```
//!
//! This expands to one `#[tokio::test]` per case. A harness whose database
//! server cannot be reached returns `None`: the case is skipped with a loud
//! message, or fails when `RESTGATE_REQUIRE_ALL_BACKENDS=1` (as in CI).

pub mod cases;
mod client;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod proxy;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::future::Future;

use async_trait::async_trait;
pub use client::{RequestBuilder, TestGate, TestResponse};
use restgate_core::RestGateBuilder;

/// How a conformance case wants restgate configured.
pub type Configure = fn(RestGateBuilder) -> RestGateBuilder;

/// Gives each test case a fresh database with the fixture loaded.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A short name for messages (`sqlite`, `postgresql`, …).
    fn name(&self) -> &'static str;

    /// A fresh, isolated database with the conformance fixture loaded, and a
    /// [`TestGate`] serving it with restgate configured by `configure`.
    /// `None` when the database server is unreachable.
    async fn gate(&self, configure: Configure) -> Option<TestGate>;
}

/// Whether a missing database server fails instead of skipping.
pub fn require_all_backends() -> bool {
    std::env::var("RESTGATE_REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Runs one case against `harness`, with the default configuration.
pub async fn run<H, F, Fut>(harness: &H, case: F)
where
    H: Harness,
    F: FnOnce(TestGate) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with(harness, |b| b, case).await
}

/// Runs one case against `harness` with restgate configured by `configure`.
pub async fn run_with<H, F, Fut>(harness: &H, configure: Configure, case: F)
where
    H: Harness,
    F: FnOnce(TestGate) -> Fut,
    Fut: Future<Output = ()>,
{
    match harness.gate(configure).await {
        Some(gate) => case(gate).await,
        None => skip_unreachable(harness.name()),
    }
}

/// Reports a test whose database server cannot be reached: fails when
/// `RESTGATE_REQUIRE_ALL_BACKENDS=1` (as in CI), otherwise says loudly that
/// the test did not run. For tests that set their database up themselves.
pub fn skip_unreachable(name: &str) {
    if require_all_backends() {
        panic!("the {name} database is unreachable and RESTGATE_REQUIRE_ALL_BACKENDS=1");
    }
    eprintln!(
        "\n!!! SKIPPED: the {name} database is unreachable; this test did not run. \
         Set RESTGATE_REQUIRE_ALL_BACKENDS=1 to make this a failure. !!!\n"
    );
}
