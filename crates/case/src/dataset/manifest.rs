//! A TOML manifest listing case folders with per-case overrides, for sources whose headers are
//! known to be wrong (see `datasets/shared-data.toml`):
//!
//! ```toml
//! root = "../../shared/data"          # relative to the manifest
//! [[case]]
//! dir = "picai_jqsakura_128/10707_1000723"
//! label = "lesion_gt.nii.gz"          # optional; else found by name
//! spacing = [1.5, 1.5, 0.445]         # optional GeometryFix
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{patient_of, Dataset, DatasetEntry};
use crate::error::CaseError;
use crate::files::CaseFiles;
use crate::load::GeometryFix;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    root: Option<PathBuf>,
    /// "cases" (default: the list below) or "picai" (see `picai.rs`).
    layout: Option<String>,
    images: Option<PathBuf>,
    labels: Option<PathBuf>,
    annotations: Option<String>,
    #[serde(rename = "case", default)]
    cases: Vec<ManifestCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestCase {
    dir: PathBuf,
    id: Option<String>,
    label: Option<PathBuf>,
    gland: Option<PathBuf>,
    spacing: Option<[f64; 3]>,
    origin_lps: Option<[f64; 3]>,
    note: Option<String>,
}

pub(super) fn open(path: &Path) -> Result<Dataset, CaseError> {
    let bad = |problem: String| CaseError::Dataset {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| CaseError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let m: Manifest = toml::from_str(&text).map_err(|e| bad(crate::toml_error(&text, &e)))?;
    let base = path.parent().unwrap_or(Path::new("."));
    match m.layout.as_deref() {
        None | Some("cases") => {}
        Some("picai") => {
            let images = m.images.ok_or_else(|| {
                bad("layout \"picai\" needs `images` (the folder of patient folders)".into())
            })?;
            let labels = m.labels.ok_or_else(|| {
                bad("layout \"picai\" needs `labels` (a picai_labels checkout)".into())
            })?;
            let annotations = super::picai::Annotations::parse(
                m.annotations.as_deref().unwrap_or("human_expert"),
            )
            .map_err(bad)?;
            return super::picai::open(&base.join(images), &base.join(labels), annotations);
        }
        Some(other) => return Err(bad(format!("unknown layout \"{other}\" (cases or picai)"))),
    }
    let root = base.join(m.root.unwrap_or_default());
    let mut ds = Dataset::default();
    for c in m.cases {
        let dir = root.join(&c.dir);
        // A case the manifest names explicitly must exist: dropping it would change the
        // dataset behind the user's back.
        let mut files = CaseFiles::discover(&dir)
            .map_err(|e| bad(format!("[[case]] dir = {:?}: {e}", c.dir)))?;
        if let Some(id) = c.id {
            files.id = id;
        }
        if let Some(l) = c.label {
            files.label = Some(dir.join(l));
        }
        if let Some(g) = c.gland {
            files.gland = Some(dir.join(g));
        }
        ds.entries.push(DatasetEntry {
            patient: patient_of(&files.id),
            files,
            fix: GeometryFix {
                spacing: c.spacing,
                origin_lps: c.origin_lps,
            },
            note: c.note,
            negative_by_marksheet: false,
        });
    }
    if ds.entries.is_empty() {
        return Err(ds.no_usable_cases(path, &root));
    }
    Ok(ds)
}
