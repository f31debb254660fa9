//! Line charts on a PNG canvas: training curves and per-method summaries.

use crate::figure::Canvas;
use crate::font::{draw_text, text_width};

pub const PALETTE: [[u8; 3]; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];

pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub series: Vec<Series>,
}

pub(crate) fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 * span {
        out.push(t);
        t += step;
    }
    out
}

pub(crate) fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-3 {
        format!("{v:.0e}")
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

pub(crate) fn line(c: &mut Canvas, (x0, y0): (f64, f64), (x1, y1): (f64, f64), col: [u8; 3]) {
    let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
        if x >= 0.0 && y >= 0.0 {
            c.set(x.round() as usize, y.round() as usize, col);
        }
    }
}

/// Draws one panel into the rectangle (x, y, w, h) of `c`.
pub fn draw_panel(c: &mut Canvas, p: &Panel, x: usize, y: usize, w: usize, h: usize) {
    let (left, right, top, bottom) = (x + 60, x + w - 10, y + 24, y + h - 34);
    draw_text(&p.title, x + 60, y + 6, 2, |px, py| {
        c.set(px, py, [0, 0, 0])
    });
    let pts: Vec<(f64, f64)> = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect();
    if pts.is_empty() {
        draw_text("no data", left + 10, top + 20, 1, |px, py| {
            c.set(px, py, [120, 120, 120])
        });
        return;
    }
    let (mut xl, mut xh, mut yl, mut yh) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(a, b) in &pts {
        xl = xl.min(a);
        xh = xh.max(a);
        yl = yl.min(b);
        yh = yh.max(b);
    }
    if xh <= xl {
        xh = xl + 1.0;
    }
    if yh <= yl {
        yh = yl + 1.0;
    }
    let pad = 0.05 * (yh - yl);
    let (yl, yh) = (yl - pad, yh + pad);
    let sx = |v: f64| left as f64 + (v - xl) / (xh - xl) * (right - left) as f64;
    let sy = |v: f64| bottom as f64 - (v - yl) / (yh - yl) * (bottom - top) as f64;
    let grey = [200, 200, 200];
    for t in nice_ticks(yl, yh) {
        let py = sy(t);
        line(c, (left as f64, py), (right as f64, py), grey);
        let label = fmt_tick(t);
        draw_text(
            &label,
            left.saturating_sub(6 + text_width(&label, 1)),
            py as usize - 3,
            1,
            |px, qy| c.set(px, qy, [0, 0, 0]),
        );
    }
    for t in nice_ticks(xl, xh) {
        let px = sx(t);
        line(c, (px, top as f64), (px, bottom as f64), grey);
        let label = fmt_tick(t);
        draw_text(
            &label,
            (px as usize).saturating_sub(text_width(&label, 1) / 2),
            bottom + 6,
            1,
            |qx, qy| c.set(qx, qy, [0, 0, 0]),
        );
    }
    line(
        c,
        (left as f64, bottom as f64),
        (right as f64, bottom as f64),
        [0, 0, 0],
    );
    line(
        c,
        (left as f64, top as f64),
        (left as f64, bottom as f64),
        [0, 0, 0],
    );
    draw_text(
        &p.x_label,
        (left + right) / 2 - text_width(&p.x_label, 1) / 2,
        bottom + 20,
        1,
        |qx, qy| c.set(qx, qy, [0, 0, 0]),
    );
    for (k, s) in p.series.iter().enumerate() {
        let col = PALETTE[k % PALETTE.len()];
        let mut prev: Option<(f64, f64)> = None;
        for &(a, b) in s
            .points
            .iter()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
        {
            let q = (sx(a), sy(b));
            match prev {
                Some(p0) => line(c, p0, q, col),
                None => c.set(q.0 as usize, q.1 as usize, col),
            }
            prev = Some(q);
        }
        let ly = top + 4 + 12 * k;
        for dx in 0..14 {
            c.set(right - 120 + dx, ly + 3, col);
            c.set(right - 120 + dx, ly + 4, col);
        }
        draw_text(&s.label, right - 102, ly, 1, |qx, qy| {
            c.set(qx, qy, [0, 0, 0])
        });
    }
}

/// Panels in a grid of `cols` columns, each `w` x `h` pixels, on white.
pub fn render(panels: &[Panel], cols: usize, w: usize, h: usize) -> Canvas {
    let rows = panels.len().div_ceil(cols.max(1));
    let mut c = Canvas::new(cols * w, rows.max(1) * h);
    c.rgb.iter_mut().for_each(|v| *v = 255);
    for (i, p) in panels.iter().enumerate() {
        draw_panel(&mut c, p, (i % cols) * w, (i / cols) * h, w, h);
    }
    c
}

/// Moving average over `window` points, for noisy per-step losses.
pub fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let w = window.max(1);
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, _))| {
            let lo = i.saturating_sub(w - 1);
            let ys = &points[lo..=i];
            (x, ys.iter().map(|p| p.1).sum::<f64>() / ys.len() as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_rendering() {
        assert_eq!(nice_ticks(0.0, 1.0), vec![0.0, 0.5, 1.0]);
        let t = nice_ticks(0.0, 10.0);
        assert_eq!(t, vec![0.0, 5.0, 10.0]);
        let p = Panel {
            title: "loss".into(),
            x_label: "step".into(),
            series: vec![Series {
                label: "train".into(),
                points: (0..50)
                    .map(|i| (i as f64, 1.0 / (1.0 + i as f64)))
                    .collect(),
            }],
        };
        let c = render(&[p], 1, 300, 200);
        let coloured = c.rgb.chunks(3).filter(|px| px == &PALETTE[0]).count();
        assert!(coloured > 100, "the curve was drawn ({coloured} pixels)");
        assert_eq!(
            smooth(&[(0.0, 0.0), (1.0, 2.0), (2.0, 4.0)], 2),
            vec![(0.0, 0.0), (1.0, 1.0), (2.0, 3.0)]
        );
    }
}
