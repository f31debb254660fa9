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

use promptseg_case::files::image_stem;
use promptseg_case::CaseFiles;
use promptseg_volume::{read_image, ReadOptions, Volume};

use crate::error::{ApiError, ApiResult};

/// How deep below the data folder case folders are looked for.
const MAX_DEPTH: usize = 3;
/// File name of the mask the viewer saves into a case folder.
pub const SAVED_MASK: &str = "promptseg_mask.nii.gz";

pub const CHANNELS: [&str; 3] = ["t2w", "adc", "hbv"];

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
                out.push(CaseEntry {
                    id: prefix.to_string(),
                    dir: dir.to_path_buf(),
                    files,
                });
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
            other => ApiError::unprocessable(other.to_string()),
        })?;
        Ok(CaseEntry { id, dir, files })
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
                "{}: cannot create a staging folder: {e}",
                dir.display()
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
        let result = self.stage_and_place(id, channel, ext, bytes, &staging);
        let _ = std::fs::remove_dir_all(&staging);
        result
    }

    fn stage_and_place(
        &self,
        id: &str,
        channel: &str,
        ext: &str,
        bytes: &[u8],
        staging: &Path,
    ) -> ApiResult<String> {
        let staged = staging.join(format!("upload{ext}"));
        std::fs::write(&staged, bytes)
            .map_err(|e| ApiError::internal(format!("writing the upload: {e}")))?;
        let volume = read_image(&staged, &ReadOptions::default()).map_err(|e| {
            ApiError::bad_request(format!(
                "not a readable image ({})",
                e.problem.to_string().lines().next().unwrap_or("")
            ))
        })?;
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
            if let Ok(files) = CaseFiles::discover(&dir) {
                return Err(ApiError::conflict(format!(
                    "image '{id}' already exists with other voxels ({}); uploads never replace a file: choose another ID",
                    files.t2w.display()
                )));
            }
            let taken = std::fs::read_dir(&dir)
                .map_err(|e| ApiError::internal(e.to_string()))?
                .filter_map(|e| e.ok())
                .any(|e| image_stem(&e.path()).as_deref() == Some(channel));
            if taken {
                return Err(ApiError::conflict(format!(
                    "image '{id}' already has a {channel} file; uploads never replace a file"
                )));
            }
        }
        // Case discovery knows NIfTI and MetaImage; an NRRD upload is stored as NIfTI.
        let (final_ext, convert) = if ext == ".nrrd" {
            (".nii.gz", true)
        } else {
            (ext, false)
        };
        let name = format!("{channel}{final_ext}");
        let placed = staging.join(&name);
        if convert {
            promptseg_volume::write_volume(&placed, &volume)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        } else {
            std::fs::rename(&staged, &placed).map_err(|e| ApiError::internal(e.to_string()))?;
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| ApiError::internal(format!("{}: cannot create: {e}", dir.display())))?;
        let target = dir.join(&name);
        if target.exists() {
            return Err(ApiError::conflict(format!(
                "{}: exists; uploads never replace a file",
                target.display()
            )));
        }
        std::fs::rename(&placed, &target).map_err(|e| ApiError::internal(e.to_string()))?;
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
