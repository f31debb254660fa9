//! Training checkpoints: everything a stage needs to continue exactly where it stopped (network
//! in full precision, optimizer state, RNG state, counters), written to a fresh folder and then
//! renamed over the previous checkpoint so that a crash mid-write never leaves a broken one.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use promptseg_nets::weights;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::TrainError;

pub fn dir(run: &Path, stage: &str) -> PathBuf {
    run.join(format!("checkpoint-{stage}"))
}

pub fn exists(run: &Path, stage: &str) -> bool {
    dir(run, stage).join("state.json").is_file()
}

pub fn save<M: Module>(
    run: &Path,
    stage: &str,
    module: M,
    optim: &ModuleOptimizer,
    state: &impl Serialize,
) -> Result<(), TrainError> {
    let final_dir = dir(run, stage);
    let tmp = run.join(format!("checkpoint-{stage}.partial"));
    let old = run.join(format!("checkpoint-{stage}.old"));
    let io = |e: std::io::Error| TrainError::io(&tmp, e);
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io)?;
    weights::save_full(module, &tmp.join("model.bpk")).map_err(TrainError::Weights)?;
    optim
        .save(tmp.join("optim.bpk"))
        .map_err(|e| TrainError::Config(format!("{}: {e}", tmp.display())))?;
    std::fs::write(
        tmp.join("state.json"),
        serde_json::to_string_pretty(state).map_err(|e| TrainError::Config(e.to_string()))?,
    )
    .map_err(io)?;
    let _ = std::fs::remove_dir_all(&old);
    if final_dir.exists() {
        std::fs::rename(&final_dir, &old).map_err(io)?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(io)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

pub fn load<M: Module, S: DeserializeOwned>(
    run: &Path,
    stage: &str,
    module: M,
    optim: ModuleOptimizer,
) -> Result<(M, ModuleOptimizer, S), TrainError> {
    let d = dir(run, stage);
    let module = weights::load(module, &d.join("model.bpk")).map_err(TrainError::Weights)?;
    let optim = optim
        .load(d.join("optim.bpk"))
        .map_err(|e| TrainError::Config(format!("{}: {e}", d.display())))?;
    let text = std::fs::read_to_string(d.join("state.json")).map_err(|e| TrainError::io(&d, e))?;
    let state = serde_json::from_str(&text)
        .map_err(|e| TrainError::Config(format!("{}: {e}", d.display())))?;
    Ok((module, optim, state))
}

/// Keeps the lines of a JSONL log up to `last` of the counter `key` (a resumed run then appends
/// what comes after, with no duplicates from the interrupted run).
pub fn truncate_log(path: &Path, key: &str, last: usize) -> Result<(), TrainError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get(key).and_then(|s| s.as_u64()))
                .map(|s| s as usize <= last)
                .unwrap_or(false)
        })
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|e| TrainError::io(path, e))
}
