//! Agent training (paper Algorithm 1) with PPO.
//!
//! Scenes: for each training case, `windows_per_case` working windows, each centred on a prompt
//! sampled as the paper does (uniformly inside a lesion; gland/centre for negatives), with the
//! trained surrogate's entropy map. Episodes: pick a scene, y_0 = g(x, v_0), then the agent
//! steps until the mask is unchanged or T steps; the new mask always replaces the old.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use promptseg_case::Patch;
use promptseg_infer::{surrogate_probability, AGENT_FILE};
use promptseg_metrics::dice;
use promptseg_nets::{weights, AgentNet, UNet3d};
use promptseg_rl::{policy, state, ActionMode, Env, PpoLearner, Scene, Transition, UpdateStats};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::config::TrainConfig;
use crate::log::JsonLog;
use crate::sampling::TrainCase;
use crate::TrainError;

/// The start seed of an episode: the prompt, or in the "no prompt" ablation the voxel where the
/// surrogate is most confident of lesion.
fn start_seed(scene: &Scene, probability: Option<&[f32]>) -> [usize; 3] {
    match probability {
        None => scene.prompt,
        Some(p) => {
            let best = p
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(o, _)| o)
                .unwrap_or(0);
            let d = scene.dims;
            [best % d[0], (best / d[0]) % d[1], best / (d[0] * d[1])]
        }
    }
}

/// The best Dice any single eligible seed reaches in a scene: growth from an eligible seed fills
/// its whole component of the growth graph (when J does not bind), so trying one seed per
/// component finds it. It bounds what an agent can reach there (up to seeds on ineligible voxels
/// that bridge two components).
pub fn best_seed_dice(scene: &Scene) -> f64 {
    let truth = match &scene.truth {
        Some(t) => t,
        None => return f64::NAN,
    };
    let mut covered = vec![false; truth.len()];
    let mut best = dice(&scene.field.grow(scene.prompt).mask, truth);
    for o in 0..truth.len() {
        if !scene.field.eligible[o] || covered[o] {
            continue;
        }
        let d = scene.dims;
        let g = scene
            .field
            .grow([o % d[0], (o / d[0]) % d[1], o / (d[0] * d[1])]);
        for (c, &m) in covered.iter_mut().zip(&g.mask) {
            *c |= m != 0;
        }
        best = best.max(dice(&g.mask, truth));
    }
    best
}

pub struct SceneSet {
    pub scenes: Vec<Scene>,
    /// Per scene: case id.
    pub case_ids: Vec<String>,
    /// Per scene: the start seed episodes use.
    pub starts: Vec<[usize; 3]>,
    /// Per scene: [`best_seed_dice`].
    pub best_dice: Vec<f64>,
}

