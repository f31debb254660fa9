//! Finding a case's images on disk. Accepted layouts, per modality m in {t2w, adc, hbv}:
//! - a file named `m.<ext>` or `<anything>_m.<ext>` (PI-CAI: `<patient>_<study>_t2w.mha`),
//! - nnU-Net channel files `<case>_0000` (T2W), `_0001` (ADC), `_0002` (HBV),
//! - a sub-folder named `m` holding exactly one image file.
//!
//! `<ext>` is .nii, .nii.gz, .mha or .mhd. A `dwi` image stands in for `hbv` when no hbv exists.

use std::path::{Path, PathBuf};

use crate::error::CaseError;

pub const IMAGE_EXTENSIONS: [&str; 4] = [".nii.gz", ".nii", ".mha", ".mhd"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFiles {
    pub id: String,
    pub t2w: PathBuf,
    pub adc: PathBuf,
    pub hbv: PathBuf,
    pub label: Option<PathBuf>,
    pub gland: Option<PathBuf>,
}

/// The name without its image extension, lower-cased; `None` for non-image files.
pub fn image_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    IMAGE_EXTENSIONS
        .iter()
        .find(|ext| name.ends_with(*ext) && name.len() > ext.len())
        .map(|ext| name[..name.len() - ext.len()].to_string())
}

fn list_images(dir: &Path) -> Result<Vec<PathBuf>, CaseError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CaseError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && image_stem(p).is_some())
        .collect();
    out.sort();
    Ok(out)
}

fn matches_role(stem: &str, names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| stem == *n || stem.ends_with(&format!("_{n}")))
}

fn find_one(
    dir: &Path,
    images: &[PathBuf],
    names: &[&str],
    what: &str,
) -> Result<Option<PathBuf>, CaseError> {
    let hits: Vec<&PathBuf> = images
        .iter()
        .filter(|p| {
            image_stem(p)
                .map(|s| matches_role(&s, names))
                .unwrap_or(false)
        })
        .collect();
    match hits.len() {
        0 => {}
        1 => return Ok(Some(hits[0].clone())),
        _ => {
            return Err(CaseError::Ambiguous {
                dir: dir.to_path_buf(),
                what: what.to_string(),
                candidates: hits.iter().map(|p| p.display().to_string()).collect(),
            })
        }
    }
    for n in names {
        let sub = dir.join(n);
        if sub.is_dir() {
            let inner = list_images(&sub)?;
            match inner.len() {
                1 => return Ok(Some(inner[0].clone())),
                0 => {}
                _ => {
                    return Err(CaseError::Ambiguous {
                        dir: sub,
                        what: what.to_string(),
                        candidates: inner.iter().map(|p| p.display().to_string()).collect(),
                    })
                }
            }
        }
    }
    Ok(None)
}

impl CaseFiles {
    /// Finds T2W, ADC and HBV (and, when present, a lesion label and a gland mask) in `dir`.
    pub fn discover(dir: &Path) -> Result<Self, CaseError> {
        if !dir.is_dir() {
            return Err(CaseError::NotAFolder(dir.to_path_buf()));
        }
        let images = list_images(dir)?;
        let need = |names: &[&str], what: &str| -> Result<PathBuf, CaseError> {
            find_one(dir, &images, names, what)?.ok_or_else(|| CaseError::Missing {
                dir: dir.to_path_buf(),
                what: what.to_string(),
                looked_for: names.join(", "),
            })
        };
        let t2w = need(&["t2w", "t2", "0000"], "T2W image")?;
        let adc = need(&["adc", "0001"], "ADC image")?;
        let hbv = match find_one(dir, &images, &["hbv", "0002"], "HBV image")? {
            Some(p) => p,
            None => need(&["dwi"], "HBV (high-b-value DWI) image")?,
        };
        let label = find_one(
            dir,
            &images,
            &[
                "lesion_human",
                "lesion_gt",
                "lesion_a1",
                "lesion",
                "label",
                "seg",
            ],
            "lesion label",
        )?;
        let gland = find_one(
            dir,
            &images,
            &["gland_ai_bosma22b", "gland", "whole_gland", "prostate"],
            "gland mask",
        )?;
        let id = case_id(dir, &t2w);
        Ok(Self {
            id,
            t2w,
            adc,
            hbv,
            label,
            gland,
        })
    }

