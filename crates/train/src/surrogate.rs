//! Surrogate training (paper eq. 1): soft Dice loss, Adam, cosine-annealed learning rate,
//! augmented windows drawn from the training cases, validation Dice every "epoch".

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use promptseg_case::Patch;
use promptseg_infer::{surrogate_probability, Pipeline};
use promptseg_metrics::{dice, nearest_to_centroid};
use promptseg_nets::{weights, UNet3d};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::config::{SurrogateTraining, TrainConfig};
use crate::log::JsonLog;
use crate::sampling::{augment_grid, TrainCase};
use crate::TrainError;

#[derive(Clone, Debug, Serialize)]
pub struct SurrogateStep {
    pub stage: &'static str,
    pub step: usize,
    pub loss: f32,
    pub learning_rate: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SurrogateValidation {
    pub stage: &'static str,
    pub step: usize,
    /// Mean hard Dice (p > 0.5) over validation windows that contain lesion.
    pub dice: f64,
    /// Mean fraction of voxels called lesion in windows without lesion.
    pub negative_fp_fraction: f64,
    pub windows: usize,
}

/// Soft Dice loss over the whole batch: 1 - (2 sum(p g) + 1) / (sum p + sum g + 1).
pub fn soft_dice_loss(prob: Tensor<5>, target: Tensor<5>) -> Tensor<1> {
    let inter = (prob.clone() * target.clone()).sum();
    let denom = prob.sum() + target.sum();
    (inter.mul_scalar(2.0).add_scalar(1.0) / denom.add_scalar(1.0))
        .neg()
        .add_scalar(1.0)
}

/// One optimisation step of eq. 1 on a batch: forward, soft Dice loss, backward, Adam update.
/// Returns the updated network and the batch loss.
pub fn train_step(
    unet: UNet3d,
    optim: &mut ModuleOptimizer,
    x: Tensor<5>,
    y: Tensor<5>,
    lr: f64,
) -> (UNet3d, f32) {
    let loss = soft_dice_loss(sigmoid(unet.forward(x)), y);
    let value = loss
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map(|v| v[0])
        .unwrap_or(f32::NAN);
    let grads = GradientsParams::from_grads(loss.backward(), &unet);
    (optim.step(lr, unet, grads), value)
}

pub fn cosine_lr(step: usize, total: usize, max: f64, min: f64) -> f64 {
    let t = step as f64 / total.max(1) as f64;
    min + 0.5 * (max - min) * (1.0 + (std::f64::consts::PI * t).cos())
}

/// One augmented training window as network input and target.
fn sample_window(
    tc: &TrainCase,
    pipeline: &Pipeline,
    st: &SurrogateTraining,
    rng: &mut impl Rng,
) -> Result<(Vec<f32>, Vec<f32>), TrainError> {
    let centre = if tc.positive() && rng.random::<f32>() < st.lesion_fraction {
        tc.sample_prompt(rng)
    } else {
        tc.sample_background(rng)
    };
    let j = st.jitter_mm;
    let centre = [0, 1, 2].map(|a| {
        centre[a]
            + if j > 0.0 {
                rng.random_range(-j..=j)
            } else {
                0.0
            }
    });
    let mut spec = pipeline.grid.clone();
    spec.size = st.patch;
    if spec.spacing_mm.is_none() {
        // Fit-to-FOV grids keep the inference grid's voxel size for the smaller training patch.
        let full = pipeline.grid.geometry(&tc.case.t2w.geometry, centre);
        spec.spacing_mm = Some(full.spacing);
    }
    spec.centre = promptseg_case::GridCentre::Prompt;
    let g = spec.geometry(&tc.case.t2w.geometry, centre);
    let angle = if st.rotate_degrees > 0.0 {
        rng.random_range(-st.rotate_degrees..=st.rotate_degrees)
    } else {
        0.0
    };
    let mirror = st.flip && rng.random::<bool>();
    let g = augment_grid(&g, angle, mirror);
    let patch = Patch::extract(&tc.case, &g, &pipeline.normalisation, pipeline.channels)?;
    let mut x = Vec::with_capacity(3 * g.len());
    for c in patch.channels.iter() {
        let scale = 1.0 + rng.random_range(-st.intensity_scale..=st.intensity_scale);
        let shift = rng.random_range(-st.intensity_shift..=st.intensity_shift);
        x.extend(c.iter().map(|v| v * scale + shift));
    }
    let y = patch
        .label
        .unwrap_or_else(|| vec![0; g.len()])
        .into_iter()
        .map(|v| v as f32)
        .collect();
    Ok((x, y))
}

/// Fixed validation windows, placed like an inference click: one per lesion at the lesion voxel
/// nearest its centroid, and one inside the gland (or image centre region) per negative case.
pub fn validation_patches(
    cases: &[TrainCase],
    pipeline: &Pipeline,
    seed: u64,
) -> Result<Vec<Patch>, TrainError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for tc in cases {
        let g = &tc.case.t2w.geometry;
        let centres: Vec<[f64; 3]> = if tc.positive() {
            tc.lesions
                .iter()
                .map(|lesion| {
                    let c = nearest_to_centroid(lesion, g.dims);
                    g.index_to_world([c[0] as f64, c[1] as f64, c[2] as f64])
                })
                .collect()
        } else {
            vec![tc.sample_background(&mut rng)]
        };
        for c in centres {
            let grid = pipeline.grid.geometry(g, c);
            out.push(Patch::extract(
                &tc.case,
                &grid,
                &pipeline.normalisation,
                pipeline.channels,
            )?);
        }
    }
    Ok(out)
}

