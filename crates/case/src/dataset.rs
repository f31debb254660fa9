//! Collections of cases for training and evaluation.
//!
//! Two ways to name one: a folder whose sub-folders are cases (any layout [`CaseFiles`] accepts),
//! or a TOML manifest listing case folders with per-case overrides, for sources whose headers are
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

use crate::error::CaseError;
use crate::files::CaseFiles;
use crate::load::GeometryFix;

#[derive(Clone, Debug)]
pub struct DatasetEntry {
    pub files: CaseFiles,
    pub fix: GeometryFix,
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub entries: Vec<DatasetEntry>,
    /// Folders that were not usable cases, with the reason (reported, never silently dropped).
    pub skipped: Vec<(PathBuf, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    root: Option<PathBuf>,
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

impl Dataset {
    pub fn open(path: &Path) -> Result<Self, CaseError> {
        if path.is_dir() {
            Self::from_folder(path)
        } else if path.extension().map(|e| e == "toml").unwrap_or(false) {
            Self::from_manifest(path)
        } else {
            Err(CaseError::Dataset {
                path: path.to_path_buf(),
                problem: "expected a folder of cases or a .toml case manifest".into(),
            })
        }
    }

    fn from_folder(dir: &Path) -> Result<Self, CaseError> {
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| CaseError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        let mut ds = Dataset::default();
        for d in subdirs {
            match CaseFiles::discover(&d) {
                Ok(files) => ds.entries.push(DatasetEntry {
                    files,
                    fix: GeometryFix::default(),
                    note: None,
                }),
                Err(e) => ds.skipped.push((d, e.to_string())),
            }
        }
        if ds.entries.is_empty() {
            return Err(CaseError::Dataset {
                path: dir.to_path_buf(),
                problem: format!(
                    "no case folders with T2W, ADC and HBV found ({} sub-folders skipped)",
                    ds.skipped.len()
                ),
            });
        }
        Ok(ds)
    }

    fn from_manifest(path: &Path) -> Result<Self, CaseError> {
        let bad = |problem: String| CaseError::Dataset {
            path: path.to_path_buf(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| CaseError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let m: Manifest = toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let root = base.join(m.root.unwrap_or_default());
        let mut ds = Dataset::default();
        for c in m.cases {
            let dir = root.join(&c.dir);
            let mut files = match CaseFiles::discover(&dir) {
                Ok(f) => f,
                Err(e) => {
                    ds.skipped.push((dir, e.to_string()));
                    continue;
                }
            };
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
                files,
                fix: GeometryFix {
                    spacing: c.spacing,
                    origin_lps: c.origin_lps,
                },
                note: c.note,
            });
        }
        if ds.entries.is_empty() {
            return Err(bad(format!("no usable cases (root {})", root.display())));
        }
        Ok(ds)
    }

    pub fn find(&self, id: &str) -> Option<&DatasetEntry> {
        self.entries.iter().find(|e| e.files.id == id)
    }
}
