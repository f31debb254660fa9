//! The paper's two networks, backend-independent Burn modules, and their weight files.

pub mod agent;
pub mod blocks;
pub mod unet;
pub mod weights;

pub use agent::{AgentConfig, AgentNet, AgentOutput};
pub use unet::{UNet3d, UNetConfig};
