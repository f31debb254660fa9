use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use promptseg_case::{load_case, CaseFiles, GeometryFix, Prompt};
use promptseg_infer::{segment, Options};
use promptseg_volume::{write_volume, ReadOptions};

use crate::device::device;
use crate::paths;

use super::segment::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Case folder; default: the shipped sample case.
    #[arg(long)]
    pub case: Option<PathBuf>,
    /// Click (T2W voxel i,j,k); default: the sample case's default click.
    #[arg(long, value_parser = Prompt::parse_voxel, allow_hyphen_values = true)]
    pub point: Option<Prompt>,
    /// Warm clicks to time (inside the first click's window).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Benchmark training instead: surrogate steps/s at 64^3 and 128^3 (beside the same step in
    /// PyTorch-CPU when torch is installed) and agent environment steps/s.
    #[arg(long)]
    pub train: bool,
    /// Timed surrogate steps per size (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

pub fn run(a: Args) -> Result<()> {
    if a.train {
        return run_train(&a);
    }
    let (dir, point) = match (a.case.clone(), a.point) {
        (Some(d), Some(p)) => (d, p),
        (d, p) => {
            let demo = paths::demo_dir();
            let spec: toml::Value =
                toml::from_str(&std::fs::read_to_string(demo.join("demo.toml"))?)?;
            let case = spec["case"].as_str().unwrap_or_default().to_string();
            let pt: Vec<i64> = spec["point"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x.as_integer()).collect())
                .unwrap_or_default();
            (
                d.unwrap_or(demo.join(case)),
                p.unwrap_or(Prompt::Voxel([pt[0], pt[1], pt[2]])),
            )
        }
    };
    let out_dir = std::env::temp_dir().join(format!("promptseg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir)?;

    // Cold: everything a fresh `promptseg segment` does for one click.
    let t_cold = Instant::now();
    let t = Instant::now();
    let models = a.model.load()?;
    let load_model = secs(t);
    let t = Instant::now();
    let files = CaseFiles::discover(&dir)?;
    let case = load_case(&files, &GeometryFix::default(), &ReadOptions::default())?;
    let load_case_s = secs(t);
    let mut windows = Vec::new();
    let seg = segment(&case, &[point], &models, &Options::default(), &mut windows)?;
    let t = Instant::now();
    write_volume(&out_dir.join("lesion.nii.gz"), &seg.mask)?;
    let write_s = secs(t);
    let cold = secs(t_cold);
    let l = &seg.lesions[0];

    // Warm: further clicks near the first, inside its window (surrogate maps reused).
    let base = match point {
        Prompt::Voxel(v) => v,
        _ => unreachable!("bench clicks are voxels"),
    };
    let mut warm = Vec::new();
    for r in 0..a.repeat {
        let p = Prompt::Voxel([
            base[0] + (r as i64 % 3) - 1,
            base[1] + ((r as i64 / 3) % 3) - 1,
            base[2],
        ]);
        let t = Instant::now();
        let s = segment(&case, &[p], &models, &Options::default(), &mut windows)?;
        warm.push(secs(t));
        assert!(
            s.lesions[0].reused_window,
            "warm click did not reuse the window"
        );
    }
    warm.sort_by(f64::total_cmp);
    let warm_median = warm[warm.len() / 2];

    // Reference measured in the same run: one UNet forward on the working window.
    let reference = {
        let dims = models.config.pipeline.grid.size;
        let dev = device(a.model.device)?;
        let x = Tensor::<5>::zeros([1, 3, dims[2], dims[1], dims[0]], &dev);
        let _ = models.unet.forward(x.clone()).into_data();
        let t = Instant::now();
        let _ = models.unet.forward(x).into_data();
        secs(t)
    };
    let _ = std::fs::remove_dir_all(&out_dir);
    println!(
        "case {} click {point}; working grid {:?}",
        case.id(),
        models.config.pipeline.grid.size
    );
    println!(
        "cold  {cold:.3} s  (model {load_model:.3}, case {load_case_s:.3}, resample+normalise {:.3}, surrogate {:.3}, grow field {:.3}, agent {:.3} [{} steps], to T2W {:.3}, write {write_s:.3})  goal 5 s: ratio {:.2}",
        l.timings.resample_normalise_ms / 1e3,
        l.timings.surrogate_ms / 1e3,
        l.timings.grow_field_ms / 1e3,
        l.agent_ms / 1e3,
        l.steps,
        seg.to_t2w_ms / 1e3,
        cold / 5.0
    );
    println!("warm  {warm_median:.3} s  median of {} clicks (min {:.3}, max {:.3})  goal 0.5 s: ratio {:.2}", warm.len(), warm[0], warm[warm.len() - 1], warm_median / 0.5);
    println!("reference: one UNet forward on the window {reference:.3} s; cold = {:.1} x reference, warm = {:.2} x reference", cold / reference, warm_median / reference);
    Ok(())
}

/// The same surrogate step in PyTorch, via scripts/torch_unet_step.py: (s/step, version), or why not.
fn torch_step(size: usize, steps: usize) -> Result<(f64, String), String> {
    let out = std::process::Command::new("python3")
        .arg(paths::script("torch_unet_step.py"))
        .args([
            "--size",
            &size.to_string(),
            "--batch",
            "1",
            "--steps",
            &steps.to_string(),
            "--threads",
            "2",
        ])
        .output()
        .map_err(|e| format!("python3 not runnable: {e}"))?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| "no result from scripts/torch_unet_step.py".to_string())?;
    if let Some(e) = v["error"].as_str() {
        return Err(e.to_string());
    }
    match v["seconds_per_step"].as_f64() {
        Some(s) if out.status.success() => Ok((s, v["torch"].as_str().unwrap_or("?").to_string())),
        _ => Err("scripts/torch_unet_step.py failed".into()),
    }
}

