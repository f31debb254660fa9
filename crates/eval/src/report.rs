//! Tables of an evaluation (report.md, metrics.json, cases.csv), laid out like the paper's:
//! table 1 (methods, prompts inside the lesion), supplement table 1 (off-target prompts),
//! table 2 (ablations and the β sweep), supplement table 3 (voxel FPR / sensitivity) and the
//! patient-level calls. Every table states its number of cases.
//!
//! Conventions: a case's Dice is the mean over its prompt trials; "prompt sd" is the standard
//! deviation over those trials, averaged over cases (the paper's 0.028). Dice tables use the
//! positive cases; negative cases enter the patient-level table, where a case is called
//! positive when at least half of its trials end with a mask above the size threshold.
//! Confidence intervals are Wilson score intervals (95%).

use serde::Serialize;

use crate::evaluate::{CaseResult, Group, Trial};
use crate::stats::{mean_sd, paired, wilson, PairedTest};

#[derive(Clone, Debug, Serialize)]
pub struct EntrantInfo {
    pub name: String,
    pub group: Group,
    pub beta: Option<f32>,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct MeanSd {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
}

impl MeanSd {
    fn of(v: &[f64]) -> Self {
        let (mean, sd) = mean_sd(v);
        MeanSd {
            n: v.len(),
            mean,
            sd,
        }
    }

