//! Writing and reading back keeps geometry and values, for both formats, on a real oblique header.

use std::path::Path;

use promptseg_volume::{read_image, write_volume, NiftiCodes, ReadOptions, Volume};

fn demo_t2w() -> Volume<f32> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/10021_1000021/t2w.nii.gz");
    read_image(&p, &ReadOptions::default()).unwrap()
}

/// Values of demo/10021_1000021/t2w.nii.gz as SimpleITK 2.x reports them
/// (`sitk.ReadImage(...).GetOrigin()/GetSpacing()/GetDirection()`), pasted here.
const SITK_ORIGIN: [f64; 3] = [-39.75, -24.95204734802246, -31.26923370361328];
const SITK_SPACING: [f64; 3] = [0.5, 0.5, 3.000000238418579];
const SITK_DIRECTION: [f64; 9] = [
    1.0,
    2.0510340294172836e-10,
    -7.106358984689813e-18,
    -2.006213944971691e-10,
    0.9781476090444725,
    0.2079116388856712,
    4.264339575899001e-11,
    -0.20791165171914172,
    0.9781476117723104,
];

#[test]
fn demo_header_matches_simpleitk() {
    let g = demo_t2w().geometry;
    assert_eq!(g.dims, [160, 160, 16]);
    for a in 0..3 {
        assert!((g.origin[a] - SITK_ORIGIN[a]).abs() < 1e-4);
        assert!((g.spacing[a] - SITK_SPACING[a]).abs() < 1e-6);
        for c in 0..3 {
            assert!((g.direction[a][c] - SITK_DIRECTION[3 * a + c]).abs() < 1e-6);
        }
    }
}

#[test]
fn world_voxel_world_on_the_oblique_real_header() {
    let g = demo_t2w().geometry;
    for ijk in [[0usize, 0, 0], [79, 57, 7], [159, 159, 15], [3, 150, 12]] {
        let w = g.index_to_world(ijk.map(|v| v as f64));
        assert_eq!(g.world_to_voxel(w), Some(ijk));
        let back = g.index_to_world(g.world_to_index(w).unwrap());
        for a in 0..3 {
            assert!((back[a] - w[a]).abs() < 1e-9);
        }
    }
    // The slice axis is tilted ~12 degrees from the scanner z axis, so moving one slice moves
    // the point in y too: a plain axis-aligned reader would misplace every voxel off slice 0.
    let a = g.index_to_world([0.0, 0.0, 0.0]);
    let b = g.index_to_world([0.0, 0.0, 1.0]);
    assert!((b[1] - a[1] - 3.0 * 0.2079116388856712).abs() < 1e-5);
}

#[test]
fn masks_round_trip_in_nifti_and_metaimage() {
    let t2w = demo_t2w();
    let mask = t2w.map(|v| (v > 400.0) as u8);
    let dir = tempfile::tempdir().unwrap();
    for name in ["m.nii.gz", "m.nii", "m.mha"] {
        let p = dir.path().join(name);
        write_volume(&p, &mask).unwrap();
        let back = read_image(&p, &ReadOptions::default()).unwrap();
        assert!(
            back.geometry.same_grid(&t2w.geometry, 1e-4),
            "{name}: {:?} vs {:?}",
            back.geometry,
            t2w.geometry
        );
        assert_eq!(
            back.data.iter().map(|&v| v as u8).collect::<Vec<_>>(),
            mask.data,
            "{name}"
        );
        if name.contains(".nii") {
            assert_eq!(back.nifti_codes, Some(NiftiCodes { qform: 1, sform: 1 }));
        }
    }
    // A mask written for a reference keeps that reference's qform/sform codes.
    let mut odd = mask.clone();
    odd.nifti_codes = Some(NiftiCodes { qform: 1, sform: 0 });
    let p = dir.path().join("codes.nii");
    write_volume(&p, &odd).unwrap();
    let back = read_image(&p, &ReadOptions::default()).unwrap();
    assert_eq!(back.nifti_codes, Some(NiftiCodes { qform: 1, sform: 0 }));
    assert!(
        back.geometry.same_grid(&t2w.geometry, 1e-4),
        "qform alone must carry the geometry"
    );
    assert!(!dir.path().read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("partial")));
}
