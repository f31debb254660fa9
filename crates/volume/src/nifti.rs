//! NIfTI-1 and NIfTI-2 single-file images (.nii, .nii.gz), either byte order.
//!
//! Geometry follows nibabel's choice of transform: the sform when `sform_code > 0`, else the
//! qform when `qform_code > 0`, else the standard's "method 1" (diag(pixdim), origin 0).
//! Everything is converted from NIfTI's RAS to the project's LPS at this boundary.

use std::io::Read;
use std::path::Path;

use crate::error::{Problem, Result, VolumeError};
use crate::geometry::{det3, Geometry, Mat3};
use crate::limits::ReadOptions;
use crate::scalar::{encode_le, Element, ScalarType};
use crate::volume::{NiftiCodes, Volume};

const NIFTI1_HEADER: usize = 348;
const NIFTI2_HEADER: usize = 540;

struct Fields<'a> {
    b: &'a [u8],
    big: bool,
}

impl Fields<'_> {
    fn i16(&self, o: usize) -> i16 {
        let a = [self.b[o], self.b[o + 1]];
        if self.big {
            i16::from_be_bytes(a)
        } else {
            i16::from_le_bytes(a)
        }
    }
    fn i32(&self, o: usize) -> i32 {
        let a: [u8; 4] = self.b[o..o + 4].try_into().expect("4 bytes");
        if self.big {
            i32::from_be_bytes(a)
        } else {
            i32::from_le_bytes(a)
        }
    }
    fn i64(&self, o: usize) -> i64 {
        let a: [u8; 8] = self.b[o..o + 8].try_into().expect("8 bytes");
        if self.big {
            i64::from_be_bytes(a)
        } else {
            i64::from_le_bytes(a)
        }
    }
    fn f32(&self, o: usize) -> f64 {
        let a: [u8; 4] = self.b[o..o + 4].try_into().expect("4 bytes");
        (if self.big {
            f32::from_be_bytes(a)
        } else {
            f32::from_le_bytes(a)
        }) as f64
    }
    fn f64(&self, o: usize) -> f64 {
        let a: [u8; 8] = self.b[o..o + 8].try_into().expect("8 bytes");
        if self.big {
            f64::from_be_bytes(a)
        } else {
            f64::from_le_bytes(a)
        }
    }
}

/// The header fields this project uses, in a version-independent form.
#[derive(Clone, Debug)]
struct Header {
    dims: [i64; 8],
    datatype: i16,
    pixdim: [f64; 8],
    vox_offset: f64,
    scl_slope: f64,
    scl_inter: f64,
    qform_code: i16,
    sform_code: i16,
    quatern: [f64; 3],
    qoffset: [f64; 3],
    srow: [[f64; 4]; 3],
    single_file: bool,
}

fn parse_header(raw: &[u8], big: bool, version: u8) -> Header {
    let f = Fields { b: raw, big };
    if version == 1 {
        let mut dims = [0i64; 8];
        let mut pixdim = [0f64; 8];
        for i in 0..8 {
            dims[i] = f.i16(40 + 2 * i) as i64;
            pixdim[i] = f.f32(76 + 4 * i);
        }
        let mut srow = [[0.0; 4]; 3];
        for (r, row) in srow.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = f.f32(280 + 16 * r + 4 * c);
            }
        }
        Header {
            dims,
            datatype: f.i16(70),
            pixdim,
            vox_offset: f.f32(108),
            scl_slope: f.f32(112),
            scl_inter: f.f32(116),
            qform_code: f.i16(252),
            sform_code: f.i16(254),
            quatern: [f.f32(256), f.f32(260), f.f32(264)],
            qoffset: [f.f32(268), f.f32(272), f.f32(276)],
            srow,
            single_file: &raw[344..347] == b"n+1",
        }
    } else {
        let mut dims = [0i64; 8];
        let mut pixdim = [0f64; 8];
        for i in 0..8 {
            dims[i] = f.i64(16 + 8 * i);
            pixdim[i] = f.f64(104 + 8 * i);
        }
        let mut srow = [[0.0; 4]; 3];
        for (r, row) in srow.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = f.f64(400 + 32 * r + 8 * c);
            }
        }
        Header {
            dims,
            datatype: f.i16(12),
            pixdim,
            vox_offset: f.i64(168) as f64,
            scl_slope: f.f64(176),
            scl_inter: f.f64(184),
            qform_code: f.i32(344).clamp(i16::MIN as i32, i16::MAX as i32) as i16,
            sform_code: f.i32(348).clamp(i16::MIN as i32, i16::MAX as i32) as i16,
            quatern: [f.f64(352), f.f64(360), f.f64(368)],
            qoffset: [f.f64(376), f.f64(384), f.f64(392)],
            srow,
            single_file: &raw[4..7] == b"n+2",
        }
    }
}

