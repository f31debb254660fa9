//! Regressions for a hostile tester's findings: uploads whose headers point at other files,
//! symbolic links out of the data folder, channels that miss the T2W, labels with odd values,
//! ambiguous multipart requests, non-JSON errors and small CLI/stat mistakes.

mod common;

use std::path::Path;

use common::*;
use promptseg_server::{AppState, Config};
use promptseg_volume::{read_image, Volume};

fn put(s: &Server, target: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Reply {
    let body = monai_multipart(fields, files);
    let len = body.len().to_string();
    request(
        s.addr,
        "PUT",
        target,
        &[
            ("content-type", &monai_content_type()),
            ("content-length", &len),
        ],
        &body,
    )
}

fn detail(r: &Reply) -> String {
    r.json()["detail"].as_str().unwrap_or("").to_string()
}

fn read(data: &Path, ch: &str) -> Volume<f32> {
    read_image(
        &data.join(CASE).join(format!("{ch}.nii.gz")),
        &Default::default(),
    )
    .unwrap()
}

fn nii_gz(v: &Volume<f32>) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("v.nii.gz");
    promptseg_volume::write_volume(&p, v).unwrap();
    std::fs::read(p).unwrap()
}

/// The sample's T2W with other voxel values (so that it is no existing case's T2W).
fn other_t2w(data: &Path) -> Volume<f32> {
    let mut t2w = read(data, "t2w");
    for v in &mut t2w.data {
        *v += 1.0;
    }
    t2w
}

/// A volume moved far away from the T2W (no overlap in space).
fn far_away(mut v: Volume<f32>) -> Volume<f32> {
    v.geometry.origin[0] += 1e5;
    v
}

/// A MetaImage header whose voxels are "in" another file.
fn detached_mha(data_file: &Path) -> Vec<u8> {
    format!(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nCompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 1 1 1\nDimSize = 4 4 2\nElementType = MET_UCHAR\nElementDataFile = {}\n",
        data_file.display()
    )
    .into_bytes()
}

fn no_server_path(msg: &str, data: &Path) {
    assert!(!msg.contains(".promptseg-upload"), "{msg}");
    assert!(!msg.contains(&data.display().to_string()), "{msg}");
    assert!(!msg.contains("/tmp"), "{msg}");
}

