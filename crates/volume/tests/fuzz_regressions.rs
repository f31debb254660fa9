//! Inputs the fuzzers (`fuzz/`) once found a problem with; each must now be refused cleanly.
//! File names start with the reader they target: `dicom-`, `nifti-`, `mha-`.

use std::path::Path;

use promptseg_volume::{dicom, metaimage, nifti, ReadOptions};

#[test]
fn former_crashes_are_refused_without_panic_or_huge_allocation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_regressions");
    let opts = ReadOptions {
        max_bytes: 64 << 20,
    };
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let result = if name.starts_with("dicom-") {
            dicom::read_bytes(&bytes, &path, &opts)
        } else if name.starts_with("nifti-") {
            nifti::read_bytes(&bytes, &path, &opts)
        } else if name.starts_with("mha-") {
            metaimage::read_bytes(&bytes, &path, &opts)
        } else {
            continue;
        };
        let err = result.expect_err(&name).to_string();
        assert!(err.contains(&name), "{err}");
        if name.starts_with("dicom-oom") {
            // Refused by the length pre-scan, i.e. before the parser reserved the memory the
            // lie asked for (the fuzzer ran out of memory there).
            assert!(err.contains("declares"), "{err}");
        }
        n += 1;
    }
    assert!(n >= 1);
}
