//! Development / holdout splits by patient (never by study), seeded, written to a file that
//! training and evaluation both read, so no case leaks between them.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::CaseError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub seed: u64,
    pub holdout_fraction: f64,
    /// Case ids.
    pub development: Vec<String>,
    pub holdout: Vec<String>,
}

/// SplitMix64: a small, fully specified generator, so a split file can be re-derived anywhere.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Split {
    /// Shuffles the patients (sorted, then Fisher-Yates with `seed`) and puts the first
    /// round(fraction x patients) in the holdout.
    pub fn by_patient(ds: &Dataset, holdout_fraction: f64, seed: u64) -> Split {
        let mut patients: Vec<&str> = ds
            .entries
            .iter()
            .map(|e| e.patient.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut state = seed;
        for i in (1..patients.len()).rev() {
            let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
            patients.swap(i, j);
        }
        let n_hold = ((patients.len() as f64) * holdout_fraction).round() as usize;
        let hold: BTreeSet<&str> = patients[..n_hold.min(patients.len())]
            .iter()
            .copied()
            .collect();
        let (mut development, mut holdout) = (Vec::new(), Vec::new());
        for e in &ds.entries {
            if hold.contains(e.patient.as_str()) {
                holdout.push(e.files.id.clone());
            } else {
                development.push(e.files.id.clone());
            }
        }
        Split {
            seed,
            holdout_fraction,
            development,
            holdout,
        }
    }

    pub fn read(path: &Path) -> Result<Split, CaseError> {
        let text = std::fs::read_to_string(path).map_err(|e| CaseError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        serde_json::from_str(&text).map_err(|e| CaseError::Dataset {
            path: path.to_path_buf(),
            problem: format!("not a split file: {e}"),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("split serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{patient_of, DatasetEntry};
    use crate::files::CaseFiles;
    use crate::load::GeometryFix;

    fn entry(id: &str) -> DatasetEntry {
        DatasetEntry {
            files: CaseFiles::explicit("t2w.nii".into(), "adc.nii".into(), "hbv.nii".into())
                .with_id(id),
            patient: patient_of(id),
            fix: GeometryFix::default(),
            note: None,
            negative_by_marksheet: false,
        }
    }

    #[test]
    fn studies_of_a_patient_stay_together_and_the_split_is_reproducible() {
        let mut ds = Dataset::default();
        for p in 0..20 {
            for s in 0..(1 + p % 3) {
                ds.entries
                    .push(entry(&format!("{}_{}", 10000 + p, 1000000 + s)));
            }
        }
        let a = Split::by_patient(&ds, 0.2, 7);
        assert_eq!(a, Split::by_patient(&ds, 0.2, 7));
        assert_ne!(a.holdout, Split::by_patient(&ds, 0.2, 8).holdout);
        let patients = |ids: &[String]| ids.iter().map(|i| patient_of(i)).collect::<BTreeSet<_>>();
        let (d, h) = (patients(&a.development), patients(&a.holdout));
        assert_eq!(h.len(), 4, "20% of 20 patients");
        assert!(d.is_disjoint(&h));
        assert_eq!(a.development.len() + a.holdout.len(), ds.entries.len());
    }
}
