//! Surrogate network f: a 3D UNet with 4 down-sampling and 4 up-sampling blocks (paper 3.2),
//! giving one foreground logit per voxel. Down-sampling is max-pooling (as in the original UNet);
//! up-sampling is a learned 2x2x2 transposed convolution.

use burn::nn::conv::{Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use crate::blocks::{max_pool3d_2, DoubleConv};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UNetConfig {
    pub in_channels: usize,
    /// Channels at the five resolutions (full, /2, /4, /8, /16 = bottleneck).
    pub channels: [usize; 5],
}

impl Default for UNetConfig {
    fn default() -> Self {
        Self {
            in_channels: 3,
            channels: [8, 16, 32, 64, 96],
        }
    }
}

impl UNetConfig {
    /// Spatial sizes must divide by 16 (four halvings).
    pub const SIZE_MULTIPLE: usize = 16;

    pub fn validate(&self) -> Result<(), String> {
        if self.in_channels != 3 {
            return Err(format!(
                "unet.in_channels = {}: the surrogate reads T2W, ADC and HBV (3)",
                self.in_channels
            ));
        }
        if self.channels.iter().any(|&c| c == 0 || c > 1024) {
            return Err(format!(
                "unet.channels {:?}: each must be 1..=1024",
                self.channels
            ));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> UNet3d {
        let c = self.channels;
        let up = |from: usize, to: usize| {
            ConvTranspose3dConfig::new([from, to], [2, 2, 2])
                .with_stride([2, 2, 2])
                .init(device)
        };
        UNet3d {
            enc0: DoubleConv::new(self.in_channels, c[0], device),
            enc1: DoubleConv::new(c[0], c[1], device),
            enc2: DoubleConv::new(c[1], c[2], device),
            enc3: DoubleConv::new(c[2], c[3], device),
            bottom: DoubleConv::new(c[3], c[4], device),
            up3: up(c[4], c[3]),
            dec3: DoubleConv::new(2 * c[3], c[3], device),
            up2: up(c[3], c[2]),
            dec2: DoubleConv::new(2 * c[2], c[2], device),
            up1: up(c[2], c[1]),
            dec1: DoubleConv::new(2 * c[1], c[1], device),
            up0: up(c[1], c[0]),
            dec0: DoubleConv::new(2 * c[0], c[0], device),
            head: Conv3dConfig::new([c[0], 1], [1, 1, 1]).init(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct UNet3d {
    enc0: DoubleConv,
    enc1: DoubleConv,
    enc2: DoubleConv,
    enc3: DoubleConv,
    bottom: DoubleConv,
    up3: ConvTranspose3d,
    dec3: DoubleConv,
    up2: ConvTranspose3d,
    dec2: DoubleConv,
    up1: ConvTranspose3d,
    dec1: DoubleConv,
    up0: ConvTranspose3d,
    dec0: DoubleConv,
    head: Conv3d,
}

impl UNet3d {
    /// [B, C, D, H, W] normalised channels -> [B, 1, D, H, W] logits.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let e0 = self.enc0.forward(x);
        let e1 = self.enc1.forward(max_pool3d_2(e0.clone()));
        let e2 = self.enc2.forward(max_pool3d_2(e1.clone()));
        let e3 = self.enc3.forward(max_pool3d_2(e2.clone()));
        let b = self.bottom.forward(max_pool3d_2(e3.clone()));
        let d3 = self
            .dec3
            .forward(Tensor::cat(vec![self.up3.forward(b), e3], 1));
        let d2 = self
            .dec2
            .forward(Tensor::cat(vec![self.up2.forward(d3), e2], 1));
        let d1 = self
            .dec1
            .forward(Tensor::cat(vec![self.up1.forward(d2), e1], 1));
        let d0 = self
            .dec0
            .forward(Tensor::cat(vec![self.up0.forward(d1), e0], 1));
        self.head.forward(d0)
    }

    pub fn probability(&self, x: Tensor<5>) -> Tensor<5> {
        sigmoid(self.forward(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_matches_input_grid() {
        let device = Device::flex();
        let net = UNetConfig::default().init(&device);
        let x = Tensor::<5>::zeros([1, 3, 16, 32, 16], &device);
        assert_eq!(net.forward(x).dims(), [1, 1, 16, 32, 16]);
    }
}
