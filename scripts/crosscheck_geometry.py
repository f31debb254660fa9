#!/usr/bin/env python3
"""Cross-checks promptseg's reading of every image against SimpleITK and nibabel.

    cargo build --release
    python3 scripts/crosscheck_geometry.py ../shared/data crates/volume/tests/data/variants

For each .nii/.nii.gz/.mha/.mhd file found (recursively) it compares size, spacing, origin,
direction (LPS) and voxel sum from `promptseg info` with SimpleITK (all files) and nibabel
(NIfTI), and prints one line per file and a final count of mismatches; exit 1 if any.
The NIfTI files with neither qform nor sform are compared with the standard's method 1
(SimpleITK and nibabel disagree with it, and with each other, there) and reported apart.
Not part of CI: it needs SimpleITK and nibabel (pip install SimpleITK nibabel).
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import SimpleITK as sitk
import nibabel as nib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "promptseg")


def sitk_geom(p):
    try:
        img = sitk.ReadImage(p)
    except RuntimeError:
        return None
    a = sitk.GetArrayFromImage(img).astype(np.float64)
    return dict(size=list(img.GetSize()), spacing=list(img.GetSpacing()), origin=list(img.GetOrigin()),
                direction=list(img.GetDirection()), sum=float(a.sum()))


def nib_geom(p):
    img = nib.load(p)
    a = img.affine.copy()
    a[:2, :] *= -1
    z = np.sqrt((a[:3, :3] ** 2).sum(axis=0))
    return dict(size=list(img.shape[:3]), spacing=z.tolist(), origin=a[:3, 3].tolist(),
                direction=(a[:3, :3] / z).flatten().tolist(), sum=float(np.asarray(img.dataobj, dtype=np.float64).sum()),
                codes=(int(img.header["qform_code"]), int(img.header["sform_code"])) if "qform_code" in img.header else (1, 1))


def diff(ours, ref):
    bad = []
    if list(ours["size"]) != list(ref["size"]):
        bad.append(f"size {ours['size']} vs {ref['size']}")
    for k, key, tol in [("spacing", "spacing", 1e-5), ("origin", "origin_lps", 1e-4), ("direction", "direction_lps", 1e-5)]:
        d = float(np.max(np.abs(np.array(ours[key]) - np.array(ref[k]))))
        if d > tol:
            bad.append(f"{k} off by {d:.3g}")
    if abs(ours["sum"] - ref["sum"]) > 1e-5 * max(abs(ref["sum"]), 1.0):
        bad.append(f"sum {ours['sum']} vs {ref['sum']}")
    return bad


def main(dirs):
    files = []
    for d in dirs:
        for ext in ("*.nii", "*.nii.gz", "*.mha", "*.mhd"):
            files += glob.glob(os.path.join(d, "**", ext), recursive=True)
    files = sorted(set(files))
    out = subprocess.run([BIN, "info", *files], capture_output=True, text=True)
    ours = {json.loads(l)["path"]: json.loads(l) for l in out.stdout.splitlines()}
    mismatches, compared, standard = 0, 0, 0
    for f in files:
        o = ours.get(f)
        if o is None:
            print(f"UNREADABLE {f}")
            mismatches += 1
            continue
        refs = []
        nifti = f.endswith((".nii", ".nii.gz"))
        if nifti:
            n = nib_geom(f)
            if n["codes"] == (0, 0):
                standard += 1
                std = dict(size=n["size"], spacing=n["spacing"], origin=[0, 0, 0], direction=[-1, 0, 0, 0, -1, 0, 0, 0, 1], sum=n["sum"])
                refs.append(("NIfTI standard method 1", std))
            else:
                refs.append(("nibabel", n))
        s = sitk_geom(f)
        if s is not None and not (nifti and refs and refs[0][0].startswith("NIfTI standard")):
            refs.append(("SimpleITK", s))
        problems = []
        for name, r in refs:
            compared += 1
            problems += [f"{name}: {p}" for p in diff(o, r)]
        mismatches += bool(problems)
        print(("MISMATCH " if problems else "ok       ") + f + ("  " + "; ".join(problems) if problems else f"  ({', '.join(n for n, _ in refs)})"))
    print(f"\n{len(files)} files, {compared} comparisons, {mismatches} files with geometry mismatches "
          f"({standard} without qform/sform checked against the NIfTI standard)")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main(sys.argv[1:] or ["../shared/data"])
