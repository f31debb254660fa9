//! Safety: token, upload limit, IDs that try to leave the data folder, bad uploads that must
//! leave the datastore as it was, and per-case locks (a busy case does not block another).

mod common;

use std::time::{Duration, Instant};

use common::*;

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.push(format!(
            "{} {}",
            e.display(),
            std::fs::metadata(&e).map(|m| m.len()).unwrap_or(0)
        ));
    }
    out.sort();
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

fn upload(s: &Server, image: &str, params: &str, name: &str, bytes: &[u8]) -> Reply {
    send_multipart(
        s,
        "PUT",
        &format!("/datastore/?image={image}"),
        &[("params", params)],
        &[("file", name, bytes)],
    )
}

#[test]
fn ids_cannot_leave_the_data_folder() {
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let secret = data_dir(&["secret_case"]);
    std::fs::write(outer.path().join("secret.txt"), "TOP-SECRET-CONTENT").unwrap();
    let case = data_dir(&[CASE]);
    std::fs::rename(case.path().join(CASE), data.join(CASE)).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(secret.path().join("secret_case"), data.join("escape")).unwrap();
    let s = start(&data, None, 64 << 20);
    for id in [
        "..",
        "../secret.txt",
        "..%2Fsecret.txt",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "escape",
        "10021_1000021%2F..%2F..%2Fsecret.txt",
        ".",
        "a%5C..%5Cb",
        "10021_1000021/../10021_1000021",
        "%00",
        "",
    ] {
        for target in [
            format!("/datastore/image?image={id}"),
            format!("/api/volume?case={id}"),
        ] {
            let r = request(s.addr, "GET", &target, &[], b"");
            assert!(
                (400..500).contains(&r.status),
                "{target}: {} {}",
                r.status,
                r.text()
            );
            assert!(!r.text().contains("TOP-SECRET"), "{target}");
            assert!(r.body.len() < 1000, "{target}: only an error message");
        }
        let r = request(
            s.addr,
            "POST",
            &format!("/api/open?case={id}"),
            &[("content-length", "0")],
            b"",
        );
        assert!((400..500).contains(&r.status), "open {id}: {}", r.status);
    }
    // The symlinked folder is not listed either.
    let ds = request(s.addr, "GET", "/datastore/?output=all", &[], b"").json();
    let ids: Vec<&String> = ds["objects"].as_object().unwrap().keys().collect();
    assert_eq!(ids, vec![CASE]);
    // Uploads cannot name a path.
    let t2w = std::fs::read(data.join(CASE).join("t2w.nii.gz")).unwrap();
    for id in ["..%2Fevil", "a%2Fb", ".hidden"] {
        let r = upload(&s, id, "{}", "x.nii.gz", &t2w);
        assert_eq!(r.status, 400, "{id}: {}", r.text());
    }
    assert!(!outer.path().join("evil").exists());
}

