//! The evaluation protocol (paper sec. 3.3-3.4 and supplement tables 1-3), one case at a time.
//!
//! - Positive cases: K trials; in trial t every lesion gets its t-th prompt sampled uniformly
//!   inside it (one prompt per lesion, the paper's multi-lesion rule). Off-target trials do the
//!   same with prompts 0-`off_target_mm` mm outside the lesion (mm on the native T2W grid).
//! - Negative cases (empty label): K trials with one prompt inside the gland (or the central
//!   region without a gland mask); the case call is the supplement's mask-size rule.
//! - Entrants that take no prompt (the "no prompting" ablation, external predictions) are run
//!   once per case and that result stands for every trial.
//!
//! Working windows are shared by the entrants of one model within one trial (same prompts,
//! same surrogate maps) and dropped between trials, so a trial's result never depends on the
//! one before it. "No prompting" keeps its own windows: a window centred on a lesion prompt
//! would tell it where the lesion is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use promptseg_case::{Case, Prompt};
use promptseg_infer::{segment, Method, Models, Options, Segmentation, Window};
use promptseg_metrics::{component_voxels, Confusion};
use promptseg_volume::{ReadOptions, Volume};
use serde::Serialize;

use crate::prompts::{gland_centre, gland_prompts, lesion_prompts, off_target_prompts};

/// Which table an entrant belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Table 1: the full method and its baselines.
    Comparison,
    /// Table 2: ablated variants of the full method.
    Ablation,
}

pub enum Source<'a> {
    Model {
        models: &'a Models,
        method: Method,
    },
    /// A folder of predicted masks `<case id>.nii.gz` (or .nii / .mha), e.g. nnU-Net outputs.
    External(PathBuf),
}

pub struct Entrant<'a> {
    pub name: String,
    pub group: Group,
    pub source: Source<'a>,
    /// β of the run, for the β curve (full method and same-input agent ablations).
    pub beta: Option<f32>,
}

impl Entrant<'_> {
    fn takes_prompts(&self) -> bool {
        matches!(
            self.source,
            Source::Model { method, .. } if method != Method::NoPrompt
        )
    }
}

