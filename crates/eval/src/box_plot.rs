//! Box plots of per-case scores, one box per method (Tukey: box = quartiles, whiskers = the
//! furthest points within 1.5 IQR, points beyond drawn singly; every case is also shown as a dot).

use crate::figure::Canvas;
use crate::font::{draw_text, text_width};
use crate::plot::{fmt_tick, line, nice_ticks, PALETTE};

/// Linear-interpolation quantile (numpy's default) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

pub fn render(title: &str, y_label: &str, groups: &[(String, Vec<f64>)]) -> Canvas {
    // Wide enough for the longest method name and the title.
    let longest = groups
        .iter()
        .map(|g| text_width(&g.0, 1))
        .max()
        .unwrap_or(0);
    let box_w = (longest + 14).max(90);
    let w = (110 + box_w * groups.len().max(1)).max(text_width(title, 2) + 80);
    let h = 360;
    let mut c = Canvas::new(w, h);
    c.rgb.iter_mut().for_each(|v| *v = 255);
    let black = [0, 0, 0];
    draw_text(title, 60, 6, 2, |x, y| c.set(x, y, black));
    let (left, right, top, bottom) = (60usize, w - 20, 30usize, h - 50);
    let all: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.1.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let (mut lo, mut hi) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if all.is_empty() {
        (lo, hi) = (0.0, 1.0);
    }
    // Scores in [0, 1] (Dice, rates) get the whole unit range, so plots compare at a glance.
    if lo >= 0.0 && hi <= 1.0 {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-6 {
        (lo, hi) = (lo - 0.05, hi + 0.05);
    }
    let pad = 0.03 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let sy = |v: f64| bottom as f64 - (v - lo) / (hi - lo) * (bottom - top) as f64;
    for t in nice_ticks(lo, hi) {
        let y = sy(t);
        line(&mut c, (left as f64, y), (right as f64, y), [220, 220, 220]);
        let s = fmt_tick(t);
        draw_text(
            &s,
            left - 6 - text_width(&s, 1),
            y as usize - 3,
            1,
            |x, yy| c.set(x, yy, black),
        );
    }
    draw_text(y_label, 4, top, 1, |x, y| c.set(x, y, black));
    line(
        &mut c,
        (left as f64, bottom as f64),
        (right as f64, bottom as f64),
        black,
    );
    for (n, (name, values)) in groups.iter().enumerate() {
        let col = PALETTE[n % PALETTE.len()];
        let cx = (left + 30 + n * box_w + box_w / 2) as f64;
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let label_x = (cx as usize).saturating_sub(text_width(name, 1) / 2);
        draw_text(name, label_x, bottom + 8, 1, |x, y| c.set(x, y, black));
        let count = format!("n={}", v.len());
        let count_x = (cx as usize).saturating_sub(text_width(&count, 1) / 2);
        draw_text(&count, count_x, bottom + 22, 1, |x, y| c.set(x, y, black));
        if v.is_empty() {
            continue;
        }
        let (q1, med, q3) = (quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75));
        let iqr = q3 - q1;
        let lo_w = v
            .iter()
            .copied()
            .find(|&x| x >= q1 - 1.5 * iqr)
            .unwrap_or(q1);
        let hi_w = v
            .iter()
            .rev()
            .copied()
            .find(|&x| x <= q3 + 1.5 * iqr)
            .unwrap_or(q3);
        let half = 25.0;
        let (x0, x1) = (cx - half, cx + half);
        for (a, b) in [
            ((x0, sy(q1)), (x1, sy(q1))),
            ((x0, sy(q3)), (x1, sy(q3))),
            ((x0, sy(q1)), (x0, sy(q3))),
            ((x1, sy(q1)), (x1, sy(q3))),
            ((cx, sy(q3)), (cx, sy(hi_w))),
            ((cx, sy(q1)), (cx, sy(lo_w))),
            ((cx - 10.0, sy(hi_w)), (cx + 10.0, sy(hi_w))),
            ((cx - 10.0, sy(lo_w)), (cx + 10.0, sy(lo_w))),
        ] {
            line(&mut c, a, b, col);
        }
        for dy in [-1.0, 0.0, 1.0] {
            line(&mut c, (x0, sy(med) + dy), (x1, sy(med) + dy), black);
        }
        for (i, &x) in v.iter().enumerate() {
            // Dots spread sideways so equal scores stay visible.
            let dx = ((i % 5) as f64 - 2.0) * 4.0;
            let (px, py) = ((cx + dx) as usize, sy(x) as usize);
            for (ox, oy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                c.set(px + ox, py + oy, [90, 90, 90]);
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        // numpy.quantile([1, 2, 4, 10], [0.25, 0.5, 0.75]) = [1.75, 3.0, 5.5]
        let v = [1.0, 2.0, 4.0, 10.0];
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.75), 5.5);
    }

    #[test]
    fn draws_a_box_per_group() {
        let c = render(
            "Dice",
            "Dice",
            &[("a".into(), vec![0.2, 0.5, 0.9]), ("b".into(), vec![])],
        );
        assert_eq!(c.width, text_width("Dice", 2).max(110 + 180 - 80) + 80);
        // Something other than white was drawn in the first box's column.
        let col = PALETTE[0];
        assert!(c.rgb.chunks(3).any(|p| p == col));
    }
}