    pub fn with_id(mut self, id: &str) -> Self {
        self.id = id.to_string();
        self
    }

    /// Explicit paths (`--t2w --adc --hbv`); the id is taken from the T2W file name.
    pub fn explicit(t2w: PathBuf, adc: PathBuf, hbv: PathBuf) -> Self {
        let stem = image_stem(&t2w).unwrap_or_else(|| "case".into());
        let id = stem
            .strip_suffix("_t2w")
            .or_else(|| stem.strip_suffix("_0000"))
            .unwrap_or(&stem)
            .to_string();
        Self {
            id,
            t2w,
            adc,
            hbv,
            label: None,
            gland: None,
        }
    }
}

fn case_id(dir: &Path, t2w: &Path) -> String {
    let stem = image_stem(t2w).unwrap_or_default();
    for suffix in ["_t2w", "_t2", "_0000"] {
        if let Some(prefix) = stem.strip_suffix(suffix) {
            if !prefix.is_empty() {
                return prefix.to_string();
            }
        }
    }
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "case".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), b"x").unwrap();
    }

    #[test]
    fn picai_names() {
        let d = tempfile::tempdir().unwrap();
        for m in ["t2w", "adc", "hbv"] {
            touch(d.path(), &format!("10021_1000021_{m}.mha"));
        }
        touch(d.path(), "notes.txt");
        let f = CaseFiles::discover(d.path()).unwrap();
        assert_eq!(f.id, "10021_1000021");
        assert!(f.adc.ends_with("10021_1000021_adc.mha"));
        assert_eq!(f.label, None);
    }

    #[test]
    fn plain_names_dwi_fallback_and_labels() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "t2w.nii.gz",
            "adc.nii.gz",
            "dwi.nii.gz",
            "lesion_a1.nii.gz",
            "gland.nii.gz",
        ] {
            touch(d.path(), n);
        }
        let f = CaseFiles::discover(d.path()).unwrap();
        assert!(f.hbv.ends_with("dwi.nii.gz"));
        assert!(f.label.unwrap().ends_with("lesion_a1.nii.gz"));
        assert!(f.gland.unwrap().ends_with("gland.nii.gz"));
    }

    #[test]
    fn nnunet_channels_and_subfolders() {
        let d = tempfile::tempdir().unwrap();
        for n in ["c7_0000.nii.gz", "c7_0001.nii.gz", "c7_0002.nii.gz"] {
            touch(d.path(), n);
        }
        assert_eq!(CaseFiles::discover(d.path()).unwrap().id, "c7");
        let e = tempfile::tempdir().unwrap();
        for m in ["t2w", "adc", "hbv"] {
            std::fs::create_dir(e.path().join(m)).unwrap();
            touch(&e.path().join(m), "series.mha");
        }
        assert!(CaseFiles::discover(e.path())
            .unwrap()
            .t2w
            .ends_with("t2w/series.mha"));
    }

    #[test]
    fn missing_and_ambiguous_are_errors() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "t2w.mha");
        touch(d.path(), "adc.mha");
        let e = CaseFiles::discover(d.path()).unwrap_err().to_string();
        assert!(e.contains("no HBV"), "{e}");
        touch(d.path(), "hbv.mha");
        touch(d.path(), "x_t2w.nii.gz");
        let e = CaseFiles::discover(d.path()).unwrap_err().to_string();
        assert!(e.contains("more than one T2W image"), "{e}");
    }
}
