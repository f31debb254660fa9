//! Local standard deviation over a box window in O(N) with summed-volume tables, independent of
//! the window size.

/// Inclusive prefix sums of `x` and `x^2` over a 3D grid, padded with a zero plane on each low
/// side so that box sums need no bounds checks. f64 keeps `E[x^2] - E[x]^2` from cancelling.
struct SummedVolume {
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    stride: [usize; 3],
}

impl SummedVolume {
    fn new(values: &[f32], dims: [usize; 3]) -> Self {
        let (px, py) = (dims[0] + 1, dims[1] + 1);
        let stride = [1, px, px * py];
        let n = px * py * (dims[2] + 1);
        let mut sum = vec![0.0; n];
        let mut sum_sq = vec![0.0; n];
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                let mut row = 0.0;
                let mut row_sq = 0.0;
                for i in 0..dims[0] {
                    let v = values[i + dims[0] * (j + dims[1] * k)] as f64;
                    row += v;
                    row_sq += v * v;
                    let o = (i + 1) + px * ((j + 1) + py * (k + 1));
                    // Add the plane below and the row behind, minus their overlap.
                    let below = o - stride[2];
                    let behind = o - stride[1];
                    let both = below - stride[1];
                    sum[o] = row + sum[behind] + sum[below] - sum[both];
                    sum_sq[o] = row_sq + sum_sq[behind] + sum_sq[below] - sum_sq[both];
                }
            }
        }
        Self {
            sum,
            sum_sq,
            stride,
        }
    }

    /// Sums over the half-open padded-index box [lo, hi).
    fn box_sums(&self, lo: [usize; 3], hi: [usize; 3]) -> (f64, f64) {
        let at = |i: usize, j: usize, k: usize| i + self.stride[1] * j + self.stride[2] * k;
        let corners = [
            (at(hi[0], hi[1], hi[2]), 1.0),
            (at(lo[0], hi[1], hi[2]), -1.0),
            (at(hi[0], lo[1], hi[2]), -1.0),
            (at(hi[0], hi[1], lo[2]), -1.0),
            (at(lo[0], lo[1], hi[2]), 1.0),
            (at(lo[0], hi[1], lo[2]), 1.0),
            (at(hi[0], lo[1], lo[2]), 1.0),
            (at(lo[0], lo[1], lo[2]), -1.0),
        ];
        let mut s = 0.0;
        let mut s2 = 0.0;
        for (o, sign) in corners {
            s += sign * self.sum[o];
            s2 += sign * self.sum_sq[o];
        }
        (s, s2)
    }
}

/// Population standard deviation of `values` over the window `v ± radius` around every voxel.
/// At the grid border the window is clipped to the voxels that exist.
pub fn local_std(values: &[f32], dims: [usize; 3], radius: [usize; 3]) -> Vec<f32> {
    assert_eq!(
        values.len(),
        dims[0] * dims[1] * dims[2],
        "values do not match dims"
    );
    let table = SummedVolume::new(values, dims);
    let mut out = Vec::with_capacity(values.len());
    for k in 0..dims[2] {
        let (k0, k1) = (
            k.saturating_sub(radius[2]),
            (k + radius[2] + 1).min(dims[2]),
        );
        for j in 0..dims[1] {
            let (j0, j1) = (
                j.saturating_sub(radius[1]),
                (j + radius[1] + 1).min(dims[1]),
            );
            for i in 0..dims[0] {
                let (i0, i1) = (
                    i.saturating_sub(radius[0]),
                    (i + radius[0] + 1).min(dims[0]),
                );
                let n = ((i1 - i0) * (j1 - j0) * (k1 - k0)) as f64;
                let (s, s2) = table.box_sums([i0, j0, k0], [i1, j1, k1]);
                let mean = s / n;
                out.push((s2 / n - mean * mean).max(0.0).sqrt() as f32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct evaluation of the same definition, for comparison.
    fn brute(values: &[f32], dims: [usize; 3], r: [usize; 3]) -> Vec<f32> {
        let mut out = vec![0.0; values.len()];
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let mut acc = Vec::new();
                    for kk in k.saturating_sub(r[2])..(k + r[2] + 1).min(dims[2]) {
                        for jj in j.saturating_sub(r[1])..(j + r[1] + 1).min(dims[1]) {
                            for ii in i.saturating_sub(r[0])..(i + r[0] + 1).min(dims[0]) {
                                acc.push(values[ii + dims[0] * (jj + dims[1] * kk)] as f64);
                            }
                        }
                    }
                    let m = acc.iter().sum::<f64>() / acc.len() as f64;
                    let var = acc.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / acc.len() as f64;
                    out[i + dims[0] * (j + dims[1] * k)] = var.sqrt() as f32;
                }
            }
        }
        out
    }

    #[test]
    fn matches_direct_evaluation() {
        let dims = [11, 9, 7];
        let mut state = 12345u64;
        let values: Vec<f32> = (0..dims.iter().product::<usize>())
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) as f32 / (1u64 << 31) as f32) * 4.0 - 2.0
            })
            .collect();
        for r in [[3, 3, 3], [1, 2, 0], [5, 5, 5]] {
            let fast = local_std(&values, dims, r);
            let slow = brute(&values, dims, r);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b} at radius {r:?}");
            }
        }
    }

    #[test]
    fn constant_is_zero_and_step_edge_is_known() {
        let dims = [10, 1, 1];
        let values: Vec<f32> = (0..10).map(|i| if i < 5 { 0.0 } else { 1.0 }).collect();
        let s = local_std(&values, dims, [1, 0, 0]);
        // Interior of each half: constant window.
        assert_eq!(s[1], 0.0);
        assert_eq!(s[8], 0.0);
        // Voxel 4 sees {0, 0, 1}: std = sqrt(2/9).
        assert!((s[4] - (2.0f32 / 9.0).sqrt()).abs() < 1e-6);
    }
}
