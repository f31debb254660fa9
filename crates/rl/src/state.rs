//! The agent's observation s_t = (x, y_t) as a network input: the three MR channels and the
//! current mask, average-pooled by the agent's `input_pool`, laid out [C, D, H, W] = [C, k, j, i].

use burn::prelude::*;

use crate::scene::Scene;

/// Average-pools `values` (i fastest) by `pool` per axis; dims must divide by `pool`.
fn pool_into(out: &mut Vec<f32>, values: impl Fn(usize) -> f32, dims: [usize; 3], pool: usize) {
    let pd = dims.map(|d| d / pool);
    let scale = 1.0 / (pool * pool * pool) as f32;
    for k in 0..pd[2] {
        for j in 0..pd[1] {
            for i in 0..pd[0] {
                let mut s = 0.0;
                for dk in 0..pool {
                    for dj in 0..pool {
                        let row = dims[0] * ((j * pool + dj) + dims[1] * (k * pool + dk));
                        for di in 0..pool {
                            s += values(row + i * pool + di);
                        }
                    }
                }
                out.push(s * scale);
            }
        }
    }
}

/// Appends one state (4 pooled channels) to `out`.
pub fn push_state(out: &mut Vec<f32>, scene: &Scene, mask: &[u8], pool: usize) {
    for c in &scene.channels {
        pool_into(out, |o| c[o], scene.dims, pool);
    }
    pool_into(out, |o| mask[o] as f32, scene.dims, pool);
}

/// A batch tensor [B, 4, D', H', W'] from (scene, mask) pairs.
pub fn state_batch(items: &[(&Scene, &[u8])], pool: usize, device: &Device) -> Tensor<5> {
    let dims = items[0].0.dims;
    let pd = dims.map(|d| d / pool);
    let mut data = Vec::with_capacity(items.len() * 4 * pd.iter().product::<usize>());
    for (scene, mask) in items {
        push_state(&mut data, scene, mask, pool);
    }
    Tensor::from_data(
        TensorData::new(data, [items.len(), 4, pd[2], pd[1], pd[0]]),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_averages_blocks() {
        let dims = [4, 2, 2];
        let values: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut out = Vec::new();
        pool_into(&mut out, |o| values[o], dims, 2);
        // Block 0 holds 0,1,4,5,8,9,12,13 (mean 6.5); block 1 the same plus 2 (mean 8.5).
        assert_eq!(out, vec![6.5, 8.5]);
    }
}
