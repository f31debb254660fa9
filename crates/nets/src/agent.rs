//! Agent h: actor-critic sharing a 3D convolutional encoder (paper 3.2). Input: the three MR
//! channels and the current mask, [B, 4, D, H, W]. Each head is three fully connected layers; the
//! first two are followed by GroupNorm and LeakyReLU, the third gives the head's output.
//!
//! Action parameterisation (the paper says only "the next seed voxel"): a factorised categorical
//! over the voxel indices of the working grid, one distribution per axis (D + H + W logits). The
//! seed is (argmax or a sample of) each axis independently. This is exactly A = V, discrete, with
//! no continuous-to-voxel scaling to get wrong, and its log-probability and entropy are sums over
//! the three axes.

use burn::module::Param;
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;
use serde::{Deserialize, Serialize};

use crate::blocks::{groups_for, ConvNormAct, LEAKY_SLOPE};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// MR channels + 1 mask channel.
    pub in_channels: usize,
    /// Working-grid size [D, H, W] the agent acts on (seed indices range over it).
    pub grid: [usize; 3],
    /// The state is average-pooled by this factor per axis before the encoder: the policy looks
    /// at 2 mm but still picks 1 mm voxels. 1 = full resolution.
    pub input_pool: usize,
    /// Channels of the four stride-2 encoder convolutions.
    pub encoder: [usize; 4],
    /// Widths of the two hidden fully connected layers of each head.
    pub hidden: [usize; 2],
    /// Initial policy prior: when set, the actor's output layer starts with small weights and a
    /// bias equal to a discretised Gaussian log-density (this many voxels wide) about the grid
    /// centre on every axis, so the untrained policy proposes seeds near the user's click (the
    /// window is centred on it) instead of anywhere in the window. Training moves it freely.
    #[serde(default)]
    pub centre_prior_voxels: Option<f32>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            in_channels: 4,
            grid: [64, 64, 64],
            input_pool: 2,
            encoder: [16, 32, 64, 64],
            hidden: [128, 128],
            centre_prior_voxels: Some(4.0),
        }
    }
}

impl AgentConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.in_channels != 4 {
            return Err(format!(
                "agent.in_channels = {}: the state is 3 MR channels and the mask (4)",
                self.in_channels
            ));
        }
        if self
            .encoder
            .iter()
            .chain(&self.hidden)
            .any(|&c| c == 0 || c > 4096)
            || self.input_pool == 0
        {
            return Err(
                "agent.encoder, agent.hidden and agent.input_pool must be positive (at most 4096)"
                    .into(),
            );
        }
        if let Some(s) = self.centre_prior_voxels {
            if !(s.is_finite() && s > 0.0) {
                return Err(format!("agent.centre_prior_voxels = {s}: must be positive"));
            }
        }
        Ok(())
    }

    /// The encoder's input size [D, H, W].
    pub fn input_dims(&self) -> [usize; 3] {
        self.grid.map(|g| g / self.input_pool.max(1))
    }

    fn features(&self) -> usize {
        let cells: usize = self.input_dims().iter().map(|g| g.div_ceil(16)).product();
        self.encoder[3] * cells
    }

    pub fn action_logits(&self) -> usize {
        self.grid.iter().sum()
    }

    pub fn init(&self, device: &Device) -> AgentNet {
        let e = self.encoder;
        let head = |out: usize| Head::new(self.features(), self.hidden, out, device);
        let mut actor = head(self.action_logits());
        if let Some(sigma) = self.centre_prior_voxels {
            actor.out = centre_prior(actor.out, self.grid, sigma, device);
        }
        AgentNet {
            enc: vec![
                ConvNormAct::new(self.in_channels, e[0], 2, device),
                ConvNormAct::new(e[0], e[1], 2, device),
                ConvNormAct::new(e[1], e[2], 2, device),
                ConvNormAct::new(e[2], e[3], 2, device),
            ],
            actor,
            critic: head(1),
            grid: self.grid,
        }
    }
}

/// See [`AgentConfig::centre_prior_voxels`].
fn centre_prior(layer: Linear, grid: [usize; 3], sigma: f32, device: &Device) -> Linear {
    let mut bias = Vec::with_capacity(grid.iter().sum());
    for &n in &grid {
        let c = (n / 2) as f32;
        bias.extend((0..n).map(|i| -((i as f32 - c) / sigma).powi(2) / 2.0));
    }
    let len = bias.len();
    // New leaf parameters from host data: a parameter computed from another would stay tied to
    // its graph and break the second backward pass.
    let w = layer.weight.val();
    let shape = w.dims();
    let scaled: Vec<f32> = w
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 weights")
        .iter()
        .map(|v| v * 0.1)
        .collect();
    Linear {
        weight: Param::from_data(TensorData::new(scaled, shape), device),
        bias: Some(Param::from_data(TensorData::new(bias, [len]), device)),
    }
}

