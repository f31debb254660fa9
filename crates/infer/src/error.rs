use std::path::PathBuf;

use promptseg_case::CaseError;

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("model {}: {message}", path.display())]
    Model { path: PathBuf, message: String },
    #[error("prompt {prompt}: {problem}")]
    Prompt { prompt: String, problem: String },
}
