//! The working grid on which the networks and region growing run.
//!
//! Default (preset `cpu`): a 64 x 64 x 64 box of 1 mm voxels centred on the prompt, with the
//! T2W's axes, so one click costs one small UNet pass on 2 CPU cores. Preset `paper`: the whole
//! T2W field of view resampled to 128^3 around the image centre (what the reference code's resize
//! did), so every prompt of a case shares one entropy map.

use promptseg_volume::Geometry;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GridCentre {
    Prompt,
    Image,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Voxels along the T2W's i, j, k axes.
    pub size: [usize; 3],
    /// Voxel size in mm; absent = the T2W field of view divided by `size` (paper preset).
    pub spacing_mm: Option<[f64; 3]>,
    pub centre: GridCentre,
}

impl Default for GridSpec {
    fn default() -> Self {
        Self {
            size: [64, 64, 64],
            spacing_mm: Some([1.0, 1.0, 1.0]),
            centre: GridCentre::Prompt,
        }
    }
}

impl GridSpec {
    pub fn validate(&self, multiple: usize) -> Result<(), String> {
        if self
            .size
            .iter()
            .any(|&s| s == 0 || s % multiple != 0 || s > 512)
        {
            return Err(format!(
                "grid size {:?}: every axis must be a multiple of {multiple}, at most 512",
                self.size
            ));
        }
        if let Some(s) = self.spacing_mm {
            if !s.iter().all(|v| v.is_finite() && *v > 0.0 && *v <= 20.0) {
                return Err(format!("grid spacing_mm {s:?}: each must be in (0, 20] mm"));
            }
        }
        Ok(())
    }

    pub fn paper() -> Self {
        Self {
            size: [128, 128, 128],
            spacing_mm: None,
            centre: GridCentre::Image,
        }
    }

    /// Working-grid geometry for a T2W image and a prompt (LPS). With prompt centring the prompt
    /// falls exactly on voxel `size / 2`.
    pub fn geometry(&self, t2w: &Geometry, prompt_lps: [f64; 3]) -> Geometry {
        let spacing = self.spacing_mm.unwrap_or_else(|| {
            [0, 1, 2].map(|a| t2w.dims[a] as f64 * t2w.spacing[a] / self.size[a] as f64)
        });
        let (centre, index) = match self.centre {
            GridCentre::Prompt => (prompt_lps, self.size.map(|n| (n / 2) as f64)),
            GridCentre::Image => (t2w.centre(), self.size.map(|n| (n as f64 - 1.0) / 2.0)),
        };
        let mut g = Geometry {
            dims: self.size,
            spacing,
            origin: [0.0; 3],
            direction: t2w.direction,
        };
        let offset = g.index_to_world(index);
        g.origin = [
            centre[0] - offset[0],
            centre[1] - offset[1],
            centre[2] - offset[2],
        ];
        g
    }

    /// Whether a working grid made for one prompt can serve another (so its entropy map is
    /// reused): the new prompt must sit at least `margin` voxels inside it.
    pub fn covers(grid: &Geometry, lps: [f64; 3], margin: usize) -> bool {
        grid.world_to_index(lps)
            .map(|p| {
                (0..3).all(|a| {
                    p[a] >= margin as f64
                        && p[a] <= (grid.dims[a] - 1 - margin.min(grid.dims[a] - 1)) as f64
                })
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_lands_on_the_centre_voxel() {
        let (c, s) = (0.978_147_6, 0.207_911_7);
        let t2w = Geometry {
            dims: [256, 256, 16],
            spacing: [0.5, 0.5, 3.0],
            origin: [-97.75, -86.355, -24.352],
            direction: [[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]],
        };
        let p = t2w.index_to_world([100.0, 120.0, 7.0]);
        let g = GridSpec::default().geometry(&t2w, p);
        let idx = g.world_to_index(p).unwrap();
        for a in 0..3 {
            assert!((idx[a] - 32.0).abs() < 1e-9);
        }
        assert_eq!(g.direction, t2w.direction);
        assert!(GridSpec::covers(&g, p, 8));
        let paper = GridSpec::paper().geometry(&t2w, p);
        assert!((paper.spacing[0] - 1.0).abs() < 1e-12 && (paper.spacing[2] - 0.375).abs() < 1e-12);
        let centre = paper.centre();
        let want = t2w.centre();
        for a in 0..3 {
            assert!((centre[a] - want[a]).abs() < 1e-9);
        }
    }
}
