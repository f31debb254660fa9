//! The requests the MONAI Label client and its 3D Slicer plug-in send (monailabel/client/client.py:
//! `info`, `upload_image`, `infer`, `save_label`; the plug-in's `onUploadImage` and
//! `onClickDeepgrow`), replayed byte for byte over HTTP against the sample case; the returned
//! mask must equal what `promptseg segment` computes for the same click, voxel for voxel.

mod common;

use common::*;
use promptseg_volume::{read_image, ReadOptions};

fn t2w_bytes() -> Vec<u8> {
    std::fs::read(repo().join("demo").join(CASE).join("t2w.nii.gz")).unwrap()
}

/// POST /infer/promptseg as `MONAILabelClient.infer` sends it (fields: params only).
fn infer(s: &Server, image: &str, params: &serde_json::Value, output: Option<&str>) -> Reply {
    let body = monai_multipart(&[("params", &params.to_string())], &[]);
    let ct = monai_content_type();
    let len = body.len().to_string();
    let mut target = format!("/infer/promptseg?image={image}");
    if let Some(o) = output {
        target.push_str(&format!("&output={o}"));
    }
    request(
        s.addr,
        "POST",
        &target,
        &[("content-type", &ct), ("content-length", &len)],
        &body,
    )
}

fn mask_of(bytes: &[u8], name: &str) -> promptseg_volume::Volume<f32> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    read_image(&p, &ReadOptions::default()).unwrap()
}

