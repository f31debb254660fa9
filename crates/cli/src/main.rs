//! `promptseg`: a thin command line over the library crates.

mod commands;
mod device;
mod outputs;
mod paths;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "promptseg",
    version,
    about = "One click inside a suspected prostate lesion on mpMRI becomes a 3D lesion mask"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Segment lesions from point prompts on a case.
    Segment(commands::segment::Args),
    /// Run `segment` on the sample case shipped in the repository.
    Demo(commands::demo::Args),
    /// Train the surrogate UNet or the PPO agent.
    #[command(subcommand)]
    Train(commands::train::TrainCommand),
    /// Score methods per case with prompts inside each lesion (full method vs baselines).
    Compare(commands::compare::Args),
    /// The paper's evaluation protocol: tables, statistics, figures and detection maps.
    Evaluate(commands::evaluate::Args),
    /// Time one click, cold and warm, against a reference measured in the same run.
    Bench(commands::bench::Args),
    /// Print the geometry and value range of images as promptseg reads them (JSON lines).
    Info(commands::info::Args),
    /// Write a patient-level development/holdout split of a dataset.
    Split(commands::split::Args),
    /// Serve the web viewer and a MONAI Label-compatible REST API over a data folder.
    Serve(commands::serve::Args),
    /// Draw a training run's curves (loss, Dice, reward, episode length, policy entropy) as PNG.
    Plot(commands::plot::Args),
}

fn main() {
    // One line for bad arguments too (clap's own message is several), exit status 1 like any
    // other bad input; --help and --version print as usual.
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            e.exit()
        }
        Err(e) => {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ");
            eprintln!("promptseg: error: {first} (see --help)");
            std::process::exit(1);
        }
    };
    let result = match cli.command {
        Command::Segment(a) => commands::segment::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Train(c) => commands::train::run(c),
        Command::Compare(a) => commands::compare::run(a),
        Command::Evaluate(a) => commands::evaluate::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Info(a) => commands::info::run(a),
        Command::Split(a) => commands::split::run(a),
        Command::Plot(a) => commands::plot::run(a),
        Command::Serve(a) => commands::serve::run(a),
    };
    if let Err(e) = result {
        eprintln!("promptseg: error: {}", one_line(&e));
        std::process::exit(1);
    }
}

/// The error and its causes on one line, each said once: library errors already name their
/// file, so a context that only repeats it (or a cause already quoted) is dropped.
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        match parts.last_mut() {
            Some(last) if last.contains(&s) => {}
            Some(last) if s.contains(last.as_str()) => *last = s,
            _ => parts.push(s),
        }
    }
    parts.join(": ").replace('\n', " ")
}
