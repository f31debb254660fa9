//! Evaluation of segmentations against labels, and the figures that show them.

pub mod box_plot;
pub mod distance;
pub mod evaluate;
pub mod figure;
pub mod font;
pub mod plot;
pub mod prompts;
pub mod report;
pub mod stats;

pub use prompts::lesion_prompts;
