//! Weight files: Burn records (burnpack) stored in half precision to keep the bundled model
//! small; loading casts back to the module's f32.

use std::path::Path;

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::DType;

#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct WeightsError {
    pub path: std::path::PathBuf,
    pub message: String,
}

struct ToHalf;

impl ModuleMapper for ToHalf {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.cast(DType::F16))
    }
}

/// Saves `module` with every float parameter in f16 (via a temporary file and a rename).
pub fn save_half<M: Module>(module: M, path: &Path) -> Result<(), WeightsError> {
    let err = |message: String| WeightsError {
        path: path.to_path_buf(),
        message,
    };
    let tmp = path.with_extension("partial");
    module
        .map(&mut ToHalf)
        .into_record()
        .save(&tmp)
        .map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// Saves in full precision (training checkpoints, so a resumed run continues exactly).
pub fn save_full<M: Module>(module: M, path: &Path) -> Result<(), WeightsError> {
    let err = |message: String| WeightsError {
        path: path.to_path_buf(),
        message,
    };
    let tmp = path.with_extension("partial");
    module
        .into_record()
        .save(&tmp)
        .map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// Loads a record into `module` (of the same configuration), casting to the module's dtype.
pub fn load<M: Module>(module: M, path: &Path) -> Result<M, WeightsError> {
    let err = |message: String| WeightsError {
        path: path.to_path_buf(),
        message,
    };
    if !path.is_file() {
        return Err(err("weights file not found".into()));
    }
    let record = burn::store::ModuleRecord::load(path).map_err(|e| err(e.to_string()))?;
    module
        .try_load_record(record.cast_to_module_dtype())
        .map_err(|e| err(format!("does not fit this network configuration ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UNetConfig;

    #[test]
    fn half_precision_round_trip_keeps_outputs_close() {
        let device = Device::flex();
        let cfg = UNetConfig {
            in_channels: 3,
            channels: [4, 4, 8, 8, 8],
        };
        device.seed(3);
        let net = cfg.init(&device);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unet.bpk");
        save_half(net.clone(), &path).unwrap();
        let loaded = load(cfg.init(&device), &path).unwrap();
        let x = Tensor::<5>::random(
            [1, 3, 16, 16, 16],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let a: Vec<f32> = net
            .forward(x.clone())
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        let b: Vec<f32> = loaded
            .forward(x)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        let max_diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 0.05, "max diff {max_diff}");
        assert!(max_diff > 0.0, "weights were not stored in half precision");
        let wrong = UNetConfig {
            in_channels: 3,
            channels: [8, 8, 8, 8, 8],
        };
        assert!(load(wrong.init(&device), &path).is_err());
        assert!(load(cfg.init(&device), &dir.path().join("missing.bpk")).is_err());
    }
}
