//! From a case and prompts to a lesion mask on the T2W grid, with the trained networks.

pub mod bundle;
pub mod error;
pub mod segment;
pub mod window;

pub use bundle::{
    ModelConfig, Models, Pipeline, Provenance, AGENT_FILE, CONFIG_FILE, SURROGATE_FILE,
};
pub use error::InferError;
pub use segment::{run_prompt, segment, LesionReport, Method, Options, Segmentation, Trajectory};
pub use window::{surrogate_probability, Window, WindowTimings};