#[test]
fn token_is_required_when_set() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), Some("s3cret"), 64 << 20);
    assert_eq!(request(s.addr, "GET", "/info/", &[], b"").status, 401);
    assert_eq!(
        request(
            s.addr,
            "GET",
            "/info/",
            &[("Authorization", "Bearer wrong")],
            b""
        )
        .status,
        401
    );
    let ok = request(
        s.addr,
        "GET",
        "/info/",
        &[("Authorization", "Bearer s3cret")],
        b"",
    );
    assert_eq!(ok.status, 200);
    assert_eq!(request(s.addr, "GET", "/api/cases", &[], b"").status, 401);
    assert_eq!(
        request(s.addr, "GET", "/datastore/?output=all", &[], b"").status,
        401
    );
    // The page itself has no data and loads; /auth/ says auth is on.
    assert_eq!(request(s.addr, "GET", "/", &[], b"").status, 200);
    assert_eq!(
        request(s.addr, "GET", "/auth/", &[], b"").json(),
        serde_json::json!({"enabled": true})
    );
    let form = b"username=me&password=s3cret";
    let r = request(
        s.addr,
        "POST",
        "/auth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["access_token"], "s3cret");
    let r = request(
        s.addr,
        "POST",
        "/auth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"username=me&password=no",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn bad_uploads_are_refused_and_change_nothing() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 4 << 20);
    let before = listing(data.path());
    // Too large for the limit.
    let big = vec![0u8; 5 << 20];
    let r = upload(&s, "big", "{}", "big.nii.gz", &big);
    assert_eq!(r.status, 413, "{}", r.text());
    // Not an image.
    let r = upload(&s, "junk", "{}", "junk.nii.gz", b"this is not a volume");
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = r.json()["detail"].as_str().unwrap().to_string();
    assert!(
        msg.contains("not a readable image") && !msg.contains('\n'),
        "{msg}"
    );
    // Unknown extension, unknown channel, no file part.
    assert_eq!(upload(&s, "x", "{}", "x.png", b"abc").status, 400);
    assert_eq!(
        upload(&s, "x", "{\"channel\": \"dwi2\"}", "x.nii.gz", b"abc").status,
        400
    );
    let r = send_multipart(&s, "PUT", "/datastore/?image=x", &[("params", "{}")], &[]);
    assert_eq!(r.status, 400);
    // Not multipart at all.
    let r = request(
        s.addr,
        "PUT",
        "/datastore/?image=x",
        &[("content-type", "application/json")],
        b"{}",
    );
    assert!((400..500).contains(&r.status));
    // A truncated image in the viewer's three-file upload.
    let t2w = std::fs::read(data.path().join(CASE).join("t2w.nii.gz")).unwrap();
    let hbv = std::fs::read(data.path().join(CASE).join("hbv.nii.gz")).unwrap();
    let mut parts: Vec<(&str, &str, &[u8])> = vec![
        ("t2w", "t2w.nii.gz", &t2w),
        ("adc", "adc.nii.gz", &t2w[..100]),
        ("hbv", "hbv.nii.gz", &hbv),
    ];
    let r = post_multipart(&s, "/api/upload?id=newcase", &parts);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["detail"].as_str().unwrap().starts_with("adc:"),
        "{}",
        r.text()
    );
    // An existing case is never replaced.
    let adc = std::fs::read(data.path().join(CASE).join("adc.nii.gz")).unwrap();
    parts[1] = ("adc", "adc.nii.gz", &adc);
    let r = post_multipart(&s, &format!("/api/upload?id={CASE}"), &parts);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(listing(data.path()), before, "datastore unchanged");

    // A good three-file upload makes a new case that segments.
    let r = post_multipart(&s, "/api/upload?id=newcase", &parts);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(
        s.addr,
        "POST",
        "/api/click?case=newcase",
        &[("content-type", "application/json")],
        br#"{"point": [79, 57, 7]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["call"], "positive");
}

#[test]
fn a_single_new_image_needs_its_adc_and_hbv() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    // A T2W that is no case's: the sample's with other voxel values.
    let mut t2w = promptseg_volume::read_image(
        &data.path().join(CASE).join("t2w.nii.gz"),
        &Default::default(),
    )
    .unwrap();
    for v in &mut t2w.data {
        *v += 1.0;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("t2w.nrrd");
    promptseg_volume::write_volume(&p, &t2w).unwrap();
    let r = upload(&s, "solo", "{}", "t2w.nrrd", &std::fs::read(&p).unwrap());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(data.path().join("solo/t2w.nii.gz").exists());
    let params = serde_json::json!({"foreground": [CLICK]}).to_string();
    let body = monai_multipart(&[("params", &params)], &[]);
    let len = body.len().to_string();
    let infer = |s: &Server| {
        request(
            s.addr,
            "POST",
            "/infer/promptseg?image=solo",
            &[
                ("content-type", &monai_content_type()),
                ("content-length", &len),
            ],
            &body,
        )
    };
    let r = infer(&s);
    assert_eq!(r.status, 409, "{}", r.text());
    let msg = r.json()["detail"].as_str().unwrap().to_string();
    assert!(
        msg.contains("no ADC image") && msg.contains("\"channel\": \"adc\""),
        "{msg}"
    );
    // A second T2W for the same ID is refused (never replaced).
    assert_eq!(
        upload(&s, "solo", "{}", "t2w.nrrd", &std::fs::read(&p).unwrap()).status,
        409
    );
    // Adding the two channels makes it usable.
    for ch in ["adc", "hbv"] {
        let bytes = std::fs::read(data.path().join(CASE).join(format!("{ch}.nii.gz"))).unwrap();
        let r = upload(
            &s,
            "solo",
            &format!("{{\"channel\": \"{ch}\"}}"),
            &format!("{ch}.nii.gz"),
            &bytes,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = infer(&s);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_busy_case_does_not_block_another() {
    let data = data_dir(&["case_a", "case_b"]);
    let s = start(data.path(), None, 64 << 20);
    // Hold case A's lock as a long click would.
    let slot = s.state.sessions.slot("case_a");
    let guard = slot.lock().unwrap();
    let t = Instant::now();
    let r = request(
        s.addr,
        "POST",
        "/api/click?case=case_b",
        &[("content-type", "application/json")],
        br#"{"point": [79, 57, 7]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(60));
    // A request on A waits for the lock and then completes.
    let addr = s.addr;
    let waiter = std::thread::spawn(move || {
        request(
            addr,
            "POST",
            "/api/click?case=case_a",
            &[("content-type", "application/json")],
            br#"{"point": [79, 57, 7]}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished(), "case A is locked");
    drop(guard);
    let r = waiter.join().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["voxels"], 11736);
}

#[test]
fn viewer_api_undo_redo_delete_and_background_click() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let click = |body: &[u8]| {
        request(
            s.addr,
            "POST",
            &format!("/api/click?case={CASE}"),
            &[("content-type", "application/json")],
            body,
        )
    };
    let post = |path: &str| request(s.addr, "POST", path, &[("content-length", "0")], b"").json();
    let st = click(br#"{"point": [79, 57, 7]}"#).json();
    assert_eq!(st["lesions"].as_array().unwrap().len(), 1);
    let voxels = st["voxels"].as_u64().unwrap();
    let labels = request(s.addr, "GET", &format!("/api/labels?case={CASE}"), &[], b"");
    assert_eq!(
        labels.body.iter().filter(|&&v| v == 1).count() as u64,
        voxels
    );
    // A background click inside it removes it; undo brings it back; redo removes it again.
    let st = click(br#"{"point": [79, 57, 7], "background": true}"#).json();
    assert_eq!(st["removed"], 1);
    assert_eq!(st["voxels"], 0);
    assert_eq!(st["call"], "negative");
    assert_eq!(post(&format!("/api/undo?case={CASE}"))["voxels"], voxels);
    assert_eq!(post(&format!("/api/redo?case={CASE}"))["voxels"], 0);
    let st = post(&format!("/api/undo?case={CASE}"));
    let id = st["lesions"][0]["id"].as_u64().unwrap();
    let st = post(&format!("/api/delete?case={CASE}&lesion={id}"));
    assert_eq!(st["voxels"], 0);
    assert_eq!(
        request(
            s.addr,
            "POST",
            &format!("/api/delete?case={CASE}&lesion=99"),
            &[("content-length", "0")],
            b""
        )
        .status,
        404
    );
    // A click outside the image is a 4xx, not a crash.
    assert_eq!(click(br#"{"point": [500, 0, 0]}"#).status, 422);
    assert_eq!(click(br#"{"point": [1, 2]}"#).status, 422);
    // Channels on the T2W grid.
    let n = 160 * 160 * 16 * 4;
    for ch in ["t2w", "adc", "hbv", "entropy"] {
        let r = request(
            s.addr,
            "GET",
            &format!("/api/volume?case={CASE}&channel={ch}"),
            &[],
            b"",
        );
        assert_eq!(r.body.len(), n, "{ch}");
    }
}
