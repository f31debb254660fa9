//! The growth rule of paper sec. 2.2.1. Starting from the seed alone, every iteration visits the
//! not-yet-included voxels within `radius` (a box, Δv = (3,3,3) in the paper) of the voxels added
//! by the previous iteration, and includes those that are eligible (local std < τσ and entropy <
//! τe). Growth stops when an iteration adds nothing or after `max_iterations` iterations.
//!
//! Because candidates are the whole box around included voxels, the region can step over up to
//! `radius - 1` ineligible voxels; that is the paper's definition, kept as written.

/// Result of one growth.
#[derive(Clone, Debug, PartialEq)]
pub struct Grown {
    /// 1 inside the region, 0 elsewhere, on the grid the eligibility map was computed on.
    pub mask: Vec<u8>,
    pub voxels: usize,
    /// Iterations that added voxels.
    pub iterations: usize,
    /// True when growth stopped because the iteration cap was reached, not by convergence.
    pub capped: bool,
}

/// Grows a region from `seed` over a precomputed eligibility map.
pub fn region_grow(
    eligible: &[bool],
    dims: [usize; 3],
    seed: [usize; 3],
    radius: [usize; 3],
    max_iterations: usize,
) -> Grown {
    let n = dims[0] * dims[1] * dims[2];
    assert_eq!(eligible.len(), n, "eligibility map does not match dims");
    assert!(
        (0..3).all(|a| seed[a] < dims[a]),
        "seed {seed:?} outside grid {dims:?}"
    );
    let mut mask = vec![0u8; n];
    let at = |i: usize, j: usize, k: usize| i + dims[0] * (j + dims[1] * k);
    mask[at(seed[0], seed[1], seed[2])] = 1;
    let mut voxels = 1;
    let mut frontier = vec![seed];
    let mut next = Vec::new();
    let mut iterations = 0;
    while !frontier.is_empty() && iterations < max_iterations {
        next.clear();
        for &[i, j, k] in &frontier {
            let (i0, i1) = (
                i.saturating_sub(radius[0]),
                (i + radius[0]).min(dims[0] - 1),
            );
            let (j0, j1) = (
                j.saturating_sub(radius[1]),
                (j + radius[1]).min(dims[1] - 1),
            );
            let (k0, k1) = (
                k.saturating_sub(radius[2]),
                (k + radius[2]).min(dims[2] - 1),
            );
            for kk in k0..=k1 {
                for jj in j0..=j1 {
                    let row = at(0, jj, kk);
                    for ii in i0..=i1 {
                        let o = row + ii;
                        if mask[o] == 0 && eligible[o] {
                            mask[o] = 1;
                            next.push([ii, jj, kk]);
                        }
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        voxels += next.len();
        iterations += 1;
        std::mem::swap(&mut frontier, &mut next);
    }
    let capped = iterations == max_iterations
        && !frontier.is_empty()
        && frontier_can_grow(&mask, eligible, dims, &frontier, radius);
    Grown {
        mask,
        voxels,
        iterations,
        capped,
    }
}

fn frontier_can_grow(
    mask: &[u8],
    eligible: &[bool],
    dims: [usize; 3],
    frontier: &[[usize; 3]],
    radius: [usize; 3],
) -> bool {
    frontier.iter().any(|&[i, j, k]| {
        (k.saturating_sub(radius[2])..=(k + radius[2]).min(dims[2] - 1)).any(|kk| {
            (j.saturating_sub(radius[1])..=(j + radius[1]).min(dims[1] - 1)).any(|jj| {
                (i.saturating_sub(radius[0])..=(i + radius[0]).min(dims[0] - 1)).any(|ii| {
                    let o = ii + dims[0] * (jj + dims[1] * kk);
                    mask[o] == 0 && eligible[o]
                })
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(dims: [usize; 3], lo: [usize; 3], hi: [usize; 3]) -> Vec<bool> {
        let mut e = vec![false; dims.iter().product()];
        for k in lo[2]..hi[2] {
            for j in lo[1]..hi[1] {
                for i in lo[0]..hi[0] {
                    e[i + dims[0] * (j + dims[1] * k)] = true;
                }
            }
        }
        e
    }

    #[test]
    fn fills_an_eligible_box_exactly() {
        let dims = [20, 20, 20];
        let e = boxed(dims, [5, 6, 7], [12, 13, 15]);
        let g = region_grow(&e, dims, [8, 9, 10], [3, 3, 3], 100);
        assert_eq!(g.voxels, 7 * 7 * 8);
        assert_eq!(g.mask.iter().map(|&m| m as usize).sum::<usize>(), 7 * 7 * 8);
        assert!(!g.capped);
        // Box spans 7 voxels from the seed at most 4 away: two iterations cover it.
        assert_eq!(g.iterations, 2);
    }

    #[test]
    fn seed_alone_when_nothing_is_eligible() {
        let dims = [8, 8, 8];
        let e = vec![false; 512];
        let g = region_grow(&e, dims, [3, 3, 3], [3, 3, 3], 10);
        assert_eq!(g.voxels, 1);
        assert_eq!(g.mask[3 + 8 * (3 + 8 * 3)], 1);
        assert_eq!(g.iterations, 0);
    }

    #[test]
    fn jumps_gaps_narrower_than_the_radius_only() {
        // Two eligible slabs along i separated by a gap: a gap of 2 is crossed with radius 3
        // (candidates reach 3 voxels out), a gap of 3 is not.
        let dims = [30, 4, 4];
        for (gap, crosses) in [(2usize, true), (3, false)] {
            let mut e = boxed(dims, [0, 0, 0], [10, 4, 4]);
            let right = boxed(dims, [10 + gap, 0, 0], [30, 4, 4]);
            for (a, b) in e.iter_mut().zip(&right) {
                *a |= *b;
            }
            let g = region_grow(&e, dims, [2, 1, 1], [3, 3, 3], 100);
            let right_count = (10 + gap..30)
                .filter(|&i| g.mask[i + 30 * (1 + 4)] == 1)
                .count();
            assert_eq!(right_count > 0, crosses, "gap {gap}");
            let expected = if crosses { (30 - gap) * 16 } else { 10 * 16 };
            assert_eq!(g.voxels, expected, "gap {gap}");
        }
    }

    #[test]
    fn iteration_cap_limits_reach() {
        let dims = [40, 1, 1];
        let e = vec![true; 40];
        // Each iteration reaches 3 further voxels: after 2 iterations, seed at 0 covers 0..=6.
        let g = region_grow(&e, dims, [0, 0, 0], [3, 0, 0], 2);
        assert_eq!(g.voxels, 7);
        assert!(g.capped);
        assert_eq!(
            g.mask.iter().take(8).copied().collect::<Vec<_>>(),
            vec![1, 1, 1, 1, 1, 1, 1, 0]
        );
    }
}
