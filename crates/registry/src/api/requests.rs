//! Requests to transfer or share a patient registered elsewhere, for programs: ask by resident
//! ID number, list one's own requests or those about records of one's area, approve, refuse,
//! withdraw. The same service as the pages; every step audited.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::{AppError, Platform};
use utoipa::{IntoParams, ToSchema};

use crate::domain::requests::RequestInput;
use crate::service::requests::{self as reqs, RequestView};

/// Which requests to list.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum Side {
    /// Requests the caller made (needs `registry.patients.write`).
    #[default]
    Outgoing,
    /// Requests about records in the caller's own subtree, to approve or refuse (needs
    /// `registry.patients.transfer`).
    Incoming,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// `outgoing` (default) or `incoming`.
    #[serde(default)]
    #[param(inline)]
    side: Side,
}

#[derive(Serialize, ToSchema)]
pub(super) struct RequestList {
    requests: Vec<RequestView>,
}

/// Transfer and share requests: the caller's own (`side=outgoing`) or those about records of
/// the caller's area (`side=incoming`), pending first. Records shown are audited.
#[utoipa::path(get, path = "/api/v1/patient-requests", tag = "patients", params(ListParams),
    responses((status = 200, body = RequestList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
pub(super) async fn list_requests(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ListParams>,
) -> Result<Json<RequestList>, AppError> {
    let requests = match p.side {
        Side::Outgoing => reqs::outgoing(&st, &who).await?,
        Side::Incoming => reqs::incoming(&st, &who).await?,
    };
    Ok(Json(RequestList { requests }))
}

/// Ask the organisation that holds the record with this resident ID number to transfer it to
/// (or share it with) an organisation of the caller's own area. The answer never describes the
/// record: its name, id and place are given only once the request is approved. 422 when the ID
/// number is invalid, names no record, or a record the caller already owns (or, for a share,
/// already sees); 409 when the same request is already pending.
#[utoipa::path(post, path = "/api/v1/patient-requests", tag = "patients",
    request_body = RequestInput,
    responses((status = 201, body = RequestView), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
pub(super) async fn create_request(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<RequestInput>,
) -> Result<Response, AppError> {
    let v = reqs::create(&st, &who, &input).await?;
    let loc = format!("/api/v1/patient-requests/{}", v.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, loc)],
        Json(v),
    )
        .into_response())
}

/// One request, to its requester or to a coordinator whose area holds the record; anyone else
/// gets 404, as for an unknown id.
#[utoipa::path(get, path = "/api/v1/patient-requests/{id}", tag = "patients",
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestView), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
pub(super) async fn get_request(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, AppError> {
    Ok(Json(reqs::get(&st, &who, &id).await?))
}

#[derive(Deserialize, Default, ToSchema)]
pub(super) struct Decision {
    /// Optional to approve, required to refuse (at most 500 characters); the requester sees it.
    #[serde(default)]
    note: String,
}

/// Approve a pending request (coordinators whose own area holds the record, with
/// `registry.patients.transfer`): a transfer moves the record to the requesting organisation,
/// a share lets it read the record. 409 when already decided or the record moved meanwhile.
#[utoipa::path(post, path = "/api/v1/patient-requests/{id}/approve", tag = "patients",
    params(("id" = String, Path, description = "Request id")),
    request_body = Decision,
    responses((status = 200, body = RequestView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
pub(super) async fn approve_request(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(d): Json<Decision>,
) -> Result<Json<RequestView>, AppError> {
    Ok(Json(reqs::decide(&st, &who, &id, true, &d.note).await?))
}

/// Refuse a pending request, with a note for the requester (who learns nothing of the record).
#[utoipa::path(post, path = "/api/v1/patient-requests/{id}/refuse", tag = "patients",
    params(("id" = String, Path, description = "Request id")),
    request_body = Decision,
    responses((status = 200, body = RequestView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
pub(super) async fn refuse_request(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(d): Json<Decision>,
) -> Result<Json<RequestView>, AppError> {
    Ok(Json(reqs::decide(&st, &who, &id, false, &d.note).await?))
}

/// The requester withdraws a pending request.
#[utoipa::path(post, path = "/api/v1/patient-requests/{id}/withdraw", tag = "patients",
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestView), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
pub(super) async fn withdraw_request(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, AppError> {
    Ok(Json(reqs::withdraw(&st, &who, &id).await?))
}
