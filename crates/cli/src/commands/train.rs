use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use promptseg_case::{Dataset, Split};
use promptseg_infer::{Provenance, AGENT_FILE, SURROGATE_FILE};
use promptseg_nets::weights;
use promptseg_train::{agent, surrogate, RunControl, TrainCase, TrainConfig};
use promptseg_volume::ReadOptions;
use serde_json::json;

use crate::device::{device, DeviceChoice};

#[derive(clap::Subcommand)]
pub enum TrainCommand {
    /// Train the surrogate UNet (Dice loss, Adam, cosine schedule).
    Surrogate(Args),
    /// Train the PPO agent on the surrogate in --out (run `train surrogate` first).
    Agent(Args),
}

#[derive(clap::Args)]
pub struct Args {
    /// Dataset: a folder of case folders, or a .toml case manifest (see datasets/).
    #[arg(long)]
    pub data: PathBuf,
    /// Training preset (presets/cpu.toml, presets/paper.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Run directory; it becomes a model directory usable with --model.
    #[arg(long)]
    pub out: PathBuf,
    /// Case ids to leave out of training (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Split file (`promptseg split`): train on its development cases only.
    #[arg(long)]
    pub split: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint (same RNG stream: the result equals an
    /// uninterrupted run).
    #[arg(long)]
    pub resume: bool,
    /// Stop (after a checkpoint) once this many steps / iterations are done; resume later.
    #[arg(long)]
    pub stop_after: Option<usize>,
    /// Start this stage over in an --out that already holds its weights or checkpoint (they are
    /// replaced; for `surrogate`, an agent trained on the old surrogate is removed too).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:30}} {{pos}}/{{len}} [{{elapsed_precise}} < {{eta_precise}}] {{msg}}"
        ))
        .expect("valid template"),
    );
    pb
}

fn load_training_cases(a: &Args) -> Result<Vec<TrainCase>> {
    let ds = Dataset::open(&a.data)?;
    for (dir, why) in &ds.skipped {
        eprintln!("skipping {}: {why}", dir.display());
    }
    for id in &a.exclude {
        if ds.find(id).is_none() {
            bail!("--exclude {id}: no such case in {}", a.data.display());
        }
    }
    let development = match &a.split {
        Some(p) => {
            let s = Split::read(p)?;
            s.check_against(&ds, p)?;
            Some(s.development)
        }
        None => None,
    };
    let mut cases = Vec::new();
    for e in ds
        .entries
        .iter()
        .filter(|e| !a.exclude.contains(&e.files.id))
    {
        if let Some(dev) = &development {
            if !dev.contains(&e.files.id) {
                continue;
            }
        }
        if !e.labelled() {
            eprintln!(
                "skipping {}: {}",
                e.files.id,
                e.note
                    .as_deref()
                    .unwrap_or("no lesion label file (a missing label is not taken as negative)")
            );
            continue;
        }
        cases.push(TrainCase::new(e.load(&ReadOptions::default())?));
    }
    if cases.is_empty() {
        bail!("{}: no labelled cases to train on", a.data.display());
    }
    let pos = cases.iter().filter(|c| c.positive()).count();
    eprintln!(
        "training on {} cases ({pos} with lesions): {}",
        cases.len(),
        cases
            .iter()
            .map(|c| c.case.id())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(cases)
}

fn record(out: &Path, stage: &str, value: serde_json::Value) -> Result<()> {
    let path = out.join("training.json");
    let mut all: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(json!({}));
    all[stage] = value;
    promptseg_volume::io::write_atomic(&path, serde_json::to_string_pretty(&all)?.as_bytes())?;
    Ok(())
}

/// Written only once a stage has produced weights, so a failed run never leaves a model folder
/// that `--model` would accept.
fn write_model_config(cfg: &TrainConfig, provenance: Provenance, out: &Path) -> Result<()> {
    cfg.model_config(provenance)
        .write(out)
        .with_context(|| format!("{}", out.display()))
}

/// Refuses to silently start over on top of earlier work, or to "resume" nothing.
fn check_run_folder(stage: &str, a: &Args) -> Result<()> {
    let checkpoint = promptseg_train::checkpoint::dir(&a.out, stage);
    let has_checkpoint = promptseg_train::checkpoint::exists(&a.out, stage);
    let weights_file = a.out.join(match stage {
        "surrogate" => SURROGATE_FILE,
        _ => AGENT_FILE,
    });
    if a.resume {
        if !has_checkpoint {
            bail!(
                "--resume: {} holds no {stage} checkpoint ({} is missing); drop --resume to start this stage",
                a.out.display(),
                checkpoint.join("state.json").display()
            );
        }
        return Ok(());
    }
    if has_checkpoint || weights_file.exists() {
        if !a.force {
            bail!(
                "{}: already holds a {stage} run; pass --resume to continue it, --force to start it over, or choose another --out",
                a.out.display()
            );
        }
        let mut stale = vec![
            checkpoint,
            weights_file,
            a.out.join(format!("{stage}_last.bpk")),
        ];
        if stage == "surrogate" {
            stale.push(promptseg_train::checkpoint::dir(&a.out, "agent"));
            stale.push(a.out.join(AGENT_FILE));
            stale.push(a.out.join("agent_last.bpk"));
        }
        for p in stale.iter().filter(|p| p.exists()) {
            eprintln!("--force: removing {}", p.display());
            if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            }
            .with_context(|| format!("{}: cannot remove", p.display()))?;
        }
    }
    Ok(())
}

