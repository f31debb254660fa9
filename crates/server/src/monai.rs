//! The part of MONAI Label's REST API that its client and the 3D Slicer plug-in use for a
//! deepgrow-type model: info, datastore (list, upload, download, save label) and infer.
//!
//! Prompts: `foreground` points are T2W voxel indices (Slicer's IJK of the uploaded volume);
//! each one segments one lesion (as `promptseg segment --point` does, union of all). A
//! `background` point removes every lesion whose mask contains it; one inside no lesion is
//! ignored, with a line in the reply's `warnings`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use promptseg_volume::{io::write_atomic, read_image, ReadOptions, Volume};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::datastore::{decode_upload, image_extension, label_file_name, saved_labels};
use crate::error::{ApiError, ApiResult};
use crate::multipart::{self, Part};
use crate::session::with_session;
use crate::AppState;

/// The one model this server offers.
pub const MODEL: &str = "promptseg";
pub const LABEL: &str = "lesion";
/// Longest label tag accepted (`PUT /datastore/label?tag=`).
pub const MAX_TAG: usize = 200;

pub async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
    let total = state.store.cases().len();
    Json(json!({
        "name": "promptseg",
        "description": "One click inside a prostate lesion on T2W + ADC + HBV becomes a 3D lesion mask (RL-PromptSeg)",
        "version": env!("CARGO_PKG_VERSION"),
        "labels": [LABEL],
        "models": {
            MODEL: {
                "type": "deepgrow",
                "labels": { LABEL: 1 },
                "dimension": 3,
                "description": "Foreground clicks: one lesion each (T2W voxel indices); a background click removes the lesion that contains it",
            }
        },
        "trainers": {},
        "strategies": {},
        "scoring": {},
        "train_stats": {},
        "datastore": { "total": total, "completed": 0 },
    }))
}

#[derive(Deserialize)]
pub struct ImageQuery {
    pub image: Option<String>,
    pub output: Option<String>,
    pub tag: Option<String>,
}

fn file_info(path: &std::path::Path) -> Value {
    let meta = std::fs::metadata(path).ok();
    let ts = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = image_extension(&name).unwrap_or("");
    json!({ "ext": ext, "info": { "ts": ts, "name": name, "size": meta.map(|m| m.len()).unwrap_or(0) } })
}

pub async fn datastore(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ImageQuery>,
) -> ApiResult<Json<Value>> {
    let ids = state.store.image_ids();
    let mut objects = serde_json::Map::new();
    // Stats count case folders, not IDs (an alias is another name for a case).
    let mut total = 0;
    let mut completed = 0;
    let mut datalist = Vec::new();
    for (id, entry) in &ids {
        let labels = saved_labels(&entry.dir);
        let is_case = *id == entry.id;
        if is_case {
            total += 1;
            if !labels.is_empty() {
                completed += 1;
            }
        }
        let mut lab = serde_json::Map::new();
        for (tag, path) in &labels {
            lab.insert(tag.clone(), file_info(path));
            if tag == "final" && is_case {
                datalist.push(json!({ "image": entry.files.t2w, "label": path }));
            }
        }
        objects.insert(
            id.clone(),
            json!({ "image": file_info(&entry.files.t2w), "labels": lab }),
        );
    }
    Ok(Json(match q.output.as_deref().unwrap_or("stats") {
        "all" => json!({
            "name": "promptseg",
            "description": "case folders of the data folder (image = T2W; ADC and HBV beside it)",
            "images_dir": state.store.root(),
            "labels_dir": state.store.root(),
            "objects": objects,
        }),
        "train" => json!(datalist),
        "stats" => json!({
            "total": total,
            "completed": completed,
            "label_tags": { "final": completed },
            "train": { "total": total },
        }),
        other => {
            return Err(ApiError::bad_request(format!(
                "output '{other:.20}': expected all, stats or train"
            )))
        }
    }))
}

