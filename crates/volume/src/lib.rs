//! Image volumes and their physical geometry: reading and writing NIfTI, MetaImage and NRRD with full
//! orientation information, and resampling between grids in world coordinates.

pub mod dicom;
pub mod error;
pub mod geometry;
pub mod header_lines;
pub mod io;
pub mod limits;
pub mod metaimage;
pub mod nifti;
pub mod nrrd;
pub mod resample;
pub mod scalar;
pub mod volume;

pub use error::{Problem, VolumeError};
pub use geometry::{lps_to_ras, ras_to_lps, Geometry};
pub use io::{read_image, write_volume, Format};
pub use limits::ReadOptions;
pub use resample::{resample, resample_linear, resample_nearest, Interpolation, Resampled};
pub use volume::{NiftiCodes, Volume};
