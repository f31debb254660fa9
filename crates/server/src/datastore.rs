//! The data folder as a datastore. An image ID is a case folder's path relative to the data
//! folder (`10021_1000021`, `picai_prostatex_native/10795_1000811`): the case's T2W is the
//! image, its ADC and HBV come along. IDs are checked component by component and resolved
//! inside the canonical data folder, so no ID reaches a file outside it.
//!
//! Uploads never replace a file: a new image becomes a new case folder `<data>/<ID>/` holding
//! `t2w.<ext>` (or `adc`/`hbv` when the upload says `"channel"`); an uploaded T2W whose voxels
//! and grid equal an existing case's T2W (3D Slicer re-saving a volume it loaded from the
//! data folder) becomes another name for that case. Each upload is read and checked in a
//! hidden staging folder before it is moved into place, so a bad upload changes nothing.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::http::StatusCode;
use promptseg_case::files::image_stem;
use promptseg_case::CaseFiles;
use promptseg_volume::{read_image, ReadOptions, Volume};

use crate::error::{ApiError, ApiResult};

/// How deep below the data folder case folders are looked for.
const MAX_DEPTH: usize = 3;
/// File name of the mask the viewer saves into a case folder.
pub const SAVED_MASK: &str = "promptseg_mask.nii.gz";

pub const CHANNELS: [&str; 3] = ["t2w", "adc", "hbv"];

/// File stems case discovery takes for each channel (see `CaseFiles::discover`).
fn channel_stems(channel: &str) -> &'static [&'static str] {
    match channel {
        "t2w" => &["t2w", "t2", "0000"],
        "adc" => &["adc", "0001"],
        _ => &["hbv", "0002", "dwi"],
    }
}

/// "a t2w", "an adc", "an hbv".
fn a_channel(channel: &str) -> String {
    let article = if channel == "t2w" { "a" } else { "an" };
    format!("{article} {channel}")
}

/// Decodes an uploaded file from memory, never from the disk, so that no header (a MetaImage
/// `ElementDataFile`, an NRRD `data file`) can make the server read another file: `.mha` must
/// hold its voxels (`ElementDataFile = LOCAL`). Non-finite voxels are refused. `field` names the
/// upload in errors (never a server path).
pub fn decode_upload(bytes: &[u8], ext: &str, field: &str) -> ApiResult<Volume<f32>> {
    let name = Path::new(field);
    let opts = ReadOptions::default();
    let first_line =
        |p: promptseg_volume::Problem| p.to_string().lines().next().unwrap_or("").to_string();
    let decoded = match ext {
        ".nii.gz" | ".nii" => promptseg_volume::nifti::read_bytes(bytes, name, &opts)
            .map_err(|e| first_line(e.problem)),
        ".mha" => promptseg_volume::metaimage::read_bytes(bytes, name, &opts).map_err(|e| {
            format!(
                "{}; an uploaded .mha must hold its voxels (ElementDataFile = LOCAL)",
                first_line(e.problem)
            )
        }),
        ".nrrd" => promptseg_volume::nrrd::decode(bytes, &opts).map_err(first_line),
        other => Err(format!("unsupported extension {other}")),
    };
    let v = decoded
        .map_err(|why| ApiError::bad_request(format!("{field}: not a readable image ({why})")))?;
    let bad = v.data.iter().filter(|x| !x.is_finite()).count();
    if bad > 0 {
        return Err(ApiError::bad_request(format!(
            "{field}: {bad} of {} voxels are NaN or infinite",
            v.data.len()
        )));
    }
    Ok(v)
}

pub struct Datastore {
    root: PathBuf,
    /// Uploaded image ID -> the case ID whose T2W it equals.
    aliases: Mutex<HashMap<String, String>>,
    /// Case ID -> (T2W path, modification time, fingerprint of its grid and voxels).
    fingerprints: Mutex<HashMap<String, (PathBuf, std::time::SystemTime, u64)>>,
    staging: AtomicU64,
}

#[derive(Clone, Debug)]
pub struct CaseEntry {
    pub id: String,
    pub dir: PathBuf,
    pub files: CaseFiles,
}

/// A supported image extension of an uploaded file name, lower-cased.
pub fn image_extension(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    [".nii.gz", ".nii", ".mha", ".nrrd"]
        .into_iter()
        .find(|e| lower.ends_with(e) && lower.len() > e.len())
}

