#!/usr/bin/env python3
"""Scores promptseg's detection maps with the PI-CAI tools themselves (not run in CI).

    pip install picai_eval SimpleITK
    promptseg evaluate --data datasets/shared-data.toml --out /tmp/report
    scripts/check_detection_maps.py /tmp/report datasets/shared-data.toml

Checks that picai_eval reads every `<case>_detection_map.nii.gz` (same shape as the label, one
constant confidence per lesion candidate, as picai_eval's extraction expects) and prints its
AUROC / AP / ranking score and per-case lesion matches.
"""
import sys
import tomllib
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from picai_eval import evaluate


def labels(manifest: Path):
    m = tomllib.loads(manifest.read_text())
    root = (manifest.parent / m.get("root", ".")).resolve()
    for c in m["case"]:
        d = root / c["dir"]
        case_id = c.get("id", d.name)
        yield case_id, d / c["label"]


def main():
    report, manifest = Path(sys.argv[1]), Path(sys.argv[2])
    y_det, y_true, ids = [], [], []
    for case_id, label in labels(manifest):
        det = report / "detection_maps" / f"{case_id}_detection_map.nii.gz"
        if not det.exists():
            continue
        d = sitk.GetArrayFromImage(sitk.ReadImage(str(det))).astype(np.float32)
        t = (sitk.GetArrayFromImage(sitk.ReadImage(str(label))) > 0.5).astype(np.int32)
        assert d.shape == t.shape, f"{case_id}: detection map {d.shape} vs label {t.shape}"
        # picai_eval's own rule: each candidate must hold one constant value.
        for v in np.unique(d[d > 0]):
            assert 0 < v <= 1, f"{case_id}: confidence {v} outside (0, 1]"
        y_det.append(d)
        y_true.append(t)
        ids.append(case_id)
    metrics = evaluate(y_det=y_det, y_true=y_true, subject_list=ids, num_parallel_calls=1)
    print(f"{len(ids)} cases read by picai_eval: {', '.join(ids)}")
    print(f"AUROC {metrics.auroc:.3f}  AP {metrics.AP:.3f}  score {metrics.score:.3f}")
    for case_id in ids:
        print(case_id, metrics.lesion_results[case_id])


if __name__ == "__main__":
    main()
