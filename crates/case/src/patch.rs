//! A case resampled onto a working grid, with each channel normalised.
//!
//! Normalisation (per channel, per working grid), over the voxels that lie inside the channel's
//! field of view and are non-zero (zero is the fill value of registration and padding): values
//! are clipped to the [p_low, p_high] percentiles of those voxels, then either mapped linearly
//! onto [0, 1] (`range`, default) or centred on their mean and divided by their standard
//! deviation (`z_score`). Voxels outside the field of view are 0. τσ = 0.3 of the growth rule is
//! measured in these units: on [0, 1] a local std of 0.3 is a coarse homogeneity test (about
//! 1.3 standard deviations of a typical T2W window), on z-scores it is a strict one, and the
//! README shows what each does to region growing.

use promptseg_volume::{resample_linear, resample_nearest, Geometry};
use serde::{Deserialize, Serialize};

use crate::error::CaseError;
use crate::load::Case;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Normalisation {
    pub method: NormMethod,
    pub low_percentile: f32,
    pub high_percentile: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormMethod {
    /// [p_low, p_high] onto [0, 1].
    Range,
    /// (clip(x) - mean) / sd.
    ZScore,
}

impl Default for Normalisation {
    fn default() -> Self {
        Self {
            method: NormMethod::Range,
            low_percentile: 1.0,
            high_percentile: 99.0,
        }
    }
}

/// Which MR channels the networks see; `T2Only` is the paper's "no multi-parametric" ablation
/// (ADC and HBV are then zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channels {
    #[default]
    All,
    T2Only,
}

#[derive(Clone, Debug)]
pub struct Patch {
    pub geometry: Geometry,
    /// T2W, ADC, HBV on the working grid, normalised; each of `geometry.len()` voxels.
    pub channels: [Vec<f32>; 3],
    /// Whether each voxel is inside the ADC and the HBV field of view.
    pub dwi_inside: Vec<bool>,
    pub label: Option<Vec<u8>>,
    pub gland: Option<Vec<u8>>,
}

impl Normalisation {
    pub fn validate(&self) -> Result<(), String> {
        let (lo, hi) = (self.low_percentile, self.high_percentile);
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo < hi && hi <= 100.0) {
            return Err(format!(
                "normalisation percentiles {lo}, {hi}: need 0 <= low < high <= 100"
            ));
        }
        Ok(())
    }
}

fn percentile(sorted: &[f32], p: f32) -> f32 {
    let pos = (p as f64 / 100.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let f = (pos - lo as f64) as f32;
    sorted[lo] * (1.0 - f) + sorted[hi] * f
}

/// Normalises in place; returns false when the channel has no usable voxels or no contrast.
pub fn normalise(values: &mut [f32], inside: &[bool], norm: &Normalisation) -> bool {
    let mut fg: Vec<f32> = values
        .iter()
        .zip(inside)
        .filter(|(v, i)| **i && **v != 0.0)
        .map(|(v, _)| *v)
        .collect();
    if fg.len() < 16 {
        return false;
    }
    fg.sort_unstable_by(f32::total_cmp);
    let lo = percentile(&fg, norm.low_percentile);
    let hi = percentile(&fg, norm.high_percentile);
    if hi - lo <= f32::EPSILON * hi.abs().max(1.0) {
        return false;
    }
    let (offset, scale) = match norm.method {
        NormMethod::Range => (lo as f64, (hi - lo) as f64),
        NormMethod::ZScore => {
            let (mut s, mut s2) = (0.0f64, 0.0f64);
            for &v in &fg {
                let c = v.clamp(lo, hi) as f64;
                s += c;
                s2 += c * c;
            }
            let n = fg.len() as f64;
            let mean = s / n;
            (mean, (s2 / n - mean * mean).max(0.0).sqrt())
        }
    };
    if scale <= 0.0 {
        return false;
    }
    for (v, &i) in values.iter_mut().zip(inside) {
        *v = if i {
            ((v.clamp(lo, hi) as f64 - offset) / scale) as f32
        } else {
            0.0
        };
    }
    true
}

impl Patch {
    pub fn extract(
        case: &Case,
        geometry: &Geometry,
        norm: &Normalisation,
        channels: Channels,
    ) -> Result<Patch, CaseError> {
        let mut out: Vec<Vec<f32>> = Vec::with_capacity(3);
        let mut dwi_inside = vec![true; geometry.len()];
        for (index, (name, volume, path)) in case.channels().into_iter().enumerate() {
            let r = resample_linear(volume, geometry, 0.0);
            if index > 0 {
                for (d, &i) in dwi_inside.iter_mut().zip(&r.inside) {
                    *d &= i;
                }
            }
            let mut values = r.volume.data;
            if index > 0 && channels == Channels::T2Only {
                out.push(vec![0.0; values.len()]);
                continue;
            }
            if !normalise(&mut values, &r.inside, norm) {
                return Err(CaseError::Content {
                    path: path.to_path_buf(),
                    problem: format!("{name} has no contrast inside the working window (constant, empty or outside the field of view)"),
                });
            }
            out.push(values);
        }
        let on_grid =
            |m: &promptseg_volume::Volume<u8>| resample_nearest(m, geometry, 0).volume.data;
        let mut it = out.into_iter();
        Ok(Patch {
            geometry: geometry.clone(),
            channels: [
                it.next().expect("3 channels"),
                it.next().expect("3 channels"),
                it.next().expect("3 channels"),
            ],
            dwi_inside,
            label: case.label.as_ref().map(on_grid),
            gland: case.gland.as_ref().map(on_grid),
        })
    }

    /// Channel slices in network order.
    pub fn channel_refs(&self) -> [&[f32]; 3] {
        [&self.channels[0], &self.channels[1], &self.channels[2]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_range() {
        // 101 voxels 0.5, 1.5, ..., 100.5 inside: p1 = 1.5, p99 = 99.5 (linear interpolation).
        let mut v: Vec<f32> = (0..=100).map(|x| x as f32 + 0.5).collect();
        v.push(7.0);
        let mut inside = vec![true; 101];
        inside.push(false);
        assert!(normalise(&mut v, &inside, &Normalisation::default()));
        assert_eq!(v[0], 0.0);
        assert_eq!(v[100], 1.0);
        assert!((v[50] - (50.5 - 1.5) / 98.0).abs() < 1e-6);
        assert_eq!(v[101], 0.0, "outside the field of view");
    }

    #[test]
    fn robust_z_score() {
        // 100 voxels 1..=100 inside the FOV plus one outlier and zeros outside.
        let mut v: Vec<f32> = (1..=100).map(|x| x as f32).collect();
        v.push(1e6);
        v.push(0.0);
        let mut inside = vec![true; 101];
        inside.push(false);
        let z = Normalisation {
            method: NormMethod::ZScore,
            ..Normalisation::default()
        };
        assert!(normalise(&mut v, &inside, &z));
        assert_eq!(v[101], 0.0);
        // The outlier is clipped to p99 and so cannot dominate the scale.
        assert!(v[100] < 2.5, "outlier {}", v[100]);
        assert!((v[49] + v[50]).abs() < 0.1);
        let mut flat = vec![3.0f32; 50];
        assert!(!normalise(
            &mut flat,
            &[true; 50],
            &Normalisation::default()
        ));
    }
}
