//! The bad-input catalogue of the image readers: every malformed file gives one clear error that
//! names the file and the problem, and nothing panics or allocates what the header claims
//! before the claim is checked.

use std::path::{Path, PathBuf};

use promptseg_volume::geometry::Geometry;
use promptseg_volume::{nifti, read_image, NiftiCodes, ReadOptions, Volume};

fn small() -> Volume<f32> {
    let g = Geometry::axis_aligned([4, 3, 2], [1.0, 2.0, 3.0], [5.0, 6.0, 7.0]);
    Volume::new(g, (0..24).map(|v| v as f32).collect())
}

fn nii_bytes() -> Vec<u8> {
    nifti::encode(&small(), NiftiCodes::default(), false).unwrap()
}

fn put_i16(b: &mut [u8], o: usize, v: i16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_f32(b: &mut [u8], o: usize, v: f32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

/// Reads `path`, which must fail with a message naming the file and containing `expect`.
fn fails(path: &Path, expect: &str) {
    let err = read_image(path, &ReadOptions::default())
        .expect_err(&format!("{} was accepted", path.display()));
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    assert!(msg.contains(expect), "expected '{expect}' in: {msg}");
    assert_eq!(msg.lines().count(), 1, "not one line: {msg}");
}

fn mha(header: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = header.as_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

const MHA_OK: &str = "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementSpacing = 1 2 3\nOffset = 0 0 0\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n";

#[test]
fn nifti_catalogue() {
    let d = Dir(tempfile::tempdir().unwrap());
    let good = nii_bytes();
    assert!(read_image(&d.file("ok.nii", &good), &ReadOptions::default()).is_ok());

    fails(&d.file("empty.nii", b""), "file is empty");
    fails(&d.file("short.nii", &good[..100]), "truncated");
    let mut b = good.clone();
    b[344..348].copy_from_slice(b"xxxx");
    fails(&d.file("magic.nii", &b), "magic");
    let mut b = good.clone();
    b[0..4].copy_from_slice(&1234i32.to_le_bytes());
    fails(&d.file("sizeof.nii", &b), "not a NIfTI header size");
    fails(
        &d.file("text.nii.gz", b"just some text, not an image"),
        "not a NIfTI header size",
    );
    fails(
        &d.file("cut.nii", &good[..good.len() - 10]),
        "truncated: voxel data",
    );
    let z = gz(&good);
    fails(&d.file("cut.nii.gz", &z[..z.len() / 2]), "truncated");
    let mut zc = z.clone();
    for v in zc.iter_mut().skip(20).take(40) {
        *v ^= 0x5a;
    }
    fails(&d.file("corrupt.nii.gz", &zc), "corrupt");
    let mut b = good.clone();
    put_i16(&mut b, 42, 40); // claims 40 x 3 x 2 voxels, holds 4 x 3 x 2
    fails(&d.file("lies.nii", &b), "truncated: voxel data");
    fails(
        &d.file("lies.nii.gz", &gz(&b)),
        "voxel data: 96 of 960 bytes",
    );
    let mut b = good.clone();
    for o in [42, 44, 46] {
        put_i16(&mut b, o, 32767);
    }
    fails(&d.file("huge.nii", &b), "exceeds the 256 MiB limit");
    let mut b = good.clone();
    put_i16(&mut b, 254, 0); // qform only, with zero spacing
    put_f32(&mut b, 84, 0.0);
    fails(&d.file("zero_spacing.nii", &b), "spacing");
    let mut b = good.clone();
    put_i16(&mut b, 254, 0);
    put_f32(&mut b, 80, -1.0);
    fails(&d.file("negative_spacing.nii", &b), "spacing");
    let mut b = good.clone();
    put_f32(&mut b, 280, f32::NAN); // sform with a NaN
    fails(&d.file("nan_sform.nii", &b), "NaN");
    let mut b = good.clone();
    for o in (280..328).step_by(4) {
        put_f32(&mut b, o, 0.0);
    }
    fails(&d.file("singular.nii", &b), "singular");
    let mut b = good.clone();
    put_i16(&mut b, 40, 2);
    fails(&d.file("flat.nii", &b), "2D image");
    let mut b = good.clone();
    put_i16(&mut b, 40, 4);
    put_i16(&mut b, 48, 3);
    fails(&d.file("series.nii", &b), "3 volumes in one file");
    let mut b = good.clone();
    put_i16(&mut b, 70, 32);
    fails(&d.file("complex.nii", &b), "complex voxels");
    let mut b = good.clone();
    put_i16(&mut b, 70, 77);
    fails(&d.file("datatype.nii", &b), "unknown datatype code 77");
    let mut b = good.clone();
    put_f32(&mut b, 108, 1e12);
    fails(&d.file("offset.nii", &b), "vox_offset");
    let mut b = good.clone();
    b[344..348].copy_from_slice(b"ni1\0");
    fails(&d.file("pair.nii", &b), "header/image pairs");
    let mut b = good.clone();
    put_i16(&mut b, 44, 0);
    fails(&d.file("zero_dim.nii", &b), "dim[2] = 0");
    fails(d.0.path(), "is a folder without DICOM files");
    fails(&d.0.path().join("missing.nii.gz"), "No such file");
}

#[test]
fn metaimage_catalogue() {
    let d = Dir(tempfile::tempdir().unwrap());
    let payload = [7u8; 24];
    assert!(read_image(
        &d.file("ok.mha", &mha(MHA_OK, &payload)),
        &ReadOptions::default()
    )
    .is_ok());

    fails(&d.file("empty.mha", b""), "file is empty");
    fails(
        &d.file("text.mha", b"hello world\n"),
        "header line without '='",
    );
    fails(
        &d.file("noend.mha", b"NDims = 3\nDimSize = 1 1 1\n"),
        "no ElementDataFile",
    );
    fails(
        &d.file("short.mha", &mha(MHA_OK, &payload[..10])),
        "truncated: voxel data",
    );
    fails(
        &d.file(
            "2d.mha",
            &mha(&MHA_OK.replace("NDims = 3", "NDims = 2"), &payload),
        ),
        "2D image",
    );
    fails(
        &d.file(
            "dims.mha",
            &mha(
                &MHA_OK.replace("DimSize = 4 3 2", "DimSize = 4 3.5 2"),
                &payload,
            ),
        ),
        "DimSize",
    );
    fails(
        &d.file(
            "fewdims.mha",
            &mha(
                &MHA_OK.replace("DimSize = 4 3 2", "DimSize = 4 3"),
                &payload,
            ),
        ),
        "expected 3 numbers",
    );
    fails(
        &d.file(
            "huge.mha",
            &mha(
                &MHA_OK.replace("DimSize = 4 3 2", "DimSize = 65535 65535 65535"),
                &payload,
            ),
        ),
        "exceeds the 256 MiB limit",
    );
    fails(
        &d.file(
            "nan.mha",
            &mha(
                &MHA_OK.replace("ElementSpacing = 1 2 3", "ElementSpacing = 1 nan 3"),
                &payload,
            ),
        ),
        "spacing",
    );
    fails(
        &d.file(
            "neg.mha",
            &mha(
                &MHA_OK.replace("ElementSpacing = 1 2 3", "ElementSpacing = 1 -2 3"),
                &payload,
            ),
        ),
        "spacing",
    );
    fails(
        &d.file(
            "zero.mha",
            &mha(
                &MHA_OK.replace("ElementSpacing = 1 2 3", "ElementSpacing = 0 2 3"),
                &payload,
            ),
        ),
        "spacing",
    );
    fails(
        &d.file(
            "singular.mha",
            &mha(
                &MHA_OK.replace(
                    "TransformMatrix = 1 0 0 0 1 0 0 0 1",
                    "TransformMatrix = 1 0 0 1 0 0 0 0 1",
                ),
                &payload,
            ),
        ),
        "singular",
    );
    fails(
        &d.file(
            "type.mha",
            &mha(&MHA_OK.replace("MET_UCHAR", "MET_STRING"), &payload),
        ),
        "ElementType MET_STRING",
    );
    fails(
        &d.file(
            "rgb.mha",
            &mha(
                &MHA_OK.replace("ElementType", "ElementNumberOfChannels = 3\nElementType"),
                &payload,
            ),
        ),
        "3 channels per voxel",
    );
    fails(
        &d.file(
            "raw.mhd",
            MHA_OK
                .replace("ElementDataFile = LOCAL", "ElementDataFile = absent.raw")
                .as_bytes(),
        ),
        "absent.raw",
    );
    fails(
        &d.file(
            "z.mha",
            &mha(
                &MHA_OK.replace("ElementType", "CompressedData = True\nElementType"),
                &[1, 2, 3, 4, 5],
            ),
        ),
        "corrupt compressed data",
    );
    fails(
        &d.file(
            "list.mhd",
            MHA_OK
                .replace("ElementDataFile = LOCAL", "ElementDataFile = LIST")
                .as_bytes(),
        ),
        "slice lists",
    );
    fails(
        &d.file(
            "4d.mha",
            &mha(
                &MHA_OK
                    .replace("NDims = 3\nDimSize = 4 3 2", "NDims = 4\nDimSize = 4 3 2 5")
                    .replace("ElementSpacing = 1 2 3", "ElementSpacing = 1 2 3 1")
                    .replace("Offset = 0 0 0", "Offset = 0 0 0 0")
                    .replace(
                        "TransformMatrix = 1 0 0 0 1 0 0 0 1",
                        "TransformMatrix = 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1",
                    ),
                &payload,
            ),
        ),
        "5 volumes",
    );
}