fn params_of(parts: &[Part]) -> ApiResult<Value> {
    match multipart::text(parts, "params") {
        None => Ok(json!({})),
        Some(t) if t.trim().is_empty() => Ok(json!({})),
        Some(t) => {
            let v: Value = serde_json::from_str(&t)
                .map_err(|e| ApiError::bad_request(format!("params: not JSON ({e})")))?;
            if !v.is_object() {
                return Err(ApiError::bad_request("params: expected a JSON object"));
            }
            Ok(v)
        }
    }
}

pub async fn add_image(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ImageQuery>,
    mp: Multipart,
) -> ApiResult<Json<Value>> {
    let parts = multipart::read_all(mp).await?;
    let params = params_of(&parts)?;
    let file = parts
        .iter()
        .find(|p| p.name == "file" && p.file_name.is_some())
        .ok_or_else(|| ApiError::bad_request("no file part named 'file' in the upload"))?;
    let file_name = file.file_name.clone().unwrap_or_default();
    let id = match q.image.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => {
            let base = file_name.rsplit('/').next().unwrap_or("");
            let ext = image_extension(base).unwrap_or("");
            base[..base.len() - ext.len()].to_string()
        }
    };
    let channel = params
        .get("channel")
        .and_then(Value::as_str)
        .unwrap_or("t2w")
        .to_ascii_lowercase();
    let bytes = file.bytes.clone();
    let st = state.clone();
    let id =
        tokio::task::spawn_blocking(move || st.store.add_image(&id, &channel, &file_name, &bytes))
            .await??;
    Ok(Json(json!({ "image": id })))
}

pub async fn download_image(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ImageQuery>,
) -> ApiResult<Response> {
    let id = q
        .image
        .ok_or_else(|| ApiError::bad_request("give ?image=ID"))?;
    let entry = state.store.resolve(&id)?;
    let bytes = tokio::fs::read(&entry.files.t2w)
        .await
        .map_err(|e| ApiError::internal(format!("{}: {e}", entry.files.t2w.display())))?;
    let name = entry
        .files
        .t2w
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    Ok(multipart::file(&name, bytes))
}

pub async fn save_label(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ImageQuery>,
    mp: Multipart,
) -> ApiResult<Json<Value>> {
    let id = q
        .image
        .clone()
        .ok_or_else(|| ApiError::bad_request("give ?image=ID"))?;
    let tag = q
        .tag
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "final".into());
    if tag.len() > MAX_TAG {
        return Err(ApiError::bad_request(format!(
            "tag '{tag:.40}...': longer than {MAX_TAG} characters"
        )));
    }
    if !tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::bad_request(format!(
            "tag '{tag:.40}': letters, digits, '_' and '-' only"
        )));
    }
    let entry = state.store.resolve(&id)?;
    let parts = multipart::read_all(mp).await?;
    let label = parts
        .iter()
        .find(|p| p.name == "label")
        .ok_or_else(|| ApiError::bad_request("no file part named 'label'"))?;
    let name = label.file_name.clone().unwrap_or_default();
    let ext = image_extension(&name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "label file '{name:.80}': name it .nii.gz, .nii, .mha or .nrrd"
        ))
    })?;
    let bytes = label.bytes.clone();
    let saved = tokio::task::spawn_blocking(move || -> ApiResult<std::path::PathBuf> {
        let v = decode_upload(&bytes, ext, "label")?;
        let t2w = read_image(&entry.files.t2w, &ReadOptions::default()).map_err(|e| {
            ApiError::internal(format!(
                "the T2W of '{}' is not readable ({})",
                entry.id,
                e.problem.to_string().lines().next().unwrap_or("")
            ))
        })?;
        if !v.geometry.same_grid(&t2w.geometry, 1e-3) {
            return Err(ApiError::bad_request(format!(
                "label: its grid ({:?} voxels) is not the T2W grid of '{}' ({:?})",
                v.geometry.dims, entry.id, t2w.geometry.dims
            )));
        }
        let target = entry.dir.join(label_file_name(&tag, ext));
        if [&entry.files.t2w, &entry.files.adc, &entry.files.hbv]
            .iter()
            .any(|p| **p == target)
        {
            return Err(ApiError::conflict("a label would replace an input"));
        }
        // Stored as a binary uint8 mask (value > 0.5) on the T2W's grid and header codes.
        let mask = t2w.with_data(v.data.iter().map(|&x| (x > 0.5) as u8).collect());
        let encoded = encode_mask(&mask, ext)?;
        write_atomic(&target, &encoded)
            .map_err(|_| ApiError::internal("cannot write the label into the case folder"))?;
        Ok(target)
    })
    .await??;
    Ok(Json(json!({ "image": id, "label": id, "file": saved })))
}

