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
        Self::stratified(ds, holdout_fraction, seed, |_| 0)
    }

    /// As [`Split::by_patient`] within each stratum of patients (`stratum_of(patient)`, e.g.
    /// with / without a lesion), so the holdout keeps the dataset's mix; a stratum of two or
    /// more patients gives at least one to the holdout when the fraction is above zero.
    pub fn stratified(
        ds: &Dataset,
        holdout_fraction: f64,
        seed: u64,
        stratum_of: impl Fn(&str) -> u8,
    ) -> Split {
        let patients: BTreeSet<&str> = ds.entries.iter().map(|e| e.patient.as_str()).collect();
        let mut strata: std::collections::BTreeMap<u8, Vec<&str>> = Default::default();
        for p in patients {
            strata.entry(stratum_of(p)).or_default().push(p);
        }
        let mut state = seed;
        let mut hold: BTreeSet<&str> = BTreeSet::new();
        for group in strata.values_mut() {
            for i in (1..group.len()).rev() {
                let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
                group.swap(i, j);
            }
            let mut n_hold = ((group.len() as f64) * holdout_fraction).round() as usize;
            if n_hold == 0 && holdout_fraction > 0.0 && group.len() >= 2 {
                n_hold = 1;
            }
            hold.extend(group[..n_hold.min(group.len())].iter().copied());
        }
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
        let bad = |problem: String| CaseError::Dataset {
            path: path.to_path_buf(),
            problem,
        };
        let split: Split =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a split file: {e}")))?;
        let mut seen = BTreeSet::new();
        for id in split.development.iter().chain(&split.holdout) {
            if !seen.insert(id.as_str()) {
                let both = split.development.contains(id) && split.holdout.contains(id);
                return Err(bad(if both {
                    format!("case {id} is in both development and holdout (a leak)")
                } else {
                    format!("case {id} is listed twice")
                }));
            }
        }
        Ok(split)
    }

    /// Refuses a split whose cases are not all in `ds` (a split of another dataset).
    pub fn check_against(&self, ds: &Dataset, path: &Path) -> Result<(), CaseError> {
        let missing: Vec<&str> = self
            .development
            .iter()
            .chain(&self.holdout)
            .filter(|id| ds.find(id).is_none())
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(CaseError::Dataset {
            path: path.to_path_buf(),
            problem: format!(
                "{} case(s) of the split are not in the dataset (another dataset's split?): {}",
                missing.len(),
                missing
                    .iter()
                    .take(5)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
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

    #[test]
    fn strata_keep_their_share_of_the_holdout() {
        let mut ds = Dataset::default();
        for p in 0..12 {
            ds.entries.push(entry(&format!("{}_1000000", 10000 + p)));
        }
        // Patients 10000..10001 positive (2), the other 10 negative.
        let stratum = |p: &str| (p.parse::<u32>().unwrap() >= 10002) as u8;
        let a = Split::stratified(&ds, 0.2, 3, stratum);
        let held = |positive: bool| {
            a.holdout
                .iter()
                .filter(|id| (stratum(&patient_of(id)) == 0) == positive)
                .count()
        };
        assert_eq!(held(true), 1, "a stratum of 2 still gives one");
        assert_eq!(held(false), 2, "20% of 10");
        assert_eq!(a.development.len() + a.holdout.len(), 12);
    }
}
