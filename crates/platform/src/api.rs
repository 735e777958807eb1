//! Shapes shared by every module's JSON API, for the generated OpenAPI document: the error
//! body every `/api/v1` refusal has, and the security scheme.
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// `{"error": {...}}`: what every refused API request answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub error: ApiErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorDetail {
    /// Stable machine code: not_found, unauthorized, forbidden, invalid, bad_request,
    /// conflict, duplicate, rate_limited, unsupported_media_type, internal.
    pub code: String,
    /// For a person, in the caller's language.
    pub message: String,
    pub fields: Vec<ApiFieldError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiFieldError {
    pub field: String,
    pub message: String,
}

/// Adds the bearer-token scheme the whole API uses.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `tianshan token create --user NAME`, or a signed-in \
                         session cookie with the X-CSRF-Token header on writes.",
                    ))
                    .build(),
            ),
        );
    }
}
