//! Bad cases at the level of a whole `promptseg segment` run: each fails with one line naming
//! the file and the problem, exit status 1, and no output file.

use std::path::{Path, PathBuf};
use std::process::Command;

use promptseg_volume::{read_image, write_volume, ReadOptions, Volume};

const BIN: &str = env!("CARGO_BIN_EXE_promptseg");
const CLICK: &str = "79,57,7";

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../demo/10021_1000021")
        .join(name)
}

fn read(name: &str) -> Volume<f32> {
    read_image(&demo(name), &ReadOptions::default()).unwrap()
}

/// A case folder with the demo's images, where `replace` swaps one of them.
fn case_with(dir: &Path, replace: &str, volume: &Volume<f32>) -> PathBuf {
    let case = dir.join("case");
    std::fs::create_dir_all(&case).unwrap();
    for f in ["t2w.nii.gz", "adc.nii.gz", "hbv.nii.gz"] {
        if f == replace {
            write_volume(&case.join(f), volume).unwrap();
        } else {
            std::fs::copy(demo(f), case.join(f)).unwrap();
        }
    }
    case
}

fn fails(case: &Path, out: &Path, expect: &[&str]) {
    let o = Command::new(BIN)
        .args([
            "segment",
            "--case",
            case.to_str().unwrap(),
            "--point",
            CLICK,
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for e in expect {
        assert!(err.contains(e), "expected '{e}' in: {err}");
    }
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.exists(), "partial output left behind");
}

#[test]
fn nan_voxels_constant_images_and_misplaced_channels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.nii.gz");

    let mut adc = read("adc.nii.gz");
    adc.data[100] = f32::NAN;
    adc.data[200] = f32::INFINITY;
    fails(
        &case_with(dir.path(), "adc.nii.gz", &adc),
        &out,
        &["adc.nii.gz", "2 of 409600 voxels are NaN or infinite"],
    );

    let flat = read("t2w.nii.gz").map(|_| 300.0);
    fails(
        &case_with(dir.path(), "t2w.nii.gz", &flat),
        &out,
        &["t2w.nii.gz", "no contrast"],
    );

    let mut far = read("hbv.nii.gz");
    far.geometry.origin[0] += 1000.0;
    fails(
        &case_with(dir.path(), "hbv.nii.gz", &far),
        &out,
        &["hbv.nii.gz", "does not overlap the T2W image"],
    );

    // An ADC covering only i < 40 of the T2W: the click at i = 79 lies outside its field of view.
    let full = read("adc.nii.gz");
    let d = full.geometry.dims;
    let mut part = Vec::with_capacity(40 * d[1] * d[2]);
    for k in 0..d[2] {
        for j in 0..d[1] {
            for i in 0..40 {
                part.push(full.at([i, j, k]));
            }
        }
    }
    let mut g = full.geometry.clone();
    g.dims = [40, d[1], d[2]];
    fails(
        &case_with(dir.path(), "adc.nii.gz", &Volume::new(g, part)),
        &out,
        &["outside the field of view of ADC", "adc.nii.gz"],
    );
}

#[test]
fn output_whose_folder_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    fails(&demo(""), &file.join("m.nii.gz"), &["does not exist"]);
}
