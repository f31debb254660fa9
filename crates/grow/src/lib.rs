//! Region growing as the paper defines it (sec. 2.2.1), on a working grid.
//!
//! [`GrowField`] precomputes, once per image and entropy map, which voxels may join a region;
//! every growth from a new seed (the agent's action) is then a cheap scan over that map.

pub mod confidence_connected;
pub mod entropy;
pub mod local_std;
pub mod region_grow;

pub use confidence_connected::{confidence_connected, ConfidenceParams};
pub use entropy::{binary_entropy, entropy_map};
pub use local_std::local_std;
pub use region_grow::{region_grow, Grown};

use serde::{Deserialize, Serialize};

/// How the per-channel local standard deviations combine into the one σ_x(v) of the paper,
/// which does not say (its images have several channels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StdCombine {
    /// σ = max over channels: a voxel is homogeneous only if it is in every channel. Default:
    /// a lesion edge visible in any one sequence stops growth.
    Max,
    /// σ = sqrt(mean over channels of σ_c^2), the RMS of the channel deviations.
    Rms,
    /// σ from the first channel (T2W) only.
    First,
}

/// Which confidently classified voxels may join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrowSide {
    /// Any voxel with entropy < τe, confidently lesion or confidently background: the rule as
    /// the paper writes it.
    Both,
    /// Only voxels the surrogate calls lesion (p >= 0.5) besides the entropy and std tests.
    Lesion,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrowParams {
    /// τσ: local-std threshold on normalised intensities (paper: 0.3).
    pub tau_sigma: f32,
    /// τe: entropy threshold in nats (paper: 0.1).
    pub tau_e: f32,
    /// Δv: half-size of the std window and of the candidate box, in voxels (paper: (3,3,3)).
    pub radius: [usize; 3],
    /// J: iteration cap. The paper does not give J; 64 lets a region span the 64-voxel working
    /// window from any seed (each iteration reaches `radius` voxels further).
    pub max_iterations: usize,
    pub std_combine: StdCombine,
    pub side: GrowSide,
    /// Temperature applied to the surrogate's logit before the entropy is taken
    /// (p' = sigmoid(logit(p) / T)); 1 = the surrogate's probabilities as they are.
    pub temperature: f32,
}

impl Default for GrowParams {
    fn default() -> Self {
        Self {
            tau_sigma: 0.3,
            tau_e: 0.1,
            radius: [3, 3, 3],
            max_iterations: 64,
            std_combine: StdCombine::Max,
            side: GrowSide::Both,
            temperature: 1.0,
        }
    }
}

impl GrowParams {
    /// Checks every value is usable (a config file may say anything).
    pub fn validate(&self) -> Result<(), String> {
        let pos = |v: f32, name: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("grow.{name} = {v} must be a positive number"))
            }
        };
        pos(self.tau_sigma, "tau_sigma")?;
        pos(self.tau_e, "tau_e")?;
        pos(self.temperature, "temperature")?;
        if self.radius.iter().any(|&r| r > 15) {
            return Err(format!("grow.radius {:?}: at most 15 voxels", self.radius));
        }
        if self.max_iterations == 0 {
            return Err("grow.max_iterations (J) must be at least 1".into());
        }
        Ok(())
    }

    /// Voxels in one neighbourhood window: the supplement's size threshold for calling a case
    /// negative (a final region smaller than one neighbourhood).
    pub fn neighbourhood_voxels(&self) -> usize {
        self.radius.iter().map(|r| 2 * r + 1).product()
    }
}

/// sigmoid(logit(p) / t), computed without forming the logit at p in {0, 1}.
pub fn tempered(p: f32, t: f32) -> f32 {
    let p = p.clamp(1e-7, 1.0 - 1e-7) as f64;
    let z = (p / (1.0 - p)).ln() / t as f64;
    (1.0 / (1.0 + (-z).exp())) as f32
}

/// The per-voxel inputs of the growth rule for one image on one grid.
#[derive(Clone, Debug)]
pub struct GrowField {
    pub dims: [usize; 3],
    /// σ_x(v), channels combined.
    pub sigma: Vec<f32>,
    /// y_e(v).
    pub entropy: Vec<f32>,
    pub eligible: Vec<bool>,
    pub params: GrowParams,
}

