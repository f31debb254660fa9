use std::path::PathBuf;

use std::collections::HashMap;

use anyhow::Result;
use promptseg_case::{Dataset, Split};
use promptseg_volume::{read_image, ReadOptions};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub data: PathBuf,
    /// Split file to write (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Fraction of patients held out.
    #[arg(long, default_value_t = 0.2)]
    pub holdout: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Split all patients together instead of separately by lesion status.
    #[arg(long)]
    pub no_stratify: bool,
}

/// Per patient: 2 with a lesion in any study, 1 labelled without one, 0 unlabelled. Reads the
/// label files (not the images).
fn lesion_status(ds: &Dataset) -> Result<HashMap<String, u8>> {
    let mut out: HashMap<String, u8> = HashMap::new();
    for e in &ds.entries {
        let status = match &e.files.label {
            Some(path) => {
                let v = read_image(path, &ReadOptions::default())?;
                if v.data.iter().any(|&x| x > 0.5) {
                    2
                } else {
                    1
                }
            }
            None if e.negative_by_marksheet => 1,
            None => 0,
        };
        let s = out.entry(e.patient.clone()).or_insert(0);
        *s = (*s).max(status);
    }
    Ok(out)
}

/// Writes a patient-level development/holdout split that `train --split` and `evaluate --split` read.
pub fn run(a: Args) -> Result<()> {
    anyhow::ensure!(
        (0.0..1.0).contains(&a.holdout),
        "--holdout must be in [0, 1)"
    );
    crate::outputs::check(&[(&a.out, crate::outputs::Kind::Text)], &[&a.data])?;
    let ds = Dataset::open(&a.data)?;
    let strata = if a.no_stratify {
        HashMap::new()
    } else {
        lesion_status(&ds)?
    };
    let split = Split::stratified(&ds, a.holdout, a.seed, |p| {
        strata.get(p).copied().unwrap_or(0)
    });
    promptseg_volume::io::write_atomic(&a.out, format!("{}\n", split.to_json()).as_bytes())?;
    let patients = |ids: &[String]| {
        ds.entries
            .iter()
            .filter(|e| ids.contains(&e.files.id))
            .map(|e| &e.patient)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let with_lesion = |ids: &[String]| {
        ds.entries
            .iter()
            .filter(|e| ids.contains(&e.files.id) && strata.get(&e.patient) == Some(&2))
            .count()
    };
    eprintln!(
        "{}: {} development and {} holdout case(s); patients held out: {} of {}{}",
        a.out.display(),
        split.development.len(),
        split.holdout.len(),
        patients(&split.holdout),
        ds.entries
            .iter()
            .map(|e| &e.patient)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        if a.no_stratify {
            String::new()
        } else {
            format!(
                " (stratified by lesion status: {} holdout and {} development case(s) from patients with a lesion)",
                with_lesion(&split.holdout),
                with_lesion(&split.development)
            )
        }
    );
    if split.holdout.is_empty() {
        eprintln!(
            "warning: the holdout is empty (too few patients for --holdout {})",
            a.holdout
        );
    } else if !a.no_stratify && with_lesion(&split.holdout) == 0 {
        eprintln!("warning: no holdout case has a lesion: Dice tables of `evaluate --split` will be empty");
    }
    Ok(())
}
