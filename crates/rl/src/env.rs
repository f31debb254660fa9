//! The MDP of paper sec. 2.3 on one scene. State: (x, y_t). Action: a seed voxel. Transition:
//! y_{t+1} = g(x, a_t), which REPLACES y_t. Reward (eq. 2):
//! R_t = L(y_t, gt) - L(y_{t+1}, gt) + beta * E_{v in y_{t+1}}[y_e(v)], L = Dice loss.
//! The episode terminates when y_{t+1} == y_t and is truncated after T steps.

use promptseg_grow::Grown;
use promptseg_metrics::dice_loss;
use serde::{Deserialize, Serialize};

use crate::scene::Scene;

/// Which voxels the entropy term of the reward averages over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntropyTerm {
    /// Every voxel of y_{t+1}, seed included: eq. 2 as printed. Grown voxels all have entropy
    /// < τe, but the seed may have any entropy, so a seed on an uncertain voxel from which nothing
    /// grows earns up to beta * ln 2 = 0.55 per step, more than a whole episode's Dice gain can
    /// be worth: the optimum under this reward is hopping between one-voxel masks.
    Mask,
    /// The grown voxels only (seed excluded; 0 when nothing grew). Default: identical to `Mask`
    /// for any real region (they differ by one voxel in the mean) but without the one-voxel
    /// exploit, so the term rewards what the paper intends, regions reaching into uncertain,
    /// near-threshold tissue.
    Grown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    /// beta of eq. 2 (paper: 0.8; 0 = the "no entropy reward" ablation).
    pub beta: f32,
    /// T: horizon (agent steps after the prompt). The paper does not state it.
    pub max_steps: usize,
    pub entropy_term: EntropyTerm,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            beta: 0.8,
            max_steps: 8,
            entropy_term: EntropyTerm::Grown,
        }
    }
}

