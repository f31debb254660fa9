//! One-line errors with an HTTP status. The body is `{"detail": "..."}`, as FastAPI (and so
//! MONAI Label) writes its errors, so the Slicer plug-in shows the message as it is.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let message: String = message.into();
        // One line, whatever the source said.
        let message = message.lines().collect::<Vec<_>>().join(" ");
        Self { status, message }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<promptseg_infer::InferError> for ApiError {
    fn from(e: promptseg_infer::InferError) -> Self {
        match e {
            promptseg_infer::InferError::Model { .. } => Self::internal(e.to_string()),
            _ => Self::unprocessable(e.to_string()),
        }
    }
}

impl From<promptseg_case::CaseError> for ApiError {
    fn from(e: promptseg_case::CaseError) -> Self {
        Self::unprocessable(e.to_string())
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        Self::new(e.status(), format!("multipart body: {}", e.body_text()))
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(format!("worker failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "detail": self.message })),
        )
            .into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Outermost layer: every error response becomes `{"detail": "..."}` with its status. Axum's
/// own rejections (a query string without a field, a body that is not JSON or lacks its
/// content type, a multipart body without a boundary, 413, 404, 405) are plain text; their
/// text becomes the detail (or the status's reason when they have none). Other headers
/// (`Allow`, ...) are kept.
pub async fn json_errors(res: Response) -> Response {
    use axum::http::header;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = ApiError::new(status, detail).into_response();
    for (k, v) in &parts.headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().append(k.clone(), v.clone());
        }
    }
    out
}
