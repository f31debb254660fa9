use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use promptseg_case::{load_case, Case, CaseFiles, GeometryFix, Prompt};
use promptseg_infer::{segment, Method, Models, Options, Segmentation};
use promptseg_rl::ActionMode;
use promptseg_volume::{write_volume, ReadOptions};
use serde_json::json;

use crate::device::{device, DeviceChoice};
use crate::outputs::{self, Kind};
use crate::paths;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// The paper's method: prompt, region growing, agent steps.
    Agent,
    /// Region growing from the prompt only.
    Grow,
    /// Surrogate probability > 0.5 in the prompt's window.
    Surrogate,
    /// Classical confidence-connected region growing from the prompt (no networks).
    Confidence,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Agent => Method::Agent,
            MethodArg::Grow => Method::GrowOnly,
            MethodArg::Surrogate => Method::Surrogate,
            MethodArg::Confidence => Method::ConfidenceConnected,
        }
    }
}

#[derive(clap::Args, Clone)]
pub struct InputArgs {
    /// Case folder (PI-CAI `<id>_t2w.mha ...`, `t2w.nii.gz ...`, nnU-Net `_0000..2`, or t2w/adc/hbv sub-folders).
    #[arg(long, conflicts_with_all = ["t2w", "adc", "hbv"])]
    pub case: Option<PathBuf>,
    #[arg(long, requires_all = ["adc", "hbv"])]
    pub t2w: Option<PathBuf>,
    #[arg(long, requires = "t2w")]
    pub adc: Option<PathBuf>,
    #[arg(long, requires = "t2w")]
    pub hbv: Option<PathBuf>,
}

impl InputArgs {
    pub fn files(&self) -> Result<CaseFiles> {
        match (&self.case, &self.t2w, &self.adc, &self.hbv) {
            (Some(dir), ..) => Ok(CaseFiles::discover(dir)?),
            (None, Some(t), Some(a), Some(h)) => {
                Ok(CaseFiles::explicit(t.clone(), a.clone(), h.clone()))
            }
            _ => bail!("give --case DIR, or --t2w, --adc and --hbv"),
        }
    }
}

#[derive(clap::Args, Clone)]
pub struct ModelArgs {
    /// Model directory (model.toml + weights); default: the bundled model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
}

