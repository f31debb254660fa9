//! NRRD (`.nrrd`, header and data in one file), the format 3D Slicer uses for label maps.
//!
//! Written as `NRRD0004` with `space: left-posterior-superior`, `space directions` (one vector per
//! voxel axis: direction column times spacing), `space origin` (the centre of voxel 0,0,0) and
//! gzip-encoded little-endian voxels, which is how Slicer and ITK's NrrdImageIO write scalar
//! volumes. The reader takes what such writers produce: attached data, `raw` or `gzip` encoding,
//! either byte order, LPS or RAS space (RAS is converted at this boundary, as for NIfTI).

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Problem, Result, VolumeError};
use crate::geometry::Geometry;
use crate::limits::ReadOptions;
use crate::scalar::{encode_le, Element, ScalarType};
use crate::volume::Volume;

fn type_name(ty: ScalarType) -> &'static str {
    match ty {
        ScalarType::U8 => "uint8",
        ScalarType::I8 => "int8",
        ScalarType::U16 => "uint16",
        ScalarType::I16 => "int16",
        ScalarType::U32 => "uint32",
        ScalarType::I32 => "int32",
        ScalarType::U64 => "uint64",
        ScalarType::I64 => "int64",
        ScalarType::F32 => "float",
        ScalarType::F64 => "double",
    }
}

fn parse_type(name: &str) -> std::result::Result<ScalarType, Problem> {
    Ok(match name {
        "uchar" | "unsigned char" | "uint8" | "uint8_t" => ScalarType::U8,
        "signed char" | "int8" | "int8_t" => ScalarType::I8,
        "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => {
            ScalarType::U16
        }
        "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => {
            ScalarType::I16
        }
        "uint" | "unsigned int" | "uint32" | "uint32_t" => ScalarType::U32,
        "int" | "signed int" | "int32" | "int32_t" => ScalarType::I32,
        "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => {
            ScalarType::U64
        }
        "longlong" | "long long" | "long long int" | "signed long long" | "int64" | "int64_t" => {
            ScalarType::I64
        }
        "float" => ScalarType::F32,
        "double" => ScalarType::F64,
        other => return Err(Problem::Unsupported(format!("NRRD type {other}"))),
    })
}

fn vector(v: [f64; 3]) -> String {
    format!("({},{},{})", v[0], v[1], v[2])
}

/// Encodes a single-file `.nrrd` with gzip-compressed voxels.
pub fn encode<T: Element>(volume: &Volume<T>) -> std::io::Result<Vec<u8>> {
    let g = &volume.geometry;
    let m = g.index_matrix();
    let dirs: Vec<String> = (0..3)
        .map(|axis| vector([m[0][axis], m[1][axis], m[2][axis]]))
        .collect();
    let header = format!(
        "NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\ntype: {}\ndimension: 3\nspace: left-posterior-superior\nsizes: {} {} {}\nspace directions: {}\nkinds: domain domain domain\nendian: little\nencoding: gzip\nspace origin: {}\n\n",
        type_name(T::TYPE),
        g.dims[0],
        g.dims[1],
        g.dims[2],
        dirs.join(" "),
        vector(g.origin),
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(&encode_le(&volume.data))?;
    let payload = enc.finish()?;
    let mut out = header.into_bytes();
    out.extend_from_slice(&payload);
    Ok(out)
}

fn parse_vector(s: &str) -> Option<[f64; 3]> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    let vals: Vec<f64> = inner
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    vals.try_into().ok()
}

/// Reads a single-file `.nrrd` (attached data) as f32 with its geometry.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    let bytes = std::fs::read(path).map_err(|e| VolumeError::new(path, e))?;
    decode(&bytes, opts).map_err(|p| VolumeError::new(path, p))
}

