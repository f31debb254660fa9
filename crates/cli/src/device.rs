//! Runtime choice of compute device. The CPU (Burn's flex backend) is always there; GPU backends
//! exist only in builds with the `vulkan` or `cuda` feature.

use anyhow::{bail, Result};
use burn::prelude::Device;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    Cpu,
    Vulkan,
    Cuda,
}

pub fn device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::flex()),
        DeviceChoice::Vulkan => vulkan(),
        DeviceChoice::Cuda => cuda(),
    }
}

#[cfg(feature = "vulkan")]
fn vulkan() -> Result<Device> {
    Ok(Device::vulkan(Default::default()))
}

#[cfg(not(feature = "vulkan"))]
fn vulkan() -> Result<Device> {
    bail!(
        "this build has no Vulkan backend; rebuild with `cargo build --release --features vulkan`"
    )
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device> {
    bail!("this build has no CUDA backend; rebuild with `--features cuda` (needs internet access at build time for the LLVM bundle)")
}
