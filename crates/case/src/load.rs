//! Reading a case's volumes and checking they can be used together.

use std::path::Path;

use promptseg_volume::{read_image, resample_nearest, Geometry, ReadOptions, Volume};

use crate::error::CaseError;
use crate::files::CaseFiles;

/// Header corrections for sources whose files are known to carry wrong geometry (see
/// ../shared/data/MANIFEST.md); applied identically to every volume of the case.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometryFix {
    /// True voxel spacing (x, y, z mm) replacing the header's.
    pub spacing: Option<[f64; 3]>,
    /// True origin (LPS mm) replacing the header's.
    pub origin_lps: Option<[f64; 3]>,
}

impl GeometryFix {
    fn apply(&self, g: &mut Geometry) {
        if let Some(s) = self.spacing {
            g.spacing = s;
        }
        if let Some(o) = self.origin_lps {
            g.origin = o;
        }
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    pub files: CaseFiles,
    pub t2w: Volume<f32>,
    pub adc: Volume<f32>,
    pub hbv: Volume<f32>,
    /// Lesion label on the T2W grid, binarised (> 0.5: ISUP grades and soft masks alike).
    pub label: Option<Volume<u8>>,
    /// Gland mask on the T2W grid, binarised.
    pub gland: Option<Volume<u8>>,
}

impl Case {
    pub fn id(&self) -> &str {
        &self.files.id
    }

    pub fn channels(&self) -> [(&str, &Volume<f32>, &Path); 3] {
        [
            ("T2W", &self.t2w, self.files.t2w.as_path()),
            ("ADC", &self.adc, self.files.adc.as_path()),
            ("HBV", &self.hbv, self.files.hbv.as_path()),
        ]
    }
}

fn read_checked(
    path: &Path,
    fix: &GeometryFix,
    opts: &ReadOptions,
) -> Result<Volume<f32>, CaseError> {
    let mut v = read_image(path, opts)?;
    fix.apply(&mut v.geometry);
    v.geometry.validate().map_err(|e| CaseError::Content {
        path: path.to_path_buf(),
        problem: format!("after the manifest's geometry correction: {e}"),
    })?;
    let bad = v.data.iter().filter(|x| !x.is_finite()).count();
    if bad > 0 {
        return Err(CaseError::Content {
            path: path.to_path_buf(),
            problem: format!("{bad} of {} voxels are NaN or infinite", v.data.len()),
        });
    }
    Ok(v)
}

/// Reads a mask and puts it on `reference`'s grid (nearest voxel) when it lies on another grid.
fn read_mask(
    path: &Path,
    reference: &Geometry,
    fix: &GeometryFix,
    opts: &ReadOptions,
) -> Result<Volume<u8>, CaseError> {
    let v = read_checked(path, fix, opts)?;
    let binary = v.map(|x| (x > 0.5) as u8);
    if binary.geometry.same_grid(reference, 1e-3) {
        let mut out = binary;
        out.geometry = reference.clone();
        return Ok(out);
    }
    let r = resample_nearest(&binary, reference, 0);
    if r.inside.iter().all(|&b| !b) {
        return Err(CaseError::Content {
            path: path.to_path_buf(),
            problem: "mask does not overlap the T2W image in space".into(),
        });
    }
    Ok(r.volume)
}

/// A mask from another tool (a prediction, a label) on `reference`'s grid: binarised at 0.5,
/// resampled by nearest voxel when its grid differs, refused when it misses the image.
pub fn read_mask_on(
    path: &Path,
    reference: &Geometry,
    opts: &ReadOptions,
) -> Result<Volume<u8>, CaseError> {
    read_mask(path, reference, &GeometryFix::default(), opts)
}

pub fn load_case(
    files: &CaseFiles,
    fix: &GeometryFix,
    opts: &ReadOptions,
) -> Result<Case, CaseError> {
    let t2w = read_checked(&files.t2w, fix, opts)?;
    let adc = read_checked(&files.adc, fix, opts)?;
    let hbv = read_checked(&files.hbv, fix, opts)?;
    for (v, path) in [(&adc, &files.adc), (&hbv, &files.hbv)] {
        if !v.geometry.overlaps(&t2w.geometry) {
            return Err(CaseError::Content {
                path: path.clone(),
                problem: format!(
                    "does not overlap the T2W image {} in space (check the headers)",
                    files.t2w.display()
                ),
            });
        }
    }
    let label = files
        .label
        .as_ref()
        .map(|p| read_mask(p, &t2w.geometry, fix, opts))
        .transpose()?;
    let gland = files
        .gland
        .as_ref()
        .map(|p| read_mask(p, &t2w.geometry, fix, opts))
        .transpose()?;
    Ok(Case {
        files: files.clone(),
        t2w,
        adc,
        hbv,
        label,
        gland,
    })
}