#[test]
fn slicer_session_replay_returns_the_cli_mask() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let models = models();
    let reference = reference_mask(&data.path().join(CASE), &[CLICK], &models);
    let ref_voxels = reference.data.iter().filter(|&&v| v != 0).count();
    assert!(
        ref_voxels > 343,
        "the reference click finds the lesion ({ref_voxels} voxels)"
    );

    // Connect: GET /info/ (http_method, no body).
    let info = request(s.addr, "GET", "/info/", &[], b"");
    assert_eq!(info.status, 200);
    let info = info.json();
    let m = &info["models"]["promptseg"];
    assert_eq!(m["type"], "deepgrow");
    assert_eq!(m["dimension"], 3);
    assert_eq!(m["labels"], serde_json::json!({"lesion": 1}));
    assert!(info.get("config").is_none(), "no top-level config key");
    assert_eq!(info["models"].as_object().unwrap().len(), 1);

    let auth = request(s.addr, "GET", "/auth/", &[], b"");
    assert_eq!(auth.status, 200);
    assert_eq!(auth.json(), serde_json::json!({"enabled": false}));

    let ds = request(s.addr, "GET", "/datastore/?output=all", &[], b"");
    assert_eq!(ds.status, 200);
    let ds = ds.json();
    assert!(
        ds["objects"][CASE]["image"]["info"]["name"] == "t2w.nii.gz",
        "{ds}"
    );

    // The plug-in uploads the volume it shows (node name "t2w", saved to a temporary .nii.gz).
    let params = serde_json::json!({"client_id": "user-xyz"}).to_string();
    let body = monai_multipart(
        &[("params", &params)],
        &[("file", "/tmp/tmpq1w2e3.nii.gz", &t2w_bytes())],
    );
    let ct = monai_content_type();
    let len = body.len().to_string();
    let up = request(
        s.addr,
        "PUT",
        "/datastore/?image=t2w",
        &[("content-type", &ct), ("content-length", &len)],
        &body,
    );
    assert_eq!(up.status, 200, "{}", up.text());
    assert_eq!(up.json(), serde_json::json!({"image": "t2w"}));
    // Same voxels as the case's T2W: no file was added, the ID names that case.
    assert!(!data.path().join("t2w").exists());

    // Deepgrow click: params as onClickDeepgrow builds them, plus the client's client_id.
    let params = serde_json::json!({
        "label": "lesion",
        "foreground": [CLICK],
        "background": [],
        "client_id": "user-xyz",
        "result_extension": ".nrrd",
        "result_dtype": "uint8",
    });
    let r = infer(&s, "t2w", &params, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let ct = r.header("content-type").unwrap().to_string();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let parts = split_multipart(&ct, &r.body);
    assert_eq!(parts.len(), 2);
    assert!(parts[0].0.contains("name=\"params\""));
    let reply: serde_json::Value = serde_json::from_slice(&parts[0].1).unwrap();
    assert_eq!(reply["label_names"], serde_json::json!({"lesion": 1}));
    assert!(reply["latencies"]["total"].as_f64().unwrap() > 0.0);
    assert!(reply["latencies"]["infer"].as_f64().unwrap() > 0.0);
    assert!(parts[1].0.contains("name=\"image\""), "{}", parts[1].0);
    assert!(parts[1].0.contains(".nrrd\""), "{}", parts[1].0);
    assert!(parts[1].1.starts_with(b"NRRD0004"));
    let got = mask_of(&parts[1].1, "result.nrrd");
    assert!(got.geometry.same_grid(&reference.geometry, 1e-6));
    let got_u8: Vec<u8> = got.data.iter().map(|&v| v as u8).collect();
    assert_eq!(
        got_u8, reference.data,
        "NRRD mask == promptseg segment's mask"
    );
    assert_eq!(reply["voxels"], ref_voxels);
    assert_eq!(reply["call"], "positive");

    // The same click by case ID, NIfTI, the file alone: the bytes `segment --out x.nii.gz` writes.
    let mut p2 = params.clone();
    p2["result_extension"] = ".nii.gz".into();
    let r = infer(&s, CASE, &p2, Some("image"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-disposition").unwrap().contains(".nii.gz"));
    let out = tempfile::tempdir().unwrap();
    let cli_file = out.path().join("cli.nii.gz");
    promptseg_volume::write_volume(&cli_file, &reference).unwrap();
    assert_eq!(
        r.body,
        std::fs::read(&cli_file).unwrap(),
        "byte-identical NIfTI"
    );

    // A background click inside the lesion removes it; one outside is ignored with a warning.
    let mut p3 = params.clone();
    p3["background"] = serde_json::json!([CLICK]);
    let r = infer(&s, "t2w", &p3, Some("json"));
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["voxels"], 0);
    assert_eq!(j["call"], "negative");
    let mut p4 = params.clone();
    p4["background"] = serde_json::json!([[5, 5, 0]]);
    let j = infer(&s, "t2w", &p4, Some("json")).json();
    assert_eq!(j["voxels"], ref_voxels);
    assert!(
        j["warnings"][0]
            .as_str()
            .unwrap()
            .contains("inside no lesion"),
        "{j}"
    );

    // Errors are one line, 4xx.
    let r = infer(
        &s,
        "t2w",
        &serde_json::json!({"foreground": [[1000, 0, 0]]}),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(!r.json()["detail"].as_str().unwrap().contains('\n'));
    let r = infer(
        &s,
        "t2w",
        &serde_json::json!({"foreground": [CLICK], "result_extension": ".png"}),
        None,
    );
    assert_eq!(r.status, 400);
    let r = request(
        s.addr,
        "POST",
        "/infer/deepedit?image=t2w",
        &[
            ("content-type", &monai_content_type()),
            ("content-length", "0"),
        ],
        b"",
    );
    assert_eq!(r.status, 404);

    // Submit label: PUT /datastore/label?image=...&tag=final, file part "label".
    let label_bytes = std::fs::read(&cli_file).unwrap();
    let body = monai_multipart(
        &[("params", "{\"client_id\": \"user-xyz\"}")],
        &[("label", "label.nii.gz", &label_bytes)],
    );
    let len = body.len().to_string();
    let r = request(
        s.addr,
        "PUT",
        &format!("/datastore/label?image={CASE}&tag=final"),
        &[
            ("content-type", &monai_content_type()),
            ("content-length", &len),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let saved = data
        .path()
        .join(CASE)
        .join("labels_final_monailabel.nii.gz");
    assert_eq!(std::fs::read(&saved).unwrap(), label_bytes);
    let ds = request(s.addr, "GET", "/datastore/?output=all", &[], b"").json();
    assert_eq!(ds["objects"][CASE]["labels"]["final"]["ext"], ".nii.gz");
    let stats = request(s.addr, "GET", "/datastore/", &[], b"").json();
    // Stats count cases, not IDs: the alias "t2w" is the same case.
    assert_eq!(stats["completed"], 1, "{stats}");
    assert_eq!(stats["total"], 1, "{stats}");
    // The case still reads as before (the saved label is not mistaken for an input).
    let files = promptseg_case::CaseFiles::discover(&data.path().join(CASE)).unwrap();
    assert!(files.label.unwrap().ends_with("lesion_human.nii.gz"));

    // Download the image.
    let r = request(
        s.addr,
        "GET",
        &format!("/datastore/image?image={CASE}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, t2w_bytes());
    // PUT /datastore/image is the same upload.
    let body = monai_multipart(&[("params", "{}")], &[("file", "x.nii.gz", &t2w_bytes())]);
    let len = body.len().to_string();
    let r = request(
        s.addr,
        "PUT",
        "/datastore/image?image=again",
        &[
            ("content-type", &monai_content_type()),
            ("content-length", &len),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let j = infer(&s, "again", &params, Some("json")).json();
    assert_eq!(j["voxels"], ref_voxels);
}

#[test]
fn two_foreground_clicks_give_the_cli_union() {
    let data = data_dir(&[CASE]);
    let s = start(data.path(), None, 64 << 20);
    let models = models();
    let second = [92, 64, 8];
    let reference = reference_mask(&data.path().join(CASE), &[CLICK, second], &models);
    let params = serde_json::json!({"label": "lesion", "foreground": [CLICK, second], "background": [], "result_extension": ".nii.gz"});
    let r = infer(&s, CASE, &params, Some("image"));
    assert_eq!(r.status, 200, "{}", r.text());
    let got = mask_of(&r.body, "m.nii.gz");
    let got_u8: Vec<u8> = got.data.iter().map(|&v| v as u8).collect();
    assert_eq!(got_u8, reference.data);
}

/// ../shared/data as the data folder (read only): nested case IDs, a native-resolution `.mha`
/// case, the same mask as `promptseg segment` for the same click.
#[test]
fn shared_data_case_by_nested_id() {
    let root = repo().join("../shared/data");
    if !root.join("MANIFEST.md").exists() {
        assert!(
            std::env::var_os("PROMPTSEG_REQUIRE_SHARED").is_none(),
            "PROMPTSEG_REQUIRE_SHARED is set but {} is missing",
            root.display()
        );
        eprintln!("skipping: {} not found", root.display());
        return;
    }
    let s = start(&root, None, 1 << 20);
    let id = "picai_prostatex_native/10795_1000811";
    let ds = request(s.addr, "GET", "/datastore/?output=all", &[], b"").json();
    assert_eq!(
        ds["objects"][id]["image"]["info"]["name"], "t2w.mha",
        "{ds}"
    );
    let click = [192, 192, 9];
    let reference = reference_mask(&root.join(id), &[click], &models());
    let params = serde_json::json!({"label": "lesion", "foreground": [click], "background": [], "result_extension": ".mha"});
    let r = infer(
        &s,
        "picai_prostatex_native%2F10795_1000811",
        &params,
        Some("image"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let got = mask_of(&r.body, "m.mha");
    assert!(got.geometry.same_grid(&reference.geometry, 1e-6));
    let got_u8: Vec<u8> = got.data.iter().map(|&v| v as u8).collect();
    assert_eq!(got_u8, reference.data);
}
