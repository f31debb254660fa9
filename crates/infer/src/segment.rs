//! The inference loop of paper sec. 2.3: prompt -> g -> the agent picks a seed -> g again, the new
//! mask replacing the old, until the mask stops changing or T agent steps; then the mask goes
//! back onto the T2W grid. Several prompts (one per lesion) give the union of their masks.

use std::time::Instant;

use promptseg_case::{Case, Prompt};
use promptseg_rl::{policy, state, ActionMode, Env};
use promptseg_volume::{resample_linear, resample_nearest, Volume};
use rand::SeedableRng;
use serde::Serialize;

use crate::bundle::Models;
use crate::error::InferError;
use crate::window::{Window, WindowTimings};

/// What produces the mask: the full method or one of its baselines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Prompt, region growing, then agent steps (the paper's method).
    Agent,
    /// Region growing from the prompt alone.
    GrowOnly,
    /// The surrogate's probability > 0.5 inside the prompt's window.
    Surrogate,
    /// Classical baseline: confidence-connected region growing from the prompt on the
    /// normalised channels (no networks; see `promptseg_grow::confidence_connected`).
    ConfidenceConnected,
    /// Ablation "no prompting" (paper sec. 3.4): the agent picks the first seed itself from
    /// the image and an empty mask; the prompt only places the working window (the evaluation
    /// centres it on the gland, not on the lesion).
    NoPrompt,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub method: Method,
    pub action: ActionMode,
    /// RNG seed for sampled actions (ignored by greedy).
    pub seed: u64,
    /// Drop a lesion's mask when it is below one growth neighbourhood (the supplement's
    /// negative-case rule), as the paper does to suppress small false positives.
    pub suppress_small: bool,
    /// Also return the surrogate's maps on the T2W grid.
    pub keep_maps: bool,
    /// Parameters of [`Method::ConfidenceConnected`].
    pub confidence: promptseg_grow::ConfidenceParams,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            method: Method::Agent,
            action: ActionMode::Greedy,
            seed: 0,
            suppress_small: true,
            keep_maps: false,
            confidence: promptseg_grow::ConfidenceParams::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LesionReport {
    pub prompt: String,
    /// Prompt in T2W voxel indices.
    pub prompt_voxel: [i64; 3],
    /// Agent steps taken (0 for the baselines).
    pub steps: usize,
    /// "unchanged" (mask converged), "horizon" (T steps) or "none" (no agent).
    pub stop: &'static str,
    /// Every seed used, prompt first, in T2W voxel indices.
    pub seeds_visited: Vec<[i64; 3]>,
    pub final_seed: [i64; 3],
    pub final_seed_lps_mm: [f64; 3],
    /// Voxels of this lesion's mask on the working grid, before suppression (compared with
    /// the negative-call threshold of one growth neighbourhood).
    pub working_voxels: usize,
    /// This lesion's mask on the T2W grid (0 when suppressed as negative); lesions that
    /// overlap count their shared voxels in each.
    pub voxels: usize,
    pub volume_ml: f64,
    /// Below the neighbourhood-size threshold: this prompt found no lesion.
    pub negative: bool,
    pub reused_window: bool,
    pub timings: WindowTimings,
    pub agent_ms: f64,
}

pub struct Segmentation {
    /// uint8 mask on the T2W grid (T2W geometry and NIfTI codes).
    pub mask: Volume<u8>,
    pub probability: Option<Volume<f32>>,
    pub entropy: Option<Volume<f32>>,
    pub lesions: Vec<LesionReport>,
    pub to_t2w_ms: f64,
}

impl Segmentation {
    pub fn voxels(&self) -> usize {
        self.mask.data.iter().filter(|&&v| v != 0).count()
    }

    pub fn volume_ml(&self) -> f64 {
        self.voxels() as f64 * self.mask.geometry.voxel_volume_ml()
    }

    /// The case is called negative when every prompt's final mask is below the threshold.
    pub fn negative(&self) -> bool {
        self.lesions.iter().all(|l| l.negative)
    }
}

