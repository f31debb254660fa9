//! MetaImage: `.mha` (header and data in one file) and `.mhd` + `.raw`/`.zraw`.
//!
//! World coordinates in MetaImage are LPS, as in ITK. `TransformMatrix` lists the direction of
//! each voxel axis in turn (row `i` of the file matrix is column `i` of ITK's direction), which is
//! how ITK's MetaImageIO reads and writes it.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Problem, Result, VolumeError};
use crate::geometry::Geometry;
use crate::limits::ReadOptions;
use crate::scalar::{encode_le, Element, ScalarType};
use crate::volume::Volume;

/// Header text is short; anything longer is not a MetaImage header.
use crate::header_lines::MAX_HEADER;

fn element_type(name: &str) -> std::result::Result<ScalarType, Problem> {
    Ok(match name {
        "MET_UCHAR" => ScalarType::U8,
        "MET_CHAR" => ScalarType::I8,
        "MET_USHORT" => ScalarType::U16,
        "MET_SHORT" => ScalarType::I16,
        "MET_UINT" | "MET_ULONG" => ScalarType::U32,
        "MET_INT" | "MET_LONG" => ScalarType::I32,
        "MET_ULONG_LONG" => ScalarType::U64,
        "MET_LONG_LONG" => ScalarType::I64,
        "MET_FLOAT" => ScalarType::F32,
        "MET_DOUBLE" => ScalarType::F64,
        other => return Err(Problem::Unsupported(format!("ElementType {other}"))),
    })
}

fn element_name(ty: ScalarType) -> &'static str {
    match ty {
        ScalarType::U8 => "MET_UCHAR",
        ScalarType::I8 => "MET_CHAR",
        ScalarType::U16 => "MET_USHORT",
        ScalarType::I16 => "MET_SHORT",
        ScalarType::U32 => "MET_UINT",
        ScalarType::I32 => "MET_INT",
        ScalarType::U64 => "MET_ULONG_LONG",
        ScalarType::I64 => "MET_LONG_LONG",
        ScalarType::F32 => "MET_FLOAT",
        ScalarType::F64 => "MET_DOUBLE",
    }
}

struct Header {
    fields: HashMap<String, String>,
    /// Byte offset of the first voxel byte when the data is LOCAL.
    data_start: usize,
}

fn parse_header(bytes: &[u8]) -> std::result::Result<Header, Problem> {
    let mut fields = HashMap::new();
    for (line, pos) in crate::header_lines::lines(bytes) {
        let Some((key, value)) = line.split_once('=') else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(Problem::UnknownFormat(format!(
                "header line without '=': {:.60}",
                line
            )));
        };
        let key = key.trim().to_string();
        let value = value.trim().to_string();
        let last = key == "ElementDataFile";
        fields.insert(key, value);
        if last {
            return Ok(Header {
                fields,
                data_start: pos,
            });
        }
    }
    Err(Problem::BadHeader("no ElementDataFile line".into()))
}

fn numbers(h: &Header, key: &str, n: usize) -> std::result::Result<Option<Vec<f64>>, Problem> {
    let Some(v) = h.fields.get(key) else {
        return Ok(None);
    };
    let vals: std::result::Result<Vec<f64>, _> =
        v.split_whitespace().map(|t| t.parse::<f64>()).collect();
    match vals {
        Ok(vals) if vals.len() == n => Ok(Some(vals)),
        _ => Err(Problem::BadHeader(format!(
            "{key} = {v:.80}: expected {n} numbers"
        ))),
    }
}

