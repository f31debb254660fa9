#!/usr/bin/env python3
"""Independent geometry reference for the files under ../shared/data.

Prints, for every image, what SimpleITK (LPS) and nibabel (RAS affine, converted to LPS) report:
size, spacing, origin, direction and voxel sum. The Rust tests paste these values as constants
(crates/volume/tests/real_files.rs); rerun this script to regenerate them:

    pip install SimpleITK nibabel numpy
    python3 scripts/geometry_reference.py ../shared/data
"""
import glob
import json
import os
import sys

import numpy as np
import SimpleITK as sitk

try:
    import nibabel as nib
except ImportError:  # nibabel only cross-checks NIfTI files
    nib = None


def sitk_geometry(path):
    img = sitk.ReadImage(path)
    arr = sitk.GetArrayFromImage(img).astype(np.float64)
    return {
        "size": list(img.GetSize()),
        "spacing": list(img.GetSpacing()),
        "origin": list(img.GetOrigin()),
        "direction": list(img.GetDirection()),
        "sum": float(arr.sum()),
    }


def nibabel_geometry(path):
    img = nib.load(path)
    aff = img.affine.copy()
    aff[:2, :] *= -1  # RAS -> LPS
    zooms = np.sqrt((aff[:3, :3] ** 2).sum(axis=0))
    direction = aff[:3, :3] / zooms
    return {
        "size": list(img.shape[:3]),
        "spacing": zooms.tolist(),
        "origin": aff[:3, 3].tolist(),
        "direction": direction.flatten().tolist(),
        "sum": float(np.asarray(img.dataobj, dtype=np.float64).sum()),
    }


def main(root):
    out = {}
    files = sorted(glob.glob(os.path.join(root, "*", "*", "*.nii.gz")) + glob.glob(os.path.join(root, "*", "*", "*.mha")))
    for f in files:
        rel = os.path.relpath(f, root)
        entry = {"sitk": sitk_geometry(f)}
        if nib is not None and f.endswith(".nii.gz"):
            entry["nibabel"] = nibabel_geometry(f)
        out[rel] = entry
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
