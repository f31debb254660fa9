//! Building blocks the 3D networks share. Burn 0.22 has no 3D max-pool, so it is composed from a
//! 2D max-pool over (H, W) and a max over depth pairs.

use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, PaddingConfig3d};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

/// LeakyReLU slope used everywhere (PyTorch's default).
pub const LEAKY_SLOPE: f64 = 0.01;

/// Groups for GroupNorm: 8 when the channels allow it, fewer for narrow layers.
pub fn groups_for(channels: usize) -> usize {
    [8, 4, 2, 1]
        .into_iter()
        .find(|g| channels.is_multiple_of(*g) && channels / g >= 2)
        .unwrap_or(1)
}

/// conv(3^3) -> GroupNorm -> LeakyReLU.
#[derive(Module, Debug)]
pub struct ConvNormAct {
    conv: Conv3d,
    norm: GroupNorm,
}

impl ConvNormAct {
    pub fn new(cin: usize, cout: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv: Conv3dConfig::new([cin, cout], [3, 3, 3])
                .with_stride([stride; 3])
                .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                .init(device),
            norm: GroupNormConfig::new(groups_for(cout), cout).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        leaky_relu(self.norm.forward(self.conv.forward(x)), LEAKY_SLOPE)
    }
}

/// Two ConvNormAct at stride 1: the UNet's per-level block.
#[derive(Module, Debug)]
pub struct DoubleConv {
    a: ConvNormAct,
    b: ConvNormAct,
}

impl DoubleConv {
    pub fn new(cin: usize, cout: usize, device: &Device) -> Self {
        Self {
            a: ConvNormAct::new(cin, cout, 1, device),
            b: ConvNormAct::new(cout, cout, 1, device),
        }
    }

    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.b.forward(self.a.forward(x))
    }
}

/// 2x2x2 max-pool with stride 2 on [B, C, D, H, W] (all of D, H, W even).
pub fn max_pool3d_2(x: Tensor<5>) -> Tensor<5> {
    let [b, c, d, h, w] = x.dims();
    let planes = x.reshape([b, c * d, h, w]);
    let pooled = max_pool2d(planes, MaxPoolOptions::new([2, 2]));
    let (h2, w2) = (h / 2, w / 2);
    pooled
        .reshape([b, c, d / 2, 2, h2 * w2])
        .max_dim(3)
        .reshape([b, c, d / 2, h2, w2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool3d_takes_the_max_of_each_2x2x2_cell() {
        let device = Device::flex();
        // 1 x 1 x 4 x 4 x 4 with values 0..64: the max of each cell is its far corner.
        let data: Vec<f32> = (0..64).map(|v| v as f32).collect();
        let x = Tensor::<5>::from_data(TensorData::new(data, [1, 1, 4, 4, 4]), &device);
        let y = max_pool3d_2(x);
        assert_eq!(y.dims(), [1, 1, 2, 2, 2]);
        let v: Vec<f32> = y.into_data().try_to_vec().unwrap();
        // Cell (dz, dy, dx) max = (2dz+1)*16 + (2dy+1)*4 + (2dx+1).
        let expect: Vec<f32> = (0..8)
            .map(|c| {
                let (dz, dy, dx) = (c / 4, (c / 2) % 2, c % 2);
                ((2 * dz + 1) * 16 + (2 * dy + 1) * 4 + 2 * dx + 1) as f32
            })
            .collect();
        assert_eq!(v, expect);
    }
}
