//! DICOM MR series from a folder: one series (SeriesInstanceUID) of single-frame slices in a
//! native (uncompressed) transfer syntax becomes one volume. Parsing is dicom-rs; building the
//! volume is ours: slices are ordered along the slice normal (row x column direction cosines),
//! the slice spacing comes from the positions (and must be uniform), and Rescale Slope /
//! Intercept are applied. DICOM patient coordinates are LPS, as inside this project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, Tag};

use crate::error::{Problem, Result, VolumeError};
use crate::geometry::Geometry;
use crate::limits::ReadOptions;
use crate::scalar::ScalarType;
use crate::volume::Volume;

const NATIVE_SYNTAXES: [(&str, bool); 3] = [
    ("1.2.840.10008.1.2", false),   // implicit VR little endian
    ("1.2.840.10008.1.2.1", false), // explicit VR little endian
    ("1.2.840.10008.1.2.2", true),  // explicit VR big endian (retired)
];

struct Slice {
    path: PathBuf,
    obj: DefaultDicomObject,
    position: [f64; 3],
}

fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn floats(
    obj: &DefaultDicomObject,
    tag: Tag,
    n: usize,
    path: &Path,
    name: &str,
) -> Result<Vec<f64>> {
    let bad = |why: String| VolumeError::new(path, Problem::BadHeader(format!("{name}: {why}")));
    let e = obj
        .element_opt(tag)
        .ok()
        .flatten()
        .ok_or_else(|| bad("missing".into()))?;
    let v = e.to_multi_float64().map_err(|e| bad(e.to_string()))?;
    if v.len() != n || v.iter().any(|x| !x.is_finite()) {
        return Err(bad(format!("expected {n} finite numbers, got {v:?}")));
    }
    Ok(v)
}

fn int(obj: &DefaultDicomObject, tag: Tag, path: &Path, name: &str) -> Result<i64> {
    let e =
        obj.element_opt(tag).ok().flatten().ok_or_else(|| {
            VolumeError::new(path, Problem::BadHeader(format!("{name}: missing")))
        })?;
    e.to_int::<i64>()
        .map_err(|err| VolumeError::new(path, Problem::BadHeader(format!("{name}: {err}"))))
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Explicit-VR value representations whose length field is 4 bytes (after 2 reserved bytes).
/// Explicit VRs with a 2-byte length. Every other VR, including unknown ones (which the parser
/// reads as UN), has 2 reserved bytes and a 4-byte length; the pre-scan must agree with the
/// parser or a mangled VR hides a lying length from it (a fuzzer find).
const SHORT_VRS: [&[u8; 2]; 21] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];

