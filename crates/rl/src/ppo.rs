//! Proximal policy optimisation (Schulman et al. 2017) with a clipped objective and GAE, as the
//! paper trains its agent (supplement table 4 gives the hyper-parameters used by `paper`).
//!
//! The rollout stores no observations: every state is a mask g(x, seed) plus the scene's fixed
//! channels, so a transition keeps only the seed that produced its state, and minibatches
//! re-grow masks on demand. Memory is O(transitions), not O(transitions x voxels).

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use promptseg_nets::AgentNet;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::policy::{entropy, log_prob};
use crate::scene::Scene;
use crate::state::state_batch;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    pub learning_rate: f64,
    pub gamma: f32,
    pub gae_lambda: f32,
    pub clip_epsilon: f32,
    pub entropy_coef: f32,
    pub value_coef: f32,
    /// Passes over each rollout.
    pub epochs: usize,
    pub minibatch: usize,
    /// Environment steps collected per update.
    pub rollout_steps: usize,
    pub max_grad_norm: f32,
}

impl Default for PpoConfig {
    /// Supplement table 4 where it speaks (lr, gamma, lambda, clip, entropy coefficient, batch
    /// 128, 512 steps per rollout); common PPO defaults elsewhere (value coefficient 0.5,
    /// 4 epochs, gradient norm 0.5).
    fn default() -> Self {
        Self {
            learning_rate: 1e-4,
            gamma: 0.99,
            gae_lambda: 0.95,
            clip_epsilon: 0.2,
            entropy_coef: 0.01,
            value_coef: 0.5,
            epochs: 4,
            minibatch: 128,
            rollout_steps: 512,
            max_grad_norm: 0.5,
        }
    }
}

impl PpoConfig {
    pub fn validate(&self) -> Result<(), String> {
        let unit = |v: f32, name: &str| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("ppo.{name} = {v}: must be in [0, 1]"))
            }
        };
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(format!(
                "ppo.learning_rate = {}: must be positive",
                self.learning_rate
            ));
        }
        unit(self.gamma, "gamma")?;
        unit(self.gae_lambda, "gae_lambda")?;
        if !(self.clip_epsilon > 0.0 && self.clip_epsilon < 1.0) {
            return Err(format!(
                "ppo.clip_epsilon = {}: must be in (0, 1)",
                self.clip_epsilon
            ));
        }
        for (v, name) in [
            (self.entropy_coef, "entropy_coef"),
            (self.value_coef, "value_coef"),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("ppo.{name} = {v}: must be >= 0"));
            }
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm > 0.0) {
            return Err(format!(
                "ppo.max_grad_norm = {}: must be positive",
                self.max_grad_norm
            ));
        }
        if self.epochs == 0 || self.minibatch == 0 || self.rollout_steps == 0 {
            return Err("ppo.epochs, minibatch and rollout_steps must be at least 1".into());
        }
        Ok(())
    }
}

/// One environment step, stored compactly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub scene: usize,
    /// Seed whose growth is the state's mask y_t.
    pub state_seed: [usize; 3],
    pub action: [usize; 3],
    pub logp: f32,
    pub value: f32,
    pub reward: f32,
    /// y_{t+1} == y_t: nothing follows.
    pub terminal: bool,
    /// Set when the episode was cut here (horizon or end of rollout): V(s_{t+1}).
    pub bootstrap: Option<f32>,
}