#[derive(Module, Debug)]
pub struct Head {
    fc1: Linear,
    norm1: GroupNorm,
    fc2: Linear,
    norm2: GroupNorm,
    out: Linear,
}

impl Head {
    fn new(input: usize, hidden: [usize; 2], out: usize, device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(input, hidden[0]).init(device),
            norm1: GroupNormConfig::new(groups_for(hidden[0]), hidden[0]).init(device),
            fc2: LinearConfig::new(hidden[0], hidden[1]).init(device),
            norm2: GroupNormConfig::new(groups_for(hidden[1]), hidden[1]).init(device),
            out: LinearConfig::new(hidden[1], out).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = leaky_relu(self.norm1.forward(self.fc1.forward(x)), LEAKY_SLOPE);
        let x = leaky_relu(self.norm2.forward(self.fc2.forward(x)), LEAKY_SLOPE);
        self.out.forward(x)
    }
}

#[derive(Module, Debug)]
pub struct AgentNet {
    enc: Vec<ConvNormAct>,
    actor: Head,
    critic: Head,
    #[module(skip)]
    grid: [usize; 3],
}

/// Policy logits per axis and the state value.
pub struct AgentOutput {
    /// [B, D], [B, H], [B, W] logits over seed index along each axis.
    pub logits: [Tensor<2>; 3],
    /// [B] value estimates.
    pub value: Tensor<1>,
}

impl AgentNet {
    pub fn grid(&self) -> [usize; 3] {
        self.grid
    }

    /// `state` is [B, 4, D/pool, H/pool, W/pool] (see [`AgentConfig::input_pool`]).
    pub fn forward(&self, state: Tensor<5>) -> AgentOutput {
        let mut x = state;
        for layer in &self.enc {
            x = layer.forward(x);
        }
        let [b, c, d, h, w] = x.dims();
        let features = x.reshape([b, c * d * h * w]);
        let logits = self.actor.forward(features.clone());
        let [gd, gh, _] = self.grid;
        let parts = logits.split_with_sizes(vec![gd, gh, self.grid[2]], 1);
        let mut it = parts.into_iter();
        let (ld, lh, lw) = (
            it.next().expect("3 parts"),
            it.next().expect("3 parts"),
            it.next().expect("3 parts"),
        );
        let value = self.critic.forward(features).reshape([b]);
        AgentOutput {
            logits: [ld, lh, lw],
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let device = Device::flex();
        let cfg = AgentConfig {
            grid: [16, 32, 48],
            ..AgentConfig::default()
        };
        let net = cfg.init(&device);
        let out = net.forward(Tensor::<5>::zeros([2, 4, 8, 16, 24], &device));
        assert_eq!(out.logits[0].dims(), [2, 16]);
        assert_eq!(out.logits[1].dims(), [2, 32]);
        assert_eq!(out.logits[2].dims(), [2, 48]);
        assert_eq!(out.value.dims(), [2]);
    }

    #[test]
    fn centre_prior_favours_the_click_and_trains_for_several_steps() {
        use burn::optim::{AdamConfig, GradientsParams};
        let device = Device::flex().autodiff();
        let cfg = AgentConfig {
            grid: [16, 16, 16],
            ..AgentConfig::default()
        };
        let mut net = cfg.init(&device);
        let mut optim = AdamConfig::new().init();
        let x = Tensor::<5>::zeros([1, 4, 8, 8, 8], &device);
        let first: Vec<f32> = net.forward(x.clone()).logits[0]
            .clone()
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        let peak = first
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        // The prior adds a Gaussian bias (sigma 4 voxels) to small random logits, so the peak
        // lies near the centre whatever the random initialisation; the bias itself peaks exactly.
        assert!(
            (6..=10).contains(&peak),
            "prior peaks near the grid centre, got {peak}"
        );
        let bias: Vec<f32> = net
            .actor
            .out
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        let centre = bias[..16]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(centre, 8, "bias peaks at the grid centre");
        assert!(
            (bias[4] - (bias[8] - 0.5)).abs() < 1e-6,
            "bias is -d^2/(2 sigma^2)"
        );
        // Two backward passes in a row must work (the prior's parameters are graph leaves).
        for _ in 0..2 {
            let loss = net.forward(x.clone()).value.mean();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(1e-3, net, grads);
        }
    }
}