impl GrowField {
    /// `channels` are normalised intensities on a common grid; `probability` is the surrogate's.
    pub fn new(
        channels: &[&[f32]],
        probability: &[f32],
        dims: [usize; 3],
        params: GrowParams,
    ) -> Self {
        let n = dims.iter().product::<usize>();
        assert!(!channels.is_empty(), "at least one channel");
        assert_eq!(probability.len(), n, "probability map does not match dims");
        let use_channels: &[&[f32]] = match params.std_combine {
            StdCombine::First => &channels[..1],
            _ => channels,
        };
        let stds: Vec<Vec<f32>> = use_channels
            .iter()
            .map(|c| local_std(c, dims, params.radius))
            .collect();
        let sigma: Vec<f32> = (0..n)
            .map(|o| match params.std_combine {
                StdCombine::Max | StdCombine::First => {
                    stds.iter().map(|s| s[o]).fold(0.0, f32::max)
                }
                StdCombine::Rms => {
                    (stds.iter().map(|s| s[o] * s[o]).sum::<f32>() / stds.len() as f32).sqrt()
                }
            })
            .collect();
        let entropy = if params.temperature == 1.0 {
            entropy_map(probability)
        } else {
            probability
                .iter()
                .map(|&p| binary_entropy(tempered(p, params.temperature)))
                .collect()
        };
        let eligible = (0..n)
            .map(|o| {
                sigma[o] < params.tau_sigma
                    && entropy[o] < params.tau_e
                    && (params.side == GrowSide::Both || probability[o] >= 0.5)
            })
            .collect();
        Self {
            dims,
            sigma,
            entropy,
            eligible,
            params,
        }
    }

    pub fn grow(&self, seed: [usize; 3]) -> Grown {
        region_grow(
            &self.eligible,
            self.dims,
            seed,
            self.params.radius,
            self.params.max_iterations,
        )
    }

    /// Mean entropy over the voxels of `mask` (the paper's E_{v in y}[y_e(v)]); 0 for an empty mask.
    pub fn mean_entropy(&self, mask: &[u8]) -> f32 {
        let (mut s, mut n) = (0.0f64, 0usize);
        for (&m, &e) in mask.iter().zip(&self.entropy) {
            if m != 0 {
                s += e as f64;
                n += 1;
            }
        }
        if n == 0 {
            0.0
        } else {
            (s / n as f64) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 24^3 volume: a bright cube (value 2) on a dark background (0) with a confident
    /// probability inside the cube and an uncertain band around it.
    #[test]
    fn grows_a_homogeneous_confident_cube_and_stops_at_its_edge() {
        let dims = [24, 24, 24];
        let n = 24 * 24 * 24;
        let inside = |i: usize, j: usize, k: usize| {
            (6..18).contains(&i) && (6..18).contains(&j) && (6..18).contains(&k)
        };
        let mut img = vec![0.0f32; n];
        let mut prob = vec![0.0f32; n];
        for k in 0..24 {
            for j in 0..24 {
                for i in 0..24 {
                    let o = i + 24 * (j + 24 * k);
                    if inside(i, j, k) {
                        img[o] = 2.0;
                        prob[o] = 1.0;
                    }
                }
            }
        }
        let field = GrowField::new(&[&img], &prob, dims, GrowParams::default());
        let g = field.grow([12, 12, 12]);
        // A voxel's 7^3 window is pure cube only for indices 9..=14 on every axis (the cube spans
        // 6..=17); nearer the face it mixes 0 and 2 and σ >= 2*sqrt(6/49) > 0.3. Outside, pure
        // background windows start 7 voxels from the core, beyond the reach of radius 3: the grown
        // region is exactly the 6^3 core.
        let core = |i: usize, j: usize, k: usize| {
            (9..15).contains(&i) && (9..15).contains(&j) && (9..15).contains(&k)
        };
        for k in 0..24 {
            for j in 0..24 {
                for i in 0..24 {
                    assert_eq!(
                        g.mask[i + 24 * (j + 24 * k)],
                        core(i, j, k) as u8,
                        "voxel {i},{j},{k}"
                    );
                }
            }
        }
        assert_eq!(g.voxels, 216);
    }

    #[test]
    fn uncertain_voxels_are_excluded() {
        let dims = [10, 10, 10];
        let img = vec![1.0f32; 1000];
        let mut prob = vec![0.99f32; 1000];
        // A wall of p = 0.5 (entropy ln 2) at i = 5..8 blocks growth beyond i = 4.
        for k in 0..10 {
            for j in 0..10 {
                for i in 5..8 {
                    prob[i + 10 * (j + 10 * k)] = 0.5;
                }
            }
        }
        let field = GrowField::new(&[&img], &prob, dims, GrowParams::default());
        let g = field.grow([1, 5, 5]);
        assert_eq!(g.voxels, 5 * 100);
        let gm = field.mean_entropy(&g.mask);
        assert!((gm - binary_entropy(0.99)).abs() < 1e-6);
        assert_eq!(GrowParams::default().neighbourhood_voxels(), 343);
    }
}
