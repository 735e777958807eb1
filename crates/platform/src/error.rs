//! Domain errors shared by every module, and the one place where they become HTTP responses.
//!
//! A handler returns `Err(AppError)`; `IntoResponse` only records the error in the response's
//! extensions. The `render_errors` middleware (see `web.rs`) then writes it in the shape the
//! caller speaks — HTML page, JSON API error or FHIR OperationOutcome — in the caller's language.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A message for a person: a catalogue key plus named arguments, rendered in their language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Msg {
    pub fn new(key: &'static str) -> Self {
        Msg {
            key,
            args: Vec::new(),
        }
    }
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }
}

/// A refusal tied to one input field, shown beside that field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub msg: Msg,
}

impl FieldError {
    pub fn new(field: impl Into<String>, msg: Msg) -> Self {
        FieldError {
            field: field.into(),
            msg,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("not found: {0:?}")]
    NotFoundBecause(Msg),
    #[error("sign-in required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    /// Refused, with the reason (a missing CSRF token).
    #[error("forbidden: {0:?}")]
    ForbiddenBecause(Msg),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("bad request: {0:?}")]
    BadRequest(Msg),
    #[error("conflict: {0:?}")]
    Conflict(Msg),
    #[error("too many attempts")]
    RateLimited,
    /// Too many attempts; the message says when to try again.
    #[error("too many attempts: {0:?}")]
    RateLimitedUntil(Msg),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// An error of one entry of a FHIR Bundle (or one row of an import), naming where.
    #[error("entry {0}: {1}")]
    InEntry(usize, Box<AppError>),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::Conflict(Msg::new("error.duplicate"))
            }
            // PostgreSQL refuses U+0000 in text (22021); the request guard refuses it first,
            // this keeps any path that slips past it a 400, never a 500.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                AppError::BadRequest(Msg::new("error.nul"))
            }
            _ => AppError::Db(e),
        }
    }
}

impl AppError {
    pub fn invalid(field: &str, msg: Msg) -> Self {
        AppError::Invalid(vec![FieldError::new(field, msg)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::InEntry(_, e) => e.status(),
            AppError::NotFound | AppError::NotFoundBecause(_) => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::ForbiddenBecause(_) => StatusCode::FORBIDDEN,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited | AppError::RateLimitedUntil(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Db(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InEntry(_, e) => e.code(),
            AppError::NotFound | AppError::NotFoundBecause(_) => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden | AppError::ForbiddenBecause(_) => "forbidden",
            AppError::Invalid(_) => "invalid",
            AppError::BadRequest(_) => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::RateLimited | AppError::RateLimitedUntil(_) => "rate_limited",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::Db(_) | AppError::Internal(_) => "internal",
        }
    }

    /// The person-facing message; never carries database text.
    pub fn msg(&self) -> Msg {
        match self {
            AppError::InEntry(_, e) => e.msg(),
            AppError::NotFound => Msg::new("error.not_found"),
            AppError::Unauthorized => Msg::new("error.unauthorized"),
            AppError::Forbidden => Msg::new("error.forbidden"),
            AppError::Invalid(_) => Msg::new("error.invalid"),
            AppError::BadRequest(m)
            | AppError::ForbiddenBecause(m)
            | AppError::Conflict(m)
            | AppError::NotFoundBecause(m)
            | AppError::RateLimitedUntil(m) => m.clone(),
            AppError::RateLimited => Msg::new("error.rate_limited"),
            AppError::UnsupportedMediaType => Msg::new("error.media_type"),
            AppError::Db(_) | AppError::Internal(_) => Msg::new("error.internal"),
        }
    }

    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            AppError::Invalid(f) => f.clone(),
            AppError::InEntry(i, e) => {
                let inner = e.fields();
                if inner.is_empty() {
                    vec![FieldError::new(format!("Bundle.entry[{i}]"), e.msg())]
                } else {
                    inner
                }
            }
            _ => Vec::new(),
        }
    }
}

/// What the error-rendering middleware finds in a response's extensions.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub status: StatusCode,
    pub code: &'static str,
    pub msg: Msg,
    pub fields: Vec<FieldError>,
    /// Internal detail for the log only (5xx).
    pub detail: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let detail = match &self {
            AppError::Db(e) => Some(e.to_string()),
            AppError::Internal(s) => Some(s.clone()),
            AppError::InEntry(_, e) => match e.as_ref() {
                AppError::Db(e) => Some(e.to_string()),
                AppError::Internal(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        let report = ErrorReport {
            status: self.status(),
            code: self.code(),
            msg: self.msg(),
            fields: self.fields(),
            detail,
        };
        let mut resp = report.status.into_response();
        resp.extensions_mut().insert(report);
        resp
    }
}

pub type AppResult<T> = Result<T, AppError>;
