#!/usr/bin/env python3
"""Independent check that a promptseg mask sits on its T2W grid.

    python3 scripts/check_output_geometry.py promptseg-demo/lesion.nii.gz demo/10021_1000021/t2w.nii.gz

Reads both files with SimpleITK (ITK's reader, LPS) and, for NIfTI, nibabel (RAS affine), and
prints the largest difference in origin, spacing and direction; exits 1 on any mismatch above
1e-5 or on a size or dtype problem.
"""
import sys

import numpy as np
import SimpleITK as sitk


def main(mask_path, ref_path):
    m, r = sitk.ReadImage(mask_path), sitk.ReadImage(ref_path)
    bad = []
    if m.GetSize() != r.GetSize():
        bad.append(f"size {m.GetSize()} != {r.GetSize()}")
    for name, a, b in [("origin", m.GetOrigin(), r.GetOrigin()), ("spacing", m.GetSpacing(), r.GetSpacing()),
                       ("direction", m.GetDirection(), r.GetDirection())]:
        d = float(np.max(np.abs(np.array(a) - np.array(b))))
        print(f"SimpleITK {name}: max |diff| = {d:.3g}")
        if d > 1e-5:
            bad.append(f"{name} differs by {d}")
    if m.GetPixelID() != sitk.sitkUInt8:
        bad.append(f"mask pixel type {m.GetPixelIDTypeAsString()}, expected 8-bit unsigned")
    if mask_path.endswith((".nii", ".nii.gz")) and ref_path.endswith((".nii", ".nii.gz")):
        import nibabel as nib
        mn, rn = nib.load(mask_path), nib.load(ref_path)
        d = float(np.max(np.abs(mn.affine - rn.affine)))
        print(f"nibabel affine: max |diff| = {d:.3g}; codes qform {int(mn.header['qform_code'])}/{int(rn.header['qform_code'])} sform {int(mn.header['sform_code'])}/{int(rn.header['sform_code'])}")
        if d > 1e-5:
            bad.append(f"nibabel affine differs by {d}")
    arr = sitk.GetArrayFromImage(m)
    print(f"mask voxels: {int((arr > 0).sum())}, values {sorted(set(np.unique(arr).tolist()))}")
    if bad:
        print("MISMATCH: " + "; ".join(bad))
        sys.exit(1)
    print("geometry identical")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
