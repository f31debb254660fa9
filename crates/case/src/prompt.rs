//! User prompts: a point in T2W voxel indices (file order, as 3D Slicer and ITK-SNAP show them)
//! or in world millimetres (RAS as Slicer shows, or LPS as ITK uses).

use std::str::FromStr;

use promptseg_volume::{ras_to_lps, Geometry};

use crate::error::CaseError;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prompt {
    Voxel([i64; 3]),
    Ras([f64; 3]),
    Lps([f64; 3]),
}

/// Coordinates as typed for everyday values, in exponent form for absurd ones (f64's Display
/// would print 1e300 as 301 digits inside an error message).
fn mm(x: f64) -> String {
    if x.is_finite() && x.abs() < 1e6 {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

impl std::fmt::Display for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prompt::Voxel(v) => write!(f, "voxel {},{},{}", v[0], v[1], v[2]),
            Prompt::Ras(p) => write!(f, "RAS {},{},{} mm", mm(p[0]), mm(p[1]), mm(p[2])),
            Prompt::Lps(p) => write!(f, "LPS {},{},{} mm", mm(p[0]), mm(p[1]), mm(p[2])),
        }
    }
}

fn three<T: FromStr>(s: &str) -> Option<[T; 3]> {
    let parts: Vec<T> = s
        .split(',')
        .map(|p| p.trim().parse::<T>())
        .collect::<Result<_, _>>()
        .ok()?;
    parts.try_into().ok()
}

impl Prompt {
    pub fn parse_voxel(s: &str) -> Result<Self, String> {
        three::<i64>(s)
            .map(Prompt::Voxel)
            .ok_or_else(|| format!("'{s}' is not three whole numbers i,j,k"))
    }

    fn parse_mm(s: &str) -> Result<[f64; 3], String> {
        three::<f64>(s)
            .filter(|p| p.iter().all(|v| v.is_finite()))
            .ok_or_else(|| format!("'{s}' is not three numbers x,y,z (mm)"))
    }

    pub fn parse_ras(s: &str) -> Result<Self, String> {
        Self::parse_mm(s).map(Prompt::Ras)
    }

    pub fn parse_lps(s: &str) -> Result<Self, String> {
        Self::parse_mm(s).map(Prompt::Lps)
    }

    /// The prompt's LPS position, checked to lie inside the T2W image. A millimetre prompt is
    /// snapped to the centre of the T2W voxel that contains it, so a click given in voxels, RAS
    /// or LPS on the same voxel yields the same mask.
    pub fn to_lps(&self, t2w: &Geometry) -> Result<[f64; 3], CaseError> {
        let err = |problem: String| CaseError::Prompt {
            prompt: self.to_string(),
            problem,
        };
        let d = t2w.dims;
        match *self {
            Prompt::Voxel(v) => {
                if !t2w.contains(v) {
                    return Err(err(format!(
                        "outside the T2W grid (valid: 0..{} x 0..{} x 0..{})",
                        d[0] - 1,
                        d[1] - 1,
                        d[2] - 1
                    )));
                }
                Ok(t2w.index_to_world([v[0] as f64, v[1] as f64, v[2] as f64]))
            }
            Prompt::Ras(p) | Prompt::Lps(p) => {
                let lps = if matches!(self, Prompt::Ras(_)) {
                    ras_to_lps(p)
                } else {
                    p
                };
                match t2w.world_to_voxel(lps) {
                    Some(v) => Ok(t2w.index_to_world(v.map(|x| x as f64))),
                    None => Err(err("outside the T2W image".into())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_locate() {
        let g = Geometry::axis_aligned([10, 10, 5], [0.5, 0.5, 3.0], [-2.0, -2.0, 0.0]);
        let p = Prompt::parse_voxel("4, 2,1").unwrap();
        assert_eq!(p.to_lps(&g).unwrap(), [0.0, -1.0, 3.0]);
        assert!(Prompt::parse_voxel("1,2").is_err());
        assert!(Prompt::parse_ras("1,2,nan").is_err());
        // RAS (0, 1, 3) is LPS (0, -1, 3): the same voxel.
        assert_eq!(
            Prompt::parse_ras("0,1,3").unwrap().to_lps(&g).unwrap(),
            [0.0, -1.0, 3.0]
        );
        let e = Prompt::Voxel([10, 0, 0])
            .to_lps(&g)
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the T2W grid"), "{e}");
        assert!(Prompt::Lps([100.0, 0.0, 0.0]).to_lps(&g).is_err());
    }
}