/// Decodes the bytes of a single-file `.nrrd`.
pub fn decode(bytes: &[u8], opts: &ReadOptions) -> std::result::Result<Volume<f32>, Problem> {
    let bad = |s: String| Problem::BadHeader(s);
    if !bytes.starts_with(b"NRRD000") {
        return Err(Problem::UnknownFormat("no NRRD magic".into()));
    }
    let mut fields = std::collections::HashMap::new();
    let mut data_start = None;
    let mut first = true;
    for (line, pos) in crate::header_lines::lines(bytes) {
        if first {
            first = false;
            continue;
        }
        if line.is_empty() {
            data_start = Some(pos);
            break;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(":=") {
            fields.insert(format!("kv:{}", k.trim()), v.trim().to_string());
        } else if let Some((k, v)) = line.split_once(':') {
            fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        } else {
            return Err(bad(format!("header line without ':': {line:.60}")));
        }
    }
    let data_start = data_start.ok_or_else(|| bad("no blank line after the header".into()))?;
    let get = |k: &str| {
        fields
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| bad(format!("no '{k}' field")))
    };
    if fields.contains_key("data file") || fields.contains_key("datafile") {
        return Err(Problem::Unsupported(
            "detached NRRD data (.nhdr); save as a single .nrrd".into(),
        ));
    }
    let ty = parse_type(get("type")?)?;
    let dimension: usize = get("dimension")?
        .parse()
        .map_err(|_| bad("dimension is not a number".into()))?;
    if dimension != 3 {
        return Err(Problem::Unsupported(format!(
            "{dimension}-dimensional NRRD (a scalar 3D volume is needed)"
        )));
    }
    let sizes: Vec<usize> = get("sizes")?
        .split_whitespace()
        .map(|t| t.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad("sizes are not whole numbers".into()))?;
    let dims: [usize; 3] = sizes
        .try_into()
        .map_err(|_| bad("sizes: expected 3 numbers".into()))?;
    let space = fields
        .get("space")
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_else(|| "left-posterior-superior".into());
    let flip = match space.as_str() {
        "left-posterior-superior" | "lps" => [1.0, 1.0, 1.0],
        "right-anterior-superior" | "ras" => [-1.0, -1.0, 1.0],
        other => return Err(Problem::Unsupported(format!("NRRD space {other}"))),
    };
    let dirs_text = get("space directions")?;
    let vecs: Vec<[f64; 3]> = dirs_text
        .split_whitespace()
        .map(|t| parse_vector(t).ok_or_else(|| bad(format!("space directions: '{t}'"))))
        .collect::<std::result::Result<_, _>>()?;
    if vecs.len() != 3 {
        return Err(bad("space directions: expected 3 vectors".into()));
    }
    let origin = match fields.get("space origin") {
        Some(o) => parse_vector(o).ok_or_else(|| bad(format!("space origin: '{o}'")))?,
        None => [0.0; 3],
    };
    let mut direction = [[0.0; 3]; 3];
    let mut spacing = [0.0; 3];
    for axis in 0..3 {
        let v = vecs[axis];
        let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        spacing[axis] = norm;
        for r in 0..3 {
            direction[r][axis] = if norm > 0.0 {
                flip[r] * v[r] / norm
            } else {
                0.0
            };
        }
    }
    let geometry = Geometry {
        dims,
        spacing,
        origin: [
            flip[0] * origin[0],
            flip[1] * origin[1],
            flip[2] * origin[2],
        ],
        direction,
    };
    geometry.validate()?;
    let voxels = opts.check_size(&dims.map(|d| d as u64), ty.size() as u64)?;
    let nbytes = voxels * ty.size() as u64;
    let big = fields.get("endian").map(|e| e == "big").unwrap_or(false) && ty.size() > 1;
    let body = &bytes[data_start.min(bytes.len())..];
    let mut raw = Vec::new();
    match get("encoding")? {
        "raw" => {
            if (body.len() as u64) < nbytes {
                return Err(Problem::Truncated(format!(
                    "voxel data: header needs {nbytes} bytes, file has {}",
                    body.len()
                )));
            }
            raw.extend_from_slice(&body[..nbytes as usize]);
        }
        "gzip" | "gz" => {
            flate2::read::MultiGzDecoder::new(body)
                .take(nbytes)
                .read_to_end(&mut raw)
                .map_err(|e| Problem::Corrupt(e.to_string()))?;
            if (raw.len() as u64) < nbytes {
                return Err(Problem::Truncated(format!(
                    "voxel data: {} of {nbytes} bytes present",
                    raw.len()
                )));
            }
        }
        other => return Err(Problem::Unsupported(format!("NRRD encoding {other}"))),
    }
    Ok(Volume::new(geometry, ty.decode(&raw, big)))
}
