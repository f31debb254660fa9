//! One working window of one case with everything an episode needs: normalised channels, the
//! growth field (σ, entropy, eligibility) and, in training, the ground truth on the same grid.

use promptseg_case::Patch;
use promptseg_grow::{GrowField, GrowParams};

#[derive(Clone, Debug)]
pub struct Scene {
    /// [i, j, k] voxels of the working grid.
    pub dims: [usize; 3],
    pub channels: [Vec<f32>; 3],
    pub field: GrowField,
    pub truth: Option<Vec<u8>>,
    /// The user's (or the sampled) prompt on this grid.
    pub prompt: [usize; 3],
}

impl Scene {
    pub fn new(
        patch: &Patch,
        probability: &[f32],
        params: &GrowParams,
        prompt: [usize; 3],
    ) -> Self {
        let dims = patch.geometry.dims;
        let field = GrowField::new(&patch.channel_refs(), probability, dims, params.clone());
        Self {
            dims,
            channels: patch.channels.clone(),
            field,
            truth: patch.label.clone(),
            prompt,
        }
    }

    pub fn offset(&self, v: [usize; 3]) -> usize {
        v[0] + self.dims[0] * (v[1] + self.dims[1] * v[2])
    }
}