pub fn build_scenes(
    cases: &[TrainCase],
    cfg: &TrainConfig,
    unet: &UNet3d,
    device: &Device,
    seed: u64,
) -> Result<SceneSet, TrainError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let at = &cfg.agent_training;
    let mut set = SceneSet {
        scenes: Vec::new(),
        case_ids: Vec::new(),
        starts: Vec::new(),
        best_dice: Vec::new(),
    };
    for tc in cases {
        for _ in 0..at.windows_per_case {
            let lps = tc.sample_prompt(&mut rng);
            let grid = cfg.pipeline.grid.geometry(&tc.case.t2w.geometry, lps);
            let patch = Patch::extract(
                &tc.case,
                &grid,
                &cfg.pipeline.normalisation,
                cfg.pipeline.channels,
            )?;
            let prob = surrogate_probability(unet, patch.channel_refs(), grid.dims, device);
            let prompt = grid.world_to_voxel(lps).unwrap_or(grid.dims.map(|d| d / 2));
            let mut scene = Scene::new(&patch, &prob, &cfg.pipeline.grow, prompt);
            if scene.truth.is_none() {
                scene.truth = Some(vec![0; grid.len()]);
            }
            let start = start_seed(&scene, at.heuristic_start.then_some(prob.as_slice()));
            set.best_dice.push(best_seed_dice(&scene));
            set.scenes.push(scene);
            set.case_ids.push(tc.case.id().to_string());
            set.starts.push(start);
        }
    }
    Ok(set)
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct AgentIteration {
    pub stage: &'static str,
    pub iteration: usize,
    pub env_steps: usize,
    pub episodes: usize,
    pub mean_return: f64,
    pub mean_episode_length: f64,
    /// Dice of y_0 (prompt + growth) and of the episode's final mask, over finished episodes.
    pub mean_start_dice: f64,
    pub mean_final_dice: f64,
    #[serde(flatten)]
    pub update: UpdateStats,
    pub seconds: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct GreedyEval {
    pub stage: &'static str,
    pub iteration: usize,
    /// Mean over positive scenes: region growing from the start seed, and the greedy agent.
    pub grow_dice: f64,
    pub agent_dice: f64,
    /// The best any single seed reaches (see [`best_seed_dice`]).
    pub best_seed_dice: f64,
    pub mean_steps: f64,
    pub scenes: usize,
}

/// Greedy rollouts on every positive scene: what inference would do on these windows.
pub fn greedy_eval(
    agent: &AgentNet,
    set: &SceneSet,
    cfg: &TrainConfig,
    device: &Device,
    iteration: usize,
) -> GreedyEval {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let (mut g, mut a, mut b, mut steps, mut n) = (0.0, 0.0, 0.0, 0.0, 0usize);
    for ((scene, &start), &best) in set.scenes.iter().zip(&set.starts).zip(&set.best_dice) {
        let truth = scene.truth.as_ref().expect("training scenes have truth");
        if !truth.iter().any(|&v| v != 0) {
            continue;
        }
        let mut env = Env::reset(scene, cfg.pipeline.env.clone(), start);
        g += dice(&env.mask.mask, truth);
        while env.t < env.cfg.max_steps {
            let s = state::state_batch(&[(scene, &env.mask.mask)], cfg.agent.input_pool, device);
            let out = agent.forward(s);
            let (action, _) = policy::choose(&out.logits, ActionMode::Greedy, &mut rng)[0];
            if env.step(action).terminal {
                break;
            }
        }
        a += dice(&env.mask.mask, truth);
        b += best;
        steps += env.t as f64;
        n += 1;
    }
    let d = n.max(1) as f64;
    GreedyEval {
        stage: "agent_greedy",
        iteration,
        grow_dice: g / d,
        agent_dice: a / d,
        best_seed_dice: b / d,
        mean_steps: steps / d,
        scenes: n,
    }
}

struct Running<'a> {
    env: Env<'a>,
    scene: usize,
    ret: f64,
    start_dice: f64,
}

pub struct AgentOutcome {
    pub first: GreedyEval,
    pub last: GreedyEval,
    /// The greedy evaluation of the kept `agent.bpk`.
    pub best: GreedyEval,
    pub last_iteration: AgentIteration,
    pub seconds: f64,
    pub iteration: usize,
    pub finished: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    iteration: usize,
    env_steps: usize,
    rng: rand_chacha::ChaCha8Rng,
    first: (f64, f64, f64),
    best: Option<(usize, f64)>,
    seconds: f64,
}

const STAGE: &str = "agent";

