//! Header variants (oblique, flipped, qform/sform combinations, byte orders, datatypes, NIfTI-2,
//! MetaImage flavours) read as the reference tool reads them. Files and `reference.json` come
//! from `python3 scripts/make_header_variants.py crates/volume/tests/data/variants`.

use std::path::Path;

use promptseg_volume::{read_image, ReadOptions};

#[test]
fn every_variant_matches_its_reference_reader() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/variants");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let entries = reference.as_object().unwrap();
    assert!(entries.len() >= 25);
    for (name, entry) in entries {
        let expect = entry["expect"].as_str().unwrap();
        let r = &entry[expect];
        let v =
            read_image(&dir.join(name), &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let nums = |k: &str| -> Vec<f64> {
            r[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        assert_eq!(
            v.geometry.dims.map(|d| d as f64).to_vec(),
            nums("size"),
            "{name}"
        );
        for a in 0..3 {
            assert!(
                (v.geometry.spacing[a] - nums("spacing")[a]).abs() < 1e-5,
                "{name} spacing {:?}",
                v.geometry.spacing
            );
            assert!(
                (v.geometry.origin[a] - nums("origin")[a]).abs() < 1e-4,
                "{name} origin {:?}",
                v.geometry.origin
            );
            for c in 0..3 {
                assert!(
                    (v.geometry.direction[a][c] - nums("direction")[3 * a + c]).abs() < 1e-5,
                    "{name} direction {:?}",
                    v.geometry.direction
                );
            }
        }
        let sum: f64 = v.data.iter().map(|&x| x as f64).sum();
        let want = r["sum"].as_f64().unwrap();
        assert!(
            (sum - want).abs() <= 1e-6 * want.abs().max(1.0),
            "{name} sum {sum} vs {want}"
        );
    }
}
