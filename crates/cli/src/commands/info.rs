use std::path::PathBuf;

use anyhow::Result;
use promptseg_volume::{read_image, ReadOptions};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Image files (.nii, .nii.gz, .mha, .mhd) or DICOM series folders.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

/// One JSON object per image: grid geometry (LPS, as ITK reports it), the RAS affine (as nibabel
/// reports it), NIfTI codes and value statistics.
pub fn run(a: Args) -> Result<()> {
    let mut failed = false;
    for path in &a.images {
        match read_image(path, &ReadOptions::default()) {
            Ok(v) => {
                let g = &v.geometry;
                let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0f64);
                for &x in &v.data {
                    lo = lo.min(x);
                    hi = hi.max(x);
                    sum += x as f64;
                }
                let line = json!({
                    "path": path,
                    "size": g.dims,
                    "spacing": g.spacing,
                    "origin_lps": g.origin,
                    "direction_lps": g.direction.iter().flatten().collect::<Vec<_>>(),
                    "ras_affine": g.ras_affine(),
                    "orientation": g.orientation_code(),
                    "nifti_codes": v.nifti_codes.map(|c| json!({"qform": c.qform, "sform": c.sform})),
                    "min": lo,
                    "max": hi,
                    "sum": sum,
                });
                println!("{line}");
            }
            Err(e) => {
                eprintln!("promptseg: error: {e}");
                failed = true;
            }
        }
    }
    if failed {
        // Each unreadable image already has its one-line error above.
        std::process::exit(1);
    }
    Ok(())
}