/// Checks an ID (or one component of it) and splits it into folder names.
pub fn id_components(id: &str) -> ApiResult<Vec<&str>> {
    let bad = |why: &str| ApiError::bad_request(format!("image ID '{id:.80}': {why}"));
    if id.is_empty() {
        return Err(bad("empty"));
    }
    if id.len() > 200 {
        return Err(bad("longer than 200 characters"));
    }
    let parts: Vec<&str> = id.split('/').collect();
    for p in &parts {
        if p.is_empty() || *p == "." || *p == ".." || p.starts_with('.') {
            return Err(bad(
                "each part must be a plain folder name (no '.', '..', empty or hidden parts)",
            ));
        }
        if !p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(bad(
                "only letters, digits, '.', '_', '-' and '/' between folder names",
            ));
        }
    }
    if parts.len() > MAX_DEPTH {
        return Err(bad("too many folder levels"));
    }
    Ok(parts)
}

/// Fingerprint of a volume's grid and voxel values (to recognise a re-saved T2W).
pub fn fingerprint(v: &Volume<f32>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.geometry.dims.hash(&mut h);
    for x in &v.data {
        x.to_bits().hash(&mut h);
    }
    h.finish()
}

impl Datastore {
    pub fn new(root: &Path) -> anyhow::Result<Self> {
        let root =
            std::fs::canonicalize(root).map_err(|e| anyhow::anyhow!("{}: {e}", root.display()))?;
        if !root.is_dir() {
            anyhow::bail!("{}: not a folder", root.display());
        }
        Ok(Self {
            root,
            aliases: Mutex::new(HashMap::new()),
            fingerprints: Mutex::new(HashMap::new()),
            staging: AtomicU64::new(0),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every case folder (one whose T2W, ADC and HBV are found), sorted by ID.
    pub fn cases(&self) -> Vec<CaseEntry> {
        let mut out = Vec::new();
        self.scan(&self.root, "", 0, &mut out);
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    fn scan(&self, dir: &Path, prefix: &str, depth: usize, out: &mut Vec<CaseEntry>) {
        if depth > 0 {
            if let Ok(files) = CaseFiles::discover(dir) {
                // A case with a file linked outside the data folder is left out.
                if self.escaping(&files).is_none() {
                    out.push(CaseEntry {
                        id: prefix.to_string(),
                        dir: dir.to_path_buf(),
                        files,
                    });
                }
                return;
            }
        }
        if depth >= MAX_DEPTH {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subs: Vec<(String, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            .filter(|(name, _)| id_components(name).is_ok())
            .collect();
        subs.sort();
        for (name, path) in subs {
            let id = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            self.scan(&path, &id, depth + 1, out);
        }
    }

    /// Whether `p`, symbolic links resolved, lies inside the canonical data folder.
    fn inside(&self, p: &Path) -> bool {
        std::fs::canonicalize(p).is_ok_and(|c| c.starts_with(&self.root))
    }

    /// The first of a case's files that resolves (symbolic links followed) outside the data
    /// folder, if any.
    fn escaping<'a>(&self, f: &'a CaseFiles) -> Option<&'a Path> {
        [
            Some(&f.t2w),
            Some(&f.adc),
            Some(&f.hbv),
            f.label.as_ref(),
            f.gland.as_ref(),
        ]
        .into_iter()
        .flatten()
        .find(|p| !self.inside(p))
        .map(PathBuf::as_path)
    }

    /// The folder an ID names, checked to lie inside the data folder (symbolic links included).
    pub fn folder(&self, id: &str) -> ApiResult<PathBuf> {
        let parts = id_components(id)?;
        let mut p = self.root.clone();
        for part in parts {
            p.push(part);
        }
        let canon = std::fs::canonicalize(&p)
            .map_err(|_| ApiError::not_found(format!("image '{id}' not found in the datastore")))?;
        if !canon.starts_with(&self.root) || !canon.is_dir() {
            return Err(ApiError::not_found(format!(
                "image '{id}' not found in the datastore"
            )));
        }
        Ok(canon)
    }

    /// The case an image ID stands for (aliases resolved): its canonical ID, folder and files.
    pub fn resolve(&self, id: &str) -> ApiResult<CaseEntry> {
        let id = self
            .aliases
            .lock()
            .expect("alias lock")
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string());
        let dir = self.folder(&id)?;
        let files = CaseFiles::discover(&dir).map_err(|e| match e {
            promptseg_case::CaseError::Missing { what, .. } => ApiError::conflict(format!(
                "image '{id}' has no {what} yet: promptseg needs T2W, ADC and HBV; upload the missing one with PUT /datastore/?image={id} and params {{\"channel\": \"adc\"}} (or \"hbv\", \"t2w\")"
            )),
            other => ApiError::unprocessable(self.scrub(&other.to_string())),
        })?;
        if let Some(p) = self.escaping(&files) {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "image '{id}': its file {name} links outside the data folder; the server does not read it"
                ),
            ));
        }
        Ok(CaseEntry { id, dir, files })
    }

