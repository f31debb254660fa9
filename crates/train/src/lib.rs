//! Training both stages from a dataset, writing a run directory that is also a model.

pub mod agent;
pub mod checkpoint;
pub mod config;
pub mod log;
pub mod sampling;
pub mod surrogate;

use std::path::{Path, PathBuf};

pub use config::{AgentTraining, SurrogateTraining, TrainConfig};
pub use sampling::TrainCase;
pub use surrogate::RunControl;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Case(#[from] promptseg_case::CaseError),
    #[error(transparent)]
    Weights(promptseg_nets::weights::WeightsError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
}

impl TrainError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
