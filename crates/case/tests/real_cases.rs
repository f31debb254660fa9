//! Case assembly on the real cases of ../shared/data.

use std::path::{Path, PathBuf};

use promptseg_case::{
    load_case, Channels, Dataset, GeometryFix, GridSpec, Normalisation, Patch, Prompt,
};
use promptseg_volume::{resample_linear, resample_nearest, ReadOptions};

fn shared() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if root.join("MANIFEST.md").exists() {
        return Some(root);
    }
    assert!(
        std::env::var_os("PROMPTSEG_REQUIRE_SHARED").is_none(),
        "{} missing",
        root.display()
    );
    eprintln!("skipping: {} not found", root.display());
    None
}

fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/shared-data.toml")
}

#[test]
fn manifest_lists_the_six_usable_cases() {
    if shared().is_none() {
        return;
    }
    let ds = Dataset::open(&manifest()).unwrap();
    assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
    let ids: Vec<&str> = ds.entries.iter().map(|e| e.files.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "10021_1000021",
            "10000_1000000",
            "10795_1000811",
            "10707_1000723",
            "10604_1000618",
            "10925_1000942"
        ]
    );
    let e = ds.find("10707_1000723").unwrap();
    assert_eq!(e.fix.spacing, Some([1.5, 1.5, 0.445]));
}

/// SimpleITK reference: `sitk.Resample(adc, t2w, sitk.Transform(), interpolator, 0.0,
/// sitk.sitkFloat32)` for picai_prostatex_native/10795_1000811 (ADC on its own 2 mm grid),
/// then the sum of all voxels: linear 1432817112.0, nearest 1433248624.0; linear value at
/// T2W voxel (192, 192, 9) = 1089.0.
#[test]
fn adc_resampled_onto_t2w_matches_simpleitk() {
    let Some(root) = shared() else { return };
    let dir = root.join("picai_prostatex_native/10795_1000811");
    let files = promptseg_case::CaseFiles::discover(&dir).unwrap();
    let case = load_case(&files, &GeometryFix::default(), &ReadOptions::default()).unwrap();
    let lin = resample_linear(&case.adc, &case.t2w.geometry, 0.0);
    let sum: f64 = lin.volume.data.iter().map(|&v| v as f64).sum();
    assert!(
        (sum - 1432817112.0).abs() / 1432817112.0 < 1e-5,
        "linear sum {sum}"
    );
    assert!((lin.volume.at([192, 192, 9]) - 1089.0).abs() < 0.05);
    let near = resample_nearest(&case.adc, &case.t2w.geometry, 0.0);
    let sum: f64 = near.volume.data.iter().map(|&v| v as f64).sum();
    assert!(
        (sum - 1433248624.0).abs() / 1433248624.0 < 1e-6,
        "nearest sum {sum}"
    );
}

#[test]
fn windows_on_real_cases_are_normalised_and_prompts_are_checked() {
    let Some(root) = shared() else { return };
    let files =
        promptseg_case::CaseFiles::discover(&root.join("picai_prostatex_native/10795_1000811"))
            .unwrap();
    let case = load_case(&files, &GeometryFix::default(), &ReadOptions::default()).unwrap();
    assert!(case.gland.is_some() && case.label.is_some());
    let centre = Prompt::Voxel([192, 192, 9])
        .to_lps(&case.t2w.geometry)
        .unwrap();
    let g = GridSpec::default().geometry(&case.t2w.geometry, centre);
    let p = Patch::extract(&case, &g, &Normalisation::default(), Channels::All).unwrap();
    for c in &p.channels {
        // Range normalisation: [p1, p99] of the in-view voxels onto [0, 1].
        assert!(c.iter().all(|v| (0.0..=1.0).contains(v)));
        let above = c.iter().filter(|&&v| v >= 1.0).count() as f64 / c.len() as f64;
        assert!(
            above > 0.002 && above < 0.03,
            "share at the top of the range {above}"
        );
    }
    // The DWI covers the window in-plane; in z the series spans 19 x 3 = 57 of the window's 64 mm.
    let coverage = p.dwi_inside.iter().filter(|&&b| b).count() as f64 / p.dwi_inside.len() as f64;
    assert!((coverage - 57.0 / 64.0).abs() < 0.02, "coverage {coverage}");
    // A voxel at the T2W's edge lies outside the 168 x 256 mm ADC field of view.
    let edge = Prompt::Voxel([2, 192, 9])
        .to_lps(&case.t2w.geometry)
        .unwrap();
    assert!(case.adc.geometry.world_to_voxel(edge).is_none());
}
