//! NRRD: geometry and values survive a write and read back, on the demo's oblique T2W header;
//! the header says what Slicer expects; RAS-space and raw files written by others read correctly.

use std::path::Path;

use promptseg_volume::{nrrd, read_image, write_volume, Geometry, ReadOptions, Volume};

fn demo_t2w() -> Volume<f32> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/10021_1000021/t2w.nii.gz");
    read_image(&p, &ReadOptions::default()).unwrap()
}

fn close(a: &Geometry, b: &Geometry) {
    assert_eq!(a.dims, b.dims);
    for r in 0..3 {
        assert!((a.origin[r] - b.origin[r]).abs() < 1e-9, "{a:?} {b:?}");
        assert!((a.spacing[r] - b.spacing[r]).abs() < 1e-9, "{a:?} {b:?}");
        for c in 0..3 {
            assert!((a.direction[r][c] - b.direction[r][c]).abs() < 1e-9);
        }
    }
}

#[test]
fn mask_round_trip_keeps_oblique_geometry_and_voxels() {
    let t2w = demo_t2w();
    let mask = t2w.map(|v| (v > 300.0) as u8);
    assert!(mask.data.contains(&1) && mask.data.contains(&0));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mask.nrrd");
    write_volume(&path, &mask).unwrap();
    let back = read_image(&path, &ReadOptions::default()).unwrap();
    close(&back.geometry, &mask.geometry);
    let back_u8: Vec<u8> = back.data.iter().map(|&v| v as u8).collect();
    assert_eq!(back_u8, mask.data);
    // The header: uint8, LPS, one vector per axis = direction column x spacing.
    let bytes = std::fs::read(&path).unwrap();
    let end = bytes.windows(2).position(|w| w == b"\n\n").unwrap();
    let text = String::from_utf8_lossy(&bytes[..end + 1]);
    assert!(text.starts_with("NRRD0004\n"));
    assert!(text.contains("type: uint8\n"));
    assert!(text.contains("sizes: 160 160 16\n"));
    assert!(text.contains("space: left-posterior-superior\n"));
    assert!(text.contains("encoding: gzip\n"));
    let g = &mask.geometry;
    let k = format!(
        "({},{},{})",
        g.direction[0][2] * g.spacing[2],
        g.direction[1][2] * g.spacing[2],
        g.direction[2][2] * g.spacing[2]
    );
    assert!(text.contains(&k), "{text}");
    assert!(text.contains(&format!(
        "space origin: ({},{},{})",
        g.origin[0], g.origin[1], g.origin[2]
    )));
}

#[test]
fn float_round_trip_is_exact() {
    let t2w = demo_t2w();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t2w.nrrd");
    write_volume(&path, &t2w).unwrap();
    // Found by content too, whatever the name.
    let other = dir.path().join("t2w.bin");
    std::fs::copy(&path, &other).unwrap();
    for p in [&path, &other] {
        let back = read_image(p, &ReadOptions::default()).unwrap();
        close(&back.geometry, &t2w.geometry);
        assert_eq!(back.data, t2w.data);
    }
}

#[test]
fn ras_space_raw_big_endian_file_reads_as_lps() {
    let mut bytes = b"NRRD0005\n# written by hand\ntype: short\ndimension: 3\nspace: right-anterior-superior\nsizes: 2 1 1\nspace directions: (-0.5,0,0) (0,-0.5,0) (0,0,3)\nkinds: domain domain domain\nendian: big\nencoding: raw\nspace origin: (10,20,30)\n\n".to_vec();
    bytes.extend_from_slice(&(-7i16).to_be_bytes());
    bytes.extend_from_slice(&300i16.to_be_bytes());
    let v = nrrd::decode(&bytes, &ReadOptions::default()).unwrap();
    assert_eq!(v.data, vec![-7.0, 300.0]);
    assert_eq!(v.geometry.origin, [-10.0, -20.0, 30.0]);
    assert_eq!(v.geometry.spacing, [0.5, 0.5, 3.0]);
    assert_eq!(
        v.geometry.direction,
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    );
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let opts = ReadOptions::default();
    let head = "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 4\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nencoding: raw\n\n";
    let short = format!("{head}abc");
    let e = nrrd::decode(short.as_bytes(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncated"), "{e}");
    let e = nrrd::decode(b"NRRD0004\ntype: uint8\n", &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("blank line"), "{e}");
    let huge = head.replace("4 4 4", "100000 100000 100000");
    let e = nrrd::decode(huge.as_bytes(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds"), "{e}");
    let detached = head.replace("encoding: raw", "encoding: raw\ndata file: x.raw");
    let e = nrrd::decode(detached.as_bytes(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("detached"), "{e}");
}
