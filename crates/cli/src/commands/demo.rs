use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use promptseg_case::{CaseFiles, Prompt};
use promptseg_infer::{Method, Options};
use promptseg_metrics::dice;
use promptseg_volume::write_volume;
use serde::Deserialize;

use super::segment::{emit_json, inputs_of, load_and_segment, summary, ModelArgs};
use crate::outputs::{self, Kind};
use crate::paths;

#[derive(clap::Args)]
pub struct Args {
    /// Folder for the outputs (created if missing).
    #[arg(long, default_value = "promptseg-demo")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `demo/demo.toml`: which sample case ships and where the default click is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSpec {
    case: String,
    /// T2W voxel i, j, k of the default click.
    point: [i64; 3],
    description: String,
}

pub fn run(a: Args) -> Result<()> {
    let dir = paths::demo_dir();
    let spec_path = dir.join("demo.toml");
    let spec: DemoSpec = toml::from_str(
        &std::fs::read_to_string(&spec_path).with_context(|| format!("{}", spec_path.display()))?,
    )
    .with_context(|| format!("{}", spec_path.display()))?;
    let files = CaseFiles::discover(&dir.join(&spec.case))?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create the output folder", a.out.display()))?;
    let mask_path = a.out.join("lesion.nii.gz");
    let png_path = a.out.join("lesion.png");
    let json_path = a.out.join("summary.json");
    let case_dir = dir.join(&spec.case);
    if std::fs::canonicalize(&a.out).ok() == std::fs::canonicalize(&case_dir).ok() {
        bail!(
            "{}: that is the sample case's own folder; choose another --out",
            a.out.display()
        );
    }
    outputs::check(
        &[
            (&mask_path, Kind::Image),
            (&png_path, Kind::Png),
            (&json_path, Kind::Text),
        ],
        &inputs_of(&files),
    )?;

    let t = Instant::now();
    let models = a.model.load()?;
    let model_ms = t.elapsed().as_secs_f64() * 1e3;
    let prompt = Prompt::Voxel(spec.point);
    let run = load_and_segment(&files, &[prompt], &models, &Options::default())?;
    let t = Instant::now();
    write_volume(&mask_path, &run.seg.mask)?;
    promptseg_eval::figure::lesion_montage(
        &png_path,
        &run.case.t2w,
        &run.seg.mask,
        run.case.label.as_ref(),
    )
    .with_context(|| format!("{}", png_path.display()))?;
    let write_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut value = summary(&run, &models, &mask_path, Method::Agent, write_ms, model_ms);

    let in_training = models
        .config
        .provenance
        .trained_on
        .iter()
        .any(|c| c == run.case.id());
    let d = run
        .case
        .label
        .as_ref()
        .map(|l| dice(&run.seg.mask.data, &l.data));
    value["dice_vs_expert"] = serde_json::json!(d);
    value["case_in_training_set"] = serde_json::json!(in_training);
    emit_json(&value, Some(&json_path))?;

    let l = &run.seg.lesions[0];
    println!("promptseg demo: {} ({})", run.case.id(), spec.description);
    println!(
        "click: T2W voxel {},{},{}",
        spec.point[0], spec.point[1], spec.point[2]
    );
    println!(
        "mask: {} voxels, {:.2} mL, {} agent step(s), stopped: {}, called {}",
        run.seg.voxels(),
        run.seg.volume_ml(),
        l.steps,
        l.stop,
        if run.seg.negative() {
            "negative"
        } else {
            "positive"
        }
    );
    if let Some(d) = d {
        println!("Dice against the expert label: {d:.3}");
    }
    println!(
        "this case {} in the training set of the model ({}){}",
        if in_training { "WAS" } else { "was NOT" },
        models.dir.display(),
        if in_training {
            ": the Dice shows fit, not generalisation"
        } else {
            ""
        }
    );
    println!(
        "wrote {}, {} (yellow: promptseg, green: expert), {}",
        mask_path.display(),
        png_path.display(),
        json_path.display()
    );
    Ok(())
}
