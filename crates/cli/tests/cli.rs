//! End-to-end runs of the `promptseg` binary on the shipped sample case with the bundled model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use promptseg_volume::{read_image, ReadOptions};

const BIN: &str = env!("CARGO_BIN_EXE_promptseg");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn demo_case() -> PathBuf {
    repo().join("demo/10021_1000021")
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run promptseg")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Default click of demo/demo.toml.
const CLICK: &str = "79,57,7";
/// The same voxel in RAS mm, from nibabel: `img.affine @ [79, 57, 7, 1]`.
const CLICK_RAS: &str = "0.24999999,-7.29130464,-16.6536149";

#[test]
fn segment_writes_a_mask_on_the_t2w_grid_that_overlaps_the_expert_lesion() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lesion.nii.gz");
    let json = dir.path().join("s.json");
    let case = demo_case();
    let o = run(&[
        "segment",
        "--case",
        case.to_str().unwrap(),
        "--point",
        CLICK,
        "--out",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mask = read_image(&out, &ReadOptions::default()).unwrap();
    let t2w = read_image(&case.join("t2w.nii.gz"), &ReadOptions::default()).unwrap();
    assert_eq!(mask.geometry.dims, t2w.geometry.dims);
    assert_eq!(mask.geometry.origin, t2w.geometry.origin);
    assert_eq!(mask.geometry.spacing, t2w.geometry.spacing);
    assert!(mask.geometry.same_grid(&t2w.geometry, 1e-6));
    let label = read_image(&case.join("lesion_human.nii.gz"), &ReadOptions::default()).unwrap();
    let pred: Vec<u8> = mask.data.iter().map(|&v| v as u8).collect();
    let truth: Vec<u8> = label.data.iter().map(|&v| (v > 0.5) as u8).collect();
    let d = promptseg_metrics::dice(&pred, &truth);
    // Measured 0.846 with the bundled weights (see models/bundled/TRAINING.md); the bound leaves
    // room for floating-point differences between machines, not for a different method.
    assert!(d >= DICE_FLOOR, "Dice {d}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        summary["voxels"].as_u64().unwrap() as usize,
        pred.iter().filter(|&&v| v != 0).count()
    );
    assert!(summary["timings_ms"]["surrogate"].as_f64().unwrap() > 0.0);
    assert_eq!(
        summary["lesions"][0]["prompt_voxel"],
        serde_json::json!([79, 57, 7])
    );
    // One prompt: its lesion is the whole mask, and its volume the summary's.
    assert_eq!(summary["lesions"][0]["voxels"], summary["voxels"]);
    assert_eq!(summary["lesions"][0]["volume_ml"], summary["volume_ml"]);
}

const DICE_FLOOR: f64 = 0.80;

#[test]
fn same_command_same_mask_and_ras_prompt_equals_voxel_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let case = demo_case();
    let mut masks = Vec::new();
    for (n, (flag, point)) in [
        ("--point", CLICK),
        ("--point", CLICK),
        ("--point-ras", CLICK_RAS),
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path().join(format!("m{n}.nii"));
        let o = run(&[
            "segment",
            "--case",
            case.to_str().unwrap(),
            flag,
            point,
            "--out",
            out.to_str().unwrap(),
            "--sample",
            "--seed",
            "7",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        masks.push(std::fs::read(&out).unwrap());
    }
    assert!(masks[0] == masks[1], "same seed, different mask");
    assert!(
        masks[0] == masks[2],
        "the RAS prompt of the same voxel gave another mask"
    );
}

#[test]
fn bad_input_fails_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lesion.nii.gz");
    let case = demo_case();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--case".into(),
                dir.path().join("missing").display().to_string(),
                "--point".into(),
                CLICK.into(),
            ],
            "not a folder",
        ),
        (
            vec![
                "--case".into(),
                case.display().to_string(),
                "--point".into(),
                "400,1,1".into(),
            ],
            "outside the T2W grid",
        ),
        (
            vec![
                "--case".into(),
                case.display().to_string(),
                "--point".into(),
                "1,2".into(),
            ],
            "three whole numbers",
        ),
        (
            vec![
                "--case".into(),
                case.display().to_string(),
                "--point-ras".into(),
                "500,0,0".into(),
            ],
            "outside the T2W image",
        ),
    ];
    for (args, expect) in cases {
        let mut full = vec!["segment".to_string()];
        full.extend(args);
        full.extend(["--out".to_string(), out.display().to_string()]);
        let o = Command::new(BIN).args(&full).output().unwrap();
        let err = stderr(&o);
        assert!(!o.status.success(), "{full:?} succeeded");
        assert!(err.contains(expect), "{full:?}: {err}");
        assert!(err.trim().lines().count() <= 3, "{full:?}: {err}");
        assert!(!out.exists(), "{full:?} left an output file");
    }
    // Output into a missing folder, or over an input image.
    let o = run(&[
        "segment",
        "--case",
        case.to_str().unwrap(),
        "--point",
        CLICK,
        "--out",
        dir.path().join("no/such/dir/m.nii.gz").to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("does not exist"),
        "{}",
        stderr(&o)
    );
    let copy = dir.path().join("case");
    std::fs::create_dir(&copy).unwrap();
    for f in ["t2w.nii.gz", "adc.nii.gz", "hbv.nii.gz"] {
        std::fs::copy(case.join(f), copy.join(f)).unwrap();
    }
    let before = std::fs::read(copy.join("adc.nii.gz")).unwrap();
    let o = run(&[
        "segment",
        "--case",
        copy.to_str().unwrap(),
        "--point",
        CLICK,
        "--out",
        copy.join("adc.nii.gz").to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("overwrite an input"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(copy.join("adc.nii.gz")).unwrap(), before);
}
