//! `promptseg evaluate`: the paper's evaluation protocol on any labelled dataset (see
//! `promptseg_eval::evaluate` for the protocol and `promptseg_eval::report` for the tables).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use promptseg_case::{Dataset, Split};
use promptseg_eval::evaluate::{detection_map, evaluate_case, Entrant, Group, Protocol, Source};
use promptseg_eval::report::{self, EntrantInfo};
use promptseg_eval::{box_plot, figure, plot};
use promptseg_infer::{Method, Models};
use promptseg_volume::io::write_atomic;
use promptseg_volume::{write_volume, ReadOptions};

use super::segment::{MethodArg, ModelArgs};
use crate::device::device;

#[derive(clap::Args)]
pub struct Args {
    /// Dataset: a folder of cases, an nnU-Net dataset or a .toml manifest (labels required).
    #[arg(long)]
    pub data: PathBuf,
    /// Split file (`promptseg split`): evaluate its holdout cases only.
    #[arg(long)]
    pub split: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Report folder (created; must be empty unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the report files in an existing --out.
    #[arg(long)]
    pub force: bool,
    /// Prompt trials per case (paper: random prompts inside the lesion).
    #[arg(long, default_value_t = 5)]
    pub prompts: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Off-target prompts lie 0..this many mm outside the lesion (supplement table 1).
    #[arg(long, default_value_t = 10.0)]
    pub off_target_mm: f64,
    /// Skip the off-target protocol.
    #[arg(long)]
    pub no_off_target: bool,
    /// Methods of table 1, the full method first (default: agent,grow,surrogate,confidence).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub methods: Vec<MethodArg>,
    /// External predictions NAME=DIR (`<case id>.nii.gz` per case, e.g. nnU-Net outputs), scored
    /// by the same code. Repeatable.
    #[arg(long, value_parser = name_path)]
    pub external: Vec<(String, PathBuf)>,
    /// Ablation NAME=RUN_DIR: a trained model folder (e.g. β = 0, T2-only); its agent is
    /// evaluated like the full method. Repeatable. "no prompting" is always added.
    #[arg(long, value_parser = name_path)]
    pub ablation: Vec<(String, PathBuf)>,
    /// Leave out the "no prompting" ablation.
    #[arg(long)]
    pub no_prompting_ablation_off: bool,
    /// Cases to draw in the montage (default: up to four positive cases).
    #[arg(long)]
    pub montage: Vec<String>,
    /// Only these case ids (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
}

fn name_path(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((n, p)) if !n.trim().is_empty() && !p.is_empty() => {
            Ok((n.trim().to_string(), PathBuf::from(p)))
        }
        _ => Err(format!("'{s}' is not NAME=PATH")),
    }
}

fn method_name(m: MethodArg) -> (&'static str, Method) {
    match m {
        MethodArg::Agent => ("RL-PromptSeg (full)", Method::Agent),
        MethodArg::Grow => ("region growing only", Method::GrowOnly),
        MethodArg::Surrogate => ("surrogate > 0.5", Method::Surrogate),
        MethodArg::Confidence => ("confidence connected", Method::ConfidenceConnected),
    }
}

fn prepare_out(a: &Args) -> Result<()> {
    if a.out.exists() {
        if !a.out.is_dir() {
            bail!("{}: --out exists and is not a folder", a.out.display());
        }
        let busy = std::fs::read_dir(&a.out)
            .with_context(|| format!("{}: cannot list", a.out.display()))?
            .next()
            .is_some();
        if busy && !a.force {
            bail!(
                "{}: is not empty; pass --force to replace its report or choose another --out",
                a.out.display()
            );
        }
    }
    for sub in ["", "figures", "detection_maps"] {
        let d = a.out.join(sub);
        std::fs::create_dir_all(&d)
            .with_context(|| format!("{}: cannot create the report folder", d.display()))?;
    }
    Ok(())
}

