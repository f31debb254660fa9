//! A trained model on disk: `model.toml` (everything inference needs to reproduce the training
//! pipeline) beside `surrogate.bpk` and `agent.bpk`. Training runs write the same layout, so any
//! run directory is a model.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use promptseg_case::{Channels, GridSpec, Normalisation};
use promptseg_grow::GrowParams;
use promptseg_nets::{weights, AgentConfig, AgentNet, UNet3d, UNetConfig};
use promptseg_rl::EnvConfig;
use serde::{Deserialize, Serialize};

use crate::error::InferError;

/// The data pipeline shared by training and inference.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    #[serde(default)]
    pub channels: Channels,
    pub grid: GridSpec,
    #[serde(default)]
    pub normalisation: Normalisation,
    #[serde(default)]
    pub grow: GrowParams,
    #[serde(default)]
    pub env: EnvConfig,
}

impl Pipeline {
    pub fn validate(&self) -> Result<(), String> {
        self.grid.validate(UNetConfig::SIZE_MULTIPLE)?;
        self.normalisation.validate()?;
        self.grow.validate()?;
        self.env.validate()
    }

    /// The agent's action grid in tensor order [D, H, W].
    pub fn agent_grid(&self) -> [usize; 3] {
        [self.grid.size[2], self.grid.size[1], self.grid.size[0]]
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Case ids the weights saw in training (the demo says whether its case is among them).
    #[serde(default)]
    pub trained_on: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub pipeline: Pipeline,
    pub unet: UNetConfig,
    pub agent: AgentConfig,
    #[serde(default)]
    pub provenance: Provenance,
}

pub const CONFIG_FILE: &str = "model.toml";
pub const SURROGATE_FILE: &str = "surrogate.bpk";
pub const AGENT_FILE: &str = "agent.bpk";

impl ModelConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.pipeline.validate()?;
        self.unet.validate()?;
        self.agent.validate()?;
        if self.agent.grid != self.pipeline.agent_grid() {
            return Err(format!(
                "agent.grid {:?} must be the working grid in [D, H, W] order {:?}",
                self.agent.grid,
                self.pipeline.agent_grid()
            ));
        }
        if self
            .pipeline
            .grid
            .size
            .iter()
            .any(|&s| s % self.agent.input_pool != 0)
        {
            return Err("the grid size must divide by agent.input_pool".into());
        }
        Ok(())
    }

    pub fn read(dir: &Path) -> Result<Self, InferError> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| InferError::Model {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let cfg: ModelConfig = toml::from_str(&text).map_err(|e| InferError::Model {
            path: path.clone(),
            message: promptseg_case::toml_error(&text, &e),
        })?;
        cfg.pipeline
            .validate()
            .map_err(|message| InferError::Model { path, message })?;
        Ok(cfg)
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let text = toml::to_string_pretty(self).map_err(std::io::Error::other)?;
        let tmp = dir.join(format!("{CONFIG_FILE}.partial"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, dir.join(CONFIG_FILE))
    }
}

/// Loaded networks with their configuration.
pub struct Models {
    pub dir: PathBuf,
    pub config: ModelConfig,
    pub unet: UNet3d,
    /// Absent while a run has only finished `train surrogate`; the baselines still work.
    pub agent: Option<AgentNet>,
    pub device: Device,
}

impl Models {
    pub fn agent(&self) -> Result<&AgentNet, InferError> {
        self.agent.as_ref().ok_or_else(|| InferError::Model {
            path: self.dir.join(AGENT_FILE),
            message: "no agent weights in this model (run `promptseg train agent`), or choose --method grow|surrogate".into(),
        })
    }

    pub fn load(dir: &Path, device: &Device) -> Result<Self, InferError> {
        let config = ModelConfig::read(dir)?;
        let wrap = |e: weights::WeightsError| InferError::Model {
            path: e.path.clone(),
            message: e.message,
        };
        let unet =
            weights::load(config.unet.init(device), &dir.join(SURROGATE_FILE)).map_err(wrap)?;
        let agent_path = dir.join(AGENT_FILE);
        let agent = if agent_path.exists() {
            Some(weights::load(config.agent.init(device), &agent_path).map_err(wrap)?)
        } else {
            None
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            unet,
            agent,
            device: device.clone(),
        })
    }
}