    /// A message with the data folder's path replaced by `<data>`.
    pub fn scrub(&self, msg: &str) -> String {
        msg.replace(&self.root.display().to_string(), "<data>")
    }

    fn case_fingerprint(&self, entry: &CaseEntry) -> Option<u64> {
        let mtime = std::fs::metadata(&entry.files.t2w)
            .and_then(|m| m.modified())
            .ok()?;
        if let Some((p, t, f)) = self.fingerprints.lock().expect("lock").get(&entry.id) {
            if *p == entry.files.t2w && *t == mtime {
                return Some(*f);
            }
        }
        let v = read_image(&entry.files.t2w, &ReadOptions::default()).ok()?;
        let f = fingerprint(&v);
        self.fingerprints
            .lock()
            .expect("lock")
            .insert(entry.id.clone(), (entry.files.t2w.clone(), mtime, f));
        Some(f)
    }

    /// The case whose T2W has exactly this grid and these voxels.
    fn matching_case(&self, v: &Volume<f32>) -> ApiResult<Option<String>> {
        let f = fingerprint(v);
        for entry in self.cases() {
            if self.case_fingerprint(&entry) == Some(f) {
                let t2w = read_image(&entry.files.t2w, &ReadOptions::default())
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                if t2w.geometry.same_grid(&v.geometry, 1e-3) && t2w.data == v.data {
                    return Ok(Some(entry.id));
                }
            }
        }
        Ok(None)
    }

    /// A fresh hidden folder in the data folder (same file system: moves are renames).
    pub fn staging_dir(&self) -> ApiResult<PathBuf> {
        let n = self.staging.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .root
            .join(format!(".promptseg-upload-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| {
            ApiError::internal(format!(
                "cannot create a staging folder in the data folder: {e}"
            ))
        })?;
        Ok(dir)
    }