fn scalar_type(datatype: i16) -> std::result::Result<ScalarType, Problem> {
    Ok(match datatype {
        2 => ScalarType::U8,
        4 => ScalarType::I16,
        8 => ScalarType::I32,
        16 => ScalarType::F32,
        64 => ScalarType::F64,
        256 => ScalarType::I8,
        512 => ScalarType::U16,
        768 => ScalarType::U32,
        1024 => ScalarType::I64,
        1280 => ScalarType::U64,
        32 | 1792 | 2048 => {
            return Err(Problem::Unsupported(format!(
                "complex voxels (datatype {datatype})"
            )))
        }
        128 | 2304 => {
            return Err(Problem::Unsupported(format!(
                "RGB voxels (datatype {datatype})"
            )))
        }
        other => return Err(Problem::BadHeader(format!("unknown datatype code {other}"))),
    })
}

/// nifti1_io's quatern_to_mat44: the RAS rotation/scaling part and offset of the qform.
fn qform_affine(h: &Header, spacing: [f64; 3]) -> [[f64; 4]; 3] {
    let [mut b, mut c, mut d] = h.quatern;
    let mut a = 1.0 - (b * b + c * c + d * d);
    if a < 1e-7 {
        let n = (b * b + c * c + d * d).sqrt();
        a = 0.0;
        if n > 0.0 {
            b /= n;
            c /= n;
            d /= n;
        }
    } else {
        a = a.sqrt();
    }
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    let (xd, yd, zd) = (spacing[0], spacing[1], spacing[2] * qfac);
    [
        [
            (a * a + b * b - c * c - d * d) * xd,
            2.0 * (b * c - a * d) * yd,
            2.0 * (b * d + a * c) * zd,
            h.qoffset[0],
        ],
        [
            2.0 * (b * c + a * d) * xd,
            (a * a + c * c - b * b - d * d) * yd,
            2.0 * (c * d - a * b) * zd,
            h.qoffset[1],
        ],
        [
            2.0 * (b * d - a * c) * xd,
            2.0 * (c * d + a * b) * yd,
            (a * a + d * d - c * c - b * b) * zd,
            h.qoffset[2],
        ],
    ]
}

fn geometry_of(h: &Header, dims: [usize; 3]) -> std::result::Result<Geometry, Problem> {
    let spacing = [h.pixdim[1], h.pixdim[2], h.pixdim[3]];
    let rows = if h.sform_code > 0 {
        h.srow
    } else if h.qform_code > 0 {
        if !spacing.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err(Problem::Geometry(
                crate::geometry::GeometryError::BadSpacing { spacing },
            ));
        }
        qform_affine(h, spacing)
    } else {
        // Method 1 of the standard: voxel sizes only, no orientation or origin information.
        // A negative size is taken by magnitude (as ITK does); a zero or NaN one would make
        // every millimetre measure (volume in mL, mm prompts, resampling) a guess, so it is refused.
        let s = spacing.map(f64::abs);
        if !s.iter().all(|v| v.is_finite() && *v > 0.0) {
            return Err(Problem::Geometry(
                crate::geometry::GeometryError::BadSpacing { spacing },
            ));
        }
        [
            [s[0], 0.0, 0.0, 0.0],
            [0.0, s[1], 0.0, 0.0],
            [0.0, 0.0, s[2], 0.0],
        ]
    };
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Problem::BadHeader(
            "transform (sform/qform) contains NaN or infinite values".into(),
        ));
    }
    let g = Geometry::from_ras_affine(dims, rows);
    g.validate()?;
    Ok(g)
}

