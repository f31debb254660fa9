//! Where the shipped model and sample case live: in the repository this binary was built from,
//! unless the user points elsewhere.

use std::path::PathBuf;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The repository folder, without the `crates/cli/../..` detour when it can be resolved.
fn repo() -> PathBuf {
    std::fs::canonicalize(REPO).unwrap_or_else(|_| PathBuf::from(REPO))
}

/// `--model`, else `$PROMPTSEG_MODEL`, else the bundled model of this repository.
pub fn model_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("PROMPTSEG_MODEL").map(PathBuf::from))
        .unwrap_or_else(|| repo().join("models/bundled"))
}

pub fn demo_dir() -> PathBuf {
    repo().join("demo")
}

pub fn script(name: &str) -> PathBuf {
    repo().join("scripts").join(name)
}
