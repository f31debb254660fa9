use crate::geometry::Geometry;

/// How a NIfTI file declared its geometry; kept so that a mask written for a reference image
/// carries the same qform/sform codes (viewers pick the transform by these codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NiftiCodes {
    pub qform: i16,
    pub sform: i16,
}

impl Default for NiftiCodes {
    /// Scanner-anatomical for both, what SimpleITK and nibabel write for a typical image.
    fn default() -> Self {
        Self { qform: 1, sform: 1 }
    }
}

/// A scalar volume with its grid. `data[i + nx * (j + ny * k)]` is voxel (i, j, k).
#[derive(Clone, Debug, PartialEq)]
pub struct Volume<T> {
    pub geometry: Geometry,
    pub data: Vec<T>,
    /// Set when read from NIfTI; used when writing derived masks.
    pub nifti_codes: Option<NiftiCodes>,
}

impl<T: Copy> Volume<T> {
    pub fn new(geometry: Geometry, data: Vec<T>) -> Self {
        assert_eq!(
            geometry.len(),
            data.len(),
            "volume data does not match its grid"
        );
        Self {
            geometry,
            data,
            nifti_codes: None,
        }
    }

    pub fn filled(geometry: Geometry, value: T) -> Self {
        let n = geometry.len();
        Self::new(geometry, vec![value; n])
    }

    #[inline]
    pub fn at(&self, ijk: [usize; 3]) -> T {
        self.data[self.geometry.offset(ijk)]
    }

    /// A volume on the same grid (and header codes) with other values.
    pub fn with_data<U: Copy>(&self, data: Vec<U>) -> Volume<U> {
        assert_eq!(
            self.geometry.len(),
            data.len(),
            "volume data does not match its grid"
        );
        Volume {
            geometry: self.geometry.clone(),
            data,
            nifti_codes: self.nifti_codes,
        }
    }

    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> Volume<U> {
        self.with_data(self.data.iter().map(|&v| f(v)).collect())
    }
}