/// The working-grid trajectory of one prompt.
pub struct Trajectory {
    pub mask: Vec<u8>,
    pub voxels: usize,
    pub seeds: Vec<[usize; 3]>,
    pub steps: usize,
    pub stop: &'static str,
}

impl Trajectory {
    /// A baseline's result: one mask from the prompt, no agent steps.
    fn one_shot(mask: Vec<u8>, prompt: [usize; 3]) -> Self {
        Trajectory {
            voxels: mask.iter().filter(|&&m| m != 0).count(),
            mask,
            seeds: vec![prompt],
            steps: 0,
            stop: "none",
        }
    }
}

/// Runs `method` from the scene's prompt.
pub fn run_prompt(
    window: &Window,
    models: &Models,
    opts: &Options,
) -> Result<Trajectory, InferError> {
    let scene = &window.scene;
    match opts.method {
        Method::Surrogate => Ok(Trajectory::one_shot(
            window
                .probability
                .iter()
                .map(|&p| (p > 0.5) as u8)
                .collect(),
            scene.prompt,
        )),
        Method::GrowOnly => Ok(Trajectory::one_shot(
            scene.field.grow(scene.prompt).mask,
            scene.prompt,
        )),
        Method::ConfidenceConnected => {
            let channels: Vec<&[f32]> = scene.channels.iter().map(|c| c.as_slice()).collect();
            Ok(Trajectory::one_shot(
                promptseg_grow::confidence_connected(
                    &channels,
                    scene.dims,
                    scene.prompt,
                    &opts.confidence,
                ),
                scene.prompt,
            ))
        }
        Method::Agent | Method::NoPrompt => {
            let agent = models.agent()?;
            let cfg = models.config.pipeline.env.clone();
            let pool = models.config.agent.input_pool;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
            let start = if opts.method == Method::NoPrompt {
                let empty = vec![0u8; scene.field.dims.iter().product()];
                let s = state::state_batch(&[(scene, &empty)], pool, &models.device);
                policy::choose(&agent.forward(s).logits, opts.action, &mut rng)[0].0
            } else {
                scene.prompt
            };
            let mut env = Env::reset(scene, cfg, start);
            let mut stop = "horizon";
            while env.t < env.cfg.max_steps {
                let s = state::state_batch(&[(scene, &env.mask.mask)], pool, &models.device);
                let out = agent.forward(s);
                let (action, _) = policy::choose(&out.logits, opts.action, &mut rng)[0];
                if env.step(action).terminal {
                    stop = "unchanged";
                    break;
                }
            }
            Ok(Trajectory {
                voxels: env.mask.voxels,
                mask: env.mask.mask,
                seeds: env.seeds,
                steps: env.t,
                stop,
            })
        }
    }
}

fn t2w_voxel(window: &Window, case: &Case, v: [usize; 3]) -> ([i64; 3], [f64; 3]) {
    let lps = window
        .geometry()
        .index_to_world([v[0] as f64, v[1] as f64, v[2] as f64]);
    let idx = case
        .t2w
        .geometry
        .world_to_index(lps)
        .unwrap_or([f64::NAN; 3]);
    (idx.map(|x| x.round() as i64), lps)
}

