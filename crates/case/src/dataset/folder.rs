//! A folder whose sub-folders are cases.

use std::path::{Path, PathBuf};

use super::{patient_of, Dataset, DatasetEntry};
use crate::error::CaseError;
use crate::files::CaseFiles;
use crate::load::GeometryFix;

pub(super) fn open(dir: &Path) -> Result<Dataset, CaseError> {
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
                patient: patient_of(&files.id),
                files,
                fix: GeometryFix::default(),
                note: None,
                negative_by_marksheet: false,
            }),
            Err(e) => ds.skipped.push((d, e.to_string())),
        }
    }
    if ds.entries.is_empty() {
        return Err(ds.no_usable_cases(dir, dir));
    }
    Ok(ds)
}
