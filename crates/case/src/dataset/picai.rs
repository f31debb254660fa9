//! The PI-CAI public layout: images `<images>/**/<patient>/<patient>_<study>_{t2w,adc,hbv}.mha`
//! (the fold folders may sit in between) and labels from a picai_labels checkout:
//! `csPCa_lesion_delineations/human_expert/resampled/<patient>_<study>.nii.gz` (ISUP grades;
//! binarised > 0.5 like every label), `csPCa_lesion_delineations/AI/Bosma22a/...` (AI, 0/1),
//! `anatomical_delineations/whole_gland/AI/Bosma22b/...` (gland) and
//! `clinical_information/marksheet.csv` (`case_csPCa` YES/NO).
//!
//! A case without a label file is not taken as negative unless the marksheet says NO.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{Dataset, DatasetEntry};
use crate::error::CaseError;
use crate::files::{image_stem, CaseFiles};
use crate::load::GeometryFix;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Annotations {
    HumanExpert,
    Ai,
    /// The expert label where there is one, else the AI label.
    HumanExpertOrAi,
}

impl Annotations {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "human_expert" => Ok(Self::HumanExpert),
            "ai" => Ok(Self::Ai),
            "human_expert_or_ai" => Ok(Self::HumanExpertOrAi),
            other => Err(format!(
                "annotations = \"{other}\": expected human_expert, ai or human_expert_or_ai"
            )),
        }
    }
}

/// Splits one CSV line, honouring double quotes ("5,2" is one field).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            _ => out.last_mut().expect("one field").push(c),
        }
    }
    out
}

/// `<patient>_<study>` -> case_csPCa ("YES"/"NO") from the marksheet, if readable.
fn marksheet(path: &Path) -> Result<HashMap<String, String>, CaseError> {
    let mut out = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(out);
    };
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap_or_default());
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(p), Some(s), Some(c)) = (col("patient_id"), col("study_id"), col("case_csPCa"))
    else {
        return Err(CaseError::Dataset {
            path: path.to_path_buf(),
            problem: "marksheet lacks patient_id, study_id or case_csPCa columns".into(),
        });
    };
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f = csv_fields(line);
        if let (Some(pv), Some(sv), Some(cv)) = (f.get(p), f.get(s), f.get(c)) {
            out.insert(
                format!("{}_{}", pv.trim(), sv.trim()),
                cv.trim().to_ascii_uppercase(),
            );
        }
    }
    Ok(out)
}

fn collect_images(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() && depth > 0 {
            collect_images(&p, depth - 1, out);
        } else if image_stem(&p).is_some() {
            out.push(p);
        }
    }
}

pub(super) fn open(
    images: &Path,
    labels: &Path,
    annotations: Annotations,
) -> Result<Dataset, CaseError> {
    if !images.is_dir() {
        return Err(CaseError::NotAFolder(images.to_path_buf()));
    }
    let mut files = Vec::new();
    collect_images(images, 3, &mut files);
    // <patient>_<study> -> modality -> path
    let mut cases: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for f in files {
        let stem = image_stem(&f).unwrap_or_default();
        let parts: Vec<&str> = stem.splitn(3, '_').collect();
        if parts.len() == 3
            && parts[0].chars().all(|c| c.is_ascii_digit())
            && parts[1].chars().all(|c| c.is_ascii_digit())
        {
            cases
                .entry(format!("{}_{}", parts[0], parts[1]))
                .or_default()
                .insert(parts[2].to_string(), f);
        }
    }
    let sheet = marksheet(&labels.join("clinical_information/marksheet.csv"))?;
    let lesion = |kind: &str, id: &str| -> Option<PathBuf> {
        let p = labels
            .join("csPCa_lesion_delineations")
            .join(kind)
            .join(format!("{id}.nii.gz"));
        p.exists().then_some(p)
    };
    let mut ds = Dataset::default();
    for (id, m) in cases {
        let (Some(t2w), Some(adc), Some(hbv)) = (m.get("t2w"), m.get("adc"), m.get("hbv")) else {
            ds.skipped.push((
                images.join(&id),
                format!("case {id} lacks one of t2w, adc, hbv"),
            ));
            continue;
        };
        let mut f = CaseFiles::explicit(t2w.clone(), adc.clone(), hbv.clone());
        f.id = id.clone();
        let expert = lesion("human_expert/resampled", &id);
        let ai = lesion("AI/Bosma22a", &id);
        f.label = match annotations {
            Annotations::HumanExpert => expert,
            Annotations::Ai => ai,
            Annotations::HumanExpertOrAi => expert.or(ai),
        };
        let gland = labels
            .join("anatomical_delineations/whole_gland/AI/Bosma22b")
            .join(format!("{id}.nii.gz"));
        f.gland = gland.exists().then_some(gland);
        let verdict = sheet.get(&id).map(String::as_str);
        let negative_by_marksheet = f.label.is_none() && verdict == Some("NO");
        let note = match (&f.label, verdict) {
            (Some(_), _) => None,
            (None, Some("NO")) => {
                Some("no label file; marksheet case_csPCa = NO: empty label".into())
            }
            (None, Some(v)) => Some(format!(
                "no label file although marksheet case_csPCa = {v}: unlabelled"
            )),
            (None, None) => Some("no label file and no marksheet row: unlabelled".into()),
        };
        ds.entries.push(DatasetEntry {
            patient: id.split('_').next().unwrap_or(&id).to_string(),
            files: f,
            fix: GeometryFix::default(),
            note,
            negative_by_marksheet,
        });
    }
    if ds.entries.is_empty() {
        return Err(CaseError::Dataset {
            path: images.to_path_buf(),
            problem: "no PI-CAI cases (<patient>_<study>_t2w/adc/hbv images) found".into(),
        });
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_csv_fields() {
        assert_eq!(
            csv_fields(r#"10339,1000345,"5,2",YES"#),
            vec!["10339", "1000345", "5,2", "YES"]
        );
    }
}