/// Segments one lesion per prompt and returns the union on the T2W grid. `windows` caches the
/// working windows of this case: a prompt that falls well inside a cached window reuses its
/// surrogate maps (a "warm" click); new windows are appended.
pub fn segment(
    case: &Case,
    prompts: &[Prompt],
    models: &Models,
    opts: &Options,
    windows: &mut Vec<Window>,
) -> Result<Segmentation, InferError> {
    let pipeline = &models.config.pipeline;
    let t2w = &case.t2w.geometry;
    let mut union = case.t2w.with_data(vec![0u8; t2w.len()]);
    let mut probability = opts
        .keep_maps
        .then(|| case.t2w.with_data(vec![0f32; t2w.len()]));
    let mut entropy = opts
        .keep_maps
        .then(|| case.t2w.with_data(vec![0f32; t2w.len()]));
    let mut lesions = Vec::new();
    let mut to_t2w_ms = 0.0;
    let threshold = pipeline.grow.neighbourhood_voxels();
    for prompt in prompts {
        let lps = prompt.to_lps(t2w)?;
        let reuse = windows.iter().position(|w| w.serves(lps, pipeline));
        let index = match reuse {
            Some(i) => i,
            None => {
                windows.push(Window::prepare(case, lps, pipeline, models)?);
                windows.len() - 1
            }
        };
        let window = &mut windows[index];
        let prompt_voxel =
            window
                .geometry()
                .world_to_voxel(lps)
                .ok_or_else(|| InferError::Prompt {
                    prompt: prompt.to_string(),
                    problem: "outside the working window".into(),
                })?;
        if !window.patch.dwi_inside[window.scene.offset(prompt_voxel)] {
            let outside: Vec<String> = [
                ("ADC", &case.adc, &case.files.adc),
                ("HBV", &case.hbv, &case.files.hbv),
            ]
            .iter()
            .filter(|(_, v, _)| v.geometry.world_to_voxel(lps).is_none())
            .map(|(name, _, path)| format!("{name} {}", path.display()))
            .collect();
            let which = if outside.is_empty() {
                "ADC/HBV".to_string()
            } else {
                outside.join(" and ")
            };
            return Err(InferError::Prompt {
                prompt: prompt.to_string(),
                problem: format!("outside the field of view of {which}"),
            });
        }
        window.scene.prompt = prompt_voxel;
        let t = Instant::now();
        let traj = run_prompt(window, models, opts)?;
        let agent_ms = t.elapsed().as_secs_f64() * 1e3;

        let t = Instant::now();
        let negative = traj.voxels < threshold;
        let mut t2w_voxels = 0;
        if !(negative && opts.suppress_small) {
            let on_work = Volume::new(window.geometry().clone(), traj.mask.clone());
            let back = resample_nearest(&on_work, t2w, 0);
            for (u, m) in union.data.iter_mut().zip(&back.volume.data) {
                *u |= *m;
                t2w_voxels += (*m != 0) as usize;
            }
        }
        if let (Some(p), Some(e)) = (probability.as_mut(), entropy.as_mut()) {
            let g = window.geometry().clone();
            let pw = resample_linear(
                &Volume::new(g.clone(), window.probability.clone()),
                t2w,
                0.0,
            );
            let ew = resample_linear(
                &Volume::new(g, window.scene.field.entropy.clone()),
                t2w,
                0.0,
            );
            for o in 0..t2w.len() {
                if pw.inside[o] {
                    p.data[o] = pw.volume.data[o];
                    e.data[o] = ew.volume.data[o];
                }
            }
        }
        to_t2w_ms += t.elapsed().as_secs_f64() * 1e3;
        let seeds_visited: Vec<[i64; 3]> = traj
            .seeds
            .iter()
            .map(|&s| t2w_voxel(window, case, s).0)
            .collect();
        let (final_seed, final_seed_lps_mm) =
            t2w_voxel(window, case, *traj.seeds.last().expect("prompt seed"));
        lesions.push(LesionReport {
            prompt: prompt.to_string(),
            prompt_voxel: seeds_visited[0],
            steps: traj.steps,
            stop: traj.stop,
            seeds_visited,
            final_seed,
            final_seed_lps_mm,
            working_voxels: traj.voxels,
            voxels: t2w_voxels,
            volume_ml: t2w_voxels as f64 * t2w.voxel_volume_ml(),
            negative,
            reused_window: reuse.is_some(),
            timings: if reuse.is_some() {
                WindowTimings::default()
            } else {
                window.timings.clone()
            },
            agent_ms,
        });
    }
    Ok(Segmentation {
        mask: union,
        probability,
        entropy,
        lesions,
        to_t2w_ms,
    })
}
