//! The web viewer: its page and scripts (embedded in the binary, nothing from the internet) and
//! the JSON/binary API they use under `/api/`.

use std::sync::Arc;

use axum::extract::{Multipart, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use promptseg_case::{load_case, CaseFiles, GeometryFix};
use promptseg_volume::{io::write_atomic, ReadOptions};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::datastore::{decode_upload, id_components, image_extension, SAVED_MASK};
use crate::error::{ApiError, ApiResult};
use crate::monai::encode_mask;
use crate::multipart;
use crate::session::with_session;
use crate::AppState;

const INDEX: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const STYLE: &str = include_str!("../web/style.css");

pub async fn index() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response()
}

pub async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

#[derive(Deserialize)]
pub struct CaseQuery {
    pub case: String,
    pub channel: Option<String>,
    pub lesion: Option<u32>,
}

pub async fn cases(State(state): State<Arc<AppState>>) -> Json<Value> {
    let list: Vec<Value> = state
        .store
        .cases()
        .iter()
        .map(|c| json!({ "id": c.id, "has_label": c.files.label.is_some() }))
        .collect();
    Json(json!({ "cases": list }))
}

async fn run<T: Send + 'static>(
    state: &AppState,
    case: &str,
    f: impl FnOnce(&mut crate::session::Session) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let entry = state.store.resolve(case)?;
    with_session(&state.sessions, entry, f).await
}

pub async fn open(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(run(&state, &q.case, |s| Ok(s.state())).await?))
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn binary(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// A channel on the T2W grid as little-endian f32 (`t2w`, `adc`, `hbv`, or `entropy`).
pub async fn volume(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Response> {
    let channel = q.channel.clone().unwrap_or_else(|| "t2w".into());
    let bytes = run(&state, &q.case, move |s| match channel.as_str() {
        "t2w" => Ok(f32_bytes(&s.case.t2w.data)),
        "adc" => Ok(f32_bytes(&s.display_channels()[0])),
        "hbv" => Ok(f32_bytes(&s.display_channels()[1])),
        "entropy" => Ok(f32_bytes(&s.entropy())),
        other => Err(ApiError::bad_request(format!(
            "channel '{other:.20}': expected t2w, adc, hbv or entropy"
        ))),
    })
    .await?;
    Ok(binary(bytes))
}

/// The lesion map: one byte per T2W voxel, 0 or the lesion's place in the list (1-based).
pub async fn labels(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Response> {
    Ok(binary(run(&state, &q.case, |s| Ok(s.label_map())).await?))
}

#[derive(Deserialize)]
pub struct ClickBody {
    pub point: [i64; 3],
    /// A background click removes the lesion that contains it.
    #[serde(default)]
    pub background: bool,
}

pub async fn click(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
    Json(body): Json<ClickBody>,
) -> ApiResult<Json<Value>> {
    let models = state.models.clone();
    Ok(Json(
        run(&state, &q.case, move |s| {
            let mut st;
            if body.background {
                let removed = s.background_click(body.point)?;
                st = s.state();
                st["removed"] = json!(removed);
            } else {
                let lesion = s.add_lesion(&models, body.point)?;
                st = s.state();
                st["added"] = json!(lesion.as_ref());
            }
            Ok(st)
        })
        .await?,
    ))
}

pub async fn undo(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        run(&state, &q.case, |s| {
            s.undo();
            Ok(s.state())
        })
        .await?,
    ))
}

pub async fn redo(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        run(&state, &q.case, |s| {
            s.redo();
            Ok(s.state())
        })
        .await?,
    ))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Json<Value>> {
    let id = q
        .lesion
        .ok_or_else(|| ApiError::bad_request("give &lesion=N"))?;
    Ok(Json(
        run(&state, &q.case, move |s| {
            s.delete_lesion(id)?;
            Ok(s.state())
        })
        .await?,
    ))
}

