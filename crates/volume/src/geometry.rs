//! Voxel grid geometry in ITK's convention: world coordinates are LPS millimetres, `origin` is the
//! centre of voxel (0,0,0), and column `c` of `direction` is the unit vector of voxel axis `c`.
//! NIfTI (RAS) is converted at the reader/writer boundary so that everything inside the project
//! speaks one convention.

/// A 3x3 matrix stored row-major: `m[row][col]`.
pub type Mat3 = [[f64; 3]; 3];

#[derive(Clone, Debug, PartialEq)]
pub struct Geometry {
    /// Voxels along i, j, k (file order; i runs fastest in memory).
    pub dims: [usize; 3],
    /// Millimetres between voxel centres along i, j, k.
    pub spacing: [f64; 3],
    /// LPS position (mm) of the centre of voxel (0,0,0).
    pub origin: [f64; 3],
    /// Columns are the LPS unit vectors of the i, j, k axes.
    pub direction: Mat3,
}

pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Why a geometry cannot describe a usable grid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GeometryError {
    #[error("dimension {axis} is {value}: every axis needs at least one voxel")]
    EmptyAxis { axis: usize, value: usize },
    #[error("spacing {spacing:?} is not finite and positive")]
    BadSpacing { spacing: [f64; 3] },
    #[error("origin {origin:?} is not finite")]
    BadOrigin { origin: [f64; 3] },
    #[error("direction matrix is singular or not finite ({direction:?})")]
    SingularDirection { direction: Mat3 },
}

impl Geometry {
    /// A grid with identity direction; used by tests and synthetic volumes.
    pub fn axis_aligned(dims: [usize; 3], spacing: [f64; 3], origin: [f64; 3]) -> Self {
        Self {
            dims,
            spacing,
            origin,
            direction: IDENTITY,
        }
    }

