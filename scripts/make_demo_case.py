#!/usr/bin/env python3
"""Builds demo/10021_1000021/ (the sample case shipped for `promptseg demo`) from ../shared/data.

Source: picai_jiangcw_crop256/10021_1000021 (PI-CAI 10021_1000021, csPCa ISUP 3, RUMC), whose
ADC/HBV were already registered and resampled to the T2W grid by the source. Changes, all
documented in demo/ATTRIBUTION.md:
  * in-plane crop x 48..208, y 40..200 (160 x 160 x 16 of 256 x 256 x 16) around the gland;
  * the header origin is set to the true position: the crop256 files kept the uncropped origin
    (MANIFEST "Header caveat"; true crop origin LPS -63.750, -44.515, -27.111 mm), so the demo
    mask lines up with the original PI-CAI T2W in a viewer;
  * storage: T2W int16 (its values are whole numbers), ADC int16 rounded to 1e-6 mm^2/s, HBV
    int16 with scl_slope 0.01, label uint8 (ISUP grade values kept).

    python3 scripts/make_demo_case.py ../shared/data demo/10021_1000021
"""
import os
import sys

import nibabel as nib
import numpy as np

X0, X1, Y0, Y1 = 48, 208, 40, 200
TRUE_ORIGIN_LPS = np.array([-63.750, -44.515, -27.111])


def main(shared, out):
    src = os.path.join(shared, "picai_jiangcw_crop256", "10021_1000021")
    os.makedirs(out, exist_ok=True)
    ref = nib.load(os.path.join(src, "t2w.nii.gz"))
    affine = ref.affine.copy()
    origin_ras = TRUE_ORIGIN_LPS * np.array([-1, -1, 1])
    affine[:3, 3] = origin_ras + affine[:3, :3] @ np.array([X0, Y0, 0])
    jobs = [
        ("t2w.nii.gz", np.int16, 1.0, lambda a: np.round(a)),
        ("adc.nii.gz", np.int16, 1.0, lambda a: np.round(a)),
        ("hbv.nii.gz", np.int16, 0.01, lambda a: np.round(a / 0.01)),
        ("lesion_human.nii.gz", np.uint8, 1.0, lambda a: np.round(a)),
    ]
    for name, dtype, slope, store in jobs:
        img = nib.load(os.path.join(src, name))
        data = np.asarray(img.dataobj, dtype=np.float64)[X0:X1, Y0:Y1, :]
        stored = store(data).astype(dtype)
        hdr = nib.Nifti1Header()
        hdr.set_data_dtype(dtype)
        new = nib.Nifti1Image(stored, affine, hdr)
        new.set_qform(affine, code=1)
        new.set_sform(affine, code=1)
        if slope != 1.0:
            new.header.set_slope_inter(slope, 0.0)
        nib.save(new, os.path.join(out, name))
        back = np.asarray(nib.load(os.path.join(out, name)).dataobj, dtype=np.float64)
        print(name, stored.shape, dtype.__name__, "max abs change %.4g" % np.abs(back - data).max())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