fn run_train(a: &Args) -> Result<()> {
    use burn::optim::AdamConfig;
    use promptseg_nets::UNetConfig;
    use promptseg_rl::{policy, state, ActionMode, Env, PpoConfig, PpoLearner, Transition};
    use promptseg_train::surrogate::train_step;
    use rand::SeedableRng;

    let dev = device(a.model.device)?;
    let ad = dev.clone().autodiff();
    println!(
        "surrogate training step (batch 1, 3D UNet {:?}, Adam), {} timed steps after a warm-up:",
        UNetConfig::default().channels,
        a.steps
    );
    for size in [64usize, 128] {
        let mut unet = UNetConfig::default().init(&ad);
        let mut optim = AdamConfig::new().init();
        let x = Tensor::<5>::random(
            [1, 3, size, size, size],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &ad,
        );
        let y = Tensor::<5>::random(
            [1, 1, size, size, size],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &ad,
        )
        .greater_elem(0.9)
        .float();
        let steps = if size > 64 { a.steps.min(2) } else { a.steps };
        let (u, _) = train_step(unet, &mut optim, x.clone(), y.clone(), 1e-3);
        unet = u;
        let t = Instant::now();
        for _ in 0..steps {
            let (u, _) = train_step(unet, &mut optim, x.clone(), y.clone(), 1e-3);
            unet = u;
        }
        let ours = secs(t) / steps as f64;
        match torch_step(size, steps) {
            Ok((theirs, version)) => println!(
                "  {size}^3: promptseg {ours:.3} s/step ({:.2} steps/s); PyTorch {version} CPU {theirs:.3} s/step; ratio promptseg/PyTorch {:.2}",
                1.0 / ours,
                ours / theirs
            ),
            Err(why) => println!("  {size}^3: promptseg {ours:.3} s/step ({:.2} steps/s); PyTorch skipped ({why})", 1.0 / ours),
        }
    }

    // Agent: environment steps with the bundled model on the sample case, then one PPO update.
    let models = a.model.load()?;
    let agent = models.agent()?;
    let demo = paths::demo_dir();
    let files = CaseFiles::discover(&demo.join("10021_1000021"))?;
    let case = load_case(&files, &GeometryFix::default(), &ReadOptions::default())?;
    let lps = Prompt::Voxel([79, 57, 7]).to_lps(&case.t2w.geometry)?;
    let window = promptseg_infer::Window::prepare(&case, lps, &models.config.pipeline, &models)?;
    let scene = &window.scene;
    let pool = models.config.agent.input_pool;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let envs = 8;
    let mut running: Vec<Env> = (0..envs)
        .map(|_| Env::reset(scene, models.config.pipeline.env.clone(), scene.prompt))
        .collect();
    let mut transitions = Vec::new();
    let t = Instant::now();
    let rounds = 16;
    for _ in 0..rounds {
        let items: Vec<(&promptseg_rl::Scene, &[u8])> = running
            .iter()
            .map(|e| (scene, e.mask.mask.as_slice()))
            .collect();
        let out = agent.forward(state::state_batch(&items, pool, &dev));
        let values: Vec<f32> = out
            .value
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap_or_default();
        let picks = policy::choose(&out.logits, ActionMode::Sample, &mut rng);
        for (k, env) in running.iter_mut().enumerate() {
            let state_seed = env.seed;
            let o = env.step(picks[k].0);
            transitions.push(Transition {
                scene: 0,
                state_seed,
                action: picks[k].0,
                logp: picks[k].1,
                value: values.get(k).copied().unwrap_or(0.0),
                reward: o.reward,
                terminal: o.terminal,
                bootstrap: (o.truncated || !o.terminal).then_some(0.0),
            });
            if o.terminal || o.truncated {
                *env = Env::reset(scene, models.config.pipeline.env.clone(), scene.prompt);
            }
        }
    }
    let env_rate = (rounds * envs) as f64 / secs(t);
    let mut learner = PpoLearner::new(
        models.config.agent.init(&ad),
        PpoConfig {
            epochs: 1,
            minibatch: 32,
            ..PpoConfig::default()
        },
        pool,
    );
    let scenes = vec![scene.clone()];
    let t = Instant::now();
    learner.update(&scenes, &transitions, &mut rng);
    let update_rate = transitions.len() as f64 / secs(t);
    println!(
        "agent: {env_rate:.1} environment steps/s ({envs} environments, batched policy forward + region growing); PPO update {update_rate:.1} samples/s (minibatch 32)"
    );
    Ok(())
}