    pub fn validate(&self) -> Result<(), GeometryError> {
        for (axis, &value) in self.dims.iter().enumerate() {
            if value == 0 {
                return Err(GeometryError::EmptyAxis { axis, value });
            }
        }
        if !self.spacing.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err(GeometryError::BadSpacing {
                spacing: self.spacing,
            });
        }
        if !self.origin.iter().all(|o| o.is_finite()) {
            return Err(GeometryError::BadOrigin {
                origin: self.origin,
            });
        }
        let det = det3(&self.direction);
        if !det.is_finite()
            || det.abs() < 1e-6
            || self.direction.iter().flatten().any(|v| !v.is_finite())
        {
            return Err(GeometryError::SingularDirection {
                direction: self.direction,
            });
        }
        Ok(())
    }

    /// Whether this field of view covers any of a sample of `inner`'s voxels (every eighth
    /// along each axis): a corners-and-centre test misjudges oblique boxes that cross.
    pub fn overlaps(&self, inner: &Geometry) -> bool {
        let step = |n: usize| (n / 8).max(1);
        for k in (0..inner.dims[2]).step_by(step(inner.dims[2])) {
            for j in (0..inner.dims[1]).step_by(step(inner.dims[1])) {
                for i in (0..inner.dims[0]).step_by(step(inner.dims[0])) {
                    let w = inner.index_to_world([i as f64, j as f64, k as f64]);
                    if self.world_to_voxel(w).is_some() {
                        return true;
                    }
                }
            }
        }
        false
    }

    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Linear offset of voxel (i, j, k) in file order.
    #[inline]
    pub fn offset(&self, ijk: [usize; 3]) -> usize {
        ijk[0] + self.dims[0] * (ijk[1] + self.dims[1] * ijk[2])
    }

    #[inline]
    pub fn contains(&self, ijk: [i64; 3]) -> bool {
        (0..3).all(|a| ijk[a] >= 0 && (ijk[a] as usize) < self.dims[a])
    }

    /// The 3x3 part of the index-to-world affine: direction * diag(spacing).
    pub fn index_matrix(&self) -> Mat3 {
        let mut m = [[0.0; 3]; 3];
        for (r, row) in m.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = self.direction[r][c] * self.spacing[c];
            }
        }
        m
    }

    /// LPS position of a (continuous) voxel index.
    pub fn index_to_world(&self, ijk: [f64; 3]) -> [f64; 3] {
        let m = self.index_matrix();
        let mut p = self.origin;
        for (r, pr) in p.iter_mut().enumerate() {
            *pr += m[r][0] * ijk[0] + m[r][1] * ijk[1] + m[r][2] * ijk[2];
        }
        p
    }

    /// Continuous voxel index of an LPS position; `None` when the direction is singular.
    pub fn world_to_index(&self, lps: [f64; 3]) -> Option<[f64; 3]> {
        let inv = invert3(&self.index_matrix())?;
        let d = [
            lps[0] - self.origin[0],
            lps[1] - self.origin[1],
            lps[2] - self.origin[2],
        ];
        Some(mat_vec(&inv, d))
    }

    /// Nearest voxel to an LPS point, if it lies inside the grid.
    pub fn world_to_voxel(&self, lps: [f64; 3]) -> Option<[usize; 3]> {
        let idx = self.world_to_index(lps)?;
        let r = [
            idx[0].round() as i64,
            idx[1].round() as i64,
            idx[2].round() as i64,
        ];
        self.contains(r)
            .then(|| [r[0] as usize, r[1] as usize, r[2] as usize])
    }

    /// Millilitres per voxel.
    pub fn voxel_volume_ml(&self) -> f64 {
        self.spacing.iter().product::<f64>() * det3(&self.direction).abs() / 1000.0
    }

    /// LPS position of the geometric centre of the grid.
    pub fn centre(&self) -> [f64; 3] {
        self.index_to_world([
            (self.dims[0] as f64 - 1.0) / 2.0,
            (self.dims[1] as f64 - 1.0) / 2.0,
            (self.dims[2] as f64 - 1.0) / 2.0,
        ])
    }

    /// Whether two geometries describe the same voxel grid, within `tol_mm` at the grid corners.
    pub fn same_grid(&self, other: &Geometry, tol_mm: f64) -> bool {
        if self.dims != other.dims {
            return false;
        }
        let far = [
            (self.dims[0] - 1) as f64,
            (self.dims[1] - 1) as f64,
            (self.dims[2] - 1) as f64,
        ];
        let corners = [
            [0.0, 0.0, 0.0],
            far,
            [far[0], 0.0, 0.0],
            [0.0, far[1], 0.0],
            [0.0, 0.0, far[2]],
        ];
        corners.iter().all(|&c| {
            let a = self.index_to_world(c);
            let b = other.index_to_world(c);
            dist(a, b) <= tol_mm
        }) && (0..3)
            .all(|a| (self.spacing[a] - other.spacing[a]).abs() <= 1e-4 * self.spacing[a].max(1.0))
    }

    /// ITK's three-letter code of the direction each axis points *from* (e.g. "RAI" for an LPS
    /// identity), as written in MetaImage `AnatomicalOrientation`.
    pub fn orientation_code(&self) -> String {
        (0..3)
            .map(|c| {
                let col = [
                    self.direction[0][c],
                    self.direction[1][c],
                    self.direction[2][c],
                ];
                let (axis, v) = col
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                    .map(|(i, v)| (i, *v))
                    .unwrap_or((0, 1.0));
                // LPS axes increase towards L, P, S, so a positive component starts at R, A, I.
                match (axis, v >= 0.0) {
                    (0, true) => 'R',
                    (0, false) => 'L',
                    (1, true) => 'A',
                    (1, false) => 'P',
                    (2, true) => 'I',
                    _ => 'S',
                }
            })
            .collect()
    }

    /// The 4x4 index-to-world affine in RAS (NIfTI's convention), row-major.
    pub fn ras_affine(&self) -> [[f64; 4]; 4] {
        let m = self.index_matrix();
        let mut a = [[0.0; 4]; 4];
        for r in 0..3 {
            let sign = if r < 2 { -1.0 } else { 1.0 };
            for c in 0..3 {
                a[r][c] = sign * m[r][c];
            }
            a[r][3] = sign * self.origin[r];
        }
        a[3][3] = 1.0;
        a
    }

    /// Builds a geometry from a RAS index-to-world affine (rows x, y, z of a NIfTI sform).
    pub fn from_ras_affine(dims: [usize; 3], rows: [[f64; 4]; 3]) -> Self {
        let mut spacing = [0.0; 3];
        let mut direction = [[0.0; 3]; 3];
        for c in 0..3 {
            let col = [-rows[0][c], -rows[1][c], rows[2][c]];
            let norm = (col[0] * col[0] + col[1] * col[1] + col[2] * col[2]).sqrt();
            spacing[c] = norm;
            for r in 0..3 {
                direction[r][c] = if norm > 0.0 { col[r] / norm } else { 0.0 };
            }
        }
        Self {
            dims,
            spacing,
            origin: [-rows[0][3], -rows[1][3], rows[2][3]],
            direction,
        }
    }
}

pub fn ras_to_lps(p: [f64; 3]) -> [f64; 3] {
    [-p[0], -p[1], p[2]]
}

