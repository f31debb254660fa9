//! Both training stages on real cases with a tiny configuration: they learn (loss falls, reward
//! rises against the untrained start) and a resumed run equals an uninterrupted one.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use promptseg_case::Dataset;
use promptseg_nets::weights;
use promptseg_train::surrogate::{soft_dice_loss, train_surrogate, validation_patches};
use promptseg_train::{agent, RunControl, TrainCase, TrainConfig};
use promptseg_volume::ReadOptions;

fn cases() -> Option<Vec<TrainCase>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !root.join("MANIFEST.md").exists() {
        assert!(
            std::env::var_os("PROMPTSEG_REQUIRE_SHARED").is_none(),
            "{} missing",
            root.display()
        );
        eprintln!("skipping: {} not found", root.display());
        return None;
    }
    let ds = Dataset::open(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/shared-data.toml"),
    )
    .unwrap();
    // Two positive cases and one negative keep the test fast.
    let ids = ["10021_1000021", "10707_1000723", "10000_1000000"];
    Some(
        ids.iter()
            .map(|id| TrainCase::new(ds.find(id).unwrap().load(&ReadOptions::default()).unwrap()))
            .collect(),
    )
}

fn tiny() -> TrainConfig {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny.toml"))
            .unwrap();
    toml::from_str(&text).unwrap()
}

fn run_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::create_dir(&p).unwrap();
    (d, p)
}

/// Tensor values as f32 (burnpack files carry random parameter ids, so compare values, not bytes).
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec().unwrap()
}

fn mean_loss(
    unet: &promptseg_nets::UNet3d,
    patches: &[promptseg_case::Patch],
    device: &Device,
) -> f32 {
    let mut total = 0.0;
    for p in patches {
        let prob =
            promptseg_infer::surrogate_probability(unet, p.channel_refs(), p.geometry.dims, device);
        let d = p.geometry.dims;
        let pt = Tensor::<5>::from_data(TensorData::new(prob, [1, 1, d[2], d[1], d[0]]), device);
        let label: Vec<f32> = p.label.clone().unwrap().iter().map(|&v| v as f32).collect();
        let lt = Tensor::<5>::from_data(TensorData::new(label, [1, 1, d[2], d[1], d[0]]), device);
        total += soft_dice_loss(pt, lt)
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()[0];
    }
    total / patches.len() as f32
}

#[test]
fn surrogate_loss_falls_and_resume_is_exact() {
    let Some(cases) = cases() else { return };
    let cfg = tiny();
    let device = Device::flex();
    let validation = validation_patches(&cases, &cfg.pipeline, 5).unwrap();
    device.clone().autodiff().seed(cfg.surrogate_training.seed);
    let untrained = cfg.unet.init(&device.clone().autodiff()).valid();
    let before = mean_loss(&untrained, &validation, &device);

    let (_a, straight) = run_dir("straight");
    let out = train_surrogate(
        &cases,
        &validation,
        &cfg,
        &straight,
        &device,
        RunControl::default(),
        &mut |_, _| {},
    )
    .unwrap();
    assert!(out.finished);
    let trained =
        weights::load(cfg.unet.init(&device), &straight.join("surrogate_last.bpk")).unwrap();
    let after = mean_loss(&trained, &validation, &device);
    assert!(after < before - 0.01, "soft Dice loss {before} -> {after}");

    let (_b, split) = run_dir("split");
    let half = cfg.surrogate_training.steps / 2;
    let first = train_surrogate(
        &cases,
        &validation,
        &cfg,
        &split,
        &device,
        RunControl {
            resume: false,
            stop_after: Some(half),
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert!(!first.finished && first.step == half);
    let second = train_surrogate(
        &cases,
        &validation,
        &cfg,
        &split,
        &device,
        RunControl {
            resume: true,
            stop_after: None,
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert!(second.finished);
    let a = weights::load(cfg.unet.init(&device), &straight.join("surrogate_last.bpk")).unwrap();
    let b = weights::load(cfg.unet.init(&device), &split.join("surrogate_last.bpk")).unwrap();
    let x = Tensor::<5>::random(
        [1, 3, 32, 32, 32],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    assert!(
        values(a.forward(x.clone())) == values(b.forward(x)),
        "resumed weights differ"
    );
    let log = |d: &Path| {
        std::fs::read_to_string(d.join("surrogate_metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["step"].as_u64(), v.get("loss").and_then(|x| x.as_f64()))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(log(&straight), log(&split), "resumed loss log differs");
}

#[test]
fn agent_reward_rises_and_resume_is_exact() {
    let Some(cases) = cases() else { return };
    let cfg = tiny();
    let device = Device::flex();
    // The environment's entropy comes from a probability map; here a confident one derived from
    // the label (0.99 inside, 0.01 outside), so the test is about the agent, not a tiny surrogate.
    let mut set = agent::SceneSet {
        scenes: Vec::new(),
        case_ids: Vec::new(),
        starts: Vec::new(),
        best_dice: Vec::new(),
    };
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(11);
    for tc in cases.iter().filter(|c| c.positive()) {
        for _ in 0..4 {
            let lps = tc.sample_prompt(&mut rng);
            let grid = cfg.pipeline.grid.geometry(&tc.case.t2w.geometry, lps);
            let patch = promptseg_case::Patch::extract(
                &tc.case,
                &grid,
                &cfg.pipeline.normalisation,
                cfg.pipeline.channels,
            )
            .unwrap();
            let prob: Vec<f32> = patch
                .label
                .as_ref()
                .unwrap()
                .iter()
                .map(|&v| if v != 0 { 0.99 } else { 0.01 })
                .collect();
            let prompt = grid.world_to_voxel(lps).unwrap();
            let scene = promptseg_rl::Scene::new(&patch, &prob, &cfg.pipeline.grow, prompt);
            set.best_dice.push(agent::best_seed_dice(&scene));
            set.scenes.push(scene);
            set.case_ids.push(tc.case.id().to_string());
            set.starts.push(prompt);
        }
    }

    let (_a, straight) = run_dir("straight");
    let mut returns = Vec::new();
    let out = agent::train_agent(
        &set,
        &cfg,
        &straight,
        &device,
        RunControl::default(),
        &mut |it, _| returns.push(it.mean_return),
    )
    .unwrap();
    assert!(out.finished);
    let k = returns.len() / 3;
    let early: f64 = returns[..k].iter().sum::<f64>() / k as f64;
    let late: f64 = returns[returns.len() - k..].iter().sum::<f64>() / k as f64;
    assert!(
        late > early,
        "mean episode return {early:.3} -> {late:.3} ({returns:?})"
    );

    let (_b, split) = run_dir("split");
    let half = cfg.agent_training.iterations / 2;
    agent::train_agent(
        &set,
        &cfg,
        &split,
        &device,
        RunControl {
            resume: false,
            stop_after: Some(half),
        },
        &mut |_, _| {},
    )
    .unwrap();
    let second = agent::train_agent(
        &set,
        &cfg,
        &split,
        &device,
        RunControl {
            resume: true,
            stop_after: None,
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert!(second.finished);
    let a = weights::load(cfg.agent.init(&device), &straight.join("agent_last.bpk")).unwrap();
    let b = weights::load(cfg.agent.init(&device), &split.join("agent_last.bpk")).unwrap();
    let x = Tensor::<5>::random(
        [2, 4, 16, 16, 16],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let (oa, ob) = (a.forward(x.clone()), b.forward(x));
    assert!(
        values(oa.value) == values(ob.value)
            && values(oa.logits[0].clone()) == values(ob.logits[0].clone()),
        "resumed weights differ"
    );
}
