//! Multipart bodies: reading the fields of a request (bounded by the upload limit) and writing
//! the `multipart/form-data` reply MONAI Label's client parses (a JSON `params` part and a file
//! part `image` with a file name).

use axum::extract::Multipart;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult};

/// One part of a request: field name, file name (for files) and the bytes.
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// All parts of a request. Two parts with the same name are refused (which one would count
/// is a guess).
pub async fn read_all(mut mp: Multipart) -> ApiResult<Vec<Part>> {
    let mut out: Vec<Part> = Vec::new();
    while let Some(field) = mp.next_field().await? {
        let name = field.name().unwrap_or("").to_string();
        if out.iter().any(|p| p.name == name) {
            return Err(ApiError::bad_request(format!(
                "multipart body: more than one part named '{name:.40}'; send each part once"
            )));
        }
        let file_name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await?.to_vec();
        out.push(Part {
            name,
            file_name,
            bytes,
        });
    }
    Ok(out)
}

pub fn text(parts: &[Part], name: &str) -> Option<String> {
    parts
        .iter()
        .find(|p| p.name == name)
        .map(|p| String::from_utf8_lossy(&p.bytes).into_owned())
}

/// A `multipart/form-data` reply: `params` (JSON) and `image` (the file).
pub fn reply(params: &serde_json::Value, file_name: &str, file: &[u8]) -> Response {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let boundary = format!("promptseg{nanos:x}");
    let mut body = Vec::with_capacity(file.len() + 1024);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"params\"\r\nContent-Type: application/json\r\n\r\n{params}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        [(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )],
        body,
    )
        .into_response()
}

/// A file download with its name.
pub fn file(file_name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
