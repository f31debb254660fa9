use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use promptseg_eval::plot::{render, smooth, Panel, Series};

#[derive(clap::Args)]
pub struct Args {
    /// Training run directory (with surrogate_metrics.jsonl and/or agent_metrics.jsonl).
    pub run: PathBuf,
    /// PNG to write; default RUN/curves.png.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn series(rows: &[serde_json::Value], stage: &str, x: &str, y: &str, label: &str) -> Series {
    Series {
        label: label.into(),
        points: rows
            .iter()
            .filter(|r| r["stage"] == stage)
            .filter_map(|r| Some((r[x].as_f64()?, r[y].as_f64()?)))
            .collect(),
    }
}

/// Training curves as one PNG: surrogate loss and validation Dice; agent return, episode length,
/// policy entropy and greedy Dice against region growing alone.
pub fn run(a: Args) -> Result<()> {
    let (sp, gp) = (
        a.run.join("surrogate_metrics.jsonl"),
        a.run.join("agent_metrics.jsonl"),
    );
    let out = a.out.clone().unwrap_or_else(|| a.run.join("curves.png"));
    crate::outputs::check(&[(&out, crate::outputs::Kind::Png)], &[&sp, &gp])?;
    let s = lines(&sp);
    let g = lines(&gp);
    if s.is_empty() && g.is_empty() {
        bail!(
            "{}: no surrogate_metrics.jsonl or agent_metrics.jsonl",
            a.run.display()
        );
    }
    let mut loss = series(&s, "surrogate", "step", "loss", "loss (mean of 20)");
    loss.points = smooth(&loss.points, 20);
    let panels = vec![
        Panel {
            title: "surrogate Dice loss".into(),
            x_label: "step".into(),
            series: vec![loss],
        },
        Panel {
            title: "surrogate validation Dice".into(),
            x_label: "step".into(),
            series: vec![series(
                &s,
                "surrogate_validation",
                "step",
                "dice",
                "dice (p > 0.5)",
            )],
        },
        Panel {
            title: "agent mean episode return".into(),
            x_label: "iteration".into(),
            series: vec![series(&g, "agent", "iteration", "mean_return", "return")],
        },
        Panel {
            title: "agent episode length".into(),
            x_label: "iteration".into(),
            series: vec![series(
                &g,
                "agent",
                "iteration",
                "mean_episode_length",
                "steps",
            )],
        },
        Panel {
            title: "agent policy entropy".into(),
            x_label: "iteration".into(),
            series: vec![series(&g, "agent", "iteration", "policy_entropy", "nats")],
        },
        Panel {
            title: "greedy dice (training scenes)".into(),
            x_label: "iteration".into(),
            series: vec![
                series(&g, "agent_greedy", "iteration", "agent_dice", "agent"),
                series(&g, "agent_greedy", "iteration", "grow_dice", "grow only"),
                series(
                    &g,
                    "agent_greedy",
                    "iteration",
                    "best_seed_dice",
                    "best seed",
                ),
            ],
        },
    ];
    let png = render(&panels, 2, 480, 300)
        .encode_png()
        .context("encoding PNG")?;
    promptseg_volume::io::write_atomic(&out, &png)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
