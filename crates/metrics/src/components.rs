//! Connected components of a binary mask (26-connectivity, as lesion masks are drawn slice by
//! slice and touch diagonally across slices).

/// Labels 1..=n for the components of `mask` (0 stays background); returns (labels, n).
pub fn connected_components(mask: &[u8], dims: [usize; 3]) -> (Vec<u32>, u32) {
    let n = dims[0] * dims[1] * dims[2];
    assert_eq!(mask.len(), n, "mask does not match dims");
    let mut labels = vec![0u32; n];
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..n {
        if mask[start] == 0 || labels[start] != 0 {
            continue;
        }
        next += 1;
        labels[start] = next;
        stack.push(start);
        while let Some(o) = stack.pop() {
            let (i, j, k) = (
                o % dims[0],
                (o / dims[0]) % dims[1],
                o / (dims[0] * dims[1]),
            );
            for kk in k.saturating_sub(1)..=(k + 1).min(dims[2] - 1) {
                for jj in j.saturating_sub(1)..=(j + 1).min(dims[1] - 1) {
                    for ii in i.saturating_sub(1)..=(i + 1).min(dims[0] - 1) {
                        let q = ii + dims[0] * (jj + dims[1] * kk);
                        if mask[q] != 0 && labels[q] == 0 {
                            labels[q] = next;
                            stack.push(q);
                        }
                    }
                }
            }
        }
    }
    (labels, next)
}

/// Voxel offsets of each component, in label order.
pub fn component_voxels(mask: &[u8], dims: [usize; 3]) -> Vec<Vec<usize>> {
    let (labels, n) = connected_components(mask, dims);
    let mut out = vec![Vec::new(); n as usize];
    for (o, &l) in labels.iter().enumerate() {
        if l > 0 {
            out[l as usize - 1].push(o);
        }
    }
    out
}

fn coords(o: usize, d: [usize; 3]) -> [usize; 3] {
    [o % d[0], (o / d[0]) % d[1], o / (d[0] * d[1])]
}

/// The voxel of a component (offsets into a grid of `dims`) nearest its centroid: where a user
/// would click for the "obvious" prompt, always inside the component even when it is not convex.
pub fn nearest_to_centroid(voxels: &[usize], dims: [usize; 3]) -> [usize; 3] {
    assert!(!voxels.is_empty(), "empty component");
    let mean = [0, 1, 2].map(|a| {
        voxels
            .iter()
            .map(|&o| coords(o, dims)[a] as f64)
            .sum::<f64>()
            / voxels.len() as f64
    });
    let dist = |o: usize| {
        (0..3)
            .map(|a| (coords(o, dims)[a] as f64 - mean[a]).powi(2))
            .sum::<f64>()
    };
    let best = voxels
        .iter()
        .copied()
        .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
        .expect("non-empty");
    coords(best, dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_neighbours_join_and_gaps_separate() {
        let dims = [5, 5, 2];
        let mut m = vec![0u8; 50];
        m[0] = 1; // (0,0,0)
        m[1 + 5 + 25] = 1; // (1,1,1): diagonal to the first
        m[4 + 5 * 4] = 1; // (4,4,0): separate
        let (labels, n) = connected_components(&m, dims);
        assert_eq!(n, 2);
        assert_eq!(labels[0], labels[31]);
        assert_ne!(labels[0], labels[24]);
        assert_eq!(component_voxels(&m, dims)[1], vec![24]);
    }

    #[test]
    fn centroid_click_stays_inside_a_ring() {
        // A ring in one slice: its centroid is the empty centre, the click must be on the ring.
        let dims = [5, 5, 1];
        let ring: Vec<usize> = (0..25)
            .filter(|&o| {
                o != 12
                    && (o % 5 == 1 || o % 5 == 3 || o / 5 == 1 || o / 5 == 3)
                    && ![0, 4, 20, 24].contains(&o)
            })
            .collect();
        let c = nearest_to_centroid(&ring, dims);
        assert!(ring.contains(&(c[0] + 5 * c[1])), "{c:?}");
    }
}
