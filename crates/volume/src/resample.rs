//! The project's one resampler: values are carried between grids through world (LPS) coordinates,
//! so grids may differ in spacing, origin, extent and orientation.

use crate::geometry::{invert3, mat_mul, mat_vec, Geometry};
use crate::volume::Volume;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Trilinear, for intensities.
    Linear,
    /// Nearest voxel, for labels.
    Nearest,
}

/// A resampled volume and, per target voxel, whether it fell inside the source's field of view.
pub struct Resampled<T> {
    pub volume: Volume<T>,
    pub inside: Vec<bool>,
}

impl<T> Resampled<T> {
    pub fn coverage(&self) -> f64 {
        self.inside.iter().filter(|&&b| b).count() as f64 / self.inside.len().max(1) as f64
    }
}

/// Affine map from target voxel index to source continuous index.
struct IndexMap {
    m: [[f64; 3]; 3],
    t: [f64; 3],
}

impl IndexMap {
    fn new(src: &Geometry, target: &Geometry) -> Option<Self> {
        let src_inv = invert3(&src.index_matrix())?;
        let m = mat_mul(&src_inv, &target.index_matrix());
        let d = [
            target.origin[0] - src.origin[0],
            target.origin[1] - src.origin[1],
            target.origin[2] - src.origin[2],
        ];
        Some(Self {
            m,
            t: mat_vec(&src_inv, d),
        })
    }

    /// Calls `f(offset, source_index)` for every target voxel, walking rows incrementally.
    fn for_each(&self, dims: [usize; 3], mut f: impl FnMut(usize, [f64; 3])) {
        let col = |c: usize| [self.m[0][c], self.m[1][c], self.m[2][c]];
        let (ci, cj, ck) = (col(0), col(1), col(2));
        let mut offset = 0;
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                let (jf, kf) = (j as f64, k as f64);
                let base = [
                    self.t[0] + cj[0] * jf + ck[0] * kf,
                    self.t[1] + cj[1] * jf + ck[1] * kf,
                    self.t[2] + cj[2] * jf + ck[2] * kf,
                ];
                for i in 0..dims[0] {
                    let fi = i as f64;
                    f(
                        offset,
                        [
                            base[0] + ci[0] * fi,
                            base[1] + ci[1] * fi,
                            base[2] + ci[2] * fi,
                        ],
                    );
                    offset += 1;
                }
            }
        }
    }
}

/// ITK's convention: a point belongs to the image when it lies within half a voxel of the grid.
#[inline]
fn inside(p: [f64; 3], dims: [usize; 3]) -> bool {
    (0..3).all(|a| p[a] >= -0.5 && p[a] < dims[a] as f64 - 0.5)
}

/// Resamples `src` onto `target`; voxels outside the source get `fill`.
pub fn resample_linear(src: &Volume<f32>, target: &Geometry, fill: f32) -> Resampled<f32> {
    let n = target.len();
    let mut out = vec![fill; n];
    let mut ins = vec![false; n];
    let sd = src.geometry.dims;
    let (sx, sxy) = (sd[0], sd[0] * sd[1]);
    if let Some(map) = IndexMap::new(&src.geometry, target) {
        let data = &src.data;
        map.for_each(target.dims, |o, p| {
            if !inside(p, sd) {
                return;
            }
            ins[o] = true;
            let mut base = [0usize; 3];
            let mut frac = [0f32; 3];
            let mut next = [0usize; 3];
            for a in 0..3 {
                let c = p[a].clamp(0.0, (sd[a] - 1) as f64);
                let f = c.floor();
                base[a] = f as usize;
                frac[a] = (c - f) as f32;
                next[a] = (base[a] + 1).min(sd[a] - 1);
            }
            let at = |i: usize, j: usize, k: usize| data[i + sx * j + sxy * k];
            let (fx, fy, fz) = (frac[0], frac[1], frac[2]);
            let c00 =
                at(base[0], base[1], base[2]) * (1.0 - fx) + at(next[0], base[1], base[2]) * fx;
            let c10 =
                at(base[0], next[1], base[2]) * (1.0 - fx) + at(next[0], next[1], base[2]) * fx;
            let c01 =
                at(base[0], base[1], next[2]) * (1.0 - fx) + at(next[0], base[1], next[2]) * fx;
            let c11 =
                at(base[0], next[1], next[2]) * (1.0 - fx) + at(next[0], next[1], next[2]) * fx;
            let c0 = c00 * (1.0 - fy) + c10 * fy;
            let c1 = c01 * (1.0 - fy) + c11 * fy;
            out[o] = c0 * (1.0 - fz) + c1 * fz;
        });
    }
    Resampled {
        volume: Volume::new(target.clone(), out),
        inside: ins,
    }
}

