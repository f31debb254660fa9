use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use promptseg_case::{load_case, CaseFiles, GeometryFix, Prompt};
use promptseg_infer::{segment, Options};
use promptseg_volume::{write_volume, ReadOptions};

use crate::device::device;
use crate::paths;

use super::segment::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Case folder; default: the shipped sample case.
    #[arg(long)]
    pub case: Option<PathBuf>,
    /// Click (T2W voxel i,j,k); default: the sample case's default click.
    #[arg(long, value_parser = Prompt::parse_voxel, allow_hyphen_values = true)]
    pub point: Option<Prompt>,
    /// Warm clicks to time (inside the first click's window).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    #[command(flatten)]
    pub model: ModelArgs,
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

pub fn run(a: Args) -> Result<()> {
    let (dir, point) = match (a.case.clone(), a.point) {
        (Some(d), Some(p)) => (d, p),
        (d, p) => {
            let demo = paths::demo_dir();
            let spec: toml::Value =
                toml::from_str(&std::fs::read_to_string(demo.join("demo.toml"))?)?;
            let case = spec["case"].as_str().unwrap_or_default().to_string();
            let pt: Vec<i64> = spec["point"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x.as_integer()).collect())
                .unwrap_or_default();
            (
                d.unwrap_or(demo.join(case)),
                p.unwrap_or(Prompt::Voxel([pt[0], pt[1], pt[2]])),
            )
        }
    };
    let out_dir = std::env::temp_dir().join(format!("promptseg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir)?;

    // Cold: everything a fresh `promptseg segment` does for one click.
    let t_cold = Instant::now();
    let t = Instant::now();
    let models = a.model.load()?;
    let load_model = secs(t);
    let t = Instant::now();
    let files = CaseFiles::discover(&dir)?;
    let case = load_case(&files, &GeometryFix::default(), &ReadOptions::default())?;
    let load_case_s = secs(t);
    let mut windows = Vec::new();
    let seg = segment(&case, &[point], &models, &Options::default(), &mut windows)?;
    let t = Instant::now();
    write_volume(&out_dir.join("lesion.nii.gz"), &seg.mask)?;
    let write_s = secs(t);
    let cold = secs(t_cold);
    let l = &seg.lesions[0];

    // Warm: further clicks near the first, inside its window (surrogate maps reused).
    let base = match point {
        Prompt::Voxel(v) => v,
        _ => unreachable!("bench clicks are voxels"),
    };
    let mut warm = Vec::new();
    for r in 0..a.repeat {
        let p = Prompt::Voxel([
            base[0] + (r as i64 % 3) - 1,
            base[1] + ((r as i64 / 3) % 3) - 1,
            base[2],
        ]);
        let t = Instant::now();
        let s = segment(&case, &[p], &models, &Options::default(), &mut windows)?;
        warm.push(secs(t));
        assert!(
            s.lesions[0].reused_window,
            "warm click did not reuse the window"
        );
    }
    warm.sort_by(f64::total_cmp);
    let warm_median = warm[warm.len() / 2];

    // Reference measured in the same run: one UNet forward on the working window.
    let reference = {
        let dims = models.config.pipeline.grid.size;
        let dev = device(a.model.device)?;
        let x = Tensor::<5>::zeros([1, 3, dims[2], dims[1], dims[0]], &dev);
        let _ = models.unet.forward(x.clone()).into_data();
        let t = Instant::now();
        let _ = models.unet.forward(x).into_data();
        secs(t)
    };
    let _ = std::fs::remove_dir_all(&out_dir);
    println!(
        "case {} click {point}; working grid {:?}",
        case.id(),
        models.config.pipeline.grid.size
    );
    println!(
        "cold  {cold:.3} s  (model {load_model:.3}, case {load_case_s:.3}, resample+normalise {:.3}, surrogate {:.3}, grow field {:.3}, agent {:.3} [{} steps], to T2W {:.3}, write {write_s:.3})  goal 5 s: ratio {:.2}",
        l.timings.resample_normalise_ms / 1e3,
        l.timings.surrogate_ms / 1e3,
        l.timings.grow_field_ms / 1e3,
        l.agent_ms / 1e3,
        l.steps,
        seg.to_t2w_ms / 1e3,
        cold / 5.0
    );
    println!("warm  {warm_median:.3} s  median of {} clicks (min {:.3}, max {:.3})  goal 0.5 s: ratio {:.2}", warm.len(), warm[0], warm[warm.len() - 1], warm_median / 0.5);
    println!("reference: one UNet forward on the window {reference:.3} s; cold = {:.1} x reference, warm = {:.2} x reference", cold / reference, warm_median / reference);
    Ok(())
}
