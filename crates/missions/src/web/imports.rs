//! Import of needs, mission day logs, trainees and a lecture's attendance from a page: a multipart upload (the CSRF token in the
//! action URL's query, as the platform wants for file uploads), every bad row shown with its
//! row number, nothing written from a file with errors unless "skip bad rows" is ticked.
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::tabular::{self, ImportReport};
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, Msg, Platform};

use super::Choice;
use crate::service::{missions, perms};
use crate::{files, roster};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/missions/import", get(import_page).post(import_post))
        .layer(DefaultBodyLimit::max(tabular::MAX_IMPORT_BYTES + 64 * 1024))
}

pub struct ErrorLine {
    pub row: usize,
    /// "Row 3" in the reader's language.
    pub label: String,
    pub field: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "missions_import.html")]
struct ImportPage {
    shell: Shell,
    missions: Vec<Choice>,
    /// Lectures already given: `mission:lecture`, label.
    lectures: Vec<Choice>,
    can_post: bool,
    can_record: bool,
    can_mentor: bool,
    /// The outcome in a sentence, empty before an upload.
    outcome: String,
    refused: bool,
    errors: Vec<ErrorLine>,
}

async fn view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    outcome: String,
    refused: bool,
    errors: Vec<ErrorLine>,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    let can_record = who.can(perms::RECORD);
    let ms: Vec<Choice> = if can_record {
        missions::list(st, who)
            .await?
            .into_iter()
            .map(|m| Choice {
                label: format!("{} ({} – {})", m.title, m.starts_on, m.ends_on),
                value: m.id,
            })
            .collect()
    } else {
        Vec::new()
    };
    let ids: Vec<(String, String)> = ms
        .iter()
        .map(|c| (c.value.clone(), c.label.clone()))
        .collect();
    let mut lectures: Vec<Choice> = Vec::new();
    for (m, l, label) in roster::lectures_of(st, &ids).await? {
        let course = format!("{m}:");
        if !lectures.iter().any(|c| c.value == course) {
            let title = ids.iter().find(|(id, _)| *id == m).map(|(_, t)| t.as_str());
            lectures.push(Choice {
                value: course,
                label: ctx
                    .t
                    .fmt("missions.import.course", &[("title", title.unwrap_or(""))]),
            });
        }
        lectures.push(Choice {
            value: format!("{m}:{l}"),
            label,
        });
    }
    let page = ImportPage {
        missions: ms,
        lectures,
        can_mentor: who.can(perms::MENTOR) || who.can(perms::PLAN),
        can_post: who.can(perms::POST),
        can_record,
        outcome,
        refused,
        errors,
        shell: Shell::new(ctx, st, Some(who)),
    };
    render(&page)
}

async fn import_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    view(&st, ctx, &who, String::new(), false, Vec::new()).await
}

#[derive(Default)]
struct Upload {
    what: String,
    mission_id: String,
    lecture: String,
    skip_bad: bool,
    filename: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut mp: Multipart) -> Result<Upload, AppError> {
    let bad = || AppError::BadRequest(Msg::new("missions.err.upload"));
    let mut u = Upload::default();
    while let Some(field) = mp.next_field().await.map_err(|_| bad())? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                u.filename = field.file_name().unwrap_or("upload.csv").to_string();
                u.bytes = field.bytes().await.map_err(|_| bad())?.to_vec();
            }
            "what" => u.what = field.text().await.map_err(|_| bad())?,
            "mission_id" => u.mission_id = field.text().await.map_err(|_| bad())?,
            "lecture" => u.lecture = field.text().await.map_err(|_| bad())?,
            "skip_bad" => u.skip_bad = !field.text().await.map_err(|_| bad())?.is_empty(),
            _ => {}
        }
    }
    Ok(u)
}

fn outcome(t: &Catalog, r: &ImportReport) -> String {
    if r.refused {
        t.fmt(
            "missions.import.refused",
            &[("errors", &r.errors.len().to_string())],
        )
    } else {
        t.fmt(
            "missions.import.done",
            &[
                ("imported", &r.imported.to_string()),
                ("rows", &r.rows.to_string()),
                ("skipped", &r.skipped.to_string()),
            ],
        )
    }
}

async fn import_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    mp: Multipart,
) -> Result<Response, AppError> {
    let u = read_upload(mp).await?;
    let result = if u.bytes.is_empty() {
        Err(AppError::BadRequest(Msg::new("missions.err.no_file")))
    } else {
        match tabular::read(&u.bytes, &u.filename) {
            Ok(table) => match u.what.as_str() {
                "log" => {
                    files::import_activities(&st, &who, &u.mission_id, &table, u.skip_bad).await
                }
                "trainees" => roster::import_trainees(&st, &who, &table, u.skip_bad).await,
                "attendance" => {
                    let (m, l) = u.lecture.split_once(':').unwrap_or(("", ""));
                    roster::import_attendance(&st, &who, m, Some(l), &table, u.skip_bad).await
                }
                _ => files::import_needs(&st, &who, &table, u.skip_bad).await,
            },
            Err(e) => Err(e),
        }
    };
    let (text, refused, errors, status) = match result {
        Ok(r) => (
            outcome(&ctx.t, &r),
            r.refused,
            r.errors
                .iter()
                .map(|e| ErrorLine {
                    row: e.row,
                    label: ctx
                        .t
                        .fmt("missions.import.row", &[("row", &e.row.to_string())]),
                    field: e.field.clone(),
                    message: e.message.clone(),
                })
                .collect(),
            if r.refused {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            },
        ),
        Err(AppError::BadRequest(m)) => (ctx.t.msg(&m), true, Vec::new(), StatusCode::BAD_REQUEST),
        Err(AppError::Invalid(fs)) => (
            fs.iter()
                .map(|f| ctx.t.msg(&f.msg))
                .collect::<Vec<_>>()
                .join(" "),
            true,
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return Err(e),
    };
    let mut r = view(&st, ctx, &who, text, refused, errors).await?;
    *r.status_mut() = status;
    Ok(r)
}
