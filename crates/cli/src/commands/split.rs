use std::path::PathBuf;

use anyhow::Result;
use promptseg_case::{Dataset, Split};

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
}

/// Writes a patient-level development/holdout split that `train --split` and `evaluate --split` read.
pub fn run(a: Args) -> Result<()> {
    anyhow::ensure!(
        (0.0..1.0).contains(&a.holdout),
        "--holdout must be in [0, 1)"
    );
    crate::outputs::check(&[(&a.out, crate::outputs::Kind::Text)], &[&a.data])?;
    let ds = Dataset::open(&a.data)?;
    let split = Split::by_patient(&ds, a.holdout, a.seed);
    promptseg_volume::io::write_atomic(&a.out, format!("{}\n", split.to_json()).as_bytes())?;
    eprintln!(
        "{}: {} development and {} holdout cases ({} patients held out of {})",
        a.out.display(),
        split.development.len(),
        split.holdout.len(),
        ds.entries
            .iter()
            .filter(|e| split.holdout.contains(&e.files.id))
            .map(|e| &e.patient)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        ds.entries
            .iter()
            .map(|e| &e.patient)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    Ok(())
}
