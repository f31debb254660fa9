#!/usr/bin/env python3
"""Writes the small synthetic DICOM MR series used by crates/volume/tests/dicom.rs.

    python3 scripts/make_dicom_fixture.py crates/volume/tests/data/dicom

oblique/: 5 slices of 12 x 10 pixels, int16 with RescaleSlope 2 / RescaleIntercept -100, an
oblique orientation (20 degrees about the scanner x axis, 10 about z), files named in shuffled
order, plus a non-DICOM file that must be ignored. two_series/: two series in one folder.
compressed/: one slice declaring a JPEG transfer syntax. Then it prints what SimpleITK's
ImageSeriesReader reports for oblique/, the constants pasted into the test.
"""
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

ROWS, COLS, N = 10, 12, 5


def rot(ax, deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    if ax == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def write_slice(path, series_uid, k, R, origin, spacing, dz, pixels, ts=ExplicitVRLittleEndian, desc="T2W"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path])
    meta.TransferSyntaxUID = ts
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesDescription = desc
    ds.InstanceNumber = k + 1
    row, col, normal = R[:, 0], R[:, 1], R[:, 2]
    pos = origin + normal * dz * k
    ds.ImagePositionPatient = [f"{v:.6f}" for v in pos]
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in list(row) + list(col)]
    ds.PixelSpacing = [f"{spacing[1]}", f"{spacing[0]}"]  # (between rows, between columns)
    ds.SliceThickness = f"{dz}"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope, ds.RescaleIntercept = "2", "-100"
    raw = pixels.astype("<i2").tobytes()
    if ts == ExplicitVRLittleEndian:
        ds.PixelData = raw
    else:  # a declared compressed syntax: the reader must refuse it before decoding anything
        from pydicom.encaps import encapsulate
        ds.PixelData = encapsulate([raw])
    ds.save_as(path, enforce_file_format=True)


def main(out):
    R = rot("z", 10) @ rot("x", 20)
    origin = np.array([-30.5, 12.25, 40.0])
    spacing = (0.7, 0.9)  # along i (columns), along j (rows)
    dz = 3.0
    d = os.path.join(out, "oblique")
    os.makedirs(d, exist_ok=True)
    uid = "1.2.826.0.1.3680043.8.498.2"
    for k in [3, 0, 4, 1, 2]:
        pix = (np.arange(ROWS * COLS).reshape(ROWS, COLS) + 100 * k - 50).astype(np.int16)
        write_slice(os.path.join(d, f"IM{(k * 7) % 5:04d}"), uid, k, R, origin, spacing, dz, pix)
    with open(os.path.join(d, "README.txt"), "w") as f:
        f.write("not a DICOM file\n")
    d2 = os.path.join(out, "two_series")
    os.makedirs(d2, exist_ok=True)
    for n, u in enumerate(["1.2.826.0.1.3680043.8.498.3", "1.2.826.0.1.3680043.8.498.4"]):
        for k in range(2):
            write_slice(os.path.join(d2, f"S{n}K{k}"), u, k, R, origin, spacing, dz, np.zeros((ROWS, COLS)), desc=f"series {n}")
    d3 = os.path.join(out, "compressed")
    os.makedirs(d3, exist_ok=True)
    write_slice(os.path.join(d3, "IM0"), "1.2.826.0.1.3680043.8.498.5", 0, R, origin, spacing, dz, np.zeros((ROWS, COLS)), ts=JPEGBaseline8Bit)

    import SimpleITK as sitk
    r = sitk.ImageSeriesReader()
    files = r.GetGDCMSeriesFileNames(d)
    r.SetFileNames(files)
    img = r.Execute()
    a = sitk.GetArrayFromImage(img).astype(np.float64)
    print("size", img.GetSize())
    print("origin", img.GetOrigin())
    print("spacing", img.GetSpacing())
    print("direction", img.GetDirection())
    print("sum", a.sum(), "value at (i,j,k)=(5,3,2):", img.GetPixel(5, 3, 2))


if __name__ == "__main__":
    main(sys.argv[1])