/// Walks the element headers of a DICOM file (from "DICM" on) and refuses any element whose
/// declared length runs past the end of the data, so that a file that lies about a length is
/// refused before the parser reserves memory for it.
fn check_declared_lengths(body: &[u8]) -> std::result::Result<(), String> {
    if body.len() < 4 || &body[..4] != b"DICM" {
        return Err("no DICM magic".into());
    }
    let mut pos = 4usize;
    let mut explicit = true;
    let mut big = false;
    let mut in_meta = true;
    // Inside encapsulated pixel data, items hold raw fragments, not elements.
    let mut in_fragments = false;
    let u16_at = |p: usize, big: bool| -> Option<u16> {
        let b: [u8; 2] = body.get(p..p + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |p: usize, big: bool| -> Option<u32> {
        let b: [u8; 4] = body.get(p..p + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    while pos < body.len() {
        let group_le = u16_at(pos, false).ok_or("truncated element header")?;
        if in_meta && group_le != 0x0002 {
            in_meta = false;
        }
        let (ex, bg) = if in_meta {
            (true, false)
        } else {
            (explicit, big)
        };
        let group = u16_at(pos, bg).ok_or("truncated element header")?;
        let element = u16_at(pos + 2, bg).ok_or("truncated element header")?;
        pos += 4;
        let remaining = |p: usize| body.len().saturating_sub(p) as u64;
        if group == 0xFFFE {
            // Item or delimiter: a 4-byte length, content (if any) scanned as elements.
            let len = u32_at(pos, bg).ok_or("truncated item header")?;
            pos += 4;
            if element == 0xE000 && len != u32::MAX && len as u64 > remaining(pos) {
                return Err(format!(
                    "item declares {len} bytes, {} remain",
                    remaining(pos)
                ));
            }
            if element == 0xE0DD {
                in_fragments = false;
            } else if element == 0xE000 && in_fragments && len != u32::MAX {
                pos += len as usize;
            }
            continue;
        }
        let (vr, len) = if ex {
            let vr: [u8; 2] = body
                .get(pos..pos + 2)
                .ok_or("truncated element header")?
                .try_into()
                .expect("2 bytes");
            if !SHORT_VRS.contains(&&vr) {
                let l = u32_at(pos + 4, bg).ok_or("truncated element header")?;
                pos += 8;
                (Some(vr), l)
            } else {
                let l = u16_at(pos + 2, bg).ok_or("truncated element header")? as u32;
                pos += 4;
                (Some(vr), l)
            }
        } else {
            let l = u32_at(pos, bg).ok_or("truncated element header")?;
            pos += 4;
            (None, l)
        };
        if len == u32::MAX {
            // Undefined length: a sequence (items hold elements) or encapsulated pixel data.
            in_fragments = group == 0x7FE0 && element == 0x0010;
            continue;
        }
        if len as u64 > remaining(pos) {
            return Err(format!(
                "element ({group:04X},{element:04X}) declares {len} bytes, {} remain",
                remaining(pos)
            ));
        }
        if in_meta && group == 0x0002 && element == 0x0010 {
            let ts = String::from_utf8_lossy(&body[pos..pos + len as usize])
                .trim_end_matches(['\0', ' '])
                .to_string();
            explicit = ts != "1.2.840.10008.1.2";
            big = ts == "1.2.840.10008.1.2.2";
        }
        if vr == Some(*b"SQ") {
            continue; // defined-length sequence: its items are scanned as elements
        }
        pos += len as usize;
    }
    Ok(())
}

/// Parses one DICOM file held in memory, refusing lying lengths first.
fn parse(bytes: &[u8], name: &Path) -> Result<DefaultDicomObject> {
    let body = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        &bytes[128..]
    } else {
        bytes
    };
    check_declared_lengths(body).map_err(|why| {
        VolumeError::new(
            name,
            Problem::UnknownFormat(format!("not a valid DICOM file ({why})")),
        )
    })?;
    dicom_object::from_reader(body)
        .map_err(|e| VolumeError::new(name, Problem::UnknownFormat(format!("not DICOM: {e}"))))
}

/// Reads the one MR series in `dir` (files without the DICOM magic are ignored; damaged DICOM
/// files are errors).
pub fn read_series(dir: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    let err = |p: Problem| VolumeError::new(dir, p);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| VolumeError::new(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let mut series: BTreeMap<String, Vec<Slice>> = BTreeMap::new();
    for path in entries {
        // The media directory index describes the files; it is not a slice.
        if path
            .file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
        {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| VolumeError::new(&path, e))?;
        let claims_dicom =
            (bytes.len() >= 132 && &bytes[128..132] == b"DICM") || bytes.starts_with(b"DICM");
        // A file that says it is DICOM but does not parse is a damaged slice: dropping it would
        // leave a silent gap in the volume, so it is an error. Anything else (notes, thumbnails)
        // is not part of the series.
        let obj = match parse(&bytes, &path) {
            Ok(obj) => obj,
            Err(e) if claims_dicom => return Err(e),
            Err(_) => continue,
        };
        let uid = text(&obj, tags::SERIES_INSTANCE_UID).unwrap_or_default();
        series.entry(uid).or_default().push(Slice {
            path,
            obj,
            position: [0.0; 3],
        });
    }
    if series.is_empty() {
        return Err(err(Problem::UnknownFormat(
            "folder holds no DICOM files".into(),
        )));
    }
    if series.len() > 1 {
        let list: Vec<String> = series
            .iter()
            .map(|(uid, s)| {
                format!(
                    "{} ({} files, {})",
                    uid,
                    s.len(),
                    text(&s[0].obj, tags::SERIES_DESCRIPTION).unwrap_or_default()
                )
            })
            .collect();
        return Err(err(Problem::Unsupported(format!(
            "{} series in one folder; put the one to use in its own folder: {}",
            series.len(),
            list.join("; ")
        ))));
    }
    assemble(series.into_values().next().expect("one series"), dir, opts)
}

/// Decodes one DICOM file held in memory (with or without the 128-byte preamble) as a one-slice
/// series; `name` labels errors (fuzzing).
pub fn read_bytes(bytes: &[u8], name: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    let obj = parse(bytes, name)?;
    assemble(
        vec![Slice {
            path: name.to_path_buf(),
            obj,
            position: [0.0; 3],
        }],
        name,
        opts,
    )
}

/// Builds the volume from the files of one series.
fn assemble(mut slices: Vec<Slice>, dir: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    let err = |p: Problem| VolumeError::new(dir, p);
    let first = &slices[0];
    let ts = first
        .obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    let big = match NATIVE_SYNTAXES.iter().find(|(uid, _)| *uid == ts) {
        Some((_, big)) => *big,
        None => {
            return Err(VolumeError::new(
                &first.path,
                Problem::Unsupported(format!(
                    "compressed transfer syntax {ts}; decompress first (e.g. `gdcmconv --raw`)"
                )),
            ))
        }
    };
    let p0 = first.path.clone();
    let thickness = text(&first.obj, tags::SLICE_THICKNESS)
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|v| *v > 0.0);
    if let Ok(frames) = int(&first.obj, tags::NUMBER_OF_FRAMES, &p0, "NumberOfFrames") {
        if frames > 1 {
            return Err(VolumeError::new(
                &p0,
                Problem::Unsupported(format!("multi-frame image ({frames} frames)")),
            ));
        }
    }
    let iop = floats(
        &first.obj,
        tags::IMAGE_ORIENTATION_PATIENT,
        6,
        &p0,
        "ImageOrientationPatient",
    )?;
    let row = [iop[0], iop[1], iop[2]];
    let col = [iop[3], iop[4], iop[5]];
    let normal = cross(row, col);
    if (dot(normal, normal) - 1.0).abs() > 1e-3 || dot(row, col).abs() > 1e-3 {
        return Err(VolumeError::new(
            &p0,
            Problem::Geometry(crate::geometry::GeometryError::SingularDirection {
                direction: [
                    [row[0], col[0], normal[0]],
                    [row[1], col[1], normal[1]],
                    [row[2], col[2], normal[2]],
                ],
            }),
        ));
    }
    let ps = floats(&first.obj, tags::PIXEL_SPACING, 2, &p0, "PixelSpacing")?;
    let rows = int(&first.obj, tags::ROWS, &p0, "Rows")?;
    let cols = int(&first.obj, tags::COLUMNS, &p0, "Columns")?;
    let bits = int(&first.obj, tags::BITS_ALLOCATED, &p0, "BitsAllocated")?;
    let signed = int(
        &first.obj,
        tags::PIXEL_REPRESENTATION,
        &p0,
        "PixelRepresentation",
    )
    .unwrap_or(0)
        == 1;
    let samples = int(&first.obj, tags::SAMPLES_PER_PIXEL, &p0, "SamplesPerPixel").unwrap_or(1);
    if samples != 1 {
        return Err(VolumeError::new(
            &p0,
            Problem::Unsupported(format!("{samples} samples per pixel")),
        ));
    }
    let ty = match (bits, signed) {
        (8, false) => ScalarType::U8,
        (8, true) => ScalarType::I8,
        (16, false) => ScalarType::U16,
        (16, true) => ScalarType::I16,
        (32, false) => ScalarType::U32,
        (32, true) => ScalarType::I32,
        _ => {
            return Err(VolumeError::new(
                &p0,
                Problem::Unsupported(format!("BitsAllocated {bits}")),
            ))
        }
    };
    if rows < 1 || cols < 1 {
        return Err(VolumeError::new(
            &p0,
            Problem::BadHeader(format!("Rows {rows}, Columns {cols}")),
        ));
    }
    opts.check_size(
        &[cols as u64, rows as u64, slices.len() as u64],
        ty.size() as u64,
    )
    .map_err(|p| VolumeError::new(dir, p))?;

    for s in &mut slices {
        let ipp = floats(
            &s.obj,
            tags::IMAGE_POSITION_PATIENT,
            3,
            &s.path,
            "ImagePositionPatient",
        )?;
        s.position = [ipp[0], ipp[1], ipp[2]];
        let this = floats(
            &s.obj,
            tags::IMAGE_ORIENTATION_PATIENT,
            6,
            &s.path,
            "ImageOrientationPatient",
        )?;
        if this.iter().zip(&iop).any(|(a, b)| (a - b).abs() > 1e-4) {
            return Err(VolumeError::new(
                &s.path,
                Problem::Unsupported("slices of the series have different orientations".into()),
            ));
        }
        if int(&s.obj, tags::ROWS, &s.path, "Rows")? != rows
            || int(&s.obj, tags::COLUMNS, &s.path, "Columns")? != cols
        {
            return Err(VolumeError::new(
                &s.path,
                Problem::Unsupported("slices of the series differ in size".into()),
            ));
        }
    }
    slices.sort_by(|a, b| dot(a.position, normal).total_cmp(&dot(b.position, normal)));
    let along: Vec<f64> = slices.iter().map(|s| dot(s.position, normal)).collect();
    let dz = if slices.len() > 1 {
        let gaps: Vec<f64> = along.windows(2).map(|w| w[1] - w[0]).collect();
        if gaps.iter().any(|g| g.abs() < 1e-4) {
            return Err(err(Problem::Unsupported(
                "two slices share one position (duplicate files or several acquisitions)".into(),
            )));
        }
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        if gaps
            .iter()
            .any(|g| (g - mean).abs() > 0.01 * mean.abs().max(1e-3) + 1e-3)
        {
            return Err(err(Problem::Unsupported(format!(
                "slice spacing is not uniform ({:.3}..{:.3} mm)",
                gaps.iter().cloned().fold(f64::MAX, f64::min),
                gaps.iter().cloned().fold(f64::MIN, f64::max)
            ))));
        }
        mean
    } else {
        thickness.unwrap_or(1.0)
    };

    let plane = (rows * cols) as usize;
    let mut data = Vec::with_capacity(plane * slices.len());
    for s in &slices {
        let bytes = s
            .obj
            .element(tags::PIXEL_DATA)
            .map_err(|e| VolumeError::new(&s.path, Problem::BadHeader(format!("PixelData: {e}"))))?
            .to_bytes()
            .map_err(|e| {
                VolumeError::new(&s.path, Problem::BadHeader(format!("PixelData: {e}")))
            })?;
        let need = plane * ty.size();
        if bytes.len() < need {
            return Err(VolumeError::new(
                &s.path,
                Problem::Truncated(format!("PixelData: {} of {need} bytes", bytes.len())),
            ));
        }
        let slope = text(&s.obj, tags::RESCALE_SLOPE)
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v != 0.0)
            .unwrap_or(1.0);
        let inter = text(&s.obj, tags::RESCALE_INTERCEPT)
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .unwrap_or(0.0);
        data.extend(
            ty.decode(&bytes[..need], big)
                .into_iter()
                .map(|v| (v as f64 * slope + inter) as f32),
        );
    }
    let geometry = Geometry {
        dims: [cols as usize, rows as usize, slices.len()],
        // PixelSpacing is (between rows, between columns): i runs along a row, so it uses the second.
        spacing: [ps[1], ps[0], dz],
        origin: slices[0].position,
        direction: [
            [row[0], col[0], normal[0]],
            [row[1], col[1], normal[1]],
            [row[2], col[2], normal[2]],
        ],
    };
    geometry.validate().map_err(|e| err(e.into()))?;
    Ok(Volume::new(geometry, data))
}
