//! A classical seeded baseline for the evaluation: ITK's ConfidenceConnected region growing,
//! extended to several channels. From the seed's neighbourhood (a box of `initial_radius`) it
//! takes each channel's mean and standard deviation; a voxel joins when it is face-connected to
//! the region and every channel lies within mean +- multiplier * sd; then the statistics are
//! recomputed over the region and the fill is redone, `iterations` times. Defaults are ITK's
//! (multiplier 2.5, 4 iterations, radius 1).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfidenceParams {
    pub multiplier: f32,
    pub iterations: usize,
    pub initial_radius: usize,
}

impl Default for ConfidenceParams {
    fn default() -> Self {
        Self {
            multiplier: 2.5,
            iterations: 4,
            initial_radius: 1,
        }
    }
}

impl ConfidenceParams {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.multiplier.is_finite() && self.multiplier > 0.0) {
            return Err(format!(
                "confidence.multiplier = {}: must be a positive number",
                self.multiplier
            ));
        }
        Ok(())
    }
}

fn stats(channels: &[&[f32]], voxels: impl Iterator<Item = usize> + Clone) -> Vec<(f64, f64)> {
    channels
        .iter()
        .map(|c| {
            let (mut n, mut s, mut s2) = (0f64, 0f64, 0f64);
            for o in voxels.clone() {
                let v = c[o] as f64;
                n += 1.0;
                s += v;
                s2 += v * v;
            }
            let mean = s / n.max(1.0);
            // Sample variance as ITK; a single voxel has none.
            let var = if n > 1.0 {
                ((s2 - n * mean * mean) / (n - 1.0)).max(0.0)
            } else {
                0.0
            };
            (mean, var.sqrt())
        })
        .collect()
}

fn fill(channels: &[&[f32]], dims: [usize; 3], seed: usize, bounds: &[(f64, f64)]) -> Vec<u8> {
    let [nx, ny, nz] = dims;
    let inside = |o: usize| {
        channels
            .iter()
            .zip(bounds)
            .all(|(c, &(lo, hi))| (lo..=hi).contains(&(c[o] as f64)))
    };
    let mut mask = vec![0u8; nx * ny * nz];
    // The seed always belongs to its own region, even when it falls outside its statistics.
    mask[seed] = 1;
    let mut stack = vec![seed];
    while let Some(o) = stack.pop() {
        let (i, j, k) = (o % nx, (o / nx) % ny, o / (nx * ny));
        let mut visit = |n: usize| {
            if mask[n] == 0 && inside(n) {
                mask[n] = 1;
                stack.push(n);
            }
        };
        if i > 0 {
            visit(o - 1);
        }
        if i + 1 < nx {
            visit(o + 1);
        }
        if j > 0 {
            visit(o - nx);
        }
        if j + 1 < ny {
            visit(o + nx);
        }
        if k > 0 {
            visit(o - nx * ny);
        }
        if k + 1 < nz {
            visit(o + nx * ny);
        }
    }
    mask
}

/// The region of `seed` in `channels` (each of `dims` voxels, x fastest).
pub fn confidence_connected(
    channels: &[&[f32]],
    dims: [usize; 3],
    seed: [usize; 3],
    p: &ConfidenceParams,
) -> Vec<u8> {
    let [nx, ny, nz] = dims;
    let at = |i: usize, j: usize, k: usize| i + nx * (j + ny * k);
    let r = p.initial_radius;
    let lo = |c: usize| c.saturating_sub(r);
    let box_voxels: Vec<usize> = (lo(seed[2])..=(seed[2] + r).min(nz - 1))
        .flat_map(|k| {
            (lo(seed[1])..=(seed[1] + r).min(ny - 1)).flat_map(move |j| {
                (lo(seed[0])..=(seed[0] + r).min(nx - 1)).map(move |i| at(i, j, k))
            })
        })
        .collect();
    let m = p.multiplier as f64;
    let bounds = |s: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        s.into_iter()
            .map(|(mean, sd)| (mean - m * sd, mean + m * sd))
            .collect()
    };
    let seed_o = at(seed[0], seed[1], seed[2]);
    let mut mask = fill(
        channels,
        dims,
        seed_o,
        &bounds(stats(channels, box_voxels.iter().copied())),
    );
    for _ in 0..p.iterations {
        let region = mask
            .iter()
            .enumerate()
            .filter(|(_, &v)| v != 0)
            .map(|(o, _)| o);
        let next = fill(channels, dims, seed_o, &bounds(stats(channels, region)));
        if next == mask {
            break;
        }
        mask = next;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 12^3 volume: cube 2..6 of value 10, cube 8..11 of value 10 (not touching), background 0.
    fn two_cubes() -> (Vec<f32>, [usize; 3]) {
        let n = 12;
        let mut v = vec![0f32; n * n * n];
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    let a = (2..6).contains(&i) && (2..6).contains(&j) && (2..6).contains(&k);
                    let b = (8..11).contains(&i) && (8..11).contains(&j) && (8..11).contains(&k);
                    if a || b {
                        v[i + n * (j + n * k)] = 10.0;
                    }
                }
            }
        }
        (v, [n, n, n])
    }

    #[test]
    fn fills_exactly_the_seeded_cube() {
        let (v, d) = two_cubes();
        let m = confidence_connected(&[&v], d, [3, 3, 3], &ConfidenceParams::default());
        assert_eq!(m.iter().filter(|&&x| x != 0).count(), 64, "4^3 cube only");
        assert_eq!(m[3 + 12 * (3 + 12 * 3)], 1);
        assert_eq!(
            m[9 + 12 * (9 + 12 * 9)],
            0,
            "the other cube is not connected"
        );
    }

    #[test]
    fn statistics_are_recomputed_over_the_region() {
        // Seed at the cube's corner: its 3^3 box holds 8 voxels of 10 and 19 of 0 (mean 2.96,
        // sd 4.65), so the first interval admits both values and the fill takes all 1728 voxels.
        // Over those (91 of 10) the interval is 0.53 +- 5.6: the 10s drop out, the seed stays
        // (1728 - 91 + 1 = 1638), and the statistics of that region keep it.
        let (v, d) = two_cubes();
        let once = ConfidenceParams {
            iterations: 0,
            ..ConfidenceParams::default()
        };
        let m = confidence_connected(&[&v], d, [2, 2, 2], &once);
        assert_eq!(m.iter().filter(|&&x| x != 0).count(), 1728);
        let m = confidence_connected(&[&v], d, [2, 2, 2], &ConfidenceParams::default());
        assert_eq!(m.iter().filter(|&&x| x != 0).count(), 1638);
    }

    #[test]
    fn every_channel_must_agree() {
        let (v, d) = two_cubes();
        // The second channel splits the first cube along i (1 for i < 4, 5 beyond). From the
        // seed alone (radius 0: sd 0), only the cube voxels with i = 2, 3 match both channels.
        let w: Vec<f32> = (0..v.len())
            .map(|o| if o % 12 < 4 { 1.0 } else { 5.0 })
            .collect();
        let tight = ConfidenceParams {
            initial_radius: 0,
            ..ConfidenceParams::default()
        };
        let m = confidence_connected(&[&v, &w], d, [3, 3, 3], &tight);
        assert_eq!(m.iter().filter(|&&x| x != 0).count(), 2 * 4 * 4);
    }
}