fn flag(h: &Header, key: &str) -> bool {
    h.fields
        .get(key)
        .map(|v| v.eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

/// What the header says about the voxels.
struct Layout {
    geometry: Geometry,
    ty: ScalarType,
    big: bool,
    compressed: bool,
    nbytes: u64,
    data_file: String,
    header_size: i64,
    data_start: u64,
}

fn layout(head: &[u8], path: &Path, opts: &ReadOptions) -> Result<Layout> {
    let err = |p: Problem| VolumeError::new(path, p);
    if head.is_empty() {
        return Err(err(Problem::UnknownFormat("file is empty".into())));
    }
    let h = parse_header(head).map_err(err)?;
    if let Some(t) = h.fields.get("ObjectType") {
        if !t.eq_ignore_ascii_case("Image") {
            return Err(err(Problem::Unsupported(format!("ObjectType {t}"))));
        }
    }
    let ndims = h
        .fields
        .get("NDims")
        .ok_or_else(|| err(Problem::BadHeader("no NDims".into())))?
        .parse::<usize>()
        .map_err(|_| err(Problem::BadHeader("NDims is not a whole number".into())))?;
    if ndims < 3 {
        return Err(err(Problem::Unsupported(format!(
            "{ndims}D image; a 3D volume is needed"
        ))));
    }
    if ndims > 4 {
        return Err(err(Problem::Unsupported(format!("{ndims}D image"))));
    }
    let dim_vals = numbers(&h, "DimSize", ndims)
        .map_err(err)?
        .ok_or_else(|| err(Problem::BadHeader("no DimSize".into())))?;
    let mut dims = Vec::with_capacity(ndims);
    for d in &dim_vals {
        if !(d.fract() == 0.0 && *d >= 1.0 && *d < 1e12) {
            return Err(err(Problem::BadHeader(format!("DimSize {dim_vals:?}"))));
        }
        dims.push(*d as u64);
    }
    if ndims == 4 && dims[3] != 1 {
        return Err(err(Problem::Unsupported(format!(
            "{} volumes in one file (DimSize {:?})",
            dims[3], dims
        ))));
    }
    if let Some(ch) = h.fields.get("ElementNumberOfChannels") {
        if ch.trim() != "1" {
            return Err(err(Problem::Unsupported(format!(
                "{ch} channels per voxel"
            ))));
        }
    }
    let ty = element_type(
        h.fields
            .get("ElementType")
            .ok_or_else(|| err(Problem::BadHeader("no ElementType".into())))?,
    )
    .map_err(err)?;
    let voxels = opts.check_size(&dims[..3], ty.size() as u64).map_err(err)?;

    let spacing = match numbers(&h, "ElementSpacing", ndims).map_err(err)? {
        Some(s) => s,
        None => numbers(&h, "ElementSize", ndims)
            .map_err(err)?
            .unwrap_or(vec![1.0; ndims]),
    };
    let origin = ["Offset", "Origin", "Position"]
        .iter()
        .find_map(|k| numbers(&h, k, ndims).transpose())
        .transpose()
        .map_err(err)?
        .unwrap_or(vec![0.0; ndims]);
    let matrix = ["TransformMatrix", "Rotation", "Orientation"]
        .iter()
        .find_map(|k| numbers(&h, k, ndims * ndims).transpose())
        .transpose()
        .map_err(err)?;
    let mut direction = crate::geometry::IDENTITY;
    if let Some(m) = matrix {
        for axis in 0..3 {
            for r in 0..3 {
                direction[r][axis] = m[axis * ndims + r];
            }
        }
    }
    let geometry = Geometry {
        dims: [dims[0] as usize, dims[1] as usize, dims[2] as usize],
        spacing: [spacing[0], spacing[1], spacing[2]],
        origin: [origin[0], origin[1], origin[2]],
        direction,
    };
    geometry.validate().map_err(|e| err(e.into()))?;
    Ok(Layout {
        geometry,
        ty,
        big: flag(&h, "BinaryDataByteOrderMSB") || flag(&h, "ElementByteOrderMSB"),
        compressed: flag(&h, "CompressedData"),
        nbytes: voxels * ty.size() as u64,
        data_file: h.fields.get("ElementDataFile").cloned().unwrap_or_default(),
        header_size: h
            .fields
            .get("HeaderSize")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        data_start: h.data_start as u64,
    })
}

fn is_local(data_file: &str) -> bool {
    data_file.eq_ignore_ascii_case("LOCAL")
}

fn check_data_file(l: &Layout, path: &Path) -> Result<()> {
    let f = &l.data_file;
    if f.eq_ignore_ascii_case("LIST") || f.contains('%') || f.contains(' ') {
        return Err(VolumeError::new(
            path,
            Problem::Unsupported(format!("ElementDataFile = {f} (slice lists)")),
        ));
    }
    Ok(())
}

pub fn read(path: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    let err = |p: Problem| VolumeError::new(path, p);
    let file = std::fs::File::open(path).map_err(|e| VolumeError::new(path, e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    // Read the header region first; the voxel data is read once its size is known and checked.
    let mut head = Vec::new();
    file.take(MAX_HEADER as u64)
        .read_to_end(&mut head)
        .map_err(|e| VolumeError::new(path, e))?;
    let l = layout(&head, path, opts)?;
    check_data_file(&l, path)?;
    let raw = if is_local(&l.data_file) {
        let mut f = std::fs::File::open(path).map_err(|e| VolumeError::new(path, e))?;
        std::io::copy(&mut (&mut f).take(l.data_start), &mut std::io::sink())
            .map_err(|e| VolumeError::new(path, e))?;
        payload(
            std::io::BufReader::new(f),
            l.nbytes,
            l.compressed,
            len.saturating_sub(l.data_start),
            path,
        )?
    } else {
        let data_path: PathBuf = path.parent().unwrap_or(Path::new(".")).join(&l.data_file);
        let dlen = std::fs::metadata(&data_path)
            .map_err(|e| {
                err(Problem::BadHeader(format!(
                    "ElementDataFile {}: {e}",
                    data_path.display()
                )))
            })?
            .len();
        // HeaderSize -1 means "the data is the last bytes of the file".
        let start = if l.header_size < 0 {
            dlen.saturating_sub(l.nbytes)
        } else {
            l.header_size as u64
        };
        let mut f = std::fs::File::open(&data_path).map_err(|e| VolumeError::new(&data_path, e))?;
        std::io::copy(&mut (&mut f).take(start), &mut std::io::sink())
            .map_err(|e| VolumeError::new(&data_path, e))?;
        payload(
            std::io::BufReader::new(f),
            l.nbytes,
            l.compressed,
            dlen.saturating_sub(start),
            &data_path,
        )?
    };
    Ok(Volume::new(l.geometry, l.ty.decode(&raw, l.big)))
}

/// Decodes a single-file (`ElementDataFile = LOCAL`) image from memory; `name` labels errors.
pub fn read_bytes(bytes: &[u8], name: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    let l = layout(&bytes[..bytes.len().min(MAX_HEADER)], name, opts)?;
    check_data_file(&l, name)?;
    if !is_local(&l.data_file) {
        return Err(VolumeError::new(
            name,
            Problem::Unsupported("voxel data in a separate file".into()),
        ));
    }
    let start = (l.data_start as usize).min(bytes.len());
    let raw = payload(
        &bytes[start..],
        l.nbytes,
        l.compressed,
        (bytes.len() - start) as u64,
        name,
    )?;
    Ok(Volume::new(l.geometry, l.ty.decode(&raw, l.big)))
}

/// The voxel bytes: `nbytes` of them, zlib-inflated when `compressed`; `available` is what the
/// source holds after the data start (checked before reading uncompressed data).
fn payload<R: Read>(
    src: R,
    nbytes: u64,
    compressed: bool,
    available: u64,
    path: &Path,
) -> Result<Vec<u8>> {
    let err = |p: Problem| VolumeError::new(path, p);
    let mut out = Vec::new();
    if compressed {
        let dec = flate2::read::ZlibDecoder::new(src);
        dec.take(nbytes)
            .read_to_end(&mut out)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => err(Problem::Truncated(
                    "compressed voxel data ends early".into(),
                )),
                _ => err(Problem::Corrupt(e.to_string())),
            })?;
    } else {
        if available < nbytes {
            return Err(err(Problem::Truncated(format!(
                "voxel data: header needs {nbytes} bytes, file has {available}"
            ))));
        }
        src.take(nbytes)
            .read_to_end(&mut out)
            .map_err(|e| VolumeError::new(path, e))?;
    }
    if (out.len() as u64) < nbytes {
        return Err(err(Problem::Truncated(format!(
            "voxel data: {} of {} bytes present",
            out.len(),
            nbytes
        ))));
    }
    Ok(out)
}

/// Encodes a single-file `.mha` with zlib-compressed voxels.
pub fn encode<T: Element>(volume: &Volume<T>) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let g = &volume.geometry;
    let mut tm = Vec::new();
    for axis in 0..3 {
        for r in 0..3 {
            tm.push(format!("{}", g.direction[r][axis]));
        }
    }
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(&encode_le(&volume.data))?;
    let payload = enc.finish()?;
    let header = format!(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nCompressedData = True\nCompressedDataSize = {}\nTransformMatrix = {}\nOffset = {} {} {}\nCenterOfRotation = 0 0 0\nAnatomicalOrientation = {}\nElementSpacing = {} {} {}\nDimSize = {} {} {}\nElementType = {}\nElementDataFile = LOCAL\n",
        payload.len(),
        tm.join(" "),
        g.origin[0],
        g.origin[1],
        g.origin[2],
        g.orientation_code(),
        g.spacing[0],
        g.spacing[1],
        g.spacing[2],
        g.dims[0],
        g.dims[1],
        g.dims[2],
        element_name(T::TYPE),
    );
    let mut out = header.into_bytes();
    out.extend_from_slice(&payload);
    Ok(out)
}
