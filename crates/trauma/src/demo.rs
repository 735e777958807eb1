//! Demo data: the Kashgar regional centre's trauma network.
use futures_util::future::BoxFuture;
use tianshan_platform::{AppError, Platform};

pub fn loader(_st: &Platform) -> BoxFuture<'_, Result<(), AppError>> {
    Box::pin(async move { Ok(()) })
}
