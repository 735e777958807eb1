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

// ---------------------------------------------------------------------------------------------
// JSON API
// ---------------------------------------------------------------------------------------------

pub fn api() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(api_list_roles, api_create_role))
        .routes(routes!(api_get_role, api_set_role, api_delete_role))
        .routes(routes!(api_list_users, api_create_user))
        .routes(routes!(api_get_user))
        .routes(routes!(api_set_user_roles))
        .routes(routes!(api_disable_user))
        .routes(routes!(api_enable_user))
        .routes(routes!(api_unlock_user))
        .routes(routes!(api_user_tokens))
        .routes(routes!(api_revoke_token))
        .routes(routes!(api_user_sessions))
        .routes(routes!(api_end_session))
}

#[derive(serde::Serialize, ToSchema)]
struct RoleList {
    roles: Vec<RoleDetail>,
    /// Every permission the installed modules declare: `[key, module]`.
    permissions: Vec<(String, String)>,
}

/// Every role with its permissions and how many users hold it.
#[utoipa::path(get, path = "/api/v1/roles", tag = "admin",
    responses((status = 200, body = RoleList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn api_list_roles(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<RoleList>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    Ok(Json(RoleList {
        roles: roles::list(&st.db).await?,
        permissions: roles::known_permissions(&st.db).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct RoleInput {
    /// 1–40 lowercase letters, digits, `_` or `-`, starting with a letter.
    code: String,
    #[serde(default)]
    label: String,
    /// Permission keys (`registry.patient.read`, ...); unknown keys are refused.
    #[serde(default)]
    permissions: Vec<String>,
}

/// Create a role with exactly these permissions.
#[utoipa::path(post, path = "/api/v1/roles", tag = "admin", request_body = RoleInput,
    responses((status = 201, body = RoleDetail), (status = 403, body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_create_role(
    State(st): State<Platform>,
    who: Principal,
    Json(r): Json<RoleInput>,
) -> Result<Response, AppError> {
    let d = roles::save(
        &st.db,
        &st.clock,
        &who,
        &r.code,
        &r.label,
        r.permissions,
        true,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

#[utoipa::path(get, path = "/api/v1/roles/{code}", tag = "admin",
    params(("code" = String, Path)),
    responses((status = 200, body = RoleDetail), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_get_role(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Json<RoleDetail>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    Ok(Json(roles::get(&st.db, &code).await?))
}

#[derive(Deserialize, ToSchema)]
struct RoleUpdate {
    label: Option<String>,
    /// The role's whole set of permissions after the change.
    permissions: Vec<String>,
}

/// Replace a role's permissions (built-in roles too).
#[utoipa::path(put, path = "/api/v1/roles/{code}", tag = "admin", request_body = RoleUpdate,
    params(("code" = String, Path)),
    responses((status = 200, body = RoleDetail), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_set_role(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
    Json(r): Json<RoleUpdate>,
) -> Result<Json<RoleDetail>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let label = match r.label {
        Some(l) => l,
        None => roles::get(&st.db, &code).await?.label,
    };
    Ok(Json(
        roles::save(&st.db, &st.clock, &who, &code, &label, r.permissions, false).await?,
    ))
}

/// Delete a custom role nobody holds.
#[utoipa::path(delete, path = "/api/v1/roles/{code}", tag = "admin",
    params(("code" = String, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn api_delete_role(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<StatusCode, AppError> {
    roles::delete(&st.db, &st.clock, &who, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UserQuery {
    /// Part of a username or display name.
    q: Option<String>,
    /// 1–500, default 200.
    limit: Option<i64>,
}

#[derive(serde::Serialize, ToSchema)]
struct UserList {
    users: Vec<UserSummary>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", params(UserQuery),
    responses((status = 200, body = UserList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn api_list_users(
    State(st): State<Platform>,
    who: Principal,
    Query(q): Query<UserQuery>,
) -> Result<Json<UserList>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let limit = q.limit.unwrap_or(200).clamp(1, 500);
    Ok(Json(UserList {
        users: users::list(&st.db, q.q.as_deref(), limit).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct UserInput {
    username: String,
    /// At least 8 characters.
    password: String,
    roles: Vec<String>,
    /// Organisation code of the user's scope; none only for administrators (whole network).
    scope_code: Option<String>,
    #[serde(default)]
    display_name: String,
    /// `zh-Hans` (default), `zh-Hant`, `ug` or `en`.
    locale: Option<String>,
}

/// Create an account with its roles and scope.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = UserInput,
    responses((status = 201, body = UserSummary), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_create_user(
    State(st): State<Platform>,
    who: Principal,
    Json(u): Json<UserInput>,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let created = create_user(&st, &who, &u).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn create_user(
    st: &Platform,
    who: &Principal,
    u: &UserInput,
) -> Result<UserSummary, AppError> {
    let locale = u
        .locale
        .as_deref()
        .and_then(crate::i18n::Locale::parse)
        .unwrap_or(crate::i18n::Locale::ZhHans);
    let display = if u.display_name.trim().is_empty() {
        u.username.trim()
    } else {
        u.display_name.trim()
    };
    if display.chars().count() > 100 {
        return Err(AppError::invalid(
            "display_name",
            Msg::new("error.too_long").arg("max", "100"),
        ));
    }
    users::create_user(
        &st.db,
        &st.clock,
        By::User(who),
        NewUser {
            username: u.username.trim(),
            password: &u.password,
            roles: u.roles.clone(),
            scope_code: u
                .scope_code
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
            display_name: display,
            locale: locale.tag(),
        },
    )
    .await?;
    users::by_username(&st.db, u.username.trim()).await
}

#[derive(serde::Serialize, ToSchema)]
struct UserDetail {
    user: UserSummary,
    tokens: Vec<TokenInfo>,
    sessions: Vec<SessionInfo>,
    /// Until when sign-in is held back after failed attempts (RFC 3339), if it is.
    locked_until: Option<String>,
}

async fn user_detail(st: &Platform, username: &str) -> Result<UserDetail, AppError> {
    let user = users::by_username(&st.db, username).await?;
    Ok(UserDetail {
        tokens: users::tokens(&st.db, &user.id).await?,
        sessions: users::sessions(&st.db, &st.clock, &user.id).await?,
        locked_until: crate::ratelimit::locked_until(st, &user.username).await?,
        user,
    })
}

/// One account with its tokens, live sessions and sign-in lock.
#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "admin",
    params(("username" = String, Path)),
    responses((status = 200, body = UserDetail), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_get_user(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Json<UserDetail>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    Ok(Json(user_detail(&st, &username).await?))
}

#[derive(Deserialize, ToSchema)]
struct RolesInput {
    roles: Vec<String>,
}

/// Replace a user's roles.
#[utoipa::path(put, path = "/api/v1/users/{username}/roles", tag = "admin", request_body = RolesInput,
    params(("username" = String, Path)),
    responses((status = 200, body = UserSummary), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_set_user_roles(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
    Json(r): Json<RolesInput>,
) -> Result<Json<UserSummary>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    users::set_roles(&st.db, &st.clock, By::User(&who), &username, r.roles).await?;
    Ok(Json(users::by_username(&st.db, &username).await?))
}

/// Disable an account: its sessions end and its tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/users/{username}/disable", tag = "admin",
    params(("username" = String, Path)),
    responses((status = 200, body = UserSummary), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_disable_user(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Json<UserSummary>, AppError> {
    set_active(&st, &who, &username, false).await?;
    Ok(Json(users::by_username(&st.db, &username).await?))
}

/// Enable a disabled account again.
#[utoipa::path(post, path = "/api/v1/users/{username}/enable", tag = "admin",
    params(("username" = String, Path)),
    responses((status = 200, body = UserSummary), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_enable_user(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Json<UserSummary>, AppError> {
    set_active(&st, &who, &username, true).await?;
    Ok(Json(users::by_username(&st.db, &username).await?))
}

async fn set_active(
    st: &Platform,
    who: &Principal,
    username: &str,
    active: bool,
) -> Result<(), AppError> {
    who.require(perms::USERS_MANAGE)?;
    if !active && username == who.username {
        return Err(AppError::Conflict(Msg::new("admin.err.self_disable")));
    }
    users::set_active(&st.db, &st.clock, By::User(who), username, active).await
}

/// Lift the sign-in hold after failed attempts.
#[utoipa::path(post, path = "/api/v1/users/{username}/unlock", tag = "admin",
    params(("username" = String, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_unlock_user(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let u = users::by_username(&st.db, &username).await?;
    crate::ratelimit::unlock(&st.db, &st.clock, By::User(&who), &u).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize, ToSchema)]
struct TokenList {
    tokens: Vec<TokenInfo>,
}

/// A user's API tokens (never the secret: only id, label and dates).
#[utoipa::path(get, path = "/api/v1/users/{username}/tokens", tag = "admin",
    params(("username" = String, Path)),
    responses((status = 200, body = TokenList), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_user_tokens(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Json<TokenList>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let u = users::by_username(&st.db, &username).await?;
    Ok(Json(TokenList {
        tokens: users::tokens(&st.db, &u.id).await?,
    }))
}

async fn revoke_users_token(
    st: &Platform,
    who: &Principal,
    username: &str,
    id: &str,
) -> Result<(), AppError> {
    who.require(perms::USERS_MANAGE)?;
    let u = users::by_username(&st.db, username).await?;
    let tokens = users::tokens(&st.db, &u.id).await?;
    if !tokens.iter().any(|t| t.id == id && t.revoked_at.is_none()) {
        return Err(AppError::NotFoundBecause(Msg::new("token.unknown")));
    }
    users::revoke_token(&st.db, &st.clock, By::User(who), id).await
}

/// Revoke one of a user's tokens: refused by every process within a second.
#[utoipa::path(delete, path = "/api/v1/users/{username}/tokens/{id}", tag = "admin",
    params(("username" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_revoke_token(
    State(st): State<Platform>,
    who: Principal,
    Path((username, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    revoke_users_token(&st, &who, &username, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize, ToSchema)]
struct SessionList {
    sessions: Vec<SessionInfo>,
}

/// A user's live browser sessions.
#[utoipa::path(get, path = "/api/v1/users/{username}/sessions", tag = "admin",
    params(("username" = String, Path)),
    responses((status = 200, body = SessionList), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_user_sessions(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Json<SessionList>, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let u = users::by_username(&st.db, &username).await?;
    Ok(Json(SessionList {
        sessions: users::sessions(&st.db, &st.clock, &u.id).await?,
    }))
}

/// End one of a user's sessions (named by the `id` the list shows).
#[utoipa::path(delete, path = "/api/v1/users/{username}/sessions/{id}", tag = "admin",
    params(("username" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_end_session(
    State(st): State<Platform>,
    who: Principal,
    Path((username, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let u = users::by_username(&st.db, &username).await?;
    users::end_session_by_id(&st.db, &st.clock, By::User(&who), &u.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

pub fn pages() -> Router<Platform> {
    Router::new()
        .route("/admin/users", get(users_page).post(users_create))
        .route("/admin/users/{username}", get(user_page))
        .route("/admin/users/{username}/roles", post(user_roles_post))
        .route("/admin/users/{username}/disable", post(user_disable_post))
        .route("/admin/users/{username}/enable", post(user_enable_post))
        .route("/admin/users/{username}/unlock", post(user_unlock_post))
        .route(
            "/admin/users/{username}/tokens/{id}/revoke",
            post(user_token_revoke_post),
        )
        .route(
            "/admin/users/{username}/sessions/{id}/end",
            post(user_session_end_post),
        )
        .route("/admin/roles", get(roles_page).post(roles_create))
        .route("/admin/roles/{code}", get(role_page).post(role_save))
        .route("/admin/roles/{code}/delete", post(role_delete))
}

/// Form fields, with repeated keys (checkboxes) kept.
fn form_fields(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn fields_all(f: &[(String, String)], name: &str) -> Vec<String> {
    f.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

pub struct RoleChoice {
    pub code: String,
    pub label: String,
    pub checked: bool,
}

pub struct PermChoice {
    pub key: String,
    pub label: String,
    pub checked: bool,
}

pub struct RoleLine {
    pub code: String,
    pub label: String,
    pub builtin: bool,
    pub users: i64,
    pub permissions: String,
}

pub struct UserLine {
    pub username: String,
    pub display_name: String,
    pub roles: String,
    pub scope: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    shell: Shell,
    q: String,
    users: Vec<UserLine>,
    roles: Vec<RoleChoice>,
    error: Option<String>,
    form_username: String,
    form_display: String,
    form_scope: String,
}

#[derive(Deserialize, Default)]
struct UsersQuery {
    q: Option<String>,
}

async fn role_choices(
    st: &Platform,
    t: &crate::i18n::Catalog,
    held: &[String],
) -> Result<Vec<RoleChoice>, AppError> {
    Ok(roles::list(&st.db)
        .await?
        .into_iter()
        .map(|r| RoleChoice {
            label: shown_role(t, &r.code, &r.label),
            checked: held.contains(&r.code),
            code: r.code,
        })
        .collect())
}

fn shown_role(t: &crate::i18n::Catalog, code: &str, label: &str) -> String {
    let l = role_label(t, code);
    if l == code && !label.is_empty() {
        label.to_string()
    } else {
        l
    }
}

fn user_lines(t: &crate::i18n::Catalog, list: Vec<UserSummary>) -> Vec<UserLine> {
    list.into_iter()
        .map(|u| UserLine {
            roles: u
                .roles
                .split('+')
                .filter(|r| !r.is_empty())
                .map(|r| role_label(t, r))
                .collect::<Vec<_>>()
                .join(" · "),
            scope: u
                .scope_code
                .clone()
                .unwrap_or_else(|| t.get("admin.whole_network").to_string()),
            active: u.active != 0,
            username: u.username,
            display_name: u.display_name,
        })
        .collect()
}

async fn users_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<UsersQuery>,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let list = users::list(&st.db, q.q.as_deref(), 500).await?;
    let users = user_lines(&ctx.t, list);
    let roles = role_choices(&st, &ctx.t, &[]).await?;
    render(&UsersPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        q: q.q.unwrap_or_default(),
        users,
        roles,
        error: None,
        form_username: String::new(),
        form_display: String::new(),
        form_scope: String::new(),
    })
}

async fn users_create(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let f = form_fields(&body);
    let input = UserInput {
        username: field(&f, "username").to_string(),
        password: field(&f, "password").to_string(),
        roles: fields_all(&f, "role"),
        scope_code: Some(field(&f, "scope_code").to_string()),
        display_name: field(&f, "display_name").to_string(),
        locale: Some(field(&f, "locale").to_string()),
    };
    match create_user(&st, &who, &input).await {
        Ok(u) => Ok(Redirect::to(&format!(
            "/admin/users/{}?saved=1",
            crate::web::url_encode(&u.username)
        ))
        .into_response()),
        Err(AppError::Invalid(errs)) => {
            let error = Some(
                errs.iter()
                    .map(|e| ctx.t.msg(&e.msg))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            let list = users::list(&st.db, None, 500).await?;
            let users = user_lines(&ctx.t, list);
            let roles = role_choices(&st, &ctx.t, &input.roles).await?;
            let mut resp = render(&UsersPage {
                shell: Shell::new(ctx, &st, Some(&who)),
                q: String::new(),
                users,
                roles,
                error,
                form_username: input.username,
                form_display: input.display_name,
                form_scope: input.scope_code.unwrap_or_default(),
            })?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    shell: Shell,
    u: UserSummary,
    active: bool,
    roles: Vec<RoleChoice>,
    tokens: Vec<TokenInfo>,
    sessions: Vec<SessionInfo>,
    locked_until: Option<String>,
    saved: bool,
    scope: String,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn user_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(username): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let d = user_detail(&st, &username).await?;
    let held: Vec<String> = d.user.roles.split('+').map(str::to_string).collect();
    let roles = role_choices(&st, &ctx.t, &held).await?;
    let scope = d
        .user
        .scope_code
        .clone()
        .unwrap_or_else(|| ctx.t.get("admin.whole_network").to_string());
    render(&UserPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        active: d.user.active != 0,
        u: d.user,
        roles,
        tokens: d.tokens,
        sessions: d.sessions,
        locked_until: d.locked_until,
        saved: q.saved.is_some(),
        scope,
    })
}

fn back_to_user(username: &str) -> Response {
    Redirect::to(&format!(
        "/admin/users/{}?saved=1",
        crate::web::url_encode(username)
    ))
    .into_response()
}

async fn user_roles_post(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let f = form_fields(&body);
    users::set_roles(
        &st.db,
        &st.clock,
        By::User(&who),
        &username,
        fields_all(&f, "role"),
    )
    .await?;
    Ok(back_to_user(&username))
}

async fn user_disable_post(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    set_active(&st, &who, &username, false).await?;
    Ok(back_to_user(&username))
}

async fn user_enable_post(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    set_active(&st, &who, &username, true).await?;
    Ok(back_to_user(&username))
}

async fn user_unlock_post(
    State(st): State<Platform>,
    who: Principal,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let u = users::by_username(&st.db, &username).await?;
    crate::ratelimit::unlock(&st.db, &st.clock, By::User(&who), &u).await?;
    Ok(back_to_user(&username))
}

async fn user_token_revoke_post(
    State(st): State<Platform>,
    who: Principal,
    Path((username, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    revoke_users_token(&st, &who, &username, &id).await?;
    Ok(back_to_user(&username))
}

async fn user_session_end_post(
    State(st): State<Platform>,
    who: Principal,
    Path((username, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let u = users::by_username(&st.db, &username).await?;
    users::end_session_by_id(&st.db, &st.clock, By::User(&who), &u.id, &id).await?;
    Ok(back_to_user(&username))
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    shell: Shell,
    roles: Vec<RoleLine>,
    perms: Vec<PermChoice>,
    error: Option<String>,
}

async fn perm_choices(
    st: &Platform,
    t: &crate::i18n::Catalog,
    held: &[String],
) -> Result<Vec<PermChoice>, AppError> {
    Ok(roles::known_permissions(&st.db)
        .await?
        .into_iter()
        .map(|(key, _)| {
            let label = st
                .config
                .permissions
                .iter()
                .find(|(_, d)| d.permission.0 == key)
                .map(|(_, d)| t.get(d.label).to_string())
                .unwrap_or_else(|| key.clone());
            PermChoice {
                checked: held.contains(&key),
                label,
                key,
            }
        })
        .collect())
}

async fn roles_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    error: Option<String>,
) -> Result<Response, AppError> {
    let roles = roles::list(&st.db)
        .await?
        .into_iter()
        .map(|r| RoleLine {
            label: shown_role(&ctx.t, &r.code, &r.label),
            permissions: r.permissions.join(" "),
            builtin: r.builtin,
            users: r.users,
            code: r.code,
        })
        .collect();
    let perms = perm_choices(st, &ctx.t, &[]).await?;
    let failed = error.is_some();
    let mut resp = render(&RolesPage {
        shell: Shell::new(ctx, st, Some(who)),
        roles,
        perms,
        error,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

async fn roles_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    roles_view(&st, ctx, &who, None).await
}

async fn roles_create(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let f = form_fields(&body);
    let code = field(&f, "code").to_string();
    match roles::save(
        &st.db,
        &st.clock,
        &who,
        &code,
        field(&f, "label"),
        fields_all(&f, "permission"),
        true,
    )
    .await
    {
        Ok(r) => Ok(Redirect::to(&format!(
            "/admin/roles/{}?saved=1",
            crate::web::url_encode(&r.code)
        ))
        .into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            roles_view(&st, ctx, &who, Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "admin_role.html")]
struct RolePage {
    shell: Shell,
    r: RoleDetail,
    name: String,
    perms: Vec<PermChoice>,
    saved: bool,
}

async fn role_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(code): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let r = roles::get(&st.db, &code).await?;
    let perms = perm_choices(&st, &ctx.t, &r.permissions).await?;
    let name = shown_role(&ctx.t, &r.code, &r.label);
    render(&RolePage {
        shell: Shell::new(ctx, &st, Some(&who)),
        r,
        name,
        perms,
        saved: q.saved.is_some(),
    })
}

async fn role_save(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let f = form_fields(&body);
    roles::save(
        &st.db,
        &st.clock,
        &who,
        &code,
        field(&f, "label"),
        fields_all(&f, "permission"),
        false,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/admin/roles/{}?saved=1",
        crate::web::url_encode(&code)
    ))
    .into_response())
}

async fn role_delete(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    roles::delete(&st.db, &st.clock, &who, &code).await?;
    Ok(Redirect::to("/admin/roles").into_response())
}
