//! The trauma registry's pages.
use axum::Router;
use tianshan_platform::Platform;

pub fn routes() -> Router<Platform> {
    Router::new()
}