    /// Stores one uploaded volume under `id` (see the module notes); returns the image ID.
    pub fn add_image(
        &self,
        id: &str,
        channel: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> ApiResult<String> {
        let parts = id_components(id)?;
        if parts.len() != 1 {
            return Err(ApiError::bad_request(format!(
                "image ID '{id}': an upload's ID is one folder name (no '/')"
            )));
        }
        if !CHANNELS.contains(&channel) {
            return Err(ApiError::bad_request(format!(
                "channel '{channel:.20}': expected t2w, adc or hbv"
            )));
        }
        let ext = image_extension(file_name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "file '{file_name:.80}': name it .nii.gz, .nii, .mha or .nrrd"
            ))
        })?;
        if let Some(target) = self.aliases.lock().expect("lock").get(id) {
            return Err(ApiError::conflict(format!(
                "image '{id}' is already the T2W of case '{target}'"
            )));
        }
        let staging = self.staging_dir()?;
        let result = self.stage_and_place(id, channel, ext, file_name, bytes, &staging);
        let _ = std::fs::remove_dir_all(&staging);
        result
    }

    fn stage_and_place(
        &self,
        id: &str,
        channel: &str,
        ext: &str,
        file_name: &str,
        bytes: &[u8],
        staging: &Path,
    ) -> ApiResult<String> {
        let volume = decode_upload(bytes, ext, &format!("{channel} file '{file_name:.80}'"))?;
        if channel == "t2w" {
            if let Some(case) = self.matching_case(&volume)? {
                if case != id {
                    self.aliases
                        .lock()
                        .expect("lock")
                        .insert(id.to_string(), case);
                }
                return Ok(id.to_string());
            }
        }
        let dir = self.root.join(id);
        if dir.exists() {
            if self.folder(id).is_err() {
                return Err(ApiError::conflict(format!(
                    "image '{id}': the name is taken by something that is not a case folder"
                )));
            }
            if CaseFiles::discover(&dir).is_ok() {
                return Err(ApiError::conflict(if channel == "t2w" {
                    format!("image '{id}' already exists with other voxels; uploads never replace a file: choose another ID")
                } else {
                    format!(
                        "{id} already has {}; uploads never replace a file",
                        a_channel(channel)
                    )
                }));
            }
            let images: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
                .map_err(|e| ApiError::internal(format!("reading case '{id}': {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter_map(|p| Some((image_stem(&p)?, p)))
                .collect();
            let of = |ch: &str| {
                images
                    .iter()
                    .find(|(stem, _)| channel_stems(ch).contains(&stem.as_str()))
                    .map(|(_, p)| p.clone())
            };
            if of(channel).is_some() {
                return Err(ApiError::conflict(format!(
                    "{id} already has {}; uploads never replace a file",
                    a_channel(channel)
                )));
            }
            // The channels must overlap the T2W in space, as loading the case requires.
            let read_existing = |p: &Path| {
                if !self.inside(p) {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        format!("image '{id}': a file of the case links outside the data folder"),
                    ));
                }
                read_image(p, &ReadOptions::default()).map_err(|e| {
                    ApiError::conflict(format!(
                        "image '{id}': an existing file of the case is not readable ({})",
                        e.problem.to_string().lines().next().unwrap_or("")
                    ))
                })
            };
            if channel == "t2w" {
                for ch in ["adc", "hbv"] {
                    if let Some(p) = of(ch) {
                        let other = read_existing(&p)?;
                        if !other.geometry.overlaps(&volume.geometry) {
                            return Err(ApiError::bad_request(format!(
                                "t2w: the case's {ch} does not overlap it in space (check the headers)"
                            )));
                        }
                    }
                }
            } else if let Some(p) = of("t2w") {
                let t2w = read_existing(&p)?;
                if !volume.geometry.overlaps(&t2w.geometry) {
                    return Err(ApiError::bad_request(format!(
                        "{channel}: does not overlap the T2W image of '{id}' in space (check the headers)"
                    )));
                }
            }
        }
        // Case discovery knows NIfTI and MetaImage; an NRRD upload is stored as NIfTI. The
        // stored bytes are the decoded upload's (a LOCAL .mha, a NIfTI) or its NIfTI re-encoding.
        let final_ext = if ext == ".nrrd" { ".nii.gz" } else { ext };
        let name = format!("{channel}{final_ext}");
        let placed = staging.join(&name);
        if ext == ".nrrd" {
            promptseg_volume::write_volume(&placed, &volume)
                .map_err(|_| ApiError::internal(format!("{channel}: cannot write it as NIfTI")))?;
        } else {
            std::fs::write(&placed, bytes)
                .map_err(|e| ApiError::internal(format!("writing the upload: {e}")))?;
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| ApiError::internal(format!("case '{id}': cannot create it: {e}")))?;
        let target = dir.join(&name);
        if target.exists() {
            return Err(ApiError::conflict(format!(
                "{id} already has a {name}; uploads never replace a file"
            )));
        }
        std::fs::rename(&placed, &target)
            .map_err(|e| ApiError::internal(format!("moving the upload into place: {e}")))?;
        Ok(id.to_string())
    }

    /// All IDs known to the datastore: case folders and aliases.
    pub fn image_ids(&self) -> Vec<(String, CaseEntry)> {
        let cases = self.cases();
        let mut out: Vec<(String, CaseEntry)> =
            cases.iter().map(|c| (c.id.clone(), c.clone())).collect();
        for (alias, target) in self.aliases.lock().expect("lock").iter() {
            if let Some(c) = cases.iter().find(|c| &c.id == target) {
                out.push((alias.clone(), c.clone()));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Labels saved through the API in a case folder: (tag, path). Named `labels_<tag>_monailabel.*`
/// so that case discovery never mistakes them for an input.
pub fn saved_labels(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Only plain files (a symbolic link could point anywhere).
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        .filter_map(|p| {
            let stem = image_stem(&p)?;
            let tag = stem.strip_prefix("labels_")?.strip_suffix("_monailabel")?;
            Some((tag.to_string(), p))
        })
        .collect();
    out.sort();
    out
}

pub fn label_file_name(tag: &str, ext: &str) -> String {
    format!("labels_{tag}_monailabel{ext}")
}
