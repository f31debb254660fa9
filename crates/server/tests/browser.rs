//! End to end in real headless Chromium (Debian's `chromium`, driven by Playwright's
//! `playwright-core` from crates/server/browser): the viewer opens the sample case, a click
//! inside the lesion gives an overlay, and the downloaded mask equals what `promptseg segment`
//! writes for the same click, byte for byte. Skips (with the reason) when Chromium, node or
//! the npm package are missing, unless PROMPTSEG_REQUIRE_BROWSER=1 (CI), where it fails.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !PathBuf::from(&chromium).exists() {
        return Some(format!(
            "{chromium} not found (apt-get install -y chromium)"
        ));
    }
    let modules = repo().join("crates/server/browser/node_modules/playwright-core");
    if !modules.exists() {
        return Some(format!(
            "{} not found (cd crates/server/browser && npm ci)",
            modules.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not found".into());
    }
    None
}

#[test]
fn viewer_click_download_equals_cli_mask() {
    if let Some(why) = missing() {
        if std::env::var("PROMPTSEG_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("browser test required (PROMPTSEG_REQUIRE_BROWSER=1) but {why}");
        }
        eprintln!("skipping the browser test: {why}");
        return;
    }
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let out = tempfile::tempdir().unwrap();
    let script = repo().join("crates/server/browser/viewer_test.mjs");
    let o = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}/", s.addr))
        .arg(out.path())
        .current_dir(repo().join("crates/server/browser"))
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "browser script failed: {stdout} {stderr}"
    );
    let line = stdout.lines().last().unwrap_or("");
    let r: serde_json::Value = serde_json::from_str(line).unwrap();
    eprintln!("browser: {r}");
    assert_eq!(r["ok"], true);
    assert_eq!(r["download_name"], format!("{CASE}_promptseg.nii.gz"));

    let models = models();
    let reference = reference_mask(&data.path().join(CASE), &[CLICK], &models);
    let cli_file = out.path().join("cli.nii.gz");
    promptseg_volume::write_volume(&cli_file, &reference).unwrap();
    let got = std::fs::read(out.path().join("viewer_mask.nii.gz")).unwrap();
    let read = |p: &std::path::Path| {
        promptseg_volume::read_image(p, &promptseg_volume::ReadOptions::default()).unwrap()
    };
    let a = read(&out.path().join("viewer_mask.nii.gz"));
    let b = read(&cli_file);
    assert_eq!(a.geometry, b.geometry);
    assert_eq!(a.data, b.data, "identical voxels");
    assert_eq!(got, std::fs::read(&cli_file).unwrap(), "identical files");
    assert_eq!(
        r["lesion"]["voxels"],
        reference.data.iter().filter(|&&v| v != 0).count()
    );
    // Saved next to the case, inputs untouched.
    let saved = std::fs::read(data.path().join(CASE).join("promptseg_mask.nii.gz")).unwrap();
    assert_eq!(saved, got);
    let t2w = std::fs::read(data.path().join(CASE).join("t2w.nii.gz")).unwrap();
    assert_eq!(
        t2w,
        std::fs::read(repo().join("demo").join(CASE).join("t2w.nii.gz")).unwrap()
    );
}
