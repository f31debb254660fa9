//! Collections of cases for training and evaluation, from the layouts users have:
//! - a folder whose sub-folders are cases (any layout [`CaseFiles`] accepts; `folder.rs`),
//! - an nnU-Net v2 raw dataset (`Dataset###_Name` with `dataset.json`; `nnunet.rs`),
//! - a TOML manifest: either a list of case folders with per-case header corrections
//!   (`manifest.rs`, e.g. `datasets/shared-data.toml`) or `layout = "picai"` pointing at the
//!   PI-CAI images and a picai_labels checkout (`picai.rs`).
//!
//! All four yield the same [`DatasetEntry`] list, so training and evaluation have one code path.

mod folder;
mod manifest;
mod nnunet;
mod picai;

use std::path::{Path, PathBuf};

use promptseg_volume::ReadOptions;

use crate::error::CaseError;
use crate::files::CaseFiles;
use crate::load::{load_case, Case, GeometryFix};

#[derive(Clone, Debug)]
pub struct DatasetEntry {
    pub files: CaseFiles,
    /// Patient identifier: splits keep all studies of a patient on one side.
    pub patient: String,
    pub fix: GeometryFix,
    pub note: Option<String>,
    /// No label file, but the PI-CAI marksheet says the case has no csPCa: its label is empty.
    pub negative_by_marksheet: bool,
}

impl DatasetEntry {
    pub fn id(&self) -> &str {
        &self.files.id
    }

    /// Whether a label (a file, or a marksheet-negative empty one) exists.
    pub fn labelled(&self) -> bool {
        self.files.label.is_some() || self.negative_by_marksheet
    }

    /// Reads the case; a marksheet-negative case gets an all-zero label on the T2W grid.
    pub fn load(&self, opts: &ReadOptions) -> Result<Case, CaseError> {
        let mut case = load_case(&self.files, &self.fix, opts)?;
        if case.label.is_none() && self.negative_by_marksheet {
            case.label = Some(case.t2w.with_data(vec![0u8; case.t2w.data.len()]));
        }
        Ok(case)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub entries: Vec<DatasetEntry>,
    /// What was not a usable case, with the reason (reported, never silently dropped).
    pub skipped: Vec<(PathBuf, String)>,
}

/// PI-CAI ids are `<patient>_<study>`; anything else is its own patient.
pub fn patient_of(case_id: &str) -> String {
    match case_id.split_once('_') {
        Some((p, s))
            if !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && s.chars().all(|c| c.is_ascii_digit()) =>
        {
            p.to_string()
        }
        _ => case_id.to_string(),
    }
}

impl Dataset {
    pub fn open(path: &Path) -> Result<Self, CaseError> {
        let ds = Self::open_layout(path)?;
        let mut seen = std::collections::HashMap::new();
        for e in &ds.entries {
            if let Some(first) = seen.insert(e.id(), &e.files.t2w) {
                return Err(CaseError::Dataset {
                    path: path.to_path_buf(),
                    problem: format!(
                        "case id {} appears twice ({} and {}); ids must be unique (set `id` in the manifest)",
                        e.id(),
                        first.display(),
                        e.files.t2w.display()
                    ),
                });
            }
        }
        Ok(ds)
    }

    /// One line naming why nothing was usable (the first few skipped folders).
    pub(crate) fn no_usable_cases(&self, path: &Path, root: &Path) -> CaseError {
        let mut why: Vec<String> = self
            .skipped
            .iter()
            .take(3)
            .map(|(d, w)| format!("{}: {w}", d.display()))
            .collect();
        if self.skipped.len() > 3 {
            why.push(format!("and {} more", self.skipped.len() - 3));
        }
        let detail = if why.is_empty() {
            "nothing listed".to_string()
        } else {
            why.join("; ")
        };
        CaseError::Dataset {
            path: path.to_path_buf(),
            problem: format!("no usable cases under {} ({detail})", root.display()),
        }
    }

    fn open_layout(path: &Path) -> Result<Self, CaseError> {
        if !path.exists() {
            return Err(CaseError::Dataset {
                path: path.to_path_buf(),
                problem: "does not exist".into(),
            });
        }
        if path.is_dir() {
            if path.join("dataset.json").is_file() {
                nnunet::open(path)
            } else {
                folder::open(path)
            }
        } else if path.extension().map(|e| e == "toml").unwrap_or(false) {
            manifest::open(path)
        } else {
            Err(CaseError::Dataset {
                path: path.to_path_buf(),
                problem:
                    "expected a folder of cases, an nnU-Net dataset folder or a .toml manifest"
                        .into(),
            })
        }
    }

    pub fn find(&self, id: &str) -> Option<&DatasetEntry> {
        self.entries.iter().find(|e| e.files.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_ids() {
        assert_eq!(patient_of("10021_1000021"), "10021");
        assert_eq!(patient_of("patient1"), "patient1");
        assert_eq!(patient_of("Case_00"), "Case_00");
    }
}
