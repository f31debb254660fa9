//! `promptseg evaluate` end to end on the shipped sample case: a perfect external prediction
//! must score exactly 1, a damaged case is reported and the others go on, every output exists
//! and the detection map sits on the T2W grid with one constant confidence per lesion.

use std::path::{Path, PathBuf};
use std::process::Command;

use promptseg_volume::{read_image, ReadOptions};

const BIN: &str = env!("CARGO_BIN_EXE_promptseg");

fn demo_case() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/10021_1000021")
}

#[test]
fn evaluate_scores_methods_reports_failures_and_writes_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A second copy of the case whose T2W is cut short: it must fail alone.
    let broken = root.join("broken");
    std::fs::create_dir(&broken).unwrap();
    for f in [
        "t2w.nii.gz",
        "adc.nii.gz",
        "hbv.nii.gz",
        "lesion_human.nii.gz",
    ] {
        std::fs::copy(demo_case().join(f), broken.join(f)).unwrap();
    }
    let t2w = std::fs::read(broken.join("t2w.nii.gz")).unwrap();
    std::fs::write(broken.join("t2w.nii.gz"), &t2w[..t2w.len() / 2]).unwrap();
    let manifest = root.join("cases.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[case]]\ndir = \"{}\"\nid = \"sample\"\n\n[[case]]\ndir = \"{}\"\nid = \"broken\"\n",
            demo_case().display(),
            broken.display()
        ),
    )
    .unwrap();
    // The expert label itself as an external "prediction".
    let perfect = root.join("perfect");
    std::fs::create_dir(&perfect).unwrap();
    std::fs::copy(
        demo_case().join("lesion_human.nii.gz"),
        perfect.join("sample.nii.gz"),
    )
    .unwrap();
    let out = root.join("report");
    let o = Command::new(BIN)
        .args(["evaluate", "--data"])
        .arg(&manifest)
        .args(["--out"])
        .arg(&out)
        .args(["--prompts", "2", "--methods", "agent,grow,confidence"])
        .arg("--external")
        .arg(format!("expert={}", perfect.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("broken: failed, continuing"), "{stderr}");

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("1 cases (1 with lesions, 0 negative"),
        "{report}"
    );
    assert!(report.contains("- broken:"), "{report}");
    assert!(
        report.contains("| expert | 1 | 1.000 | 0.000 |"),
        "{report}"
    );

    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let entrants = metrics["summary"]["entrants"].as_array().unwrap();
    let names: Vec<&str> = entrants
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "RL-PromptSeg (full)",
            "region growing only",
            "confidence connected",
            "expert",
            "no prompting"
        ]
    );
    let expert = &entrants[3];
    assert_eq!(expert["dice"]["mean"], 1.0);
    assert_eq!(expert["false_positive_rate"]["mean"], 0.0);
    assert_eq!(expert["sensitivity"]["mean"], 1.0);
    // The full method on its own demo click scores 0.846 (tests/cli.rs); random prompts inside
    // the lesion must stay in that range on this case.
    let full = entrants[0]["dice"]["mean"].as_f64().unwrap();
    assert!(full > 0.7, "full-method Dice {full}");

    let csv = std::fs::read_to_string(out.join("cases.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("case,in_training,positive"));
    // (3 prompt-taking + 2 prompt-free entrants) x 2 protocols.
    assert_eq!(rows.len(), 1 + 10, "{csv}");
    assert!(rows
        .iter()
        .any(|r| r.starts_with("sample,false,true,1,expert,inside,2,1.0000")));

    for f in ["figures/dice_boxplot.png", "figures/montage_sample.png"] {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{f}");
    }
    let map = read_image(
        &out.join("detection_maps/sample_detection_map.nii.gz"),
        &ReadOptions::default(),
    )
    .unwrap();
    let t2w = read_image(&demo_case().join("t2w.nii.gz"), &ReadOptions::default()).unwrap();
    assert!(map.geometry.same_grid(&t2w.geometry, 1e-6));
    let values: std::collections::BTreeSet<u32> = map
        .data
        .iter()
        .filter(|&&v| v != 0.0)
        .map(|v| v.to_bits())
        .collect();
    assert!(!values.is_empty(), "the click found a lesion");
    for v in &values {
        let c = f32::from_bits(*v);
        assert!(c > 0.0 && c <= 1.0, "confidence {c}");
    }

    // A second run into the same folder is refused rather than mixing two reports.
    let again = Command::new(BIN)
        .args(["evaluate", "--data"])
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));

    // Absurd trial counts are refused before anything is allocated or created.
    let fresh = root.join("never");
    let huge = Command::new(BIN)
        .args(["evaluate", "--data"])
        .arg(&manifest)
        .arg("--out")
        .arg(&fresh)
        .args(["--prompts", "1000000000000"])
        .output()
        .unwrap();
    assert_eq!(huge.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&huge.stderr).contains("--prompts 1000000000000"));
    assert!(!fresh.exists(), "no report folder for a refused run");
}
