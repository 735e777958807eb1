//! The administrator's pages of roles and accounts (`/admin/users`, `/admin/roles`).
use super::api::{create_user, revoke_users_token, set_active, user_detail, UserInput};
use super::*;

pub fn pages() -> Router<Platform> {
    Router::new()
        .route("/admin/users", get(users_page).post(users_create))
        .route("/admin/users/{username}", get(user_page))
        .route("/admin/users/{username}/roles", post(user_roles_post))
        .route("/admin/users/{username}/{action}", post(user_action_post))
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

/// The account's buttons without fields: `disable`, `enable`, `unlock` (any other is 404).
async fn user_action_post(
    State(st): State<Platform>,
    who: Principal,
    Path((username, action)): Path<(String, String)>,
) -> Result<Response, AppError> {
    match action.as_str() {
        "disable" => set_active(&st, &who, &username, false).await?,
        "enable" => set_active(&st, &who, &username, true).await?,
        "unlock" => {
            who.require(perms::USERS_MANAGE)?;
            let u = users::by_username(&st.db, &username).await?;
            crate::ratelimit::unlock(&st.db, &st.clock, By::User(&who), &u).await?;
        }
        _ => return Err(AppError::NotFound),
    }
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
