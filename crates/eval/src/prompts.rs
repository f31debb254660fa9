//! Prompt protocols for evaluation: where a simulated user clicks.

use promptseg_case::Prompt;
use promptseg_metrics::component_voxels;
use promptseg_volume::Volume;
use rand::{Rng, SeedableRng};

fn coords(o: usize, d: [usize; 3]) -> [usize; 3] {
    [o % d[0], (o / d[0]) % d[1], o / (d[0] * d[1])]
}

/// For each lesion (connected component of `label`), `k` prompts sampled uniformly inside it
/// (seeded), as the paper simulates users. Returns one list of prompts per lesion.
pub fn lesion_prompts(label: &Volume<u8>, k: usize, seed: u64) -> Vec<Vec<Prompt>> {
    let d = label.geometry.dims;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    component_voxels(&label.data, d)
        .iter()
        .map(|lesion| {
            (0..k)
                .map(|_| {
                    let c = coords(lesion[rng.random_range(0..lesion.len())], d);
                    Prompt::Voxel(c.map(|v| v as i64))
                })
                .collect()
        })
        .collect()
}

/// For each lesion, `k` prompts outside every lesion but within `max_mm` of this one (paper
/// supplement table 1: 0-10 mm outside the boundary), measured in mm on the label's own grid.
/// A lesion with no such voxel (it fills the image) gets no prompts.
pub fn off_target_prompts(
    label: &Volume<u8>,
    k: usize,
    max_mm: f64,
    seed: u64,
) -> Vec<Vec<Prompt>> {
    let g = &label.geometry;
    let d = g.dims;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x0ff7_a59e);
    let max2 = max_mm * max_mm;
    component_voxels(&label.data, d)
        .iter()
        .map(|lesion| {
            let mut inside = vec![false; label.data.len()];
            for &o in lesion {
                inside[o] = true;
            }
            let d2 = crate::distance::squared_distance_mm(&inside, d, g.spacing);
            let ring: Vec<usize> = (0..d2.len())
                .filter(|&o| label.data[o] == 0 && d2[o] <= max2)
                .collect();
            if ring.is_empty() {
                return Vec::new();
            }
            (0..k)
                .map(|_| {
                    let c = coords(ring[rng.random_range(0..ring.len())], d);
                    Prompt::Voxel(c.map(|v| v as i64))
                })
                .collect()
        })
        .collect()
}

/// Where the prostate is when no gland mask is given: the central third of the image in-plane
/// and its central half along z (prostate MR is centred on the gland).
pub fn central_region(dims: [usize; 3]) -> Vec<usize> {
    let span = |n: usize, lo: f64, hi: f64| {
        let a = (n as f64 * lo).floor() as usize;
        let b = ((n as f64 * hi).ceil() as usize).clamp(a + 1, n.max(a + 1));
        a..b.min(n)
    };
    let mut out = Vec::new();
    for k in span(dims[2], 0.25, 0.75) {
        for j in span(dims[1], 1.0 / 3.0, 2.0 / 3.0) {
            for i in span(dims[0], 1.0 / 3.0, 2.0 / 3.0) {
                out.push(i + dims[0] * (j + dims[1] * k));
            }
        }
    }
    out
}

/// `k` prompts inside the gland (negative cases: a user checking a suspicious area that is not
/// cancer), or inside [`central_region`] when the case has no gland mask.
pub fn gland_prompts(
    gland: Option<&Volume<u8>>,
    dims: [usize; 3],
    k: usize,
    seed: u64,
) -> Vec<Prompt> {
    let region: Vec<usize> = match gland {
        Some(g) if g.data.iter().any(|&v| v != 0) => {
            (0..g.data.len()).filter(|&o| g.data[o] != 0).collect()
        }
        _ => central_region(dims),
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x91a4d);
    (0..k)
        .map(|_| {
            let c = coords(region[rng.random_range(0..region.len())], dims);
            Prompt::Voxel(c.map(|v| v as i64))
        })
        .collect()
}

/// The voxel nearest the gland's centroid (or the image centre without a gland): where the
/// "no prompting" ablation centres its working window.
pub fn gland_centre(gland: Option<&Volume<u8>>, dims: [usize; 3]) -> Prompt {
    let c = match gland {
        Some(g) if g.data.iter().any(|&v| v != 0) => {
            let voxels: Vec<usize> = (0..g.data.len()).filter(|&o| g.data[o] != 0).collect();
            promptseg_metrics::nearest_to_centroid(&voxels, dims)
        }
        _ => dims.map(|n| n / 2),
    };
    Prompt::Voxel(c.map(|v| v as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptseg_volume::Geometry;

    #[test]
    fn off_target_prompts_lie_outside_within_the_mm_ring() {
        // 20 x 20 x 5 grid, 0.5 x 0.5 x 3 mm: a 2 x 2 x 1 lesion at (10..12, 10..12, 2).
        let g = Geometry::axis_aligned([20, 20, 5], [0.5, 0.5, 3.0], [0.0; 3]);
        let mut data = vec![0u8; 2000];
        for j in 10..12 {
            for i in 10..12 {
                data[i + 20 * (j + 20 * 2)] = 1;
            }
        }
        let label = Volume::new(g, data);
        let p = off_target_prompts(&label, 50, 3.0, 7);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].len(), 50);
        for prompt in &p[0] {
            let Prompt::Voxel([i, j, k]) = *prompt else {
                panic!("voxel prompts")
            };
            let (i, j, k) = (i as usize, j as usize, k as usize);
            assert_eq!(label.data[i + 20 * (j + 20 * k)], 0, "outside the lesion");
            // Within 3 mm: z must stay within one slice (3 mm), in-plane within 6 voxels.
            let di = (i as f64 - i.clamp(10, 11) as f64) * 0.5;
            let dj = (j as f64 - j.clamp(10, 11) as f64) * 0.5;
            let dk = (k as f64 - 2.0) * 3.0;
            assert!(di * di + dj * dj + dk * dk <= 9.0 + 1e-9, "{i},{j},{k}");
        }
        // Seeded: the same call gives the same prompts.
        assert_eq!(off_target_prompts(&label, 50, 3.0, 7), p);
    }

    #[test]
    fn gland_prompts_fall_in_the_gland_or_the_centre() {
        let g = Geometry::axis_aligned([9, 9, 4], [1.0; 3], [0.0; 3]);
        let mut data = vec![0u8; 324];
        data[4 + 9 * (4 + 9 * 2)] = 1;
        let gland = Volume::new(g, data);
        for p in gland_prompts(Some(&gland), [9, 9, 4], 5, 1) {
            assert_eq!(p, Prompt::Voxel([4, 4, 2]));
        }
        assert_eq!(
            gland_centre(Some(&gland), [9, 9, 4]),
            Prompt::Voxel([4, 4, 2])
        );
        // Without a gland: i, j in 3..6, k in 1..3.
        for p in gland_prompts(None, [9, 9, 4], 20, 1) {
            let Prompt::Voxel([i, j, k]) = p else {
                panic!("voxel prompts")
            };
            assert!(
                (3..6).contains(&i) && (3..6).contains(&j) && (1..3).contains(&k),
                "{p}"
            );
        }
    }
}