pub fn run(a: Args) -> Result<()> {
    if a.prompts == 0 {
        bail!("--prompts 0: need at least one prompt trial per case");
    }
    if !(a.off_target_mm.is_finite() && a.off_target_mm > 0.0) {
        bail!(
            "--off-target-mm {}: must be a positive number of mm",
            a.off_target_mm
        );
    }
    for (name, dir) in &a.external {
        if !dir.is_dir() {
            bail!("--external {name}={}: not a folder", dir.display());
        }
    }
    let base = a.model.load()?;
    let dev = device(a.model.device)?;
    let mut ablations: Vec<(String, Models)> = Vec::new();
    for (name, dir) in &a.ablation {
        let m = Models::load(dir, &dev).with_context(|| format!("--ablation {name}"))?;
        m.agent().with_context(|| format!("--ablation {name}"))?;
        ablations.push((name.clone(), m));
    }
    let ds = Dataset::open(&a.data)?;
    for (dir, why) in &ds.skipped {
        eprintln!("skipping {}: {why}", dir.display());
    }
    let holdout = a.split.as_ref().map(|p| Split::read(p)).transpose()?;
    for id in a.only.iter().chain(&a.montage) {
        if ds.find(id).is_none() {
            bail!("{id}: no such case in {}", a.data.display());
        }
    }
    let entries: Vec<_> = ds
        .entries
        .iter()
        .filter(|e| {
            holdout
                .as_ref()
                .is_none_or(|s| s.holdout.iter().any(|h| h == e.id()))
        })
        .filter(|e| a.only.is_empty() || a.only.iter().any(|o| o == e.id()))
        .collect();
    if entries.is_empty() {
        bail!(
            "{}: no cases to evaluate (check --split / --only)",
            a.data.display()
        );
    }
    prepare_out(&a)?;

    let chosen = if a.methods.is_empty() {
        vec![
            MethodArg::Agent,
            MethodArg::Grow,
            MethodArg::Surrogate,
            MethodArg::Confidence,
        ]
    } else {
        a.methods.clone()
    };
    let base_beta = base.config.pipeline.env.beta;
    let mut entrants: Vec<Entrant> = chosen
        .iter()
        .map(|&m| {
            let (name, method) = method_name(m);
            Entrant {
                name: name.into(),
                group: Group::Comparison,
                source: Source::Model {
                    models: &base,
                    method,
                },
                beta: (method == Method::Agent).then_some(base_beta),
            }
        })
        .collect();
    for (name, dir) in &a.external {
        entrants.push(Entrant {
            name: name.clone(),
            group: Group::Comparison,
            source: Source::External(dir.clone()),
            beta: None,
        });
    }
    if !a.no_prompting_ablation_off && base.agent.is_some() {
        entrants.push(Entrant {
            name: "no prompting".into(),
            group: Group::Ablation,
            source: Source::Model {
                models: &base,
                method: Method::NoPrompt,
            },
            beta: None,
        });
    }
    for (name, m) in &ablations {
        // On the β curve when only β differs in kind (same input channels as the full model).
        let same_input = m.config.pipeline.channels == base.config.pipeline.channels;
        entrants.push(Entrant {
            name: name.clone(),
            group: Group::Ablation,
            source: Source::Model {
                models: m,
                method: Method::Agent,
            },
            beta: same_input.then_some(m.config.pipeline.env.beta),
        });
    }
    let infos: Vec<EntrantInfo> = entrants
        .iter()
        .map(|e| EntrantInfo {
            name: e.name.clone(),
            group: e.group,
            beta: e.beta,
        })
        .collect();
    let protocol = Protocol {
        prompts: a.prompts,
        seed: a.seed,
        off_target: !a.no_off_target,
        off_target_mm: a.off_target_mm,
    };

    let pb = ProgressBar::new(entries.len() as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "evaluate {bar:30} {pos}/{len} cases [{elapsed_precise} < {eta_precise}] {msg}",
        )
        .expect("valid template"),
    );
    let mut results = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut montaged = 0;
    for e in entries {
        pb.set_message(e.id().to_string());
        let outcome = e
            .load(&ReadOptions::default())
            .map_err(anyhow::Error::from)
            .and_then(|case| {
                let out = evaluate_case(
                    &case,
                    &entrants,
                    &protocol,
                    &base.config.provenance.trained_on,
                )?;
                if let Some(seg) = &out.primary {
                    let map = detection_map(&seg.mask, seg.probability.as_ref());
                    let p = a
                        .out
                        .join("detection_maps")
                        .join(format!("{}_detection_map.nii.gz", case.id()));
                    write_volume(&p, &map).with_context(|| format!("{}", p.display()))?;
                    let wanted = if a.montage.is_empty() {
                        out.result.positive && montaged < 4
                    } else {
                        a.montage.iter().any(|m| m == case.id())
                    };
                    if wanted {
                        let p = a
                            .out
                            .join("figures")
                            .join(format!("montage_{}.png", case.id()));
                        figure::lesion_montage(&p, &case.t2w, &seg.mask, case.label.as_ref())
                            .with_context(|| format!("{}", p.display()))?;
                        montaged += 1;
                    }
                }
                Ok(out.result)
            });
        match outcome {
            Ok(r) => results.push(r),
            Err(err) => {
                pb.suspend(|| eprintln!("{}: failed, continuing: {err:#}", e.id()));
                failed.push((e.id().to_string(), format!("{err:#}")));
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    if results.is_empty() {
        bail!("every case failed; see the messages above");
    }
    let summary = report::summarise(&infos, &results, failed, a.prompts, a.seed, a.off_target_mm);
    let title = format!(
        "promptseg evaluation: {} on {}",
        base.dir.display(),
        a.data.display()
    );
    let md = report::markdown(&summary, &title);
    write_text(&a.out.join("report.md"), &md)?;
    write_text(
        &a.out.join("cases.csv"),
        &report::cases_csv(&infos, &results),
    )?;
    let metrics = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>(),
        "model": base.dir,
        "model_trained_on": base.config.provenance.trained_on,
        "summary": summary,
        "cases": results,
    });
    write_text(
        &a.out.join("metrics.json"),
        &serde_json::to_string_pretty(&metrics)?,
    )?;
    figures(&a.out, &summary, &infos, &results)?;
    print!("{md}");
    eprintln!("report written to {}", a.out.display());
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, text.as_bytes()).with_context(|| format!("{}", path.display()))
}

