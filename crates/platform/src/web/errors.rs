//! Error pages: what a person sees when a request fails, in their language.
use super::*;

pub(super) async fn render_error(
    st: &Platform,
    locale: Locale,
    path: &str,
    resp: Response,
    csrf: &str,
) -> Response {
    let report = match resp.extensions().get::<ErrorReport>() {
        Some(r) => r.clone(),
        None if resp.status().is_client_error()
            && !resp.headers().contains_key(header::CONTENT_TYPE) =>
        {
            // axum's own rejections (bad JSON, bad query, wrong method) arrive as bare text.
            plain_rejection(resp.status())
        }
        None if resp.status().is_client_error()
            && resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/plain")) =>
        {
            let status = resp.status();
            let bytes = to_bytes(resp.into_body(), 64 * 1024)
                .await
                .unwrap_or_default();
            let mut r = plain_rejection(status);
            r.msg = Msg::new("error.request_detail")
                .arg("detail", String::from_utf8_lossy(&bytes).to_string());
            r
        }
        None => return resp,
    };
    let t = st.i18n.catalog(locale);
    if report.status.is_server_error() {
        tracing::error!(
            status = report.status.as_u16(),
            detail = report.detail.as_deref().unwrap_or(""),
            "request failed"
        );
    }
    let message = t.msg(&report.msg);
    let fields: Vec<(String, String)> = report
        .fields
        .iter()
        .map(|f| (f.field.clone(), t.msg(&f.msg)))
        .collect();
    let status = report.status;
    if path.starts_with("/fhir/") {
        let body = crate::fhir::operation_outcome(status.as_u16(), &message, &fields);
        return (
            status,
            [(header::CONTENT_TYPE, crate::fhir::FHIR_JSON)],
            body.to_string(),
        )
            .into_response();
    }
    if path.starts_with("/api/") || path == "/healthz" {
        let fields: Vec<_> = fields
            .iter()
            .map(|(f, m)| json!({"field": f, "message": m}))
            .collect();
        let body = json!({"error": {"code": report.code, "message": message, "fields": fields}});
        return (status, axum::Json(body)).into_response();
    }
    if status == StatusCode::UNAUTHORIZED {
        let next = url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    let ctx = PageCtx {
        t,
        csrf: csrf.to_string(),
        path: path.to_string(),
    };
    let mut message = message;
    for (_, m) in &fields {
        message.push(' ');
        message.push_str(m);
    }
    let page = ErrorPage {
        shell: Shell::new(ctx, st, None),
        status: status.as_u16(),
        message,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    }
}

fn plain_rejection(status: StatusCode) -> ErrorReport {
    let (code, key) = match status.as_u16() {
        404 => ("not_found", "error.not_found"),
        405 => ("method_not_allowed", "error.method"),
        413 => ("too_large", "error.too_large"),
        415 => ("unsupported_media_type", "error.media_type"),
        _ => ("bad_request", "error.bad_request"),
    };
    ErrorReport {
        status,
        code,
        msg: Msg::new(key),
        fields: Vec::new(),
        detail: None,
    }
}
