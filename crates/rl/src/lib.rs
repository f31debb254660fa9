//! Promptable segmentation as an MDP (paper sec. 2.3) and its PPO training step.

pub mod env;
pub mod policy;
pub mod ppo;
pub mod scene;
pub mod state;

pub use env::{EntropyTerm, Env, EnvConfig, StepOutcome};
pub use policy::ActionMode;
pub use ppo::{gae, PpoConfig, PpoLearner, Transition, UpdateStats};
pub use scene::Scene;