/// Generalised advantage estimates and returns. An episode ends at a transition that is
/// terminal (next value 0) or carries a bootstrap (next value = the bootstrap); otherwise the
/// next transition in the slice continues the same episode.
pub fn gae(ts: &[Transition], gamma: f32, lambda: f32) -> (Vec<f32>, Vec<f32>) {
    let n = ts.len();
    let mut adv = vec![0.0; n];
    let mut next_adv = 0.0;
    let mut next_value = 0.0;
    for t in (0..n).rev() {
        let tr = &ts[t];
        let (v_next, continues) = if tr.terminal {
            (0.0, false)
        } else if let Some(b) = tr.bootstrap {
            (b, false)
        } else {
            (next_value, true)
        };
        let delta = tr.reward + gamma * v_next - tr.value;
        let a = delta
            + if continues {
                gamma * lambda * next_adv
            } else {
                0.0
            };
        adv[t] = a;
        next_adv = a;
        next_value = tr.value;
    }
    let ret = adv.iter().zip(ts).map(|(a, t)| a + t.value).collect();
    (adv, ret)
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UpdateStats {
    pub policy_loss: f32,
    pub value_loss: f32,
    pub policy_entropy: f32,
    pub approx_kl: f32,
    pub clip_fraction: f32,
}

pub struct PpoLearner {
    pub agent: AgentNet,
    pub optim: ModuleOptimizer,
    pub cfg: PpoConfig,
    pub input_pool: usize,
}

fn scalar(t: Tensor<1>) -> f32 {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map(|v| v[0])
        .unwrap_or(f32::NAN)
}

impl PpoLearner {
    pub fn new(agent: AgentNet, cfg: PpoConfig, input_pool: usize) -> Self {
        let optim = AdamConfig::new()
            .with_grad_clipping(Some(GradientClippingConfig::Norm(cfg.max_grad_norm)))
            .init();
        Self {
            agent,
            optim,
            cfg,
            input_pool,
        }
    }

    /// PPO epochs over one rollout.
    pub fn update(
        &mut self,
        scenes: &[Scene],
        ts: &[Transition],
        rng: &mut impl Rng,
    ) -> UpdateStats {
        let (adv, ret) = gae(ts, self.cfg.gamma, self.cfg.gae_lambda);
        let mean = adv.iter().sum::<f32>() / adv.len() as f32;
        let sd = (adv.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / adv.len() as f32)
            .sqrt()
            .max(1e-6);
        let adv: Vec<f32> = adv.iter().map(|a| (a - mean) / sd).collect();
        let device = self
            .agent
            .devices()
            .into_iter()
            .next()
            .unwrap_or_else(Device::flex);
        let mut order: Vec<usize> = (0..ts.len()).collect();
        let mut stats = UpdateStats::default();
        let mut batches = 0.0f32;
        for _ in 0..self.cfg.epochs {
            order.shuffle(rng);
            for chunk in order.chunks(self.cfg.minibatch.max(1)) {
                let masks: Vec<Vec<u8>> = chunk
                    .iter()
                    .map(|&i| scenes[ts[i].scene].field.grow(ts[i].state_seed).mask)
                    .collect();
                let items: Vec<(&Scene, &[u8])> = chunk
                    .iter()
                    .zip(&masks)
                    .map(|(&i, m)| (&scenes[ts[i].scene], m.as_slice()))
                    .collect();
                let states = state_batch(&items, self.input_pool, &device);
                let actions: Vec<[usize; 3]> = chunk.iter().map(|&i| ts[i].action).collect();
                let b = chunk.len();
                let vec1 = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [b]), &device);
                let old_logp = vec1(chunk.iter().map(|&i| ts[i].logp).collect());
                let advantage = vec1(chunk.iter().map(|&i| adv[i]).collect());
                let returns = vec1(chunk.iter().map(|&i| ret[i]).collect());

                let out = self.agent.forward(states);
                let logp = log_prob(&out.logits, &actions);
                let log_ratio = logp - old_logp;
                let ratio = log_ratio.clone().exp();
                let eps = self.cfg.clip_epsilon;
                let surr1 = ratio.clone() * advantage.clone();
                let surr2 = ratio.clone().clamp(1.0 - eps, 1.0 + eps) * advantage;
                let policy_loss = surr1.min_pair(surr2).mean().neg();
                let value_loss = (out.value - returns).square().mean();
                let ent = entropy(&out.logits).mean();
                let loss = policy_loss.clone() + value_loss.clone().mul_scalar(self.cfg.value_coef)
                    - ent.clone().mul_scalar(self.cfg.entropy_coef);

                let grads = GradientsParams::from_grads(loss.backward(), &self.agent);
                self.agent = self
                    .optim
                    .step(self.cfg.learning_rate, self.agent.clone(), grads);

                let lr_d = log_ratio.detach();
                stats.approx_kl += scalar(((lr_d.clone().exp() - 1.0) - lr_d.clone()).mean());
                stats.clip_fraction +=
                    scalar((lr_d.exp() - 1.0).abs().greater_elem(eps).float().mean());
                stats.policy_loss += scalar(policy_loss.detach());
                stats.value_loss += scalar(value_loss.detach());
                stats.policy_entropy += scalar(ent.detach());
                batches += 1.0;
            }
        }
        let n = batches.max(1.0);
        UpdateStats {
            policy_loss: stats.policy_loss / n,
            value_loss: stats.value_loss / n,
            policy_entropy: stats.policy_entropy / n,
            approx_kl: stats.approx_kl / n,
            clip_fraction: stats.clip_fraction / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(reward: f32, value: f32, terminal: bool, bootstrap: Option<f32>) -> Transition {
        Transition {
            scene: 0,
            state_seed: [0; 3],
            action: [0; 3],
            logp: 0.0,
            value,
            reward,
            terminal,
            bootstrap,
        }
    }

    #[test]
    fn gae_matches_hand_computation() {
        let (g, l) = (0.9f32, 0.5f32);
        // Episode 1: two steps ending terminal; episode 2: one step cut with bootstrap 2.0.
        let ts = [
            tr(1.0, 0.5, false, None),
            tr(2.0, 1.0, true, None),
            tr(0.0, 1.0, false, Some(2.0)),
        ];
        let (adv, ret) = gae(&ts, g, l);
        let d1 = 2.0 - 1.0; // terminal: no next value
        let d0 = 1.0 + g * 1.0 - 0.5;
        let a0 = d0 + g * l * d1;
        let d2 = 0.0 + g * 2.0 - 1.0;
        assert!((adv[1] - d1).abs() < 1e-6);
        assert!((adv[0] - a0).abs() < 1e-6);
        assert!((adv[2] - d2).abs() < 1e-6);
        assert!((ret[0] - (a0 + 0.5)).abs() < 1e-6);
    }
}