/// Runs PPO; writes `agent.bpk` (f16; the iteration whose greedy Dice on the training scenes was
/// highest), `agent_last.bpk` (f32), `agent_metrics.jsonl` and a resumable checkpoint into `out`.
pub fn train_agent(
    set: &SceneSet,
    cfg: &TrainConfig,
    out: &Path,
    device: &Device,
    control: crate::surrogate::RunControl,
    on_iteration: &mut dyn FnMut(&AgentIteration, &GreedyEval),
) -> Result<AgentOutcome, TrainError> {
    let at = &cfg.agent_training;
    let ad = device.clone().autodiff();
    ad.seed(at.seed);
    let log_path = out.join("agent_metrics.jsonl");
    let pool = cfg.agent.input_pool;
    let env_cfg = cfg.pipeline.env.clone();
    let mut learner = PpoLearner::new(cfg.agent.init(&ad), at.ppo.clone(), pool);
    let mut state = if control.resume && crate::checkpoint::exists(out, STAGE) {
        let (agent, optim, s): (AgentNet, _, State) =
            crate::checkpoint::load(out, STAGE, cfg.agent.init(&ad), learner.optim.clone())?;
        learner.agent = agent;
        learner.optim = optim;
        crate::checkpoint::truncate_log(&log_path, "iteration", s.iteration)?;
        s
    } else {
        let _ = std::fs::remove_file(&log_path);
        let first = greedy_eval(&learner.agent.valid(), set, cfg, device, 0);
        let mut log = JsonLog::append(&log_path).map_err(|e| TrainError::io(out, e))?;
        log.write(&first).map_err(|e| TrainError::io(out, e))?;
        State {
            iteration: 0,
            env_steps: 0,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(at.seed),
            first: (first.grow_dice, first.agent_dice, first.best_seed_dice),
            best: None,
            seconds: 0.0,
        }
    };
    let mut log = JsonLog::append(&log_path).map_err(|e| TrainError::io(out, e))?;
    let start = Instant::now();
    let seconds_before = state.seconds;
    let new_episode = |rng: &mut rand_chacha::ChaCha8Rng| {
        let s = rng.random_range(0..set.scenes.len());
        let env = Env::reset(&set.scenes[s], env_cfg.clone(), set.starts[s]);
        let start_dice = dice(&env.mask.mask, set.scenes[s].truth.as_ref().expect("truth"));
        Running {
            env,
            scene: s,
            ret: 0.0,
            start_dice,
        }
    };
    let positive = set
        .scenes
        .iter()
        .filter(|s| {
            s.truth
                .as_ref()
                .map(|t| t.iter().any(|&v| v != 0))
                .unwrap_or(false)
        })
        .count();
    let eval_of = |iteration: usize, (grow, agent, best): (f64, f64, f64)| GreedyEval {
        stage: "agent_greedy",
        iteration,
        grow_dice: grow,
        agent_dice: agent,
        best_seed_dice: best,
        mean_steps: f64::NAN,
        scenes: positive,
    };
    let mut last_iter = AgentIteration::default();
    let mut last_eval = eval_of(state.iteration, state.first);
    let end = control
        .stop_after
        .map(|s| s.min(at.iterations))
        .unwrap_or(at.iterations);
    while state.iteration < end {
        let iteration = state.iteration + 1;
        let rng = &mut state.rng;
        let actor = learner.agent.valid();
        let mut running: Vec<Running> = (0..at.envs.max(1)).map(|_| new_episode(rng)).collect();
        let mut per_env: Vec<Vec<Transition>> = vec![Vec::new(); running.len()];
        let (mut episodes, mut ret_sum, mut len_sum, mut start_sum, mut final_sum) =
            (0usize, 0.0, 0.0, 0.0, 0.0);
        let mut collected = 0;
        while collected < at.ppo.rollout_steps {
            let items: Vec<(&Scene, &[u8])> = running
                .iter()
                .map(|r| (r.env.scene, r.env.mask.mask.as_slice()))
                .collect();
            let out_t = actor.forward(state::state_batch(&items, pool, device));
            let values: Vec<f32> = out_t
                .value
                .into_data()
                .convert::<f32>()
                .try_into_vec()
                .expect("values");
            let picks = policy::choose(&out_t.logits, ActionMode::Sample, rng);
            let mut cut = Vec::new();
            for (e, r) in running.iter_mut().enumerate() {
                let (action, logp) = picks[e];
                let state_seed = r.env.seed;
                let o = r.env.step(action);
                r.ret += o.reward as f64;
                per_env[e].push(Transition {
                    scene: r.scene,
                    state_seed,
                    action,
                    logp,
                    value: values[e],
                    reward: o.reward,
                    terminal: o.terminal,
                    bootstrap: None,
                });
                collected += 1;
                if o.terminal || o.truncated {
                    episodes += 1;
                    ret_sum += r.ret;
                    len_sum += r.env.t as f64;
                    start_sum += r.start_dice;
                    final_sum += dice(
                        &r.env.mask.mask,
                        set.scenes[r.scene].truth.as_ref().expect("truth"),
                    );
                    if o.truncated {
                        cut.push(e);
                    }
                }
            }
            // Truncated episodes bootstrap from V(s_{t+1}); terminal ones do not.
            bootstrap(&actor, &running, &mut per_env, &cut, pool, device);
            for (e, r) in running.iter_mut().enumerate() {
                if per_env[e]
                    .last()
                    .map(|t| t.terminal || t.bootstrap.is_some())
                    .unwrap_or(false)
                {
                    *r = new_episode(rng);
                }
            }
        }
        // Episodes still running at the end of the rollout are cut: bootstrap them too.
        let open: Vec<usize> = (0..running.len())
            .filter(|&e| {
                per_env[e]
                    .last()
                    .map(|t| !t.terminal && t.bootstrap.is_none())
                    .unwrap_or(false)
            })
            .collect();
        bootstrap(&actor, &running, &mut per_env, &open, pool, device);
        let transitions: Vec<Transition> = per_env.into_iter().flatten().collect();
        state.env_steps += transitions.len();
        let update = learner.update(&set.scenes, &transitions, rng);
        state.iteration = iteration;
        state.seconds = seconds_before + start.elapsed().as_secs_f64();
        let ep = episodes.max(1) as f64;
        last_iter = AgentIteration {
            stage: "agent",
            iteration,
            env_steps: state.env_steps,
            episodes,
            mean_return: ret_sum / ep,
            mean_episode_length: len_sum / ep,
            mean_start_dice: start_sum / ep,
            mean_final_dice: final_sum / ep,
            update,
            seconds: state.seconds,
        };
        log.write(&last_iter).map_err(|e| TrainError::io(out, e))?;
        last_eval = greedy_eval(&learner.agent.valid(), set, cfg, device, iteration);
        log.write(&last_eval).map_err(|e| TrainError::io(out, e))?;
        if state
            .best
            .map(|(_, d)| last_eval.agent_dice > d)
            .unwrap_or(true)
        {
            weights::save_half(learner.agent.valid(), &out.join(AGENT_FILE))
                .map_err(TrainError::Weights)?;
            state.best = Some((iteration, last_eval.agent_dice));
        }
        weights::save_full(learner.agent.valid(), &out.join("agent_last.bpk"))
            .map_err(TrainError::Weights)?;
        if iteration % at.checkpoint_every.max(1) == 0 || iteration == end {
            crate::checkpoint::save(out, STAGE, learner.agent.valid(), &learner.optim, &state)?;
        }
        on_iteration(&last_iter, &last_eval);
    }
    let best = state
        .best
        .map(|(i, d)| GreedyEval {
            agent_dice: d,
            ..eval_of(i, state.first)
        })
        .unwrap_or_else(|| last_eval.clone());
    Ok(AgentOutcome {
        first: eval_of(0, state.first),
        last: last_eval,
        best,
        last_iteration: last_iter,
        seconds: state.seconds,
        iteration: state.iteration,
        finished: state.iteration >= at.iterations,
    })
}

/// Sets the bootstrap value V(s_{t+1}) on the last transition of each environment in `which`.
fn bootstrap(
    actor: &AgentNet,
    running: &[Running],
    per_env: &mut [Vec<Transition>],
    which: &[usize],
    pool: usize,
    device: &Device,
) {
    if which.is_empty() {
        return;
    }
    let items: Vec<(&Scene, &[u8])> = which
        .iter()
        .map(|&e| (running[e].env.scene, running[e].env.mask.mask.as_slice()))
        .collect();
    let v: Vec<f32> = actor
        .forward(state::state_batch(&items, pool, device))
        .value
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .expect("values");
    for (k, &e) in which.iter().enumerate() {
        if let Some(last) = per_env[e].last_mut() {
            last.bootstrap = Some(v[k]);
        }
    }
}
