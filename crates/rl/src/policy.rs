//! The factorised categorical policy over seed voxels (see `promptseg_nets::agent`): one
//! distribution per axis. Tensor-side pieces give PPO differentiable log-probabilities and
//! entropies; host-side pieces pick actions reproducibly from a seeded RNG.

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};
use rand::Rng;

/// How actions are chosen from the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionMode {
    /// The most probable index on each axis: deterministic, the default at inference.
    Greedy,
    /// A sample from the policy (training; optional at inference, seeded).
    Sample,
}

/// Axis order of the logits is [D, H, W] = [k, j, i]; actions are voxels [i, j, k].
pub fn voxel_of(kji: [usize; 3]) -> [usize; 3] {
    [kji[2], kji[1], kji[0]]
}

fn pick(probs: &[f32], mode: ActionMode, rng: &mut impl Rng) -> usize {
    match mode {
        ActionMode::Greedy => probs
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0),
        ActionMode::Sample => {
            let u: f32 = rng.random::<f32>() * probs.iter().sum::<f32>();
            let mut acc = 0.0;
            for (i, p) in probs.iter().enumerate() {
                acc += p;
                if u < acc {
                    return i;
                }
            }
            probs.len() - 1
        }
    }
}

/// Chosen actions (voxels) and their log-probabilities, one per batch row.
pub fn choose(
    logits: &[Tensor<2>; 3],
    mode: ActionMode,
    rng: &mut impl Rng,
) -> Vec<([usize; 3], f32)> {
    let probs: Vec<Vec<f32>> = logits
        .iter()
        .map(|l| {
            softmax(l.clone(), 1)
                .into_data()
                .convert::<f32>()
                .try_into_vec()
                .expect("f32 probabilities")
        })
        .collect();
    let sizes: Vec<usize> = logits.iter().map(|l| l.dims()[1]).collect();
    let batch = logits[0].dims()[0];
    (0..batch)
        .map(|b| {
            let mut kji = [0usize; 3];
            let mut logp = 0.0f32;
            for axis in 0..3 {
                let row = &probs[axis][b * sizes[axis]..(b + 1) * sizes[axis]];
                kji[axis] = pick(row, mode, rng);
                logp += row[kji[axis]].max(1e-30).ln();
            }
            (voxel_of(kji), logp)
        })
        .collect()
}

/// Sum over axes of log pi(a_axis | s) for voxels `actions` ([i, j, k]): [B].
pub fn log_prob(logits: &[Tensor<2>; 3], actions: &[[usize; 3]]) -> Tensor<1> {
    let device = logits[0].device();
    let b = actions.len();
    let mut total: Option<Tensor<2>> = None;
    for axis in 0..3 {
        // Logit axis 0 is k (voxel index 2), 1 is j, 2 is i.
        let idx: Vec<i64> = actions.iter().map(|a| a[2 - axis] as i64).collect();
        let idx = Tensor::<2, Int>::from_data(TensorData::new(idx, [b, 1]), &device);
        let lp = log_softmax(logits[axis].clone(), 1).gather(1, idx);
        total = Some(match total {
            Some(t) => t + lp,
            None => lp,
        });
    }
    total.expect("three axes").reshape([b])
}

/// Sum over axes of the categorical entropy: [B].
pub fn entropy(logits: &[Tensor<2>; 3]) -> Tensor<1> {
    let b = logits[0].dims()[0];
    let mut total: Option<Tensor<2>> = None;
    for l in logits {
        let lp = log_softmax(l.clone(), 1);
        let h = (lp.clone().exp() * lp).sum_dim(1).neg();
        total = Some(match total {
            Some(t) => t + h,
            None => h,
        });
    }
    total.expect("three axes").reshape([b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn uniform_logits_give_known_entropy_and_log_prob() {
        let device = Device::flex();
        let l = |n: usize| Tensor::<2>::zeros([2, n], &device);
        let logits = [l(4), l(8), l(16)];
        let h: Vec<f32> = entropy(&logits)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        let want = (4.0f32).ln() + (8.0f32).ln() + (16.0f32).ln();
        assert!((h[0] - want).abs() < 1e-5 && (h[1] - want).abs() < 1e-5);
        let lp: Vec<f32> = log_prob(&logits, &[[1, 2, 3], [15, 7, 0]])
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        assert!((lp[0] + want).abs() < 1e-5);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let picks = choose(&logits, ActionMode::Sample, &mut rng);
        for (v, logp) in picks {
            assert!(v[0] < 16 && v[1] < 8 && v[2] < 4);
            assert!((logp + want).abs() < 1e-4);
        }
    }

    #[test]
    fn greedy_picks_the_peak_of_each_axis() {
        let device = Device::flex();
        let peak = |n: usize, at: usize| {
            let mut v = vec![0.0f32; n];
            v[at] = 5.0;
            Tensor::<2>::from_data(TensorData::new(v, [1, n]), &device)
        };
        // D (k) peak at 1, H (j) at 2, W (i) at 3.
        let logits = [peak(4, 1), peak(4, 2), peak(4, 3)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        assert_eq!(
            choose(&logits, ActionMode::Greedy, &mut rng)[0].0,
            [3, 2, 1]
        );
    }
}
