//! Where training windows and prompts come from.
//!
//! Prompts follow the paper (sec. 3.1, Algorithm 1): uniformly at random inside a lesion, one
//! lesion per episode (a lesion is a connected component of the label); for negative cases,
//! inside the gland when a gland mask exists, else near the image centre (the prostate sits
//! near the centre of a prostate MR field of view).

use promptseg_case::Case;
use promptseg_metrics::component_voxels;
use promptseg_volume::geometry::{mat_mul, Mat3};
use promptseg_volume::Geometry;
use rand::Rng;

/// A loaded case with its lesion and gland voxels indexed for sampling (T2W grid offsets).
pub struct TrainCase {
    pub case: Case,
    pub lesions: Vec<Vec<usize>>,
    pub gland: Vec<usize>,
}

impl TrainCase {
    pub fn new(case: Case) -> Self {
        let dims = case.t2w.geometry.dims;
        let lesions = case
            .label
            .as_ref()
            .map(|l| component_voxels(&l.data, dims))
            .unwrap_or_default();
        let gland = case
            .gland
            .as_ref()
            .map(|g| {
                g.data
                    .iter()
                    .enumerate()
                    .filter(|(_, &v)| v != 0)
                    .map(|(o, _)| o)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            case,
            lesions,
            gland,
        }
    }

    pub fn positive(&self) -> bool {
        !self.lesions.is_empty()
    }

    fn lps_of(&self, offset: usize) -> [f64; 3] {
        let g = &self.case.t2w.geometry;
        let (i, j, k) = (
            offset % g.dims[0],
            (offset / g.dims[0]) % g.dims[1],
            offset / (g.dims[0] * g.dims[1]),
        );
        g.index_to_world([i as f64, j as f64, k as f64])
    }

    /// A prompt as the paper samples one: a lesion uniformly, then a voxel uniformly inside it.
    pub fn sample_prompt(&self, rng: &mut impl Rng) -> [f64; 3] {
        if self.positive() {
            let lesion = &self.lesions[rng.random_range(0..self.lesions.len())];
            return self.lps_of(lesion[rng.random_range(0..lesion.len())]);
        }
        self.sample_background(rng)
    }

    /// A point inside the gland, else in the central half of the field of view.
    pub fn sample_background(&self, rng: &mut impl Rng) -> [f64; 3] {
        if !self.gland.is_empty() {
            return self.lps_of(self.gland[rng.random_range(0..self.gland.len())]);
        }
        let g = &self.case.t2w.geometry;
        let idx = [0, 1, 2].map(|a| {
            let n = g.dims[a] as f64;
            rng.random_range(0.25 * n..=0.75 * n).min(n - 1.0)
        });
        g.index_to_world(idx)
    }
}

/// Rotates a grid about its own centre by `degrees` around its third (slice-normal) axis, and
/// optionally mirrors its first axis: a physically consistent augmentation that keeps every
/// channel and the label registered because all are resampled through the same grid.
pub fn augment_grid(g: &Geometry, degrees: f64, mirror: bool) -> Geometry {
    let centre = g.centre();
    let (s, c) = degrees.to_radians().sin_cos();
    let rot: Mat3 = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
    let mut out = g.clone();
    out.direction = mat_mul(&g.direction, &rot);
    if mirror {
        for row in out.direction.iter_mut() {
            row[0] = -row[0];
        }
    }
    out.origin = [0.0; 3];
    let offset = out.index_to_world(g.dims.map(|d| (d as f64 - 1.0) / 2.0));
    out.origin = [
        centre[0] - offset[0],
        centre[1] - offset[1],
        centre[2] - offset[2],
    ];
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augmentation_keeps_the_centre_and_spacing() {
        let g = Geometry::axis_aligned([48, 48, 48], [1.0, 1.0, 1.0], [-10.0, 5.0, 3.0]);
        let a = augment_grid(&g, 10.0, true);
        let (c0, c1) = (g.centre(), a.centre());
        for k in 0..3 {
            assert!((c0[k] - c1[k]).abs() < 1e-9);
        }
        assert!(a.validate().is_ok());
        assert!(
            promptseg_volume::geometry::det3(&a.direction) < 0.0,
            "mirrored"
        );
    }
}
