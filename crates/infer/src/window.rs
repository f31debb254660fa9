//! A working window around a prompt: channels resampled and normalised, the surrogate's
//! probability map, and the growth field derived from it. Everything a click needs, computed
//! once; further clicks inside the same window reuse it ("warm").

use std::time::Instant;

use burn::prelude::*;
use promptseg_case::{Case, GridSpec, Patch};
use promptseg_nets::UNet3d;
use promptseg_rl::Scene;
use promptseg_volume::Geometry;

use crate::bundle::{Models, Pipeline};
use crate::error::InferError;

/// Runs the surrogate on normalised channels; returns p(v) in the channels' voxel order.
pub fn surrogate_probability(
    unet: &UNet3d,
    channels: [&[f32]; 3],
    dims: [usize; 3],
    device: &Device,
) -> Vec<f32> {
    let n = dims.iter().product::<usize>();
    let mut data = Vec::with_capacity(3 * n);
    for c in channels {
        data.extend_from_slice(c);
    }
    let x = Tensor::<5>::from_data(
        TensorData::new(data, [1, 3, dims[2], dims[1], dims[0]]),
        device,
    );
    unet.probability(x)
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .expect("f32 probabilities")
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WindowTimings {
    pub resample_normalise_ms: f64,
    pub surrogate_ms: f64,
    pub grow_field_ms: f64,
}

pub struct Window {
    pub patch: Patch,
    pub probability: Vec<f32>,
    pub scene: Scene,
    pub timings: WindowTimings,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

impl Window {
    pub fn geometry(&self) -> &Geometry {
        &self.patch.geometry
    }

    /// Builds the window for a prompt at `lps` (already checked to lie in the T2W image).
    pub fn prepare(
        case: &Case,
        lps: [f64; 3],
        pipeline: &Pipeline,
        models: &Models,
    ) -> Result<Window, InferError> {
        let t = Instant::now();
        let geometry = pipeline.grid.geometry(&case.t2w.geometry, lps);
        let patch = Patch::extract(case, &geometry, &pipeline.normalisation, pipeline.channels)?;
        let resample_normalise_ms = ms(t);
        let t = Instant::now();
        let probability = surrogate_probability(
            &models.unet,
            patch.channel_refs(),
            geometry.dims,
            &models.device,
        );
        let surrogate_ms = ms(t);
        let t = Instant::now();
        let prompt = geometry
            .world_to_voxel(lps)
            .unwrap_or(geometry.dims.map(|d| d / 2));
        let scene = Scene::new(&patch, &probability, &pipeline.grow, prompt);
        Ok(Window {
            patch,
            probability,
            scene,
            timings: WindowTimings {
                resample_normalise_ms,
                surrogate_ms,
                grow_field_ms: ms(t),
            },
        })
    }

    /// Whether a prompt at `lps` can reuse this window's maps.
    pub fn serves(&self, lps: [f64; 3], pipeline: &Pipeline) -> bool {
        let margin = match pipeline.grid.centre {
            promptseg_case::GridCentre::Image => 0,
            promptseg_case::GridCentre::Prompt => {
                pipeline.grid.size.iter().min().copied().unwrap_or(0) / 4
            }
        };
        GridSpec::covers(self.geometry(), lps, margin)
    }
}