/// The decoded byte stream of a NIfTI file and, when it is not compressed, its length.
fn open_stream<'a, R: Read + 'a>(
    mut reader: R,
    len: Option<u64>,
    path: &Path,
) -> Result<(Box<dyn Read + 'a>, Option<u64>)> {
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut reader, &mut magic).map_err(|e| VolumeError::new(path, e))?;
    let head = std::io::Cursor::new(magic[..n].to_vec()).chain(reader);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok((Box::new(flate2::read::MultiGzDecoder::new(head)), None))
    } else {
        Ok((Box::new(head), len))
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn gz_error(path: &Path, e: std::io::Error) -> VolumeError {
    if e.kind() == std::io::ErrorKind::InvalidInput || e.kind() == std::io::ErrorKind::InvalidData {
        VolumeError::new(path, Problem::Corrupt(e.to_string()))
    } else if e.kind() == std::io::ErrorKind::UnexpectedEof {
        VolumeError::new(
            path,
            Problem::Truncated("compressed stream ends early".into()),
        )
    } else {
        VolumeError::new(path, e)
    }
}

/// Reads a NIfTI image as f32 values (scl_slope/scl_inter applied).
pub fn read(path: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    let file = std::fs::File::open(path).map_err(|e| VolumeError::new(path, e))?;
    let len = file.metadata().ok().map(|m| m.len());
    decode(std::io::BufReader::new(file), len, path, opts)
}

/// Decodes a NIfTI image from memory; `name` only labels errors (fuzzing, uploads).
pub fn read_bytes(bytes: &[u8], name: &Path, opts: &ReadOptions) -> Result<Volume<f32>> {
    decode(bytes, Some(bytes.len() as u64), name, opts)
}

fn decode<R: Read>(
    reader: R,
    len: Option<u64>,
    path: &Path,
    opts: &ReadOptions,
) -> Result<Volume<f32>> {
    let err = |p: Problem| VolumeError::new(path, p);
    let (mut stream, plain_len) = open_stream(reader, len, path)?;
    let mut raw = vec![0u8; NIFTI2_HEADER];
    let got = read_up_to(&mut stream, &mut raw[..NIFTI1_HEADER]).map_err(|e| gz_error(path, e))?;
    if got == 0 {
        return Err(err(Problem::UnknownFormat("file is empty".into())));
    }
    if got < 4 {
        return Err(err(Problem::Truncated(format!(
            "only {got} bytes, a NIfTI header needs 348"
        ))));
    }
    let le = i32::from_le_bytes(raw[0..4].try_into().expect("4 bytes"));
    let be = i32::from_be_bytes(raw[0..4].try_into().expect("4 bytes"));
    let (version, big, header_len) = match (le, be) {
        (348, _) => (1u8, false, NIFTI1_HEADER),
        (_, 348) => (1, true, NIFTI1_HEADER),
        (540, _) => (2, false, NIFTI2_HEADER),
        (_, 540) => (2, true, NIFTI2_HEADER),
        _ => {
            return Err(err(Problem::UnknownFormat(
                "first 4 bytes are not a NIfTI header size (348 or 540)".into(),
            )))
        }
    };
    if version == 2 {
        let more =
            read_up_to(&mut stream, &mut raw[NIFTI1_HEADER..]).map_err(|e| gz_error(path, e))?;
        if got + more < NIFTI2_HEADER {
            return Err(err(Problem::Truncated(format!(
                "header is {} of 540 bytes",
                got + more
            ))));
        }
    } else if got < NIFTI1_HEADER {
        return Err(err(Problem::Truncated(format!(
            "header is {got} of 348 bytes"
        ))));
    }
    let raw = &raw[..header_len];
    let magic_ok = if version == 1 {
        &raw[344..347] == b"n+1" || &raw[344..347] == b"ni1"
    } else {
        &raw[4..7] == b"n+2" || &raw[4..7] == b"ni2"
    };
    if !magic_ok {
        return Err(err(Problem::BadHeader(
            "NIfTI magic string is missing (Analyze 7.5 files are not supported)".into(),
        )));
    }
    let h = parse_header(raw, big, version);
    if !h.single_file {
        return Err(err(Problem::Unsupported(
            "header/image pairs (.hdr + .img); convert to a single .nii".into(),
        )));
    }
    let ty = scalar_type(h.datatype).map_err(err)?;

    let ndim = h.dims[0];
    if !(1..=7).contains(&ndim) {
        return Err(err(Problem::BadHeader(format!(
            "dim[0] = {ndim}, must be 1..7"
        ))));
    }
    if ndim < 3 {
        return Err(err(Problem::Unsupported(format!(
            "{ndim}D image; a 3D volume is needed"
        ))));
    }
    let mut dims = [1u64; 7];
    for i in 0..ndim as usize {
        let d = h.dims[i + 1];
        if d < 1 {
            return Err(err(Problem::BadHeader(format!("dim[{}] = {d}", i + 1))));
        }
        dims[i] = d as u64;
    }
    let extra: u64 = dims[3..].iter().product();
    if extra > 1 {
        return Err(err(Problem::Unsupported(format!(
            "{} volumes in one file (dims {:?}); extract the one to use",
            extra,
            &dims[..ndim as usize]
        ))));
    }
    let voxels = opts.check_size(&dims[..3], ty.size() as u64).map_err(err)?;
    let dims3 = [dims[0] as usize, dims[1] as usize, dims[2] as usize];
    let geometry = geometry_of(&h, dims3).map_err(err)?;

    if !h.vox_offset.is_finite() || h.vox_offset < header_len as f64 || h.vox_offset > 1e9 {
        return Err(err(Problem::BadHeader(format!(
            "vox_offset {} is before the end of the header or absurd",
            h.vox_offset
        ))));
    }
    let skip = h.vox_offset as u64 - header_len as u64;
    let nbytes = voxels * ty.size() as u64;
    if let Some(file_len) = plain_len {
        if file_len < h.vox_offset as u64 + nbytes {
            return Err(err(Problem::Truncated(format!(
                "voxel data: header needs {} bytes after offset {}, file has {}",
                nbytes,
                h.vox_offset as u64,
                file_len.saturating_sub(h.vox_offset as u64)
            ))));
        }
    }
    std::io::copy(&mut (&mut stream).take(skip), &mut std::io::sink())
        .map_err(|e| gz_error(path, e))?;
    let mut bytes = Vec::new();
    (&mut stream)
        .take(nbytes)
        .read_to_end(&mut bytes)
        .map_err(|e| gz_error(path, e))?;
    if (bytes.len() as u64) < nbytes {
        return Err(err(Problem::Truncated(format!(
            "voxel data: {} of {} bytes present",
            bytes.len(),
            nbytes
        ))));
    }
    let mut data = ty.decode(&bytes, big);
    // The standard: scaling applies when scl_slope is non-zero (and finite).
    if h.scl_slope != 0.0
        && h.scl_slope.is_finite()
        && h.scl_inter.is_finite()
        && (h.scl_slope != 1.0 || h.scl_inter != 0.0)
    {
        let (s, i) = (h.scl_slope as f32, h.scl_inter as f32);
        for v in &mut data {
            *v = *v * s + i;
        }
    }
    Ok(Volume {
        geometry,
        data,
        nifti_codes: Some(NiftiCodes {
            qform: h.qform_code,
            sform: h.sform_code,
        }),
    })
}

/// nifti1_io's nifti_mat44_to_quatern for an orthonormal RAS rotation; returns (b, c, d, qfac).
fn quatern_of(r: &Mat3) -> ([f64; 3], f64) {
    let mut r = *r;
    let qfac = if det3(&r) > 0.0 { 1.0 } else { -1.0 };
    if qfac < 0.0 {
        for row in r.iter_mut() {
            row[2] = -row[2];
        }
    }
    let (r11, r12, r13) = (r[0][0], r[0][1], r[0][2]);
    let (r21, r22, r23) = (r[1][0], r[1][1], r[1][2]);
    let (r31, r32, r33) = (r[2][0], r[2][1], r[2][2]);
    let trace = r11 + r22 + r33 + 1.0;
    let (a, mut b, mut c, mut d): (f64, f64, f64, f64);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (r32 - r23) / a;
        c = 0.25 * (r13 - r31) / a;
        d = 0.25 * (r21 - r12) / a;
    } else {
        let xd = 1.0 + r11 - (r22 + r33);
        let yd = 1.0 + r22 - (r11 + r33);
        let zd = 1.0 + r33 - (r11 + r22);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r12 + r21) / b;
            d = 0.25 * (r13 + r31) / b;
            a = 0.25 * (r32 - r23) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r12 + r21) / c;
            d = 0.25 * (r23 + r32) / c;
            a = 0.25 * (r13 - r31) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (r13 + r31) / d;
            c = 0.25 * (r23 + r32) / d;
            a = 0.25 * (r21 - r12) / d;
        }
        if a < 0.0 {
            b = -b;
            c = -c;
            d = -d;
        }
    }
    ([b, c, d], qfac)
}

