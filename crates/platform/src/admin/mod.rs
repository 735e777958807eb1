//! Administration of roles and accounts, as pages (`/admin/users`, `/admin/roles`) and as the
//! documented JSON API (`/api/v1/roles`, `/api/v1/users`). Both call the same functions of
//! [`crate::roles`] and [`crate::users`]; every change is audited in its own transaction and
//! moves the auth generation, so it applies in every process within a second.
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::api::ApiError;
use crate::auth::Principal;
use crate::error::{AppError, Msg};
use crate::roles::{self, RoleDetail};
use crate::scope::perms;
use crate::state::Platform;
use crate::users::{self, By, NewUser, SessionInfo, TokenInfo, UserSummary};
use crate::web::{render, role_label, PageCtx, Shell};
use crate::ApiRouter;

mod api;
mod pages;

pub use api::api;
pub use pages::pages;
