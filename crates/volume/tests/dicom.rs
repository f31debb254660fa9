//! DICOM series reading against SimpleITK's ImageSeriesReader on the synthetic fixtures of
//! `scripts/make_dicom_fixture.py` (which printed the constants below).

use std::path::{Path, PathBuf};

use promptseg_volume::{read_image, ReadOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dicom")
        .join(name)
}

const SITK_ORIGIN: [f64; 3] = [-30.5, 12.25, 40.0];
const SITK_SPACING: [f64; 3] = [0.7, 0.9, 2.9999998874445604];
const SITK_DIRECTION: [f64; 9] = [
    0.9848077531877538,
    -0.16317590997480208,
    0.059391174977293265,
    0.1736481766713609,
    0.9254165798570955,
    -0.3368240853387837,
    -1.3945946201255045e-09,
    0.34202013994718455,
    0.9396926220155762,
];

#[test]
fn oblique_series_matches_simpleitk() {
    let v = read_image(&fixture("oblique"), &ReadOptions::default()).unwrap();
    let g = &v.geometry;
    assert_eq!(g.dims, [12, 10, 5]);
    for a in 0..3 {
        assert!(
            (g.origin[a] - SITK_ORIGIN[a]).abs() < 1e-5,
            "origin {:?}",
            g.origin
        );
        assert!(
            (g.spacing[a] - SITK_SPACING[a]).abs() < 1e-5,
            "spacing {:?}",
            g.spacing
        );
        for c in 0..3 {
            assert!(
                (g.direction[a][c] - SITK_DIRECTION[3 * a + c]).abs() < 1e-6,
                "direction {:?}",
                g.direction
            );
        }
    }
    let sum: f64 = v.data.iter().map(|&x| x as f64).sum();
    assert_eq!(sum, 191400.0);
    // Slices were written in shuffled file order; slope 2, intercept -100 applied.
    assert_eq!(v.at([5, 3, 2]), 282.0);
}

#[test]
fn several_series_and_compressed_data_are_refused_clearly() {
    let e = read_image(&fixture("two_series"), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2 series in one folder") && e.contains("series 1"),
        "{e}"
    );
    let e = read_image(&fixture("compressed"), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("compressed transfer syntax 1.2.840.10008.1.2.4.50"),
        "{e}"
    );
}

#[test]
fn a_damaged_slice_is_named_and_other_files_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut slices: Vec<PathBuf> = std::fs::read_dir(fixture("oblique"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    slices.sort();
    for s in &slices {
        std::fs::copy(s, dir.path().join(s.file_name().unwrap())).unwrap();
    }
    // Notes and an index beside the slices are not part of the series.
    std::fs::write(dir.path().join("README.txt"), "scanner export").unwrap();
    std::fs::write(dir.path().join("DICOMDIR"), b"not read").unwrap();
    let v = read_image(dir.path(), &ReadOptions::default()).unwrap();
    assert_eq!(v.geometry.dims, [12, 10, 5]);
    // A slice cut short in its header: it keeps the DICM magic but no longer parses.
    let victim = dir.path().join(slices[2].file_name().unwrap());
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..200]).unwrap();
    let e = read_image(dir.path(), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&victim.display().to_string()) && e.contains("not a valid DICOM file"),
        "{e}"
    );
}
