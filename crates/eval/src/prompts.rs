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
