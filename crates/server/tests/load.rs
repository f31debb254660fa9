//! A bounded load test, local only (127.0.0.1), not in the normal suite:
//! `cargo test --release -p promptseg-server --test load -- --ignored --nocapture`
//! N concurrent clients (PROMPTSEG_LOAD_CLIENTS, default 8) each send R infer requests
//! (PROMPTSEG_LOAD_REQUESTS, default 12) as the Slicer plug-in does, spread over two copies of
//! the sample case; prints latency percentiles and fails on any error.

mod common;

use std::time::Instant;

use common::*;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .clamp(1, 64)
}

#[test]
#[ignore]
fn concurrent_clients_latency() {
    let clients = env("PROMPTSEG_LOAD_CLIENTS", 8);
    let per = env("PROMPTSEG_LOAD_REQUESTS", 12);
    let data = data_dir(&["case_a", "case_b"]);
    let s = start(data.path(), None, 64 << 20);
    let addr = s.addr;
    // Clicks inside the sample lesion (the first per case is cold, the rest reuse its window).
    let clicks = [[79, 57, 7], [81, 58, 7], [77, 56, 7], [80, 59, 8]];
    let t = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || {
                let case = if c % 2 == 0 { "case_a" } else { "case_b" };
                let mut lat = Vec::new();
                let mut errors = Vec::new();
                for r in 0..per {
                    let p = clicks[(c + r) % clicks.len()];
                    let params = serde_json::json!({"label": "lesion", "foreground": [p], "background": [], "result_extension": ".nrrd", "result_dtype": "uint8"}).to_string();
                    let body = monai_multipart(&[("params", &params)], &[]);
                    let len = body.len().to_string();
                    let t = Instant::now();
                    let reply = request(addr, "POST", &format!("/infer/promptseg?image={case}"), &[("content-type", &monai_content_type()), ("content-length", &len)], &body);
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                    if reply.status != 200 {
                        errors.push(format!("{}: {}", reply.status, reply.text()));
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for h in handles {
        let (l, e) = h.join().unwrap();
        all.extend(l);
        errors.extend(e);
    }
    let wall = t.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
    println!(
        "load: {clients} clients x {per} requests on 2 cases: {} requests in {wall:.1} s ({:.1}/s); latency ms p50 {:.0}, p90 {:.0}, p99 {:.0}, max {:.0}; errors {}",
        all.len(),
        all.len() as f64 / wall,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        all[all.len() - 1],
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:?}");
}