/// Encodes a NIfTI-1 single-file image (gzip-compressed when `gz`).
pub fn encode<T: Element>(
    volume: &Volume<T>,
    codes: NiftiCodes,
    gz: bool,
) -> std::io::Result<Vec<u8>> {
    let g = &volume.geometry;
    let mut h = vec![0u8; 352];
    let put_i16 = |h: &mut Vec<u8>, o: usize, v: i16| h[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let put_f32 =
        |h: &mut Vec<u8>, o: usize, v: f64| h[o..o + 4].copy_from_slice(&(v as f32).to_le_bytes());
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    put_i16(&mut h, 40, 3);
    for a in 0..3 {
        put_i16(&mut h, 42 + 2 * a, g.dims[a] as i16);
    }
    for o in [48, 50, 52, 54] {
        put_i16(&mut h, o, 1);
    }
    let ty = T::TYPE;
    let (code, bitpix) = match ty {
        ScalarType::U8 => (2, 8),
        ScalarType::I16 => (4, 16),
        ScalarType::F32 => (16, 32),
        _ => unreachable!("writers exist for u8, i16 and f32 only"),
    };
    put_i16(&mut h, 70, code);
    put_i16(&mut h, 72, bitpix);
    // RAS rotation: flip the first two rows of the LPS direction.
    let mut rot = g.direction;
    for row in rot.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    let (quat, qfac) = quatern_of(&rot);
    put_f32(&mut h, 76, qfac);
    for a in 0..3 {
        put_f32(&mut h, 80 + 4 * a, g.spacing[a]);
    }
    put_f32(&mut h, 108, 352.0);
    put_f32(&mut h, 112, 1.0);
    h[123] = 2; // xyzt_units: millimetres
    let desc = b"promptseg";
    h[148..148 + desc.len()].copy_from_slice(desc);
    put_i16(&mut h, 252, codes.qform);
    put_i16(&mut h, 254, codes.sform);
    let aff = g.ras_affine();
    for a in 0..3 {
        put_f32(&mut h, 256 + 4 * a, quat[a]);
        put_f32(&mut h, 268 + 4 * a, aff[a][3]);
    }
    for r in 0..3 {
        for c in 0..4 {
            put_f32(&mut h, 280 + 16 * r + 4 * c, aff[r][c]);
        }
    }
    h[344..348].copy_from_slice(b"n+1\0");
    h.extend_from_slice(&encode_le(&volume.data));
    if gz {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(&h)?;
        enc.finish()
    } else {
        Ok(h)
    }
}