    fn cell(&self) -> String {
        if self.n == 0 || self.mean.is_nan() {
            "-".into()
        } else if self.sd.is_nan() {
            format!("{:.3}", self.mean)
        } else {
            format!("{:.3} ± {:.3}", self.mean, self.sd)
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Proportion {
    pub k: usize,
    pub n: usize,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Proportion {
    fn of(k: usize, n: usize) -> Self {
        let (value, lo, hi) = wilson(k, n);
        Proportion {
            k,
            n,
            value,
            lo,
            hi,
        }
    }

    fn cell(&self) -> String {
        if self.n == 0 {
            "-".into()
        } else {
            format!(
                "{:.2} ({:.2}-{:.2}) [{}/{}]",
                self.value, self.lo, self.hi, self.k, self.n
            )
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct EntrantSummary {
    pub name: String,
    pub group: Group,
    pub beta: Option<f32>,
    /// Per positive case: mean Dice over prompts inside the lesion.
    pub dice: MeanSd,
    pub prompt_sd: f64,
    pub off_target_dice: MeanSd,
    pub off_target_prompt_sd: f64,
    pub false_positive_rate: MeanSd,
    pub sensitivity: MeanSd,
    pub patient_sensitivity: Proportion,
    pub patient_specificity: Proportion,
    pub patient_accuracy: Proportion,
    /// Against the first entrant (the full method), on the same positive cases.
    pub vs_full: Option<PairedTest>,
    pub off_target_vs_full: Option<PairedTest>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub cases: usize,
    pub positive_cases: usize,
    pub negative_cases: usize,
    pub cases_in_training: usize,
    pub failed: Vec<(String, String)>,
    pub prompts: usize,
    pub seed: u64,
    pub off_target_mm: f64,
    pub entrants: Vec<EntrantSummary>,
}

fn case_means(trials: &[Trial], f: impl Fn(&Trial) -> f64) -> Option<(f64, f64)> {
    if trials.is_empty() {
        return None;
    }
    let v: Vec<f64> = trials.iter().map(f).collect();
    let (m, sd) = mean_sd(&v);
    Some((m, if sd.is_nan() { 0.0 } else { sd }))
}

fn called_positive(trials: &[Trial]) -> Option<bool> {
    if trials.is_empty() {
        return None;
    }
    let k = trials.iter().filter(|t| t.called_positive).count();
    Some(2 * k >= trials.len())
}

/// (case index, mean, sd over trials) of the positive cases that have trials.
fn per_case(
    cases: &[CaseResult],
    pick: impl Fn(&CaseResult) -> Option<(f64, f64)>,
) -> Vec<(usize, f64, f64)> {
    cases
        .iter()
        .enumerate()
        .filter(|(_, c)| c.positive)
        .filter_map(|(i, c)| pick(c).map(|(m, sd)| (i, m, sd)))
        .collect()
}

fn paired_on(a: &[(usize, f64, f64)], b: &[(usize, f64, f64)]) -> Option<PairedTest> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (i, va, _) in a {
        if let Some((_, vb, _)) = b.iter().find(|(j, _, _)| j == i) {
            x.push(*va);
            y.push(*vb);
        }
    }
    (x.len() >= 2).then(|| paired(&x, &y))
}

pub fn summarise(
    entrants: &[EntrantInfo],
    cases: &[CaseResult],
    failed: Vec<(String, String)>,
    prompts: usize,
    seed: u64,
    off_target_mm: f64,
) -> Summary {
    let within = |e: usize| per_case(cases, |c| case_means(&c.entrants[e].within, |t| t.dice));
    let off = |e: usize| per_case(cases, |c| case_means(&c.entrants[e].off_target, |t| t.dice));
    let full_within = within(0);
    let full_off = off(0);
    let summaries = entrants
        .iter()
        .enumerate()
        .map(|(e, info)| {
            let w = within(e);
            let o = off(e);
            let values = |v: &[(usize, f64, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
            let sds = |v: &[(usize, f64, f64)]| {
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.iter().map(|x| x.2).sum::<f64>() / v.len() as f64
                }
            };
            let fpr: Vec<f64> = per_case(cases, |c| {
                case_means(&c.entrants[e].within, |t| t.false_positive_rate)
            })
            .iter()
            .map(|x| x.1)
            .collect();
            let sens: Vec<f64> = per_case(cases, |c| {
                case_means(&c.entrants[e].within, |t| t.sensitivity)
            })
            .iter()
            .map(|x| x.1)
            .collect();
            let (mut tp, mut pos, mut tn, mut neg) = (0, 0, 0, 0);
            for c in cases {
                if let Some(call) = called_positive(&c.entrants[e].within) {
                    if c.positive {
                        pos += 1;
                        tp += call as usize;
                    } else {
                        neg += 1;
                        tn += (!call) as usize;
                    }
                }
            }
            EntrantSummary {
                name: info.name.clone(),
                group: info.group,
                beta: info.beta,
                dice: MeanSd::of(&values(&w)),
                prompt_sd: sds(&w),
                off_target_dice: MeanSd::of(&values(&o)),
                off_target_prompt_sd: sds(&o),
                false_positive_rate: MeanSd::of(&fpr),
                sensitivity: MeanSd::of(&sens),
                patient_sensitivity: Proportion::of(tp, pos),
                patient_specificity: Proportion::of(tn, neg),
                patient_accuracy: Proportion::of(tp + tn, pos + neg),
                vs_full: if e == 0 {
                    None
                } else {
                    paired_on(&full_within, &w)
                },
                off_target_vs_full: if e == 0 {
                    None
                } else {
                    paired_on(&full_off, &o)
                },
            }
        })
        .collect();
    Summary {
        cases: cases.len(),
        positive_cases: cases.iter().filter(|c| c.positive).count(),
        negative_cases: cases.iter().filter(|c| !c.positive).count(),
        cases_in_training: cases.iter().filter(|c| c.in_training).count(),
        failed,
        prompts,
        seed,
        off_target_mm,
        entrants: summaries,
    }
}

/// The sd over prompt trials: undefined with one trial per case or no case.
fn sd_cell(sd: f64, prompts: usize) -> String {
    if prompts < 2 || !sd.is_finite() {
        "n/a".into()
    } else {
        format!("{sd:.3}")
    }
}

fn p_cell(t: &Option<PairedTest>) -> String {
    match t {
        None => "-".into(),
        Some(t) => format!("{:.3} / {:.3}", t.t_p, t.wilcoxon_p),
    }
}

/// β curve points (β, mean Dice) of the entrants that carry a β, sorted by β.
pub fn beta_points(s: &Summary) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = s
        .entrants
        .iter()
        .filter_map(|e| e.beta.map(|b| (b as f64, e.dice.mean)))
        .filter(|p| p.1.is_finite())
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts.dedup_by(|a, b| a.0 == b.0);
    pts
}

pub fn markdown(s: &Summary, title: &str) -> String {
    let mut m = String::new();
    let push = |m: &mut String, line: String| {
        m.push_str(&line);
        m.push('\n');
    };
    push(&mut m, format!("# {title}\n"));
    push(
        &mut m,
        format!(
            "{} cases ({} with lesions, {} negative; {} of them in the model's training set), {} prompt trials per case, seed {}.{}\n",
            s.cases,
            s.positive_cases,
            s.negative_cases,
            s.cases_in_training,
            s.prompts,
            s.seed,
            if s.failed.is_empty() {
                String::new()
            } else {
                format!(" {} case(s) failed and are not counted (see below).", s.failed.len())
            }
        ),
    );
    let table = |m: &mut String, heading: &str, cols: &[&str], rows: Vec<Vec<String>>| {
        m.push_str(&format!(
            "## {heading}\n\n| {} |\n|{}\n",
            cols.join(" | "),
            "---|".repeat(cols.len())
        ));
        for r in rows {
            m.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        m.push('\n');
    };
    let groups = |g: Group| {
        s.entrants
            .iter()
            .enumerate()
            .filter(move |(i, e)| e.group == g || *i == 0)
    };
    table(
        &mut m,
        &format!(
            "Table 1: Dice, prompts inside the lesion ({} positive cases)",
            s.positive_cases
        ),
        &[
            "method",
            "cases",
            "Dice (mean ± sd)",
            "sd w.r.t. prompt",
            "p vs full (t / Wilcoxon)",
        ],
        groups(Group::Comparison)
            .map(|(_, e)| {
                vec![
                    e.name.clone(),
                    e.dice.n.to_string(),
                    e.dice.cell(),
                    sd_cell(e.prompt_sd, s.prompts),
                    p_cell(&e.vs_full),
                ]
            })
            .collect(),
    );
    if s.entrants.iter().any(|e| e.off_target_dice.n > 0) {
        table(
            &mut m,
            &format!(
                "Supplement table 1: Dice, prompts 0-{} mm outside the lesion",
                s.off_target_mm
            ),
            &[
                "method",
                "cases",
                "Dice (mean ± sd)",
                "sd w.r.t. prompt",
                "p vs full (t / Wilcoxon)",
            ],
            s.entrants
                .iter()
                .filter(|e| e.group == Group::Comparison)
                .map(|e| {
                    vec![
                        e.name.clone(),
                        e.off_target_dice.n.to_string(),
                        e.off_target_dice.cell(),
                        sd_cell(e.off_target_prompt_sd, s.prompts),
                        p_cell(&e.off_target_vs_full),
                    ]
                })
                .collect(),
        );
    }
    if s.entrants.iter().any(|e| e.group == Group::Ablation) {
        table(
            &mut m,
            "Table 2: ablations (prompts inside the lesion)",
            &[
                "variant",
                "β",
                "cases",
                "Dice (mean ± sd)",
                "p vs full (t / Wilcoxon)",
            ],
            groups(Group::Ablation)
                .map(|(_, e)| {
                    vec![
                        e.name.clone(),
                        e.beta.map(|b| format!("{b}")).unwrap_or("-".into()),
                        e.dice.n.to_string(),
                        e.dice.cell(),
                        p_cell(&e.vs_full),
                    ]
                })
                .collect(),
        );
    }
    table(
        &mut m,
        &format!(
            "Supplement table 3: over-segmentation, voxel-wise ({} positive cases)",
            s.positive_cases
        ),
        &[
            "method",
            "cases",
            "FPR (mean ± sd)",
            "sensitivity (mean ± sd)",
        ],
        s.entrants
            .iter()
            .map(|e| {
                vec![
                    e.name.clone(),
                    e.false_positive_rate.n.to_string(),
                    match e.false_positive_rate {
                        f if f.n == 0 || f.mean.is_nan() => "-".into(),
                        f if f.sd.is_nan() => format!("{:.2e}", f.mean),
                        f => format!("{:.2e} ± {:.2e}", f.mean, f.sd),
                    },
                    e.sensitivity.cell(),
                ]
            })
            .collect(),
    );
    table(
        &mut m,
        &format!(
            "Patient-level calls ({} positive, {} negative cases; 95% Wilson intervals)",
            s.positive_cases, s.negative_cases
        ),
        &["method", "sensitivity", "specificity", "accuracy"],
        s.entrants
            .iter()
            .map(|e| {
                vec![
                    e.name.clone(),
                    e.patient_sensitivity.cell(),
                    e.patient_specificity.cell(),
                    e.patient_accuracy.cell(),
                ]
            })
            .collect(),
    );
    if !s.failed.is_empty() {
        push(&mut m, "## Failed cases\n".into());
        for (id, why) in &s.failed {
            push(&mut m, format!("- {id}: {why}"));
        }
        m.push('\n');
    }
    m
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per case, entrant and prompt protocol.
pub fn cases_csv(entrants: &[EntrantInfo], cases: &[CaseResult]) -> String {
    let mut out = String::from(
        "case,in_training,positive,lesions,method,prompts,trials,dice_mean,dice_sd,fpr_mean,sensitivity_mean,called_positive_fraction\n",
        // prompts: "inside" the lesion, "off_target" outside it, "gland" (negative cases, where
        // sensitivity is undefined and left empty).
    );
    for c in cases {
        for (e, info) in entrants.iter().enumerate() {
            let inside = if c.positive { "inside" } else { "gland" };
            for (protocol, trials) in [
                (inside, &c.entrants[e].within),
                ("off_target", &c.entrants[e].off_target),
            ] {
                if trials.is_empty() {
                    continue;
                }
                let f =
                    |g: fn(&Trial) -> f64| case_means(trials, g).unwrap_or((f64::NAN, f64::NAN));
                let (dm, dsd) = f(|t| t.dice);
                let called = trials.iter().filter(|t| t.called_positive).count() as f64
                    / trials.len() as f64;
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{:.4},{:.4},{:.6},{},{:.3}\n",
                    csv_field(&c.id),
                    c.in_training,
                    c.positive,
                    c.lesions,
                    csv_field(&info.name),
                    protocol,
                    trials.len(),
                    dm,
                    dsd,
                    f(|t| t.false_positive_rate).0,
                    if c.positive {
                        format!("{:.4}", f(|t| t.sensitivity).0)
                    } else {
                        String::new()
                    },
                    called
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::EntrantCase;

    fn trial(dice: f64, positive: bool) -> Trial {
        Trial {
            dice,
            false_positive_rate: 0.01,
            sensitivity: dice,
            voxels: 10,
            called_positive: positive,
        }
    }

    fn case(id: &str, positive: bool, a: &[(f64, bool)], b: &[(f64, bool)]) -> CaseResult {
        let e = |v: &[(f64, bool)]| EntrantCase {
            within: v.iter().map(|&(d, p)| trial(d, p)).collect(),
            off_target: Vec::new(),
            missing: None,
        };
        CaseResult {
            id: id.into(),
            positive,
            in_training: false,
            lesions: positive as usize,
            within_prompts: Vec::new(),
            off_target_prompts: Vec::new(),
            entrants: vec![e(a), e(b)],
        }
    }

    #[test]
    fn hand_computed_summary() {
        let infos = [
            EntrantInfo {
                name: "full".into(),
                group: Group::Comparison,
                beta: Some(0.8),
            },
            EntrantInfo {
                name: "base".into(),
                group: Group::Comparison,
                beta: None,
            },
        ];
        let cases = [
            // Full: case Dice 0.8 (trials 0.7, 0.9: sd 0.1414), 0.6 (sd 0), 0.5; base 0.4, 0.5, 0.3.
            case(
                "a",
                true,
                &[(0.7, true), (0.9, true)],
                &[(0.4, true), (0.4, true)],
            ),
            case(
                "b",
                true,
                &[(0.6, true), (0.6, true)],
                &[(0.5, true), (0.5, false)],
            ),
            case(
                "c",
                true,
                &[(0.5, false), (0.5, false)],
                &[(0.3, false), (0.3, true)],
            ),
            // A negative case: full calls it negative in both trials, base in one of two.
            case(
                "n",
                false,
                &[(1.0, false), (1.0, false)],
                &[(0.0, true), (1.0, false)],
            ),
        ];
        let s = summarise(&infos, &cases, Vec::new(), 2, 0, 10.0);
        let full = &s.entrants[0];
        assert_eq!(full.dice.n, 3);
        assert!((full.dice.mean - (0.8 + 0.6 + 0.5) / 3.0).abs() < 1e-12);
        // Prompt sd: mean of (0.1414, 0, 0).
        assert!((full.prompt_sd - 0.02f64.sqrt() / 3.0).abs() < 1e-12);
        // Patient calls: full finds a and b (2/3) and rejects n (1/1); base: a, b, c are called
        // positive by at least half their trials (3/3), n too (0/1 specificity).
        assert_eq!(
            (full.patient_sensitivity.k, full.patient_sensitivity.n),
            (2, 3)
        );
        assert_eq!(
            (full.patient_specificity.k, full.patient_specificity.n),
            (1, 1)
        );
        assert_eq!((full.patient_accuracy.k, full.patient_accuracy.n), (3, 4));
        let base = &s.entrants[1];
        assert_eq!(
            (base.patient_sensitivity.k, base.patient_specificity.k),
            (3, 0)
        );
        // Paired test, full minus other, on the case Dice (0.8, 0.6, 0.5) vs (0.4, 0.5, 0.3): differences 0.4, 0.1,
        // 0.2 -> mean 0.2333, sd 0.1528, t = 2.6458 on 2 df, p = 0.1181 (scipy.stats.ttest_rel).
        let t = base.vs_full.unwrap();
        assert_eq!(t.n, 3);
        assert!((t.t - 2.6458).abs() < 1e-3, "{}", t.t);
        assert!((t.t_p - 0.1181).abs() < 1e-3, "{}", t.t_p);
        assert_eq!(beta_points(&s), vec![(0.800000011920929, full.dice.mean)]);
        let md = markdown(&s, "t");
        assert!(
            md.contains("| full | 3 | 0.633 ± 0.153 | 0.047 | - |"),
            "{md}"
        );
        assert!(md.contains("0.67 (0.21-0.94) [2/3]"), "{md}");
    }
}