pub const RESULT_EXTENSIONS: [&str; 5] = [".nrrd", ".seg.nrrd", ".nii.gz", ".nii", ".mha"];

/// The mask in the format an extension asks for.
pub fn encode_mask(mask: &Volume<u8>, ext: &str) -> ApiResult<Vec<u8>> {
    let r = match ext {
        ".nii.gz" => {
            promptseg_volume::nifti::encode(mask, mask.nifti_codes.unwrap_or_default(), true)
        }
        ".nii" => {
            promptseg_volume::nifti::encode(mask, mask.nifti_codes.unwrap_or_default(), false)
        }
        ".nrrd" | ".seg.nrrd" => promptseg_volume::nrrd::encode(mask),
        ".mha" => promptseg_volume::metaimage::encode(mask),
        other => {
            return Err(ApiError::bad_request(format!(
                "result_extension '{other:.20}': expected .nrrd, .nii.gz, .nii or .mha"
            )))
        }
    };
    r.map_err(|e| ApiError::internal(format!("encoding the mask: {e}")))
}

fn points(params: &Value, key: &str) -> ApiResult<Vec<[i64; 3]>> {
    let Some(v) = params.get(key) else {
        return Ok(Vec::new());
    };
    if v.is_null() {
        return Ok(Vec::new());
    }
    let list = v
        .as_array()
        .ok_or_else(|| ApiError::bad_request(format!("{key}: expected a list of [i, j, k]")))?;
    list.iter()
        .map(|p| {
            let a = p.as_array().filter(|a| a.len() == 3).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{key}: each point is [i, j, k], three voxel indices (got {p:.80})"
                ))
            })?;
            let mut out = [0i64; 3];
            for (o, x) in out.iter_mut().zip(a) {
                let f = x
                    .as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e9)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("{key}: {p} is not three numbers"))
                    })?;
                *o = f.round() as i64;
            }
            Ok(out)
        })
        .collect()
}

