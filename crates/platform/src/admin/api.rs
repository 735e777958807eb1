//! The JSON API of roles and accounts (`/api/v1/roles`, `/api/v1/users`).
use super::*;

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
pub(super) struct UserInput {
    pub(super) username: String,
    /// At least 8 characters.
    pub(super) password: String,
    pub(super) roles: Vec<String>,
    /// Organisation code of the user's scope; none only for administrators (whole network).
    pub(super) scope_code: Option<String>,
    #[serde(default)]
    pub(super) display_name: String,
    /// `zh-Hans` (default), `zh-Hant`, `ug` or `en`.
    pub(super) locale: Option<String>,
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

pub(super) async fn create_user(
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
pub(super) struct UserDetail {
    pub(super) user: UserSummary,
    pub(super) tokens: Vec<TokenInfo>,
    pub(super) sessions: Vec<SessionInfo>,
    /// Until when sign-in is held back after failed attempts (RFC 3339), if it is.
    pub(super) locked_until: Option<String>,
}

pub(super) async fn user_detail(st: &Platform, username: &str) -> Result<UserDetail, AppError> {
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

pub(super) async fn set_active(
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

pub(super) async fn revoke_users_token(
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
