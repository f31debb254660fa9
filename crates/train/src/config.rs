//! A training preset: the pipeline and network shapes (which become the model's `model.toml`)
//! plus the settings of both training stages. `presets/cpu.toml` and `presets/paper.toml`.

use std::path::Path;

use promptseg_infer::{ModelConfig, Pipeline, Provenance};
use promptseg_nets::{AgentConfig, UNetConfig};
use promptseg_rl::PpoConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurrogateTraining {
    pub steps: usize,
    pub batch: usize,
    /// Training window [i, j, k] voxels at the pipeline's spacing (the UNet is fully
    /// convolutional, so it may be smaller than the inference window).
    pub patch: [usize; 3],
    pub learning_rate: f64,
    /// Cosine annealing floor.
    pub learning_rate_min: f64,
    /// Fraction of windows centred near a lesion voxel (the rest: gland or image centre region).
    pub lesion_fraction: f32,
    /// Uniform jitter (mm) of the window centre around the sampled voxel.
    pub jitter_mm: f64,
    /// Augmentation: random in-plane rotation range (degrees) and left-right flips, applied to
    /// the sampling grid so all channels and the label stay registered.
    pub rotate_degrees: f64,
    pub flip: bool,
    /// Per-channel intensity scale (1 +- s) and shift (+- t) after normalisation.
    pub intensity_scale: f32,
    pub intensity_shift: f32,
    /// Steps between validations ("epoch").
    pub validate_every: usize,
    /// Steps between resumable checkpoints.
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl SurrogateTraining {
    pub fn validate(&self) -> Result<(), String> {
        let m = UNetConfig::SIZE_MULTIPLE;
        if self.steps == 0 || !(1..=64).contains(&self.batch) {
            return Err(format!(
                "surrogate_training: steps must be >= 1 and batch 1..=64 (got {}, {})",
                self.steps, self.batch
            ));
        }
        if self.patch.iter().any(|&s| s == 0 || s % m != 0 || s > 256) {
            return Err(format!(
                "surrogate_training.patch {:?}: multiples of {m}, at most 256",
                self.patch
            ));
        }
        let (lr, lo) = (self.learning_rate, self.learning_rate_min);
        if !(lr.is_finite() && lr > 0.0 && lo.is_finite() && lo >= 0.0 && lo <= lr) {
            return Err(format!("surrogate_training: need 0 <= learning_rate_min ({lo}) <= learning_rate ({lr}), finite"));
        }
        if !(0.0..=1.0).contains(&self.lesion_fraction) {
            return Err(format!(
                "surrogate_training.lesion_fraction = {}: must be in [0, 1]",
                self.lesion_fraction
            ));
        }
        let nonneg = [
            (self.jitter_mm, "jitter_mm"),
            (self.rotate_degrees, "rotate_degrees"),
        ];
        for (v, name) in nonneg {
            if !(v.is_finite() && (0.0..=180.0).contains(&v)) {
                return Err(format!(
                    "surrogate_training.{name} = {v}: must be in [0, 180]"
                ));
            }
        }
        if !((0.0..1.0).contains(&self.intensity_scale)
            && self.intensity_shift.is_finite()
            && self.intensity_shift >= 0.0)
        {
            return Err(
                "surrogate_training: intensity_scale must be in [0, 1) and intensity_shift >= 0"
                    .into(),
            );
        }
        if self.validate_every == 0 || self.checkpoint_every == 0 {
            return Err(
                "surrogate_training: validate_every and checkpoint_every must be at least 1".into(),
            );
        }
        Ok(())
    }
}

impl Default for SurrogateTraining {
    fn default() -> Self {
        Self {
            steps: 600,
            batch: 2,
            patch: [48, 48, 48],
            learning_rate: 1e-3,
            learning_rate_min: 1e-6,
            lesion_fraction: 0.7,
            jitter_mm: 12.0,
            rotate_degrees: 10.0,
            flip: true,
            intensity_scale: 0.1,
            intensity_shift: 0.1,
            validate_every: 50,
            checkpoint_every: 50,
            seed: 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentTraining {
    /// PPO iterations (each collects `ppo.rollout_steps` environment steps).
    pub iterations: usize,
    /// Working windows (scenes) pre-computed per training case, each around its own prompt.
    pub windows_per_case: usize,
    /// Environments stepped together (one batched agent forward per step).
    pub envs: usize,
    pub ppo: PpoConfig,
    /// Ablation "no user prompt": episodes start from a heuristic seed (the window's most
    /// confident surrogate voxel) instead of the sampled prompt.
    pub heuristic_start: bool,
    /// Iterations between resumable checkpoints.
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl AgentTraining {
    pub fn validate(&self) -> Result<(), String> {
        if self.iterations == 0
            || self.windows_per_case == 0
            || !(1..=256).contains(&self.envs)
            || self.checkpoint_every == 0
        {
            return Err("agent_training: iterations, windows_per_case and checkpoint_every must be >= 1, envs 1..=256".into());
        }
        self.ppo.validate()
    }
}

impl Default for AgentTraining {
    fn default() -> Self {
        Self {
            iterations: 30,
            windows_per_case: 8,
            envs: 8,
            ppo: PpoConfig {
                minibatch: 32,
                rollout_steps: 128,
                ..PpoConfig::default()
            },
            heuristic_start: false,
            checkpoint_every: 5,
            seed: 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub pipeline: Pipeline,
    pub unet: UNetConfig,
    pub agent: AgentConfig,
    #[serde(default)]
    pub surrogate_training: SurrogateTraining,
    #[serde(default)]
    pub agent_training: AgentTraining,
}

impl TrainConfig {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let cfg: TrainConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        cfg.pipeline
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if cfg.agent.grid != cfg.pipeline.agent_grid() {
            return Err(format!(
                "{}: agent.grid {:?} must be the working grid in [D, H, W] order {:?}",
                path.display(),
                cfg.agent.grid,
                cfg.pipeline.agent_grid()
            ));
        }
        let m = UNetConfig::SIZE_MULTIPLE;
        if cfg
            .surrogate_training
            .patch
            .iter()
            .any(|&s| s == 0 || s % m != 0)
        {
            return Err(format!(
                "{}: surrogate_training.patch must be multiples of {m}",
                path.display()
            ));
        }
        if cfg
            .pipeline
            .grid
            .size
            .iter()
            .any(|&s| s % cfg.agent.input_pool.max(1) != 0)
        {
            return Err(format!(
                "{}: grid size must divide by agent.input_pool",
                path.display()
            ));
        }
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.model_config(Provenance::default()).validate()?;
        self.surrogate_training.validate()?;
        self.agent_training.validate()
    }

    pub fn model_config(&self, provenance: Provenance) -> ModelConfig {
        ModelConfig {
            pipeline: self.pipeline.clone(),
            unet: self.unet.clone(),
            agent: self.agent.clone(),
            provenance,
        }
    }
}
