use std::path::PathBuf;

use anyhow::{bail, Result};
use promptseg_case::{Dataset, Prompt};
use promptseg_eval::lesion_prompts;
use promptseg_infer::{segment, Method, Options};
use promptseg_metrics::dice;
use promptseg_volume::ReadOptions;

use promptseg_grow::{GrowSide, StdCombine};

use super::segment::{MethodArg, ModelArgs};

#[derive(clap::Args)]
pub struct Args {
    /// Dataset: a folder of case folders or a .toml case manifest.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Prompts sampled uniformly inside each lesion (one per lesion per trial).
    #[arg(long, default_value_t = 5)]
    pub prompts: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only these case ids (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// Methods to score (default: agent,grow,surrogate; `evaluate` adds confidence and more).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub methods: Vec<MethodArg>,
    /// Override the model's growth rule (an ablation: the agent was trained with the model's).
    #[arg(long, value_enum)]
    pub std_combine: Option<StdCombineArg>,
    /// Override the growth rule's local-std threshold τσ (model's value otherwise).
    #[arg(long)]
    pub tau_sigma: Option<f32>,
    /// Override the growth rule's entropy threshold τe.
    #[arg(long)]
    pub tau_e: Option<f32>,
    /// Which confidently classified voxels may join (override).
    #[arg(long, value_enum)]
    pub side: Option<SideArg>,
    /// Override the temperature applied to the surrogate's probabilities before the entropy.
    #[arg(long)]
    pub temperature: Option<f32>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SideArg {
    Both,
    Lesion,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum StdCombineArg {
    Max,
    Rms,
    First,
}

pub fn run(a: Args) -> Result<()> {
    let mut models = a.model.load()?;
    let grow = &mut models.config.pipeline.grow;
    if let Some(c) = a.std_combine {
        grow.std_combine = match c {
            StdCombineArg::Max => StdCombine::Max,
            StdCombineArg::Rms => StdCombine::Rms,
            StdCombineArg::First => StdCombine::First,
        };
    }
    grow.tau_sigma = a.tau_sigma.unwrap_or(grow.tau_sigma);
    grow.tau_e = a.tau_e.unwrap_or(grow.tau_e);
    grow.temperature = a.temperature.unwrap_or(grow.temperature);
    if let Some(side) = a.side {
        grow.side = match side {
            SideArg::Both => GrowSide::Both,
            SideArg::Lesion => GrowSide::Lesion,
        };
    }
    let ds = Dataset::open(&a.data)?;
    for id in &a.only {
        if ds.find(id).is_none() {
            bail!("--only {id}: no such case in {}", a.data.display());
        }
    }
    let chosen = if a.methods.is_empty() {
        vec![MethodArg::Agent, MethodArg::Grow, MethodArg::Surrogate]
    } else {
        a.methods.clone()
    };
    let methods: Vec<(Method, &str)> = chosen
        .iter()
        .map(|m| match m {
            MethodArg::Agent => (Method::Agent, "full method"),
            MethodArg::Grow => (Method::GrowOnly, "region growing only"),
            MethodArg::Surrogate => (Method::Surrogate, "surrogate > 0.5"),
            MethodArg::Confidence => (Method::ConfidenceConnected, "confidence connected"),
        })
        .collect();
    let names: Vec<&str> = methods.iter().map(|m| m.1).collect();
    println!(
        "| case | in training | lesions | prompts | {} |",
        names.join(" | ")
    );
    println!("|---|---|---|---|{}", "---|".repeat(methods.len()));
    let mut totals = vec![0.0; methods.len()];
    let mut n = 0;
    for e in &ds.entries {
        if !a.only.is_empty() && !a.only.contains(&e.files.id) {
            continue;
        }
        let case = e.load(&ReadOptions::default())?;
        let Some(label) = case.label.as_ref() else {
            eprintln!("skipping {}: no lesion label", e.files.id);
            continue;
        };
        let per_lesion = lesion_prompts(label, a.prompts, a.seed);
        if per_lesion.is_empty() {
            eprintln!(
                "skipping {}: no lesion (negative cases are scored by `promptseg evaluate`)",
                e.files.id
            );
            continue;
        }
        let mut sums = vec![0.0; methods.len()];
        let mut windows = Vec::new();
        for trial in 0..a.prompts {
            let prompts: Vec<Prompt> = per_lesion.iter().map(|l| l[trial]).collect();
            windows.clear();
            for (m, (method, _)) in methods.iter().enumerate() {
                let opts = Options {
                    method: *method,
                    ..Options::default()
                };
                let seg = segment(&case, &prompts, &models, &opts, &mut windows)?;
                sums[m] += dice(&seg.mask.data, &label.data);
            }
        }
        let trained = models.config.provenance.trained_on.contains(&e.files.id);
        let cells: Vec<String> = sums
            .iter()
            .map(|s| format!("{:.3}", s / a.prompts as f64))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} |",
            e.files.id,
            if trained { "yes" } else { "no" },
            per_lesion.len(),
            a.prompts,
            cells.join(" | ")
        );
        for (t, s) in totals.iter_mut().zip(&sums) {
            *t += s / a.prompts as f64;
        }
        n += 1;
    }
    if n == 0 {
        bail!("{}: no case with a lesion label", a.data.display());
    }
    let cells: Vec<String> = totals
        .iter()
        .map(|t| format!("{:.3}", t / n as f64))
        .collect();
    println!("| mean of {n} cases | | | | {} |", cells.join(" | "));
    Ok(())
}
