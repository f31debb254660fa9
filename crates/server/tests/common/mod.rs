//! Shared by the server's tests: a server on a free loopback port over a temporary copy of the
//! sample case, and a minimal HTTP/1.1 client (std only) that sends requests byte for byte.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use promptseg_case::{load_case, CaseFiles, GeometryFix, Prompt};
use promptseg_infer::{segment, Models, Options};
use promptseg_server::{AppState, Config};
use promptseg_volume::{ReadOptions, Volume};

pub const CASE: &str = "10021_1000021";
/// demo/demo.toml's click, inside the expert lesion.
pub const CLICK: [i64; 3] = [79, 57, 7];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn models() -> Models {
    Models::load(
        &repo().join("models/bundled"),
        &burn::prelude::Device::flex(),
    )
    .unwrap()
}

/// A data folder holding copies of the sample case under the given names.
pub fn data_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let to = dir.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        for f in [
            "t2w.nii.gz",
            "adc.nii.gz",
            "hbv.nii.gz",
            "lesion_human.nii.gz",
        ] {
            std::fs::copy(repo().join("demo").join(CASE).join(f), to.join(f)).unwrap();
        }
    }
    dir
}

pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
}

/// Starts a server on 127.0.0.1 with a free port, in a background thread.
pub fn start(data: &Path, token: Option<&str>, max_upload_bytes: usize) -> Server {
    let config = Config {
        data: data.to_path_buf(),
        token: token.map(str::to_string),
        max_upload_bytes,
    };
    let state = AppState::new(config, models()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let st = state.clone();
    std::thread::spawn(move || {
        promptseg_server::run("127.0.0.1:0".parse().unwrap(), st, move |addr| {
            tx.send(addr).unwrap();
        })
        .unwrap();
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    Server { addr, state }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request (`Connection: close`) and reads the whole reply.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading all of a large body and close the connection.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP header in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16).unwrap();
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// A multipart body as MONAI Label's client (`encode_multipart_formdata`) builds it.
pub const BOUNDARY: &str = "----------lImIt_of_THE_fIle_eW_$";

pub fn monai_multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for (k, v) in fields {
        lines.push(format!("--{BOUNDARY}").into_bytes());
        lines.push(format!("Content-Disposition: form-data; name=\"{k}\"").into_bytes());
        lines.push(Vec::new());
        lines.push(v.as_bytes().to_vec());
    }
    for (k, name, data) in files {
        lines.push(format!("--{BOUNDARY}").into_bytes());
        lines.push(
            format!("Content-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"")
                .into_bytes(),
        );
        lines.push(b"Content-Type: application/octet-stream".to_vec());
        lines.push(Vec::new());
        lines.push(data.to_vec());
    }
    lines.push(format!("--{BOUNDARY}--").into_bytes());
    lines.push(Vec::new());
    let mut body = Vec::new();
    for l in lines {
        body.extend_from_slice(&l);
        body.extend_from_slice(b"\r\n");
    }
    body
}

pub fn monai_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Splits a multipart reply into (headers, bytes) parts.
pub fn split_multipart(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"');
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut positions = Vec::new();
    let mut i = 0;
    while i + delim.len() <= body.len() {
        if body[i..i + delim.len()] == delim[..] {
            positions.push(i);
            i += delim.len();
        } else {
            i += 1;
        }
    }
    for w in positions.windows(2) {
        let part = &body[w[0] + delim.len() + 2..w[1] - 2];
        let end = part.windows(4).position(|x| x == b"\r\n\r\n").unwrap();
        parts.push((
            String::from_utf8_lossy(&part[..end]).into_owned(),
            part[end + 4..].to_vec(),
        ));
    }
    parts
}

/// What `promptseg segment --case DIR --point P...` computes: same loading, same defaults.
pub fn reference_mask(case_dir: &Path, points: &[[i64; 3]], models: &Models) -> Volume<u8> {
    let files = CaseFiles::discover(case_dir).unwrap();
    let case = load_case(&files, &GeometryFix::default(), &ReadOptions::default()).unwrap();
    let prompts: Vec<Prompt> = points.iter().map(|&p| Prompt::Voxel(p)).collect();
    segment(
        &case,
        &prompts,
        models,
        &Options::default(),
        &mut Vec::new(),
    )
    .unwrap()
    .mask
}

/// A multipart request as the MONAI Label client builds it (its boundary, its headers).
pub fn send_multipart(
    s: &Server,
    method: &str,
    target: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Reply {
    let body = monai_multipart(fields, files);
    let len = body.len().to_string();
    request(
        s.addr,
        method,
        target,
        &[
            ("content-type", &monai_content_type()),
            ("content-length", &len),
        ],
        &body,
    )
}

pub fn post_multipart(s: &Server, target: &str, files: &[(&str, &str, &[u8])]) -> Reply {
    send_multipart(s, "POST", target, &[], files)
}
