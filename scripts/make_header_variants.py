#!/usr/bin/env python3
"""Writes small images whose headers exercise every geometry path of the readers, and the
reference geometry of each as SimpleITK and nibabel read it.

    python3 scripts/make_header_variants.py crates/volume/tests/data/variants

The voxels are a 20 x 16 x 6 crop of demo/10021_1000021/t2w.nii.gz (real MR values); the
headers are rewritten: oblique, flipped axes, qform only, sform only, qform and sform that
disagree, neither, big-endian, NIfTI-2, a singleton 4th dimension, every datatype, scl_slope,
MetaImage compressed and not, .mhd with .raw and .zraw, oblique and flipped MetaImage.
`reference.json` holds, per file, what each tool reports and which one promptseg must match
("expect"): nibabel for NIfTI (its choice of sform over qform), SimpleITK for MetaImage, and the
NIfTI standard's method 1 for a file with neither transform (the tools disagree there).
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import SimpleITK as sitk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rot(axis, deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    m = {"x": [[1, 0, 0], [0, c, -s], [0, s, c]], "y": [[c, 0, s], [0, 1, 0], [-s, 0, c]], "z": [[c, -s, 0], [s, c, 0], [0, 0, 1]]}[axis]
    return np.array(m)


def affine(R, zooms, origin):
    a = np.eye(4)
    a[:3, :3] = R @ np.diag(zooms)
    a[:3, 3] = origin
    return a


def sitk_geom(path):
    try:
        img = sitk.ReadImage(path)
    except RuntimeError:  # this SimpleITK build cannot read the file (NIfTI-2, say)
        return None
    arr = sitk.GetArrayFromImage(img).astype(np.float64)
    return {"size": list(img.GetSize()), "spacing": list(img.GetSpacing()), "origin": list(img.GetOrigin()),
            "direction": list(img.GetDirection()), "sum": float(arr.sum())}


def nib_geom(path):
    img = nib.load(path)
    a = img.affine.copy()
    a[:2, :] *= -1
    z = np.sqrt((a[:3, :3] ** 2).sum(axis=0))
    return {"size": list(img.shape[:3]), "spacing": z.tolist(), "origin": a[:3, 3].tolist(),
            "direction": (a[:3, :3] / z).flatten().tolist(), "sum": float(np.asarray(img.dataobj, dtype=np.float64).sum())}


def main(out):
    os.makedirs(out, exist_ok=True)
    src = nib.load(os.path.join(ROOT, "demo/10021_1000021/t2w.nii.gz"))
    data = np.asarray(src.dataobj, dtype=np.float64)[70:90, 50:66, 5:11]
    zooms = (0.5, 0.6, 3.0)
    oblique = rot("z", 30) @ rot("x", 15)
    flipped = np.diag([-1.0, 1.0, -1.0])
    ref = {}

    def nifti(name, arr, aff, qcode=1, scode=1, qaff=None, cls=nib.Nifti1Image, dtype=None, slope=None, expect="nibabel"):
        img = cls(arr if dtype is None else arr.astype(dtype), aff)
        if dtype is not None:
            img.header.set_data_dtype(dtype)
        img.set_qform(qaff if qaff is not None else aff, code=qcode)
        img.set_sform(aff, code=scode)
        if slope is not None:
            img.header.set_slope_inter(*slope)
        p = os.path.join(out, name)
        nib.save(img, p)
        ref[name] = {"expect": expect, "nibabel": nib_geom(p)}
        g = sitk_geom(p)
        if g is not None:
            ref[name]["sitk"] = g

    base = affine(np.eye(3), zooms, (10.0, -20.0, 30.0))
    nifti("base.nii.gz", data.astype(np.int16), base)
    nifti("plain.nii", data.astype(np.int16), base)
    nifti("oblique.nii.gz", data.astype(np.int16), affine(oblique, zooms, (-5.0, 7.5, 12.0)))
    nifti("flipped.nii.gz", data.astype(np.int16), affine(flipped, zooms, (40.0, 2.0, -8.0)))
    nifti("qform_only.nii.gz", data.astype(np.int16), affine(oblique, zooms, (1.0, 2.0, 3.0)), scode=0)
    nifti("sform_only.nii.gz", data.astype(np.int16), affine(oblique, zooms, (1.0, 2.0, 3.0)), qcode=0)
    nifti("sform_wins.nii.gz", data.astype(np.int16), affine(oblique, zooms, (1.0, 2.0, 3.0)), qaff=affine(np.eye(3), zooms, (9.0, 9.0, 9.0)))
    for dt in [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.float32, np.float64]:
        arr = np.clip(data / 8, 0, 120) if dt in (np.uint8, np.int8) else data
        nifti(f"dtype_{np.dtype(dt).name}.nii.gz", arr, base, dtype=dt)
    nifti("scaled.nii.gz", np.round(data / 2), base, dtype=np.int16, slope=(2.0, 10.0))
    nifti("nifti2.nii.gz", data.astype(np.float32), affine(oblique, zooms, (0.0, 0.0, 0.0)), cls=nib.Nifti2Image)
    nifti("dim4.nii.gz", data.astype(np.int16)[..., None], base)
    # Big-endian: byte-swap header and data.
    a = affine(oblique, zooms, (3.0, 4.0, 5.0))
    img = nib.Nifti1Image(data.astype(np.int16), a)
    img.set_qform(a, code=1)
    img.set_sform(a, code=1)
    img = nib.Nifti1Image(data.astype(">i2"), a, header=img.header.as_byteswapped(">"))
    p = os.path.join(out, "big_endian.nii")
    nib.save(img, p)
    assert nib.load(p).header.endianness == ">", "big-endian header expected"
    ref["big_endian.nii"] = {"expect": "nibabel", "nibabel": nib_geom(p), "sitk": sitk_geom(p)}
    # Neither transform: the standard's method 1 is diag(pixdim) in RAS with origin 0.
    img = nib.Nifti1Image(data.astype(np.int16), base)
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    img.header["pixdim"][1:4] = zooms
    p = os.path.join(out, "no_transform.nii")
    nib.save(img, p)
    ref["no_transform.nii"] = {
        "expect": "standard",
        "standard": {"size": list(data.shape), "spacing": list(zooms), "origin": [0.0, 0.0, 0.0],
                     "direction": [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0], "sum": float(np.round(data).sum())},
        "nibabel": nib_geom(p), "sitk": sitk_geom(p),
    }

    # MetaImage through SimpleITK's writer.
    def mha(name, arr, direction, origin, compress, pixel=sitk.sitkInt16):
        img = sitk.Cast(sitk.GetImageFromArray(np.transpose(arr, (2, 1, 0))), pixel)
        img.SetSpacing(zooms)
        img.SetOrigin(origin)
        img.SetDirection([float(v) for v in np.asarray(direction).flatten()])
        p = os.path.join(out, name)
        sitk.WriteImage(img, p, useCompression=compress)
        ref[name] = {"expect": "sitk", "sitk": sitk_geom(p)}

    mha("plain.mha", data, np.eye(3), (1.0, 2.0, 3.0), False)
    mha("zlib.mha", data, oblique, (-1.0, 2.5, 3.0), True)
    mha("flipped.mha", data, flipped @ oblique, (4.0, -2.0, 8.0), True, sitk.sitkFloat32)
    mha("raw.mhd", data, oblique, (1.0, 1.0, 1.0), False, sitk.sitkUInt16)
    mha("zraw.mhd", data, oblique, (1.0, 1.0, 1.0), True, sitk.sitkFloat64)
    mha("uchar.mha", np.clip(data / 8, 0, 255), np.eye(3), (0.0, 0.0, 0.0), True, sitk.sitkUInt8)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print(f"{len(ref)} files")


if __name__ == "__main__":
    main(sys.argv[1])