pub fn validate(
    unet: &UNet3d,
    patches: &[Patch],
    device: &Device,
    step: usize,
) -> SurrogateValidation {
    let (mut dsum, mut dn, mut fsum, mut fnn) = (0.0, 0usize, 0.0, 0usize);
    for p in patches {
        let prob = surrogate_probability(unet, p.channel_refs(), p.geometry.dims, device);
        let pred: Vec<u8> = prob.iter().map(|&v| (v > 0.5) as u8).collect();
        let label = p.label.clone().unwrap_or_else(|| vec![0; pred.len()]);
        if label.iter().any(|&v| v != 0) {
            dsum += dice(&pred, &label);
            dn += 1;
        } else {
            fsum += pred.iter().filter(|&&v| v != 0).count() as f64 / pred.len() as f64;
            fnn += 1;
        }
    }
    SurrogateValidation {
        stage: "surrogate_validation",
        step,
        dice: if dn > 0 { dsum / dn as f64 } else { f64::NAN },
        negative_fp_fraction: if fnn > 0 { fsum / fnn as f64 } else { 0.0 },
        windows: patches.len(),
    }
}

pub struct SurrogateOutcome {
    pub best: SurrogateValidation,
    pub last: SurrogateValidation,
    pub final_loss: f32,
    pub seconds: f64,
    /// Steps done when this call returned (less than the configured steps after `stop_after`).
    pub step: usize,
    pub finished: bool,
}

/// How one invocation runs: from scratch or from the run's checkpoint, and for how long.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunControl {
    pub resume: bool,
    /// Return (after checkpointing) once this many steps/iterations have been done in total.
    pub stop_after: Option<usize>,
}

/// Everything besides the network and optimizer that a resumed run needs.
#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    step: usize,
    rng: rand_chacha::ChaCha8Rng,
    best_dice: Option<f64>,
    best_step: usize,
    last_dice: f64,
    last_negative_fp: f64,
    recent: Vec<f32>,
    seconds: f64,
}

const STAGE: &str = "surrogate";