#[derive(Clone, Debug)]
pub struct Protocol {
    pub prompts: usize,
    pub seed: u64,
    pub off_target: bool,
    pub off_target_mm: f64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Trial {
    pub dice: f64,
    pub false_positive_rate: f64,
    pub sensitivity: f64,
    pub voxels: usize,
    pub called_positive: bool,
}

impl Trial {
    fn score(pred: &[u8], truth: &[u8], called_positive: bool) -> Self {
        let c = Confusion::of(pred, truth);
        Trial {
            dice: c.dice(),
            false_positive_rate: c.false_positive_rate(),
            sensitivity: c.sensitivity(),
            voxels: (c.tp + c.fp) as usize,
            called_positive,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EntrantCase {
    pub within: Vec<Trial>,
    pub off_target: Vec<Trial>,
    /// Why this entrant has no result for the case (e.g. an external prediction missing or
    /// unreadable); the other entrants still score it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub positive: bool,
    pub in_training: bool,
    pub lesions: usize,
    /// The T2W voxel prompts of each trial (one per lesion, or one in the gland), so any
    /// trial can be rerun with `promptseg segment --point ...`.
    pub within_prompts: Vec<Vec<[i64; 3]>>,
    pub off_target_prompts: Vec<Vec<[i64; 3]>>,
    /// One per entrant, in entrant order.
    pub entrants: Vec<EntrantCase>,
}

fn voxels(trials: &[Vec<Prompt>]) -> Vec<Vec<[i64; 3]>> {
    trials
        .iter()
        .map(|t| {
            t.iter()
                .filter_map(|p| match p {
                    Prompt::Voxel(v) => Some(*v),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// A case's scores, and the first entrant's first within-prompt segmentation (with the
/// surrogate's maps) for the detection map and the montage.
pub struct CaseOutput {
    pub result: CaseResult,
    pub primary: Option<Segmentation>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{0}: has no lesion label (a missing label is not taken as negative)")]
    Unlabelled(String),
    #[error(transparent)]
    Infer(#[from] promptseg_infer::InferError),
    #[error(transparent)]
    Case(#[from] promptseg_case::CaseError),
    #[error("{path}: no prediction for case {case} (looked for {case}.nii.gz, .nii, .mha)")]
    MissingPrediction { path: PathBuf, case: String },
}

fn external_mask(dir: &Path, case: &Case) -> Result<Volume<u8>, EvalError> {
    let id = case.id();
    let found = ["nii.gz", "nii", "mha"]
        .iter()
        .map(|ext| dir.join(format!("{id}.{ext}")))
        .find(|p| p.is_file())
        .ok_or_else(|| EvalError::MissingPrediction {
            path: dir.to_path_buf(),
            case: id.to_string(),
        })?;
    Ok(promptseg_case::read_mask_on(
        &found,
        &case.t2w.geometry,
        &ReadOptions::default(),
    )?)
}

/// A lesion label with at least one voxel counts as positive.
fn is_positive(label: &Volume<u8>) -> bool {
    label.data.iter().any(|&v| v != 0)
}

pub fn evaluate_case(
    case: &Case,
    entrants: &[Entrant],
    protocol: &Protocol,
    trained_on: &[String],
) -> Result<CaseOutput, EvalError> {
    let label = case
        .label
        .as_ref()
        .ok_or_else(|| EvalError::Unlabelled(case.id().to_string()))?;
    let positive = is_positive(label);
    let k = protocol.prompts;
    let dims = case.t2w.geometry.dims;
    // Trial t's prompts: one per lesion (positive) or one in the gland (negative).
    let per_lesion = lesion_prompts(label, k, protocol.seed);
    let within: Vec<Vec<Prompt>> = if positive {
        (0..k)
            .map(|t| per_lesion.iter().map(|l| l[t]).collect())
            .collect()
    } else {
        gland_prompts(case.gland.as_ref(), dims, k, protocol.seed)
            .into_iter()
            .map(|p| vec![p])
            .collect()
    };
    let off_target: Vec<Vec<Prompt>> = if positive && protocol.off_target {
        let rings = off_target_prompts(label, k, protocol.off_target_mm, protocol.seed);
        (0..k)
            .map(|t| {
                rings
                    .iter()
                    .filter(|r| !r.is_empty())
                    .map(|r| r[t])
                    .collect()
            })
            .filter(|p: &Vec<Prompt>| !p.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let mut results = vec![EntrantCase::default(); entrants.len()];
    let mut primary = None;
    let run = |models: &Models,
               method: Method,
               prompts: &[Prompt],
               keep_maps: bool,
               windows: &mut Vec<Window>| {
        let opts = Options {
            method,
            keep_maps,
            seed: protocol.seed,
            ..Options::default()
        };
        segment(case, prompts, models, &opts, windows)
    };
    // Entrants that take no prompt: one result for all trials.
    for (e, out) in entrants.iter().zip(results.iter_mut()) {
        if e.takes_prompts() {
            continue;
        }
        let trial = match &e.source {
            Source::External(dir) => match external_mask(dir, case) {
                Ok(mask) => {
                    let called = mask.data.iter().any(|&v| v != 0);
                    Trial::score(&mask.data, &label.data, called)
                }
                Err(e) => {
                    out.missing = Some(e.to_string());
                    continue;
                }
            },
            Source::Model { models, method } => {
                let centre = gland_centre(case.gland.as_ref(), dims);
                let seg = run(models, *method, &[centre], false, &mut Vec::new())?;
                Trial::score(&seg.mask.data, &label.data, !seg.negative())
            }
        };
        out.within = vec![trial; within.len()];
        if !off_target.is_empty() {
            out.off_target = vec![trial; off_target.len()];
        }
    }
    for (protocol_index, trials) in [&within, &off_target].into_iter().enumerate() {
        for (t, prompts) in trials.iter().enumerate() {
            let mut windows: HashMap<usize, Vec<Window>> = HashMap::new();
            for (n, (e, out)) in entrants.iter().zip(results.iter_mut()).enumerate() {
                let Source::Model { models, method } = &e.source else {
                    continue;
                };
                if !e.takes_prompts() {
                    continue;
                }
                let keep = n == 0 && t == 0 && protocol_index == 0;
                let cache = windows
                    .entry(std::ptr::from_ref::<Models>(models) as usize)
                    .or_default();
                let seg = run(models, *method, prompts, keep, cache)?;
                let trial = Trial::score(&seg.mask.data, &label.data, !seg.negative());
                if protocol_index == 0 {
                    out.within.push(trial);
                } else {
                    out.off_target.push(trial);
                }
                if keep {
                    primary = Some(seg);
                }
            }
        }
    }
    Ok(CaseOutput {
        result: CaseResult {
            id: case.id().to_string(),
            positive,
            in_training: trained_on.iter().any(|t| t == case.id()),
            lesions: if positive { per_lesion.len() } else { 0 },
            within_prompts: voxels(&within),
            off_target_prompts: voxels(&off_target),
            entrants: results,
        },
        primary,
    })
}

/// picai_eval's detection map: each connected lesion of `mask` carries one constant
/// confidence, here the surrogate's mean probability over it (1 where no map is given).
pub fn detection_map(mask: &Volume<u8>, probability: Option<&Volume<f32>>) -> Volume<f32> {
    let mut out = vec![0f32; mask.data.len()];
    for lesion in component_voxels(&mask.data, mask.geometry.dims) {
        let confidence = probability
            .map(|p| lesion.iter().map(|&o| p.data[o] as f64).sum::<f64>() / lesion.len() as f64)
            .unwrap_or(1.0)
            .clamp(1e-3, 1.0) as f32;
        for o in lesion {
            out[o] = confidence;
        }
    }
    mask.with_data(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptseg_volume::Geometry;

    #[test]
    fn detection_map_gives_each_lesion_its_mean_probability() {
        let g = Geometry::axis_aligned([6, 1, 1], [1.0; 3], [0.0; 3]);
        let mask = Volume::new(g.clone(), vec![1, 1, 0, 0, 1, 0]);
        let p = Volume::new(g, vec![0.9f32, 0.5, 0.2, 0.0, 0.4, 0.1]);
        let d = detection_map(&mask, Some(&p));
        assert_eq!(d.data, vec![0.7, 0.7, 0.0, 0.0, 0.4, 0.0]);
        assert_eq!(
            detection_map(&mask, None).data,
            vec![1.0, 1.0, 0.0, 0.0, 1.0, 0.0]
        );
    }
}
