//! The statistics the evaluation reports: mean and standard deviation, paired t-test, Wilcoxon
//! signed-rank test (exact when there are no ties and n <= 30, normal approximation otherwise),
//! and Wilson score intervals for proportions.

/// Mean and sample standard deviation (n - 1); sd is NaN below two values.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, f64::NAN);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

/// ln Gamma (Lanczos, g = 7, 9 terms): ~15 significant digits for x > 0.
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the regularised incomplete beta (Numerical Recipes' betacf).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let tiny = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    // One modified-Lentz update with coefficient `aa`; returns the factor it applies to h.
    let lentz = |aa: f64, c: &mut f64, d: &mut f64| {
        *d = 1.0 + aa * *d;
        if d.abs() < tiny {
            *d = tiny;
        }
        *c = 1.0 + aa / *c;
        if c.abs() < tiny {
            *c = tiny;
        }
        *d = 1.0 / *d;
        *d * *c
    };
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even and odd terms of the fraction.
        h *= lentz(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let del = lentz(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            &mut c,
            &mut d,
        );
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta I_x(a, b).
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let bt = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        bt * beta_cf(a, b, x) / a
    } else {
        1.0 - bt * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Two-sided p of Student's t with `df` degrees of freedom.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { f64::NAN } else { 0.0 };
    }
    inc_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// Standard normal CDF (via erfc, Abramowitz-Stegun 7.1.26 is too coarse; use the incomplete
/// gamma relation erf(x) = P(1/2, x^2) through the t distribution's limit is overkill, so a
/// high-precision rational approximation, |error| < 1.2e-7).
pub fn normal_cdf(z: f64) -> f64 {
    // W. J. Cody-style erfc via Numerical Recipes' erfcc (fractional error < 1.2e-7).
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = t
        * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    let erfc = if x >= 0.0 { y } else { 2.0 - y };
    1.0 - 0.5 * erfc
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PairedTest {
    pub n: usize,
    pub mean_difference: f64,
    pub t: f64,
    pub t_p: f64,
    pub wilcoxon_w: f64,
    pub wilcoxon_p: f64,
    pub wilcoxon_exact: bool,
}

/// Paired t-test and Wilcoxon signed-rank test of a - b (two-sided).
pub fn paired(a: &[f64], b: &[f64]) -> PairedTest {
    assert_eq!(a.len(), b.len(), "paired samples differ in length");
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let (m, sd) = mean_sd(&d);
    let t = if sd > 0.0 {
        m / (sd / (n as f64).sqrt())
    } else if m == 0.0 {
        0.0
    } else {
        f64::INFINITY * m.signum()
    };
    let t_p = if n >= 2 {
        t_two_sided_p(t, n as f64 - 1.0)
    } else {
        f64::NAN
    };
    let (w, p, exact) = wilcoxon(&d);
    PairedTest {
        n,
        mean_difference: m,
        t,
        t_p: if sd == 0.0 && m == 0.0 { 1.0 } else { t_p },
        wilcoxon_w: w,
        wilcoxon_p: p,
        wilcoxon_exact: exact,
    }
}

/// Wilcoxon signed-rank on differences (zeros dropped, as in Wilcoxon's original test and
/// scipy's default). Returns (W+ , two-sided p, exact?).
pub fn wilcoxon(d: &[f64]) -> (f64, f64, bool) {
    let mut nz: Vec<f64> = d
        .iter()
        .copied()
        .filter(|v| *v != 0.0 && v.is_finite())
        .collect();
    let n = nz.len();
    if n == 0 {
        return (0.0, 1.0, true);
    }
    nz.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Mid-ranks for ties in |d|.
    let mut ranks = vec![0.0; n];
    let mut ties = false;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && nz[j + 1].abs() == nz[i].abs() {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[k] = r;
        }
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            ties = true;
            tie_term += t * t * t - t;
        }
        i = j + 1;
    }
    let w_plus: f64 = nz
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    if !ties && n <= 30 {
        // Exact null distribution of W+ by dynamic programming over ranks 1..n.
        let max = n * (n + 1) / 2;
        let mut counts = vec![0f64; max + 1];
        counts[0] = 1.0;
        for r in 1..=n {
            for s in (r..=max).rev() {
                counts[s] += counts[s - r];
            }
        }
        let all = 2f64.powi(n as i32);
        let w = w_plus.min(total - w_plus) as usize;
        let tail: f64 = counts[..=w].iter().sum::<f64>() / all;
        return (w_plus, (2.0 * tail).min(1.0), true);
    }
    let mean = total / 2.0;
    let var = (n * (n + 1) * (2 * n + 1)) as f64 / 24.0 - tie_term / 48.0;
    let z = ((w_plus - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (w_plus, (2.0 * (1.0 - normal_cdf(z))).min(1.0), false)
}

/// Wilson score interval for `k` successes in `n` trials at 95 % (z = 1.959964).
pub fn wilson(k: usize, n: usize) -> (f64, f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let z = 1.959_963_984_540_054;
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / nf;
    let centre = (p + z * z / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / denom;
    (p, (centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_test_matches_a_textbook_example() {
        // Student's (1908) sleep data: extra hours of sleep for 10 patients under two drugs.
        // R: t.test(x2, x1, paired = TRUE) gives t = 4.0621, df = 9, p-value = 0.002833.
        let x1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
        let x2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
        let r = paired(&x2, &x1);
        assert!((r.t - 4.0621).abs() < 1e-4, "t {}", r.t);
        assert!((r.t_p - 0.002833).abs() < 1e-6, "p {}", r.t_p);
        assert!((r.mean_difference - 1.58).abs() < 1e-12);
    }

    #[test]
    fn t_distribution_known_quantiles() {
        // Two-sided p at the 97.5 % quantiles: t(1) 12.706, t(10) 2.228, t(30) 2.042 -> 0.05.
        for (t, df) in [
            (12.706_204_736, 1.0),
            (2.228_138_852, 10.0),
            (2.042_272_456, 30.0),
        ] {
            assert!((t_two_sided_p(t, df) - 0.05).abs() < 1e-7, "df {df}");
        }
        assert!((normal_cdf(1.959_963_985) - 0.975).abs() < 2e-7);
    }

    #[test]
    fn wilcoxon_exact_and_approximate() {
        // The sleep data have ties and a zero: scipy.stats.wilcoxon(x2 - x1) drops the zero,
        // W+ = 45 of n = 9 (all positive); normal approximation with tie correction and
        // continuity: p = 0.009091 (R: wilcox.test(..., paired = TRUE, exact = FALSE)).
        let x1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
        let x2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
        let d: Vec<f64> = x2.iter().zip(&x1).map(|(a, b)| a - b).collect();
        let (w, p, exact) = wilcoxon(&d);
        assert_eq!(w, 45.0);
        assert!(!exact);
        assert!((p - 0.009091).abs() < 5e-5, "p {p}");
        // No ties: exact. d = 1..6 all positive: P(W+ = 21) = 1/64, two-sided 2/64.
        let (_, p, exact) = wilcoxon(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(exact && (p - 2.0 / 64.0).abs() < 1e-12);
    }

    #[test]
    fn wilson_interval_known_value() {
        // 81 successes of 263 (Wilson 1927 / Newcombe 1998 example 1 style): 0.3080 (0.2553, 0.3662).
        let (p, lo, hi) = wilson(81, 263);
        assert!((p - 0.307_985).abs() < 1e-6);
        assert!(
            (lo - 0.2553).abs() < 1e-4 && (hi - 0.3662).abs() < 1e-4,
            "{lo} {hi}"
        );
        // Newcombe (1998), example with 0/10: (0, 0.2775).
        let (_, lo, hi) = wilson(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-4, "{hi}");
    }

    #[test]
    fn mean_sd_basics() {
        let (m, s) = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!((s - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    }
}
