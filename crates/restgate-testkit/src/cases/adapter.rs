//! Mounting: restgate under a prefix of the user's own axum Router.

use axum::routing::get;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use restgate_axum::RestGateExt;
use tower::ServiceExt;

async fn send(app: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        req = req.header("content-type", "application/json").header("prefer", "return=headers-only");
    }
    let resp = app.clone().oneshot(req.body(axum::body::Body::from(body.to_owned())).expect("request")).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, String::from_utf8_lossy(&body.collect().await.expect("body").to_bytes()).into_owned())
}

case!(mounted_under_a_prefix_next_to_user_routes, |t| {
    let app = Router::new().route("/health", get(|| async { "ok" })).restgate("/api/v1", t.gate().clone());
    assert_eq!(send(&app, "GET", "/health", "").await.2, "ok");
    let (status, _, body) = send(&app, "GET", "/api/v1/items?select=id&id=eq.1", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"[{"id":1}]"#));
    assert_eq!(send(&app, "GET", "/items", "").await.0, StatusCode::NOT_FOUND);
    let (status, headers, _) = send(&app, "POST", "/api/v1/items", r#"{"id": 12, "name": "fig"}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers.get("location").and_then(|v| v.to_str().ok()), Some("/api/v1/items?id=eq.12"));
    let (status, _, body) = send(&app, "GET", "/api/v1/", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"/api/v1\""), "servers url: {body}");
});
