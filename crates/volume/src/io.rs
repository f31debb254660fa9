//! Format dispatch and crash-safe writing.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Problem, Result, VolumeError};
use crate::limits::ReadOptions;
use crate::scalar::Element;
use crate::volume::Volume;
use crate::{metaimage, nifti, nrrd};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Nifti { gz: bool },
    MetaImage,
    Nrrd,
}

impl Format {
    /// The format a file name asks for, if its extension names one.
    pub fn from_name(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".nii.gz") {
            Some(Format::Nifti { gz: true })
        } else if name.ends_with(".nii") {
            Some(Format::Nifti { gz: false })
        } else if name.ends_with(".mha") || name.ends_with(".mhd") {
            Some(Format::MetaImage)
        } else if name.ends_with(".nrrd") {
            Some(Format::Nrrd)
        } else {
            None
        }
    }
}

fn sniff(path: &Path) -> Result<Format> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| VolumeError::new(path, e))?;
    if n == 0 {
        return Err(VolumeError::new(
            path,
            Problem::UnknownFormat("file is empty".into()),
        ));
    }
    if n >= 2 && head[..2] == [0x1f, 0x8b] {
        return Ok(Format::Nifti { gz: true });
    }
    if n >= 4 {
        let le = i32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let be = i32::from_be_bytes(head[..4].try_into().expect("4 bytes"));
        if [348, 540].contains(&le) || [348, 540].contains(&be) {
            return Ok(Format::Nifti { gz: false });
        }
    }
    if head[..n].starts_with(b"NRRD000") {
        return Ok(Format::Nrrd);
    }
    if head[..n]
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return Ok(Format::MetaImage);
    }
    Err(VolumeError::new(
        path,
        Problem::UnknownFormat("expected .nii, .nii.gz, .mha, .mhd or .nrrd".into()),
    ))
}

/// Reads a scalar 3D image as f32 with its geometry, choosing the codec by name, else by content;
/// a folder is read as a DICOM series.
pub fn read_image(path: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    if path.is_dir() {
        return crate::dicom::read_series(path, opts).map_err(|e| match e.problem {
            Problem::UnknownFormat(_) if e.path == path => VolumeError::new(
                path,
                Problem::UnknownFormat("is a folder without DICOM files, not an image".into()),
            ),
            _ => e,
        });
    }
    match Format::from_name(path)
        .map(Ok)
        .unwrap_or_else(|| sniff(path))?
    {
        Format::Nifti { .. } => nifti::read(path, opts),
        Format::MetaImage => metaimage::read(path, opts),
        Format::Nrrd => nrrd::read(path, opts),
    }
}

/// Writes `volume` in the format its name asks for (NIfTI when the name says nothing), through a
/// temporary file renamed into place, so a failure never leaves a partial output behind.
pub fn write_volume<T: Element>(path: &Path, volume: &Volume<T>) -> Result<()> {
    let format = Format::from_name(path).unwrap_or(Format::Nifti { gz: false });
    let bytes = match format {
        Format::Nifti { gz } => nifti::encode(volume, volume.nifti_codes.unwrap_or_default(), gz),
        Format::MetaImage => {
            if path
                .extension()
                .map(|e| e.eq_ignore_ascii_case("mhd"))
                .unwrap_or(false)
            {
                return Err(VolumeError::new(
                    path,
                    Problem::Unsupported("writing .mhd + .raw pairs; name the output .mha".into()),
                ));
            }
            metaimage::encode(volume)
        }
        Format::Nrrd => nrrd::encode(volume),
    }
    .map_err(|e| VolumeError::new(path, e))?;
    write_atomic(path, &bytes)
}

/// Writes bytes to `path` via a sibling temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path);
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(VolumeError::new(path, e));
    }
    Ok(())
}

fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(".{name}.partial-{}", std::process::id()))
}
