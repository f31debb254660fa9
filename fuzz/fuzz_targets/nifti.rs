#![no_main]
//! Any byte string must decode or fail with an error; never panic, hang or over-allocate.

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use promptseg_volume::{nifti, ReadOptions};

fuzz_target!(|data: &[u8]| {
    // A small limit keeps every accepted header's allocation bounded (64 MiB).
    let opts = ReadOptions { max_bytes: 64 << 20 };
    let _ = nifti::read_bytes(data, Path::new("fuzz-input"), &opts);
});