#[test]
fn uploaded_metaimage_must_hold_its_voxels() {
    let outer = tempfile::tempdir().unwrap();
    let secret = outer.path().join("secret.raw");
    std::fs::write(&secret, "TOP-SECRET-CONTENT-0123456789-ABCDEFGHIJ").unwrap();
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let mha = detached_mha(&secret);
    // MONAI upload.
    let r = put(
        &s,
        "/datastore/?image=leak",
        &[("params", "{}")],
        &[("file", "leak.mha", &mha)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = detail(&r);
    assert!(msg.contains("ElementDataFile = LOCAL"), "{msg}");
    assert!(!msg.contains("TOP-SECRET"), "{msg}");
    no_server_path(&msg, data.path());
    assert!(!data.path().join("leak").exists());
    // A relative data file next to the upload is refused as well.
    let r = put(
        &s,
        "/datastore/?image=leak2",
        &[("params", "{}")],
        &[(
            "file",
            "leak2.mha",
            &detached_mha(Path::new("../../secret.raw")),
        )],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // .mhd (a detached header) is not an upload format.
    let r = put(
        &s,
        "/datastore/?image=leak3",
        &[("params", "{}")],
        &[("file", "leak3.mhd", &mha)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // The viewer's three-file upload.
    let adc = nii_gz(&read(data.path(), "adc"));
    let hbv = nii_gz(&read(data.path(), "hbv"));
    let r = post_multipart(
        &s,
        "/api/upload?id=leakcase",
        &[
            ("t2w", "t2w.mha", &mha),
            ("adc", "adc.nii.gz", &adc),
            ("hbv", "hbv.nii.gz", &hbv),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = detail(&r);
    assert!(msg.starts_with("t2w: ") && msg.contains("LOCAL"), "{msg}");
    no_server_path(&msg, data.path());
    assert!(!data.path().join("leakcase").exists());
    let r = request(s.addr, "GET", "/api/volume?case=leakcase", &[], b"");
    assert!((400..500).contains(&r.status));
    assert!(!r.text().contains("TOP-SECRET"));
    // A single-file .mha is fine.
    let t2w = other_t2w(data.path());
    let good = promptseg_volume::metaimage::encode(&t2w).unwrap();
    let r = put(
        &s,
        "/datastore/?image=mhacase",
        &[("params", "{}")],
        &[("file", "x.mha", &good)],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(data.path().join("mhacase/t2w.mha").exists());
}

#[cfg(unix)]
#[test]
fn case_files_linked_outside_the_data_folder_are_not_served() {
    use std::os::unix::fs::symlink;
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let src = data_dir(&[CASE]);
    std::fs::rename(src.path().join(CASE), data.join(CASE)).unwrap();
    // Real images outside the data folder, so that following the links would "work".
    let outside = outer.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    for ch in ["t2w", "adc", "hbv"] {
        std::fs::copy(
            data.join(CASE).join(format!("{ch}.nii.gz")),
            outside.join(format!("{ch}.nii.gz")),
        )
        .unwrap();
    }
    for (case, linked) in [("evil_t2w", "t2w"), ("evil_adc", "adc")] {
        let dir = data.join(case);
        std::fs::create_dir(&dir).unwrap();
        for ch in ["t2w", "adc", "hbv"] {
            let name = format!("{ch}.nii.gz");
            if ch == linked {
                symlink(outside.join(&name), dir.join(&name)).unwrap();
            } else {
                std::fs::copy(data.join(CASE).join(&name), dir.join(&name)).unwrap();
            }
        }
    }
    // A link that stays inside the data folder is fine.
    let inner = data.join("linked_inside");
    std::fs::create_dir(&inner).unwrap();
    for ch in ["t2w", "adc", "hbv"] {
        let name = format!("{ch}.nii.gz");
        symlink(data.join(CASE).join(&name), inner.join(&name)).unwrap();
    }
    let s = start(&data, None, 64 << 20);
    let ds = request(s.addr, "GET", "/datastore/?output=all", &[], b"").json();
    let ids: Vec<&String> = ds["objects"].as_object().unwrap().keys().collect();
    assert_eq!(ids, vec![CASE, "linked_inside"]);
    let cases = request(s.addr, "GET", "/api/cases", &[], b"").json();
    assert_eq!(cases["cases"].as_array().unwrap().len(), 2, "{cases}");
    for case in ["evil_t2w", "evil_adc"] {
        let r = request(
            s.addr,
            "GET",
            &format!("/datastore/image?image={case}"),
            &[],
            b"",
        );
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(
            detail(&r).contains("outside the data folder"),
            "{}",
            r.text()
        );
        assert!(r.body.len() < 1000);
        for target in [
            format!("/api/volume?case={case}"),
            format!("/api/volume?case={case}&channel=adc"),
        ] {
            let r = request(s.addr, "GET", &target, &[], b"");
            assert_eq!(r.status, 403, "{target}: {}", r.text());
            assert!(r.body.len() < 1000);
        }
    }
    let r = request(
        s.addr,
        "GET",
        "/datastore/image?image=linked_inside",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn a_channel_must_overlap_the_cases_t2w() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let t2w = nii_gz(&other_t2w(data.path()));
    let r = put(
        &s,
        "/datastore/?image=mc1",
        &[("params", "{}")],
        &[("file", "t2w.nii.gz", &t2w)],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let before: Vec<_> = std::fs::read_dir(data.path().join("mc1"))
        .unwrap()
        .collect();
    // An ADC far from the T2W is refused and not stored.
    let bad = nii_gz(&far_away(read(data.path(), "adc")));
    let r = put(
        &s,
        "/datastore/?image=mc1",
        &[("params", "{\"channel\": \"adc\"}")],
        &[("file", "adc.nii.gz", &bad)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = detail(&r);
    assert!(
        msg.starts_with("adc: does not overlap the T2W image"),
        "{msg}"
    );
    no_server_path(&msg, data.path());
    assert_eq!(
        std::fs::read_dir(data.path().join("mc1")).unwrap().count(),
        before.len()
    );
    // The right ADC is then accepted; a second ADC names the case and channel.
    let adc = nii_gz(&read(data.path(), "adc"));
    let up = |ch: &str, bytes: &[u8]| {
        put(
            &s,
            "/datastore/?image=mc1",
            &[("params", &format!("{{\"channel\": \"{ch}\"}}"))],
            &[("file", &format!("{ch}.nii.gz"), bytes)],
        )
    };
    let r = up("adc", &adc);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = up("adc", &adc);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        detail(&r).contains("mc1 already has an adc"),
        "{}",
        r.text()
    );
    no_server_path(&detail(&r), data.path());
    // Once complete, another ADC gets the same message (not "other voxels" and a path).
    let hbv = nii_gz(&read(data.path(), "hbv"));
    assert_eq!(up("hbv", &hbv).status, 200);
    let r = up("adc", &adc);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        detail(&r).contains("mc1 already has an adc"),
        "{}",
        r.text()
    );
    let r = put(
        &s,
        "/datastore/?image=mc1",
        &[("params", "{}")],
        &[(
            "file",
            "t2w.nii.gz",
            &nii_gz(&far_away(other_t2w(data.path()))),
        )],
    );
    assert_eq!(r.status, 409, "{}", r.text());
    no_server_path(&detail(&r), data.path());
    // A T2W uploaded after a channel must overlap it too.
    let r = up_channel_first(&s, data.path());
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(detail(&r).starts_with("t2w: "), "{}", r.text());
}

fn up_channel_first(s: &Server, data: &Path) -> Reply {
    let adc = nii_gz(&read(data, "adc"));
    let r = put(
        s,
        "/datastore/?image=mc2",
        &[("params", "{\"channel\": \"adc\"}")],
        &[("file", "adc.nii.gz", &adc)],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let t2w = nii_gz(&far_away(other_t2w(data)));
    put(
        s,
        "/datastore/?image=mc2",
        &[("params", "{}")],
        &[("file", "t2w.nii.gz", &t2w)],
    )
}

#[test]
fn viewer_upload_names_the_bad_field() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let t2w = nii_gz(&read(data.path(), "t2w"));
    let adc = nii_gz(&far_away(read(data.path(), "adc")));
    let hbv = nii_gz(&read(data.path(), "hbv"));
    let r = post_multipart(
        &s,
        "/api/upload?id=newcase",
        &[
            ("t2w", "a.nii.gz", &t2w),
            ("adc", "b.nii.gz", &adc),
            ("hbv", "c.nii.gz", &hbv),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let msg = detail(&r);
    assert!(
        msg.starts_with("adc: does not overlap the T2W image"),
        "{msg}"
    );
    no_server_path(&msg, data.path());
    // NaN voxels are named by field too.
    let mut nan = read(data.path(), "hbv");
    nan.data[3] = f32::NAN;
    let adc = nii_gz(&read(data.path(), "adc"));
    let r = post_multipart(
        &s,
        "/api/upload?id=newcase",
        &[
            ("t2w", "a.nii.gz", &t2w),
            ("adc", "b.nii.gz", &adc),
            ("hbv", "c.nii.gz", &nii_gz(&nan)),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        detail(&r).starts_with("hbv: ") && detail(&r).contains("NaN"),
        "{}",
        r.text()
    );
    assert!(!data.path().join("newcase").exists());
}

#[test]
fn labels_are_finite_and_stored_binary() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let t2w = read(data.path(), "t2w");
    let save = |v: &Volume<f32>, tag: &str| {
        put(
            &s,
            &format!("/datastore/label?image={CASE}&tag={tag}"),
            &[],
            &[("label", "label.nii.gz", &nii_gz(v))],
        )
    };
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut v = t2w.with_data(vec![0f32; t2w.data.len()]);
        v.data[10] = bad;
        let r = save(&v, "final");
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(detail(&r).contains("NaN or infinite"), "{}", r.text());
    }
    assert!(!data
        .path()
        .join(CASE)
        .join("labels_final_monailabel.nii.gz")
        .exists());
    // Negative and soft values: stored as a uint8 0/1 mask (> 0.5) on the T2W grid.
    let values = [-3.0f32, 0.0, 0.3, 0.5, 0.51, 1.0, 7.0];
    let v = t2w.with_data(
        (0..t2w.data.len())
            .map(|i| values[i % values.len()])
            .collect::<Vec<f32>>(),
    );
    let r = save(&v, "soft");
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = data.path().join(CASE).join("labels_soft_monailabel.nii.gz");
    let back = read_image(&stored, &Default::default()).unwrap();
    assert!(back.geometry.same_grid(&t2w.geometry, 1e-6));
    let want: Vec<f32> = v.data.iter().map(|&x| (x > 0.5) as u8 as f32).collect();
    assert_eq!(back.data, want);
    // Exactly the uint8 NIfTI of that mask with the T2W's header codes.
    let mask = t2w.with_data(want.iter().map(|&x| x as u8).collect::<Vec<u8>>());
    let expected =
        promptseg_volume::nifti::encode(&mask, t2w.nifti_codes.unwrap_or_default(), true).unwrap();
    assert_eq!(std::fs::read(&stored).unwrap(), expected);
    // A tag longer than the limit says so.
    let long = "a".repeat(201);
    let r = save(&v, &long);
    assert_eq!(r.status, 400);
    assert!(
        detail(&r).contains("longer than 200 characters"),
        "{}",
        r.text()
    );
    let r = save(&v, "no.dots");
    assert_eq!(r.status, 400);
    assert!(detail(&r).contains("letters, digits"), "{}", r.text());
}

#[test]
fn empty_token_and_zero_upload_limit_are_refused() {
    let data = data_dir(&[CASE]);
    for (token, limit) in [(Some(""), 1 << 20), (Some("  "), 1 << 20), (None, 0)] {
        let config = Config {
            data: data.path().to_path_buf(),
            token: token.map(str::to_string),
            max_upload_bytes: limit,
        };
        let err = match AppState::new(config, models()) {
            Ok(_) => panic!("{token:?} {limit}: accepted"),
            Err(e) => e.to_string(),
        };
        assert!(!err.contains('\n'), "{err}");
        assert!(
            err.contains("token is empty") || err.contains("upload limit"),
            "{err}"
        );
    }
}

#[test]
fn ambiguous_multipart_requests_are_refused() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let t2w = nii_gz(&other_t2w(data.path()));
    let r = put(
        &s,
        "/datastore/?image=twice",
        &[("params", "{}")],
        &[("file", "a.nii.gz", &t2w), ("file", "b.nii.gz", &t2w)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        detail(&r).contains("more than one part named 'file'"),
        "{}",
        r.text()
    );
    let r = put(
        &s,
        "/datastore/?image=twice",
        &[("params", "{}"), ("params", "{\"channel\": \"adc\"}")],
        &[("file", "a.nii.gz", &t2w)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        detail(&r).contains("more than one part named 'params'"),
        "{}",
        r.text()
    );
    assert!(!data.path().join("twice").exists());
    // A point of four numbers is not silently cut to three.
    for point in ["[[79, 57, 7, 1]]", "[[79, 57]]"] {
        let params = format!("{{\"foreground\": {point}}}");
        let body = monai_multipart(&[("params", &params)], &[]);
        let len = body.len().to_string();
        let r = request(
            s.addr,
            "POST",
            &format!("/infer/promptseg?image={CASE}"),
            &[
                ("content-type", &monai_content_type()),
                ("content-length", &len),
            ],
            &body,
        );
        assert_eq!(r.status, 400, "{point}: {}", r.text());
        assert!(detail(&r).contains("three voxel indices"), "{}", r.text());
    }
    // The viewer's click too.
    let r = request(
        s.addr,
        "POST",
        &format!("/api/click?case={CASE}"),
        &[("content-type", "application/json")],
        br#"{"point": [79, 57, 7, 1]}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(detail(&r).contains("point"), "{}", r.text());
}

/// Method, target, headers, body, expected status.
type ErrorCase<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a [u8], u16);

#[test]
fn every_error_is_json_detail() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 1 << 20);
    let big = vec![b' '; 2 << 20];
    let cases: Vec<ErrorCase> = vec![
        // Multipart without a boundary.
        (
            "PUT",
            "/datastore/?image=x".into(),
            vec![("content-type", "multipart/form-data")],
            b"abc",
            400,
        ),
        (
            "POST",
            format!("/infer/promptseg?image={CASE}"),
            vec![("content-type", "multipart/form-data")],
            b"abc",
            400,
        ),
        // Not multipart.
        (
            "PUT",
            "/datastore/?image=x".into(),
            vec![("content-type", "application/json")],
            b"{}",
            400,
        ),
        // Query without its field.
        ("POST", "/api/open".into(), vec![], b"", 400),
        (
            "GET",
            "/api/volume?case=x&lesion=notanumber".into(),
            vec![],
            b"",
            400,
        ),
        // JSON body problems.
        (
            "POST",
            format!("/api/click?case={CASE}"),
            vec![("content-type", "application/json")],
            b"{not json",
            400,
        ),
        (
            "POST",
            format!("/api/click?case={CASE}"),
            vec![],
            br#"{"point": [1, 2, 3]}"#,
            415,
        ),
        (
            "POST",
            format!("/api/click?case={CASE}"),
            vec![("content-type", "application/json")],
            br#"{"point": "x"}"#,
            422,
        ),
        // Over the body limit.
        (
            "POST",
            format!("/api/click?case={CASE}"),
            vec![("content-type", "application/json")],
            &big,
            413,
        ),
        // Form problems, unknown paths and methods.
        ("POST", "/auth/token".into(), vec![], b"password=x", 415),
        ("GET", "/no/such/thing".into(), vec![], b"", 404),
        ("DELETE", "/api/cases".into(), vec![], b"", 405),
    ];
    for (method, target, headers, body, status) in cases {
        let r = request(s.addr, method, &target, &headers, body);
        assert_eq!(r.status, status, "{method} {target}: {}", r.text());
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{method} {target}: {:?}",
            r.headers
        );
        let d = detail(&r);
        assert!(
            !d.is_empty() && !d.contains('\n'),
            "{method} {target}: {}",
            r.text()
        );
    }
    let r = request(s.addr, "POST", "/api/open", &[], b"");
    assert!(detail(&r).contains("case"), "{}", r.text());
}

#[test]
fn stats_count_cases_not_aliases() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let t2w = std::fs::read(data.path().join(CASE).join("t2w.nii.gz")).unwrap();
    for alias in ["alias1", "alias2", "alias3"] {
        let r = put(
            &s,
            &format!("/datastore/?image={alias}"),
            &[("params", "{}")],
            &[("file", "t2w.nii.gz", &t2w)],
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let stats = request(s.addr, "GET", "/datastore/?output=stats", &[], b"").json();
        assert_eq!(stats["total"], 1, "{stats}");
        assert_eq!(stats["train"]["total"], 1, "{stats}");
    }
    // The aliases are still listed as images (Slicer asks for them by name).
    let ds = request(s.addr, "GET", "/datastore/?output=all", &[], b"").json();
    assert_eq!(ds["objects"].as_object().unwrap().len(), 4);
    let info = request(s.addr, "GET", "/info/", &[], b"").json();
    assert_eq!(info["datastore"]["total"], 1);
}
