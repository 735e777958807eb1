//! Opened multi-dose vials of a lot over the JSON API.
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::{ApiRouter, AppError, Platform};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::service as svc;
use crate::store::VialRow;

pub fn routes() -> ApiRouter {
    ApiRouter::new().routes(routes!(lot_vials))
}

#[derive(Serialize, ToSchema)]
struct Vials {
    vials: Vec<VialRow>,
}

/// The vials opened from a lot, newest first: open (doses left, discard time), used, or wasted
/// with the reason (`vial_expired_hours`, `vial_expired_session`).
#[utoipa::path(get, path = "/api/v1/vaccination/lots/{id}/vials", tag = "vaccination",
    params(("id" = String, Path, description = "Lot id")),
    responses((status = 200, body = Vials), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn lot_vials(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vials>, AppError> {
    Ok(Json(Vials {
        vials: svc::vials(&st, &who, &id).await?,
    }))
}
