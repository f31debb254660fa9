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
    /// Ablation NAME=RUN_DIR (NAME without '='): a trained model folder (e.g. β = 0, T2-only); its agent is
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

/// Files a report owns inside --out: replaced by --force, nothing else is touched.
fn report_files(out: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["report.md", "metrics.json", "cases.csv"]
        .iter()
        .map(|f| out.join(f))
        .collect();
    for (sub, ends) in [
        ("figures", ".png"),
        ("detection_maps", "_detection_map.nii.gz"),
    ] {
        if let Ok(rd) = std::fs::read_dir(out.join(sub)) {
            files.extend(
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.to_string_lossy().ends_with(ends)),
            );
        }
    }
    files.retain(|p| p.is_file());
    files
}

/// Makes --out ready: refuses one holding other work (unless --force, which clears the old
/// report's own files so two runs never mix), checks it can be written before any case is
/// computed. Returns whether it created the folder (to remove it again if the run fails).
fn prepare_out(a: &Args) -> Result<bool> {
    let created = !a.out.exists();
    if !created {
        if !a.out.is_dir() {
            bail!("{}: --out exists and is not a folder", a.out.display());
        }
        let only_empty_report_folders = std::fs::read_dir(&a.out)
            .with_context(|| format!("{}: cannot list", a.out.display()))?
            .filter_map(|e| e.ok())
            .all(|e| {
                let name = e.file_name();
                (name == "figures" || name == "detection_maps")
                    && std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_none())
            });
        if !only_empty_report_folders {
            if !a.force {
                bail!(
                    "{}: is not empty; pass --force to replace its report or choose another --out",
                    a.out.display()
                );
            }
            for f in report_files(&a.out) {
                std::fs::remove_file(&f).with_context(|| {
                    format!("{}: cannot remove the old report file", f.display())
                })?;
            }
        }
    }
    if let Ok(data) = std::fs::canonicalize(&a.data) {
        let out = std::fs::canonicalize(
            a.out
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .map(|p| p.join(a.out.file_name().unwrap_or_default()));
        if data.is_dir() && out.is_ok_and(|o| o.starts_with(&data)) {
            bail!(
                "{}: --out lies inside the dataset {}; write the report elsewhere",
                a.out.display(),
                a.data.display()
            );
        }
    }
    for sub in ["", "figures", "detection_maps"] {
        let d = a.out.join(sub);
        std::fs::create_dir_all(&d)
            .with_context(|| format!("{}: cannot create the report folder", d.display()))?;
        let probe = d.join(".promptseg-write-test");
        std::fs::write(&probe, b"").with_context(|| format!("{}: not writable", d.display()))?;
        let _ = std::fs::remove_file(&probe);
    }
    Ok(created)
}

/// Removes the (empty) folders a failed run created.
fn clean_failed_out(out: &Path) {
    for sub in ["figures", "detection_maps", ""] {
        let _ = std::fs::remove_dir(out.join(sub));
    }
}

/// Upper bounds that keep a typo from allocating terabytes or asking for nonsense.
const MAX_PROMPTS: usize = 1000;
const MAX_OFF_TARGET_MM: f64 = 100.0;

pub fn run(a: Args) -> Result<()> {
    if !(1..=MAX_PROMPTS).contains(&a.prompts) {
        bail!(
            "--prompts {}: need 1 to {MAX_PROMPTS} prompt trials per case",
            a.prompts
        );
    }
    if !(a.off_target_mm.is_finite()
        && a.off_target_mm > 0.0
        && a.off_target_mm <= MAX_OFF_TARGET_MM)
    {
        bail!(
            "--off-target-mm {}: must be a distance in mm in (0, {MAX_OFF_TARGET_MM}]",
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
    let holdout = match &a.split {
        Some(p) => {
            let s = Split::read(p)?;
            s.check_against(&ds, p)?;
            Some(s)
        }
        None => None,
    };
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

    let mut names = std::collections::BTreeSet::new();
    for i in &infos {
        if !names.insert(i.name.as_str()) {
            bail!(
                "method name '{}' appears twice (check --methods, --external and --ablation names)",
                i.name
            );
        }
    }
    let created = prepare_out(&a)?;
    let run = Run {
        a: &a,
        entrants: &entrants,
        infos: &infos,
        protocol,
        base: &base,
    };
    let outcome = run.all(&entries);
    if outcome.is_err() && created {
        clean_failed_out(&a.out);
    }
    outcome
}

struct Run<'a> {
    a: &'a Args,
    entrants: &'a [Entrant<'a>],
    infos: &'a [EntrantInfo],
    protocol: Protocol,
    base: &'a Models,
}

impl Run<'_> {
    fn all(&self, entries: &[&promptseg_case::DatasetEntry]) -> Result<()> {
        let a = self.a;
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
            // A case that cannot be read or segmented is reported and the rest go on; a
            // report file that cannot be written ends the run.
            let outcome = e
                .load(&ReadOptions::default())
                .map_err(anyhow::Error::from)
                .and_then(|case| {
                    let out = evaluate_case(
                        &case,
                        self.entrants,
                        &self.protocol,
                        &self.base.config.provenance.trained_on,
                    )?;
                    Ok((case, out))
                });
            let (case, out) = match outcome {
                Ok(x) => x,
                Err(err) => {
                    let why = crate::one_line(&err);
                    pb.suspend(|| eprintln!("{}: failed, continuing: {why}", e.id()));
                    failed.push((e.id().to_string(), why));
                    pb.inc(1);
                    continue;
                }
            };
            for (info, ec) in self.infos.iter().zip(&out.result.entrants) {
                if let Some(why) = &ec.missing {
                    pb.suspend(|| eprintln!("{}: no result for {}: {why}", e.id(), info.name));
                }
            }
            if out.result.positive
                && self.protocol.off_target
                && out.result.off_target_prompts.is_empty()
            {
                pb.suspend(|| {
                    eprintln!(
                        "{}: no voxel lies within {} mm outside its lesion(s): no off-target trials",
                        e.id(),
                        self.protocol.off_target_mm
                    )
                });
            }
            if let Some(seg) = &out.primary {
                let map = detection_map(&seg.mask, seg.probability.as_ref());
                let p = a
                    .out
                    .join("detection_maps")
                    .join(format!("{}_detection_map.nii.gz", case.id()));
                write_volume(&p, &map)?;
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
            results.push(out.result);
            pb.inc(1);
        }
        pb.finish_and_clear();
        if results.is_empty() {
            bail!("every case failed; see the messages above");
        }
        let summary = report::summarise(
            self.infos,
            &results,
            failed,
            a.prompts,
            a.seed,
            a.off_target_mm,
        );
        let title = format!(
            "promptseg evaluation: {} on {}",
            self.base.dir.display(),
            a.data.display()
        );
        let md = report::markdown(&summary, &title);
        write_text(&a.out.join("report.md"), &md)?;
        write_text(
            &a.out.join("cases.csv"),
            &report::cases_csv(self.infos, &results),
        )?;
        let metrics = serde_json::json!({
            "command": std::env::args().collect::<Vec<_>>(),
            "model": self.base.dir,
            "model_trained_on": self.base.config.provenance.trained_on,
            "summary": summary,
            "cases": results,
        });
        write_text(
            &a.out.join("metrics.json"),
            &serde_json::to_string_pretty(&metrics)?,
        )?;
        figures(&a.out, &summary, self.infos, &results)?;
        print!("{md}");
        eprintln!("report written to {}", a.out.display());
        Ok(())
    }
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