pub async fn infer(
    State(state): State<Arc<AppState>>,
    Path(model): Path<String>,
    Query(q): Query<ImageQuery>,
    mp: Multipart,
) -> ApiResult<Response> {
    let t0 = Instant::now();
    if model != MODEL {
        return Err(ApiError::not_found(format!(
            "model '{model:.40}' not found; this server has '{MODEL}'"
        )));
    }
    let id = q
        .image
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("give ?image=ID (an image of the datastore)"))?;
    let parts = multipart::read_all(mp).await?;
    let params = params_of(&parts)?;
    let mut warnings: Vec<String> = Vec::new();
    if parts.iter().any(|p| p.name == "file" || p.name == "label") {
        warnings.push("uploaded 'file'/'label' parts are ignored: the image comes from the datastore (?image=ID)".into());
    }
    let ext = params
        .get("result_extension")
        .and_then(Value::as_str)
        .unwrap_or(".nii.gz")
        .to_ascii_lowercase();
    let ext = if ext.starts_with('.') {
        ext
    } else {
        format!(".{ext}")
    };
    if !RESULT_EXTENSIONS.contains(&ext.as_str()) {
        return Err(ApiError::bad_request(format!(
            "result_extension '{ext:.20}': expected .nrrd, .nii.gz, .nii or .mha"
        )));
    }
    match params.get("result_dtype").and_then(Value::as_str) {
        None | Some("uint8") => {}
        Some(other) => warnings.push(format!(
            "result_dtype '{other:.20}' is not supported; the mask is uint8"
        )),
    }
    let label = params
        .get("label")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(LABEL)
        .to_string();
    let foreground = points(&params, "foreground")?;
    let background = points(&params, "background")?;
    let entry = state.store.resolve(&id)?;
    let models = state.models.clone();
    let fg = foreground.clone();
    let bg = background.clone();
    let pre_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (mask, lesions, mut more) = with_session(&state.sessions, entry, move |s| {
        let mut warnings = Vec::new();
        let g = s.case.t2w.geometry.clone();
        let mut masks: Vec<(Volume<u8>, promptseg_infer::LesionReport)> = Vec::new();
        for p in &fg {
            let c = s.click(&models, *p)?;
            masks.push((c.mask, c.report));
        }
        for b in &bg {
            if !g.contains(*b) {
                return Err(ApiError::unprocessable(format!(
                    "background point {},{},{}: outside the T2W image (dims {:?})",
                    b[0], b[1], b[2], g.dims
                )));
            }
            let o = g.offset([b[0] as usize, b[1] as usize, b[2] as usize]);
            let before = masks.len();
            masks.retain(|(m, _)| m.data[o] == 0);
            if masks.len() == before {
                warnings.push(format!(
                    "background point {},{},{} is inside no lesion: ignored",
                    b[0], b[1], b[2]
                ));
            }
        }
        if fg.is_empty() {
            warnings.push("no foreground point: the mask is empty (promptseg needs a click inside each lesion)".into());
        }
        let mut union = s.case.t2w.with_data(vec![0u8; g.len()]);
        for (m, _) in &masks {
            for (u, v) in union.data.iter_mut().zip(&m.data) {
                *u |= *v;
            }
        }
        let lesions: Vec<Value> = masks
            .iter()
            .map(|(m, r)| {
                let voxels = m.data.iter().filter(|&&v| v != 0).count();
                json!({
                    "prompt": r.prompt_voxel,
                    "voxels": voxels,
                    "volume_ml": voxels as f64 * g.voxel_volume_ml(),
                    "negative": r.negative,
                    "steps": r.steps,
                    "reused_window": r.reused_window,
                })
            })
            .collect();
        Ok((union, lesions, warnings))
    })
    .await?;
    warnings.append(&mut more);
    let infer_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let voxels = mask.data.iter().filter(|&&v| v != 0).count();
    let volume_ml = voxels as f64 * mask.geometry.voxel_volume_ml();
    let bytes = encode_mask(&mask, &ext)?;
    let write_s = t2.elapsed().as_secs_f64();
    let params_out = json!({
        "label_names": { label: 1 },
        "latencies": {
            "pre": pre_s,
            "infer": infer_s,
            "invert": 0.0,
            "post": 0.0,
            "write": write_s,
            "total": t0.elapsed().as_secs_f64(),
            "transform": null,
        },
        "foreground": foreground,
        "background": background,
        "lesions": lesions,
        "voxels": voxels,
        "volume_ml": volume_ml,
        "call": if voxels > 0 { "positive" } else { "negative" },
        "warnings": warnings,
    });
    let file_name = format!("{}{ext}", id.replace('/', "_"));
    Ok(match q.output.as_deref().unwrap_or("all") {
        "image" => multipart::file(&file_name, bytes),
        "json" => Json(params_out).into_response(),
        "all" => multipart::reply(&params_out, &file_name, &bytes),
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("output '{other:.20}': expected image, json or all"),
            ))
        }
    })
}
