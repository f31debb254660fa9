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
pub use load::{load_case, read_mask_on, Case, GeometryFix};
pub use patch::{Channels, NormMethod, Normalisation, Patch};
pub use prompt::Prompt;
pub use split::Split;

/// A TOML parse error as "line L, column C: message" (one line, no source excerpt).
pub fn toml_error(text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {column}: {}", err.message().trim())
        }
        None => err.message().trim().to_string(),
    }
}
