use std::path::{Path, PathBuf};

use crate::geometry::GeometryError;

/// A problem with one file, always reported with that file's path so that a one-line message
/// tells the user what to fix.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct VolumeError {
    pub path: PathBuf,
    pub problem: Problem,
}

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a NIfTI or MetaImage file ({0})")]
    UnknownFormat(String),
    #[error("malformed header: {0}")]
    BadHeader(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("truncated: {0}")]
    Truncated(String),
    #[error("image of {voxels} voxels x {bytes_per_voxel} bytes exceeds the {limit_mib} MiB limit (header claims dims {dims:?}; raise it with PROMPTSEG_MAX_IMAGE_MIB)")]
    TooLarge {
        dims: Vec<u64>,
        voxels: u64,
        bytes_per_voxel: u64,
        limit_mib: u64,
    },
    #[error("bad geometry: {0}")]
    Geometry(#[from] GeometryError),
    #[error("corrupt compressed data: {0}")]
    Corrupt(String),
}

impl VolumeError {
    pub fn new(path: &Path, problem: impl Into<Problem>) -> Self {
        Self {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}

pub type Result<T, E = VolumeError> = std::result::Result<T, E>;