fn figures(
    out: &Path,
    summary: &report::Summary,
    infos: &[EntrantInfo],
    results: &[promptseg_eval::evaluate::CaseResult],
) -> Result<()> {
    let groups: Vec<(String, Vec<f64>)> = infos
        .iter()
        .enumerate()
        .map(|(e, info)| {
            let v = results
                .iter()
                .filter(|c| c.positive && !c.entrants[e].within.is_empty())
                .map(|c| {
                    let t = &c.entrants[e].within;
                    t.iter().map(|x| x.dice).sum::<f64>() / t.len() as f64
                })
                .collect();
            (info.name.clone(), v)
        })
        .collect();
    let png = |c: figure::Canvas, name: &str| -> Result<()> {
        let p = out.join("figures").join(name);
        let bytes = c.encode_png().map_err(anyhow::Error::msg)?;
        write_atomic(&p, &bytes).with_context(|| format!("{}", p.display()))
    };
    png(
        box_plot::render("Dice per case (prompts inside the lesion)", "Dice", &groups),
        "dice_boxplot.png",
    )?;
    let beta = report::beta_points(summary);
    if beta.len() >= 2 {
        let panel = plot::Panel {
            title: "Dice against beta".into(),
            x_label: "beta (entropy reward weight)".into(),
            series: vec![plot::Series {
                label: "mean Dice".into(),
                points: beta,
            }],
        };
        png(plot::render(&[panel], 1, 520, 340), "beta_curve.png")?;
    }
    Ok(())
}