/// Nearest-voxel resampling, for label volumes of any voxel type.
pub fn resample_nearest<T: Copy>(src: &Volume<T>, target: &Geometry, fill: T) -> Resampled<T> {
    let n = target.len();
    let mut out = vec![fill; n];
    let mut ins = vec![false; n];
    let sd = src.geometry.dims;
    if let Some(map) = IndexMap::new(&src.geometry, target) {
        map.for_each(target.dims, |o, p| {
            if !inside(p, sd) {
                return;
            }
            ins[o] = true;
            let r = |a: usize| ((p[a] + 0.5).floor() as usize).min(sd[a] - 1);
            out[o] = src.data[r(0) + sd[0] * (r(1) + sd[1] * r(2))];
        });
    }
    Resampled {
        volume: Volume::new(target.clone(), out),
        inside: ins,
    }
}

/// Dispatches on the interpolation for f32 volumes.
pub fn resample(
    src: &Volume<f32>,
    target: &Geometry,
    interpolation: Interpolation,
    fill: f32,
) -> Resampled<f32> {
    match interpolation {
        Interpolation::Linear => resample_linear(src, target, fill),
        Interpolation::Nearest => resample_nearest(src, target, fill),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;

    fn ramp(g: &Geometry) -> Volume<f32> {
        // Value = world x + 2 world y + 3 world z: trilinear interpolation reproduces it exactly.
        let mut data = Vec::with_capacity(g.len());
        for k in 0..g.dims[2] {
            for j in 0..g.dims[1] {
                for i in 0..g.dims[0] {
                    let w = g.index_to_world([i as f64, j as f64, k as f64]);
                    data.push((w[0] + 2.0 * w[1] + 3.0 * w[2]) as f32);
                }
            }
        }
        Volume::new(g.clone(), data)
    }

    #[test]
    fn linear_reproduces_affine_functions_across_grids() {
        let src_g = Geometry::axis_aligned([20, 20, 10], [2.0, 2.0, 3.0], [-10.0, -5.0, 0.0]);
        let src = ramp(&src_g);
        let (c, s) = (0.8f64, 0.6f64);
        let target = Geometry {
            dims: [16, 16, 12],
            spacing: [1.0, 1.0, 1.0],
            origin: [0.0, 5.0, 6.0],
            direction: [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
        };
        let r = resample_linear(&src, &target, f32::NAN);
        let expect = ramp(&target);
        let mut checked = 0;
        for o in 0..target.len() {
            if r.inside[o] {
                // Only points away from the clamped border are exact.
                let ijk = [o % 16, (o / 16) % 16, o / 256];
                let w = target.index_to_world([ijk[0] as f64, ijk[1] as f64, ijk[2] as f64]);
                let p = src_g.world_to_index(w).unwrap();
                if (0..3).all(|a| p[a] >= 0.0 && p[a] <= (src_g.dims[a] - 1) as f64) {
                    assert!(
                        (r.volume.data[o] - expect.data[o]).abs() < 1e-3,
                        "voxel {o}"
                    );
                    checked += 1;
                }
            } else {
                assert!(r.volume.data[o].is_nan());
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn nearest_on_identical_grid_is_identity_and_half_voxel_shift_is_consistent() {
        let g = Geometry::axis_aligned([5, 4, 3], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]);
        let v = Volume::new(g.clone(), (0..60).map(|x| x as u8).collect());
        let r = resample_nearest(&v, &g, 255);
        assert_eq!(r.volume.data, v.data);
        assert!(r.inside.iter().all(|&b| b));
        // Shift by +1 voxel in i: voxel i reads source i+1, the last column falls outside.
        let mut shifted = g.clone();
        shifted.origin[0] += 1.0;
        let r = resample_nearest(&v, &shifted, 255);
        assert_eq!(r.volume.at([0, 0, 0]), 1);
        assert_eq!(r.volume.at([4, 0, 0]), 255);
    }
}