impl ModelArgs {
    pub fn load(&self) -> Result<Models> {
        let dir = paths::model_dir(self.model.clone());
        Ok(Models::load(&dir, &device(self.device)?)?)
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Prompt in T2W voxel indices i,j,k (file order, as 3D Slicer / ITK-SNAP show). Repeat: one per lesion.
    #[arg(long = "point", value_parser = Prompt::parse_voxel, allow_hyphen_values = true)]
    pub points: Vec<Prompt>,
    /// Prompt in RAS millimetres x,y,z (3D Slicer's coordinates).
    #[arg(long = "point-ras", value_parser = Prompt::parse_ras, allow_hyphen_values = true)]
    pub points_ras: Vec<Prompt>,
    /// Prompt in LPS millimetres x,y,z (ITK / DICOM patient coordinates).
    #[arg(long = "point-lps", value_parser = Prompt::parse_lps, allow_hyphen_values = true)]
    pub points_lps: Vec<Prompt>,
    /// Output mask (.nii.gz, .nii or .mha), uint8 on the T2W grid.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the surrogate's entropy map (nats) on the T2W grid.
    #[arg(long)]
    pub save_entropy: Option<PathBuf>,
    /// Also write the surrogate's probability map on the T2W grid.
    #[arg(long)]
    pub save_probability: Option<PathBuf>,
    /// Write the JSON summary to this file instead of stdout.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, value_enum, default_value_t = MethodArg::Agent)]
    pub method: MethodArg,
    /// Sample the agent's actions (seeded by --seed) instead of taking the most probable.
    #[arg(long)]
    pub sample: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep masks smaller than one growth neighbourhood (normally dropped as negative).
    #[arg(long)]
    pub keep_small: bool,
}

/// The files a case reads (which no output may replace).
pub fn inputs_of(files: &CaseFiles) -> Vec<&Path> {
    [
        Some(&files.t2w),
        Some(&files.adc),
        Some(&files.hbv),
        files.label.as_ref(),
        files.gland.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(PathBuf::as_path)
    .collect()
}

pub struct Run {
    pub case: Case,
    pub seg: Segmentation,
    pub load_ms: f64,
}

pub fn load_and_segment(
    files: &CaseFiles,
    prompts: &[Prompt],
    models: &Models,
    opts: &Options,
) -> Result<Run> {
    let t = Instant::now();
    let case = load_case(files, &GeometryFix::default(), &ReadOptions::default())?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let seg = segment(&case, prompts, models, opts, &mut Vec::new())?;
    Ok(Run { case, seg, load_ms })
}

pub fn summary(
    run: &Run,
    models: &Models,
    out: &Path,
    method: Method,
    write_ms: f64,
    model_load_ms: f64,
) -> serde_json::Value {
    let seg = &run.seg;
    let sum = |f: fn(&promptseg_infer::LesionReport) -> f64| seg.lesions.iter().map(f).sum::<f64>();
    let last = seg.lesions.last();
    json!({
        "case": run.case.id(),
        "t2w": run.case.files.t2w,
        "output": out,
        "method": method,
        "model": models.dir,
        "voxels": seg.voxels(),
        "volume_ml": seg.volume_ml(),
        "negative": seg.negative(),
        "steps": seg.lesions.iter().map(|l| l.steps).sum::<usize>(),
        "seeds_visited": seg.lesions.iter().flat_map(|l| l.seeds_visited.clone()).collect::<Vec<_>>(),
        "final_seed": last.map(|l| l.final_seed),
        "lesions": seg.lesions,
        "timings_ms": {
            "load_model": model_load_ms,
            "load_case": run.load_ms,
            "resample_normalise": sum(|l| l.timings.resample_normalise_ms),
            "surrogate": sum(|l| l.timings.surrogate_ms),
            "grow_field": sum(|l| l.timings.grow_field_ms),
            "agent": sum(|l| l.agent_ms),
            "to_t2w": seg.to_t2w_ms,
            "write": write_ms,
        },
    })
}

pub fn emit_json(value: &serde_json::Value, json_path: Option<&Path>) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match json_path {
        Some(p) => promptseg_volume::io::write_atomic(p, format!("{text}\n").as_bytes())?,
        None => println!("{text}"),
    }
    Ok(())
}

pub fn run(a: Args) -> Result<()> {
    let prompts: Vec<Prompt> = a
        .points
        .iter()
        .chain(&a.points_ras)
        .chain(&a.points_lps)
        .copied()
        .collect();
    if prompts.is_empty() {
        bail!("no prompt: give --point i,j,k (or --point-ras / --point-lps), one per lesion");
    }
    let files = a.input.files()?;
    let mut outs: Vec<(&Path, Kind)> = vec![(&a.out, Kind::Image)];
    outs.extend(a.save_entropy.as_deref().map(|p| (p, Kind::Image)));
    outs.extend(a.save_probability.as_deref().map(|p| (p, Kind::Image)));
    outs.extend(a.json.as_deref().map(|p| (p, Kind::Text)));
    outputs::check(&outs, &inputs_of(&files))?;
    let t = Instant::now();
    let models = a.model.load()?;
    let model_load_ms = t.elapsed().as_secs_f64() * 1e3;
    let opts = Options {
        method: a.method.into(),
        action: if a.sample {
            ActionMode::Sample
        } else {
            ActionMode::Greedy
        },
        seed: a.seed,
        suppress_small: !a.keep_small,
        keep_maps: a.save_entropy.is_some() || a.save_probability.is_some(),
        ..Options::default()
    };
    let run = load_and_segment(&files, &prompts, &models, &opts)?;
    let t = Instant::now();
    write_volume(&a.out, &run.seg.mask).with_context(|| "writing the mask")?;
    if let (Some(p), Some(m)) = (&a.save_probability, &run.seg.probability) {
        write_volume(p, m)?;
    }
    if let (Some(p), Some(m)) = (&a.save_entropy, &run.seg.entropy) {
        write_volume(p, m)?;
    }
    let write_ms = t.elapsed().as_secs_f64() * 1e3;
    emit_json(
        &summary(&run, &models, &a.out, opts.method, write_ms, model_load_ms),
        a.json.as_deref(),
    )
}
