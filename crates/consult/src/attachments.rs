//! Attachments of a case (images, PDF reports, DICOM files): the type is read from the
//! content, never from the name or the sender's header; a size limit; both sides of the case
//! may add them while it is open; every opening is audited.
use base64::Engine;
use sha2::{Digest, Sha256};
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::{AppError, Msg, Platform};

use crate::domain::{sniff, MAX_ATTACHMENT};
use crate::service::{sides, visible_row, STEP};
use crate::store::{self, AttachmentMeta};

pub const ENTITY: &str = "ConsultAttachment";

/// The refusal of a file that is too large.
pub fn too_big() -> AppError {
    AppError::invalid(
        "file",
        Msg::new("consult.err.too_big").arg("max", (MAX_ATTACHMENT / 1024 / 1024).to_string()),
    )
}

/// A file's type, read from its content, or the 422 refusal (empty, too large, another type).
pub fn check(bytes: &[u8]) -> Result<&'static str, AppError> {
    if bytes.is_empty() {
        return Err(AppError::invalid("file", Msg::new("consult.err.required")));
    }
    if bytes.len() > MAX_ATTACHMENT {
        return Err(too_big());
    }
    sniff(bytes).ok_or_else(|| AppError::invalid("file", Msg::new("consult.err.file_type")))
}

/// Add a file to a case the caller is on a side of (requester or target).
pub async fn attach(
    st: &Platform,
    who: &Principal,
    case_id: &str,
    name: &str,
    bytes: &[u8],
) -> Result<AttachmentMeta, AppError> {
    let r = visible_row(st, who, case_id).await?;
    let s = sides(who, &r);
    if !(s.requester || s.target) || r.status == "acknowledged" {
        return Err(AppError::Conflict(Msg::new("consult.err.step")));
    }
    let content_type = check(bytes)?;
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
        .take(120)
        .collect();
    let meta = AttachmentMeta {
        id: tianshan_platform::new_id(),
        case_id: r.id.clone(),
        name: if name.trim().is_empty() {
            "attachment".into()
        } else {
            name
        },
        content_type: content_type.into(),
        size: bytes.len() as i64,
        sha256: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        added_by: who.username.clone(),
        added_by_name: who.display_name.clone(),
        at: st.clock.now_text(),
    };
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    let (who2, m, pid) = (who.clone(), meta.clone(), r.patient_id.clone());
    let side = if s.target { "target" } else { "requester" };
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_attachment(tx, &m, &data).await?;
            store::add_message(
                tx,
                &m.case_id,
                &who2.username,
                &who2.display_name,
                side,
                "attach",
                &m.name,
            )
            .await?;
            let detail = format!("attach {} ({} {} bytes)", m.id, m.content_type, m.size);
            tx.record(
                &who2,
                Event::new(STEP, crate::service::ENTITY, &m.case_id)
                    .patient(&pid)
                    .detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    Ok(meta)
}

/// The attachments of a case the caller may see (metadata only).
pub async fn list(st: &Platform, case_id: &str) -> Result<Vec<AttachmentMeta>, AppError> {
    store::attachments(&st.db, case_id).await
}

/// Open one attachment (audited with the patient).
pub async fn open(
    st: &Platform,
    who: &Principal,
    case_id: &str,
    id: &str,
) -> Result<(AttachmentMeta, Vec<u8>), AppError> {
    let r = visible_row(st, who, case_id).await?;
    let (meta, data) = store::attachment_data(&st.db, &r.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .map_err(|e| AppError::Internal(format!("attachment {id}: {e}")))?;
    let detail = format!("opened {} ({})", meta.name, meta.content_type);
    st.audit(
        who,
        Event::new(Action::READ, ENTITY, id)
            .patient(&r.patient_id)
            .detail(&detail),
    )
    .await?;
    Ok((meta, bytes))
}

/// The file as a download (never rendered inline as anything but its detected type).
pub fn response(meta: &AttachmentMeta, bytes: Vec<u8>) -> axum::response::Response {
    tianshan_platform::tabular::download(&meta.name, content_type(&meta.content_type), bytes)
}

fn content_type(t: &str) -> &'static str {
    match t {
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        "application/pdf" => "application/pdf",
        _ => "application/dicom",
    }
}
