use std::path::PathBuf;

use promptseg_volume::VolumeError;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("{}: no {what} found (looked for {looked_for})", dir.display())]
    Missing {
        dir: PathBuf,
        what: String,
        looked_for: String,
    },
    #[error("{}: more than one {what}: {}", dir.display(), candidates.join(", "))]
    Ambiguous {
        dir: PathBuf,
        what: String,
        candidates: Vec<String>,
    },
    #[error("{}: {problem}", path.display())]
    Content { path: PathBuf, problem: String },
    #[error("prompt {prompt}: {problem}")]
    Prompt { prompt: String, problem: String },
    #[error("{}: {problem}", path.display())]
    Dataset { path: PathBuf, problem: String },
}