pub fn lps_to_ras(p: [f64; 3]) -> [f64; 3] {
    [-p[0], -p[1], p[2]]
}

pub fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

pub fn det3(m: &Mat3) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

pub fn invert3(m: &Mat3) -> Option<Mat3> {
    let det = det3(m);
    // Relative to the column lengths, so that micrometre voxels (det ~1e-15) are not mistaken
    // for a singular matrix while degenerate directions still are.
    let scale: f64 = (0..3)
        .map(|c| (0..3).map(|r| m[r][c] * m[r][c]).sum::<f64>().sqrt())
        .product();
    if !det.is_finite() || !scale.is_finite() || scale == 0.0 || det.abs() / scale < 1e-9 {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for r in 0..3 {
        for c in 0..3 {
            // Cofactor of the transposed position gives the adjugate.
            let (r1, r2) = ((c + 1) % 3, (c + 2) % 3);
            let (c1, c2) = ((r + 1) % 3, (r + 2) % 3);
            inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
        }
    }
    Some(inv)
}

pub fn mat_vec(m: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    ]
}

pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for r in 0..3 {
        for c in 0..3 {
            m[r][c] = (0..3).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oblique() -> Geometry {
        // Direction of picai_jiangcw_crop256/10021_1000021/t2w.nii.gz as SimpleITK reports it.
        let (c, s) = (0.978_147_600_733_805_6, 0.207_911_690_817_759_2);
        Geometry {
            dims: [256, 256, 16],
            spacing: [0.5, 0.5, 3.0],
            origin: [-97.75, -86.355, -24.352],
            direction: [[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]],
        }
    }

    #[test]
    fn world_index_round_trip_on_oblique_grid() {
        let g = oblique();
        let ijk = [212.0, 180.0, 9.0];
        let w = g.index_to_world(ijk);
        let back = g.world_to_index(w).unwrap();
        for a in 0..3 {
            assert!((back[a] - ijk[a]).abs() < 1e-9);
        }
        assert_eq!(g.world_to_voxel(w), Some([212, 180, 9]));
    }

    #[test]
    fn overlap_of_fields_of_view() {
        let a = Geometry::axis_aligned([10, 10, 10], [1.0; 3], [0.0; 3]);
        let half = Geometry::axis_aligned([10, 10, 10], [1.0; 3], [5.0, 5.0, 5.0]);
        let far = Geometry::axis_aligned([10, 10, 10], [1.0; 3], [100.0, 0.0, 0.0]);
        assert!(a.overlaps(&half) && half.overlaps(&a));
        assert!(!a.overlaps(&far) && !far.overlaps(&a));
    }

    #[test]
    fn inverse_is_inverse() {
        let m = oblique().index_matrix();
        let inv = invert3(&m).unwrap();
        let tiny = [[1e-5, 0.0, 0.0], [0.0, 2e-5, 0.0], [0.0, 0.0, 3e-5]];
        let tiny_inv = invert3(&tiny).expect("micrometre voxels are invertible");
        assert!((tiny_inv[2][2] - 1.0 / 3e-5).abs() < 1e-6);
        assert!(invert3(&[[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).is_none());
        let id = mat_mul(&m, &inv);
        for r in 0..3 {
            for c in 0..3 {
                assert!((id[r][c] - IDENTITY[r][c]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn ras_affine_round_trip() {
        let g = oblique();
        let a = g.ras_affine();
        let back = Geometry::from_ras_affine(g.dims, [a[0], a[1], a[2]]);
        assert!(back.same_grid(&g, 1e-9));
    }

    #[test]
    fn orientation_codes() {
        assert_eq!(
            Geometry::axis_aligned([2, 2, 2], [1.0; 3], [0.0; 3]).orientation_code(),
            "RAI"
        );
        let mut g = Geometry::axis_aligned([2, 2, 2], [1.0; 3], [0.0; 3]);
        g.direction = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
        assert_eq!(g.orientation_code(), "LPI");
    }

    #[test]
    fn validation_rejects_bad_grids() {
        let mut g = Geometry::axis_aligned([2, 2, 2], [1.0; 3], [0.0; 3]);
        assert!(g.validate().is_ok());
        g.spacing[1] = f64::NAN;
        assert!(matches!(
            g.validate(),
            Err(GeometryError::BadSpacing { .. })
        ));
        g.spacing[1] = 1.0;
        g.direction[2] = [0.0, 0.0, 0.0];
        assert!(matches!(
            g.validate(),
            Err(GeometryError::SingularDirection { .. })
        ));
    }
}
