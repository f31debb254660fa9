//! Every image in ../shared/data read by promptseg must match SimpleITK and nibabel.
//!
//! `tests/data/shared_geometry.json` was produced by
//! `python3 scripts/geometry_reference.py ../shared/data` (SimpleITK 2.x, nibabel 5.x); it holds
//! each file's size, spacing, origin, direction (LPS, row-major) and voxel sum.

use std::path::{Path, PathBuf};

use promptseg_volume::{read_image, ReadOptions};

fn shared_data() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if root.join("MANIFEST.md").exists() {
        Some(root)
    } else {
        assert!(
            std::env::var_os("PROMPTSEG_REQUIRE_SHARED").is_none(),
            "PROMPTSEG_REQUIRE_SHARED is set but {} is missing",
            root.display()
        );
        eprintln!("skipping: {} not found", root.display());
        None
    }
}

#[test]
fn geometry_and_sums_match_simpleitk_and_nibabel() {
    let Some(root) = shared_data() else { return };
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shared_geometry.json"),
    )
    .unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for (rel, entry) in reference.as_object().unwrap() {
        let v =
            read_image(&root.join(rel), &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        for tool in ["sitk", "nibabel"] {
            let Some(r) = entry.get(tool) else { continue };
            let nums = |k: &str| -> Vec<f64> {
                r[k].as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            };
            let size = nums("size");
            assert_eq!(
                v.geometry.dims.map(|d| d as f64).to_vec(),
                size,
                "{rel} size vs {tool}"
            );
            for a in 0..3 {
                assert!(
                    (v.geometry.spacing[a] - nums("spacing")[a]).abs() < 1e-5,
                    "{rel} spacing vs {tool}"
                );
                assert!(
                    (v.geometry.origin[a] - nums("origin")[a]).abs() < 1e-4,
                    "{rel} origin vs {tool}"
                );
                for c in 0..3 {
                    assert!(
                        (v.geometry.direction[a][c] - nums("direction")[3 * a + c]).abs() < 1e-5,
                        "{rel} direction vs {tool}"
                    );
                }
            }
            let sum: f64 = v.data.iter().map(|&x| x as f64).sum();
            let want = r["sum"].as_f64().unwrap();
            assert!(
                (sum - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{rel} voxel sum {sum} vs {tool} {want}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} comparisons");
}