/// The union mask as NIfTI (uint8 on the T2W grid, the T2W's header codes).
pub async fn download(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Response> {
    let (name, bytes) = run(&state, &q.case, |s| {
        Ok((
            format!("{}_promptseg.nii.gz", s.id.replace('/', "_")),
            encode_mask(&s.mask(), ".nii.gz")?,
        ))
    })
    .await?;
    Ok(multipart::file(&name, bytes))
}

/// Writes the union mask into the case folder as `promptseg_mask.nii.gz` (atomically; refused
/// if that name is one of the case's inputs).
pub async fn save(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        run(&state, &q.case, |s| {
            let target = s.entry.dir.join(SAVED_MASK);
            let f = &s.entry.files;
            let inputs = [
                Some(&f.t2w),
                Some(&f.adc),
                Some(&f.hbv),
                f.label.as_ref(),
                f.gland.as_ref(),
            ];
            if inputs.iter().flatten().any(|p| **p == target) {
                return Err(ApiError::conflict(format!(
                    "{}: is an input of the case; not overwritten",
                    target.display()
                )));
            }
            let bytes = encode_mask(&s.mask(), ".nii.gz")?;
            write_atomic(&target, &bytes).map_err(|e| ApiError::internal(e.to_string()))?;
            let mut st = s.state();
            st["saved"] = json!(target);
            Ok(st)
        })
        .await?,
    ))
}

#[derive(Deserialize)]
pub struct UploadQuery {
    pub id: String,
}

/// A new case from three files (multipart fields `t2w`, `adc`, `hbv`): checked together in a
/// staging folder, then moved into `<data>/<id>/` in one rename; nothing changes on failure.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    Query(q): Query<UploadQuery>,
    mp: Multipart,
) -> ApiResult<Json<Value>> {
    let parts = id_components(&q.id)?;
    if parts.len() != 1 {
        return Err(ApiError::bad_request(
            "the new case's ID is one folder name",
        ));
    }
    let fields = multipart::read_all(mp).await?;
    let mut files = Vec::new();
    for ch in ["t2w", "adc", "hbv"] {
        let part = fields
            .iter()
            .find(|p| p.name == ch)
            .ok_or_else(|| ApiError::bad_request(format!("no '{ch}' file in the upload")))?;
        let name = part.file_name.clone().unwrap_or_default();
        let ext = image_extension(&name)
            .filter(|e| *e != ".nrrd")
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{ch} file '{name:.80}': name it .nii.gz, .nii or .mha"
                ))
            })?;
        files.push((ch, ext, part.bytes.clone()));
    }
    let st = state.clone();
    let id = q.id.clone();
    let out = tokio::task::spawn_blocking(move || -> ApiResult<Value> {
        let target = st.store.root().join(&id);
        if target.exists() {
            return Err(ApiError::conflict(format!(
                "case '{id}' exists already; uploads never replace a file"
            )));
        }
        // Each file is decoded from memory (no header can point at another file) and named by
        // its field in errors; ADC and HBV must overlap the T2W, as loading the case requires.
        let mut volumes = Vec::new();
        for (ch, ext, bytes) in &files {
            volumes.push(decode_upload(bytes, ext, ch)?);
        }
        for (n, ch) in [(1, "adc"), (2, "hbv")] {
            if !volumes[n].geometry.overlaps(&volumes[0].geometry) {
                return Err(ApiError::bad_request(format!(
                    "{ch}: does not overlap the T2W image in space (check the headers)"
                )));
            }
        }
        let staging = st.store.staging_dir()?;
        let result = (|| {
            let dir = staging.join("case");
            std::fs::create_dir(&dir).map_err(|e| ApiError::internal(e.to_string()))?;
            let mut paths = Vec::new();
            for (ch, ext, bytes) in &files {
                let p = dir.join(format!("{ch}{ext}"));
                std::fs::write(&p, bytes).map_err(|e| ApiError::internal(e.to_string()))?;
                paths.push(p);
            }
            let cf = CaseFiles::explicit(paths[0].clone(), paths[1].clone(), paths[2].clone());
            load_case(&cf, &GeometryFix::default(), &ReadOptions::default()).map_err(|e| {
                // Name the field, never the staging path.
                let mut msg = e.to_string();
                for ((ch, _, _), p) in files.iter().zip(&paths) {
                    msg = msg.replace(&p.display().to_string(), ch);
                }
                ApiError::bad_request(st.store.scrub(&msg))
            })?;
            std::fs::rename(&dir, &target)
                .map_err(|e| ApiError::conflict(format!("case '{id}': cannot create it ({e})")))?;
            Ok(json!({ "case": id }))
        })();
        let _ = std::fs::remove_dir_all(&staging);
        result
    })
    .await??;
    Ok(Json(out))
}