/// Trains the surrogate and writes `surrogate.bpk` (best validation Dice, f16),
/// `surrogate_last.bpk`, `surrogate_metrics.jsonl` and a resumable checkpoint into `out`.
pub fn train_surrogate(
    cases: &[TrainCase],
    validation: &[Patch],
    cfg: &TrainConfig,
    out: &Path,
    device: &Device,
    control: RunControl,
    on_step: &mut dyn FnMut(&SurrogateStep, Option<&SurrogateValidation>),
) -> Result<SurrogateOutcome, TrainError> {
    let st = &cfg.surrogate_training;
    let ad = device.clone().autodiff();
    ad.seed(st.seed);
    let log_path = out.join("surrogate_metrics.jsonl");
    let fresh = State {
        step: 0,
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(st.seed),
        best_dice: None,
        best_step: 0,
        last_dice: f64::NAN,
        last_negative_fp: f64::NAN,
        recent: Vec::new(),
        seconds: 0.0,
    };
    let (mut unet, mut optim, mut state) =
        if control.resume && crate::checkpoint::exists(out, STAGE) {
            let (u, o, s): (UNet3d, _, State) =
                crate::checkpoint::load(out, STAGE, cfg.unet.init(&ad), AdamConfig::new().init())?;
            crate::checkpoint::truncate_log(&log_path, "step", s.step)?;
            (u, o, s)
        } else {
            let _ = std::fs::remove_file(&log_path);
            (cfg.unet.init(&ad), AdamConfig::new().init(), fresh)
        };
    let mut log = JsonLog::append(&log_path).map_err(|e| TrainError::io(out, e))?;
    let start = Instant::now();
    let seconds_before = state.seconds;
    let [pi, pj, pk] = st.patch;
    let validation_at = |step: usize, dice: f64, fp: f64| SurrogateValidation {
        stage: "surrogate_validation",
        step,
        dice,
        negative_fp_fraction: fp,
        windows: validation.len(),
    };
    let end = control
        .stop_after
        .map(|s| s.min(st.steps))
        .unwrap_or(st.steps);
    while state.step < end {
        let step = state.step + 1;
        let rng = &mut state.rng;
        let mut xs = Vec::with_capacity(st.batch * 3 * pi * pj * pk);
        let mut ys = Vec::with_capacity(st.batch * pi * pj * pk);
        for _ in 0..st.batch {
            let tc = &cases[rng.random_range(0..cases.len())];
            let (x, y) = sample_window(tc, &cfg.pipeline, st, rng)?;
            xs.extend(x);
            ys.extend(y);
        }
        let x = Tensor::<5>::from_data(TensorData::new(xs, [st.batch, 3, pk, pj, pi]), &ad);
        let y = Tensor::<5>::from_data(TensorData::new(ys, [st.batch, 1, pk, pj, pi]), &ad);
        let lr = cosine_lr(step - 1, st.steps, st.learning_rate, st.learning_rate_min);
        let (next, loss_v) = train_step(unet, &mut optim, x, y, lr);
        unet = next;
        state.step = step;
        state.recent.push(loss_v);
        let keep = st.validate_every.max(1);
        if state.recent.len() > keep {
            state.recent.drain(..state.recent.len() - keep);
        }
        state.seconds = seconds_before + start.elapsed().as_secs_f64();
        let record = SurrogateStep {
            stage: "surrogate",
            step,
            loss: loss_v,
            learning_rate: lr,
            seconds: state.seconds,
        };
        log.write(&record).map_err(|e| TrainError::io(out, e))?;
        let val = if step % st.validate_every.max(1) == 0 || step == st.steps {
            let v = validate(&unet.valid(), validation, device, step);
            log.write(&v).map_err(|e| TrainError::io(out, e))?;
            if state
                .best_dice
                .map(|b| v.dice > b || b.is_nan())
                .unwrap_or(true)
            {
                weights::save_half(unet.valid(), &out.join(promptseg_infer::SURROGATE_FILE))
                    .map_err(TrainError::Weights)?;
                state.best_dice = Some(v.dice);
                state.best_step = step;
            }
            weights::save_full(unet.valid(), &out.join("surrogate_last.bpk"))
                .map_err(TrainError::Weights)?;
            state.last_dice = v.dice;
            state.last_negative_fp = v.negative_fp_fraction;
            Some(v)
        } else {
            None
        };
        if step % st.checkpoint_every.max(1) == 0 || step == end {
            crate::checkpoint::save(out, STAGE, unet.valid(), &optim, &state)?;
        }
        on_step(&record, val.as_ref());
    }
    if state.step == 0 {
        return Err(TrainError::Config(
            "surrogate_training.steps must be at least 1".into(),
        ));
    }
    let final_loss = state.recent.iter().sum::<f32>() / state.recent.len().max(1) as f32;
    Ok(SurrogateOutcome {
        best: validation_at(
            state.best_step,
            state.best_dice.unwrap_or(f64::NAN),
            f64::NAN,
        ),
        last: validation_at(state.step, state.last_dice, state.last_negative_fp),
        final_loss,
        seconds: state.seconds,
        step: state.step,
        finished: state.step >= st.steps,
    })
}
