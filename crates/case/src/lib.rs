//! Case assembly: from files on disk to normalised channels on a working grid.

pub mod dataset;
pub mod error;
pub mod files;
pub mod grid;
pub mod load;
pub mod patch;
pub mod prompt;
pub mod split;

pub use dataset::{Dataset, DatasetEntry};
pub use error::CaseError;
pub use files::CaseFiles;
pub use grid::{GridCentre, GridSpec};
pub use load::{load_case, Case, GeometryFix};
pub use patch::{Channels, NormMethod, Normalisation, Patch};
pub use prompt::Prompt;
pub use split::Split;