pub fn run(c: TrainCommand) -> Result<()> {
    let (stage, a) = match &c {
        TrainCommand::Surrogate(a) => ("surrogate", a),
        TrainCommand::Agent(a) => ("agent", a),
    };
    let cfg = TrainConfig::read(&a.config).map_err(anyhow::Error::msg)?;
    if a.stop_after == Some(0) {
        bail!("--stop-after 0: must be at least 1 (steps for surrogate, iterations for agent)");
    }
    check_run_folder(stage, a)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create the run folder", a.out.display()))?;
    let dev = device(a.device)?;
    let cases = load_training_cases(a)?;
    let ids: Vec<String> = cases.iter().map(|c| c.case.id().to_string()).collect();
    let provenance = Provenance {
        trained_on: ids.clone(),
        notes: format!("preset {}", a.config.display()),
    };
    let command: Vec<String> = std::env::args().collect();
    let control = RunControl {
        resume: a.resume,
        stop_after: a.stop_after,
    };
    match c {
        TrainCommand::Surrogate(_) => {
            let validation = surrogate::validation_patches(&cases, &cfg.pipeline, 99)?;
            let pb = bar(cfg.surrogate_training.steps as u64, "surrogate");
            if a.resume {
                eprintln!(
                    "resuming from {}",
                    promptseg_train::checkpoint::dir(&a.out, "surrogate").display()
                );
            }
            let mut last_dice = f64::NAN;
            let outcome = surrogate::train_surrogate(
                &cases,
                &validation,
                &cfg,
                &a.out,
                &dev,
                control,
                &mut |s, v| {
                    if let Some(v) = v {
                        last_dice = v.dice;
                    }
                    pb.set_message(format!("loss {:.3} val dice {:.3}", s.loss, last_dice));
                    pb.inc(1);
                },
            )?;
            pb.finish();
            if !outcome.finished {
                eprintln!(
                    "stopped after step {} (checkpoint saved): continue with --resume",
                    outcome.step
                );
            }
            eprintln!(
                "surrogate: {:.0} s, final loss {:.3}, validation Dice best {:.3} (step {}) last {:.3} on {} windows of the training cases",
                outcome.seconds, outcome.final_loss, outcome.best.dice, outcome.best.step, outcome.last.dice, outcome.best.windows
            );
            write_model_config(&cfg, provenance.clone(), &a.out)?;
            record(
                &a.out,
                stage,
                json!({"command": command, "cases": ids, "seconds": outcome.seconds, "final_loss": outcome.final_loss,
                       "best_validation": outcome.best, "last_validation": outcome.last,
                       "validation_note": "validation windows come from the training cases (no holdout here)"}),
            )?;
        }
        TrainCommand::Agent(_) => {
            let unet = weights::load(cfg.unet.init(&dev), &a.out.join(SURROGATE_FILE))
                .with_context(|| "the agent trains on a surrogate: run `promptseg train surrogate` with the same --out first")?;
            let set =
                agent::build_scenes(&cases, &cfg, &unet, &dev, cfg.agent_training.seed ^ 0x5eed)?;
            eprintln!("agent: {} scenes", set.scenes.len());
            let pb = bar(cfg.agent_training.iterations as u64, "agent");
            let outcome = agent::train_agent(&set, &cfg, &a.out, &dev, control, &mut |it, ev| {
                pb.set_message(format!(
                    "return {:.3} len {:.1} greedy dice {:.3} (grow {:.3}) H {:.2}",
                    it.mean_return,
                    it.mean_episode_length,
                    ev.agent_dice,
                    ev.grow_dice,
                    it.update.policy_entropy
                ));
                pb.inc(1);
            })?;
            pb.finish();
            if !outcome.finished {
                eprintln!(
                    "stopped after iteration {} (checkpoint saved): continue with --resume",
                    outcome.iteration
                );
            }
            eprintln!(
                "agent: {:.0} s, {} env steps; greedy Dice on the training scenes: untrained {:.3}, kept (iteration {}) {:.3}, last {:.3}; region growing from the prompt alone {:.3}, best single seed {:.3}",
                outcome.seconds,
                outcome.last_iteration.env_steps,
                outcome.first.agent_dice,
                outcome.best.iteration,
                outcome.best.agent_dice,
                outcome.last.agent_dice,
                outcome.last.grow_dice,
                outcome.last.best_seed_dice
            );
            write_model_config(&cfg, provenance.clone(), &a.out)?;
            record(
                &a.out,
                stage,
                json!({"command": command, "cases": ids, "seconds": outcome.seconds, "scenes": set.scenes.len(),
                       "first_greedy": outcome.first, "kept_greedy": outcome.best, "last_greedy": outcome.last,
                       "last_iteration": outcome.last_iteration,
                       "selection_note": "agent.bpk is the iteration with the highest greedy Dice on the training scenes"}),
            )?;
        }
    }
    Ok(())
}
