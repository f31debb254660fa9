//! Checks on output paths, made before any work so that a bad path fails fast and nothing an
//! input or another output needs is overwritten.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A volume: .nii, .nii.gz or .mha.
    Image,
    Png,
    /// Any name (JSON, CSV, Markdown...).
    Text,
}

/// The absolute form of a path that may not exist yet (its folder must).
fn normal(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let parent = p
        .parent()
        .filter(|q| !q.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(parent)
        .unwrap_or_else(|_| parent.to_path_buf())
        .join(p.file_name().unwrap_or_default())
}

pub fn check(outputs: &[(&Path, Kind)], inputs: &[&Path]) -> Result<()> {
    let inputs: Vec<PathBuf> = inputs.iter().map(|p| normal(p)).collect();
    let mut seen: Vec<PathBuf> = Vec::new();
    for &(out, kind) in outputs {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            bail!(
                "{}: output folder {} does not exist",
                out.display(),
                parent.display()
            );
        }
        if out.is_dir() {
            bail!("{}: output is a folder; give a file name", out.display());
        }
        if let Ok(meta) = std::fs::metadata(out) {
            if !meta.is_file() {
                bail!("{}: exists and is not a regular file (a device or pipe?); refusing to replace it", out.display());
            }
        }
        match kind {
            Kind::Image
                if !(name.ends_with(".nii.gz")
                    || name.ends_with(".nii")
                    || name.ends_with(".mha")) =>
            {
                bail!(
                    "{}: name the output .nii.gz, .nii or .mha (the name chooses the format)",
                    out.display()
                )
            }
            Kind::Png if !name.ends_with(".png") => {
                bail!("{}: the figure is a PNG; name it .png", out.display())
            }
            _ => {}
        }
        let n = normal(out);
        if inputs.contains(&n) {
            bail!("{}: output would overwrite an input", out.display());
        }
        if seen.contains(&n) {
            bail!("{}: given for two outputs", out.display());
        }
        seen.push(n);
    }
    Ok(())
}