impl EnvConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(format!("env.beta = {}: must be a number >= 0", self.beta));
        }
        if !(1..=1000).contains(&self.max_steps) {
            return Err(format!(
                "env.max_steps (T) = {}: must be 1..=1000",
                self.max_steps
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    /// R_t; 0 when the scene has no ground truth (inference).
    pub reward: f32,
    /// y_{t+1} == y_t: the episode ends (no bootstrap).
    pub terminal: bool,
    /// t + 1 == T: the episode is cut (bootstrap from V(s_{t+1})).
    pub truncated: bool,
}

pub struct Env<'a> {
    pub scene: &'a Scene,
    pub cfg: EnvConfig,
    pub mask: Grown,
    /// The seed that produced the current mask.
    pub seed: [usize; 3],
    pub t: usize,
    pub seeds: Vec<[usize; 3]>,
    loss: f64,
}

impl<'a> Env<'a> {
    /// y_0 = g(x, v_0) from the prompt `v0`.
    pub fn reset(scene: &'a Scene, cfg: EnvConfig, v0: [usize; 3]) -> Self {
        let mask = scene.field.grow(v0);
        let loss = scene
            .truth
            .as_ref()
            .map(|t| dice_loss(&mask.mask, t))
            .unwrap_or(0.0);
        Self {
            scene,
            cfg,
            mask,
            seed: v0,
            t: 0,
            seeds: vec![v0],
            loss,
        }
    }

    fn entropy_term(&self, grown: &Grown, seed: [usize; 3]) -> f32 {
        let field = &self.scene.field;
        match self.cfg.entropy_term {
            EntropyTerm::Mask => field.mean_entropy(&grown.mask),
            EntropyTerm::Grown => {
                if grown.voxels <= 1 {
                    0.0
                } else {
                    let total = field.mean_entropy(&grown.mask) as f64 * grown.voxels as f64;
                    let seed_e = field.entropy[self.scene.offset(seed)] as f64;
                    ((total - seed_e) / (grown.voxels - 1) as f64) as f32
                }
            }
        }
    }

    pub fn step(&mut self, action: [usize; 3]) -> StepOutcome {
        let next = self.scene.field.grow(action);
        let unchanged = next.mask == self.mask.mask;
        let next_loss = self
            .scene
            .truth
            .as_ref()
            .map(|t| dice_loss(&next.mask, t))
            .unwrap_or(0.0);
        let reward = if self.scene.truth.is_some() {
            (self.loss - next_loss) as f32 + self.cfg.beta * self.entropy_term(&next, action)
        } else {
            0.0
        };
        self.loss = next_loss;
        self.mask = next;
        self.seed = action;
        self.seeds.push(action);
        self.t += 1;
        StepOutcome {
            reward,
            terminal: unchanged,
            truncated: !unchanged && self.t >= self.cfg.max_steps,
        }
    }

    pub fn dice_loss(&self) -> f64 {
        self.loss
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptseg_grow::{GrowField, GrowParams};

    /// 20^3 grid: eligible cube 4..12 (per axis) of low entropy, one uncertain voxel far away.
    fn scene() -> Scene {
        let dims = [20, 20, 20];
        let n = 8000;
        let img = vec![0.0f32; n];
        let mut prob = vec![0.0f32; n];
        let mut truth = vec![0u8; n];
        let at = |i: usize, j: usize, k: usize| i + 20 * (j + 20 * k);
        for k in 0..20 {
            for j in 0..20 {
                for i in 0..20 {
                    let inside =
                        (4..12).contains(&i) && (4..12).contains(&j) && (4..12).contains(&k);
                    prob[at(i, j, k)] = if inside { 0.99 } else { 0.5 };
                    truth[at(i, j, k)] = inside as u8;
                }
            }
        }
        let field = GrowField::new(&[&img], &prob, dims, GrowParams::default());
        Scene {
            dims,
            channels: [img.clone(), img.clone(), img],
            field,
            truth: Some(truth),
            prompt: [4, 4, 4],
        }
    }

    #[test]
    fn reward_is_dice_gain_plus_entropy_and_masks_replace() {
        let s = scene();
        let cfg = EnvConfig::default();
        // Prompt on an uncertain voxel: y0 is the seed alone, Dice ~ 0.
        let mut env = Env::reset(&s, cfg.clone(), [15, 15, 15]);
        assert_eq!(env.mask.voxels, 1);
        let l0 = env.dice_loss();
        assert!((l0 - 1.0).abs() < 1e-12);
        // Seed inside the cube: the whole cube grows, Dice 1, loss 0.
        let out = env.step([8, 8, 8]);
        assert_eq!(env.mask.voxels, 512);
        let e = promptseg_grow::binary_entropy(0.99);
        assert!(
            (out.reward - (1.0 + 0.8 * e)).abs() < 1e-5,
            "reward {}",
            out.reward
        );
        assert!(!out.terminal);
        // Same region again: unchanged -> terminal, Dice gain 0.
        let out = env.step([5, 5, 5]);
        assert!(out.terminal);
        assert!((out.reward - 0.8 * e).abs() < 1e-5);
        // Back to an uncertain voxel: the mask is replaced, not accumulated.
        let out = env.step([16, 2, 2]);
        assert_eq!(env.mask.voxels, 1);
        assert!(
            (out.reward + 1.0).abs() < 1e-5,
            "Grown term is 0 for a lone seed: {}",
            out.reward
        );
    }

    #[test]
    fn paper_term_rewards_a_lone_uncertain_seed() {
        let s = scene();
        let cfg = EnvConfig {
            entropy_term: EntropyTerm::Mask,
            ..EnvConfig::default()
        };
        let mut env = Env::reset(&s, cfg, [15, 15, 15]);
        let out = env.step([16, 16, 16]);
        assert!((out.reward - 0.8 * std::f32::consts::LN_2).abs() < 1e-5);
    }

    #[test]
    fn truncation_after_t_steps() {
        let s = scene();
        let cfg = EnvConfig {
            max_steps: 2,
            ..EnvConfig::default()
        };
        let mut env = Env::reset(&s, cfg, [8, 8, 8]);
        assert!(!env.step([15, 15, 15]).truncated);
        let out = env.step([8, 8, 8]);
        assert!(out.truncated && !out.terminal);
    }
}
