//! PNG figures: axial T2W slices with mask outlines (predicted in yellow, expert in green).

use std::path::Path;

use promptseg_volume::Volume;

pub const PREDICTED: [u8; 3] = [255, 220, 0];
pub const EXPERT: [u8; 3] = [0, 220, 80];

/// An RGB raster.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            rgb: vec![0; width * height * 3],
        }
    }

    pub fn set(&mut self, x: usize, y: usize, c: [u8; 3]) {
        self.put(x, y, c);
    }

    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.width && y < self.height {
            let o = 3 * (y * self.width + x);
            self.rgb[o..o + 3].copy_from_slice(&c);
        }
    }

    pub fn encode_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header()?;
            w.write_image_data(&self.rgb)?;
        }
        Ok(out)
    }
}

/// Grey levels from the [1st, 99th] percentile of the image's non-zero voxels.
pub fn window_levels(image: &Volume<f32>) -> (f32, f32) {
    let mut v: Vec<f32> = image
        .data
        .iter()
        .copied()
        .filter(|x| *x != 0.0 && x.is_finite())
        .collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_unstable_by(f32::total_cmp);
    let lo = v[v.len() / 100];
    let hi = v[(v.len() * 99) / 100];
    (lo, if hi > lo { hi } else { lo + 1.0 })
}

fn on_outline(mask: &Volume<u8>, i: usize, j: usize, k: usize) -> bool {
    let d = mask.geometry.dims;
    if mask.at([i, j, k]) == 0 {
        return false;
    }
    let out = |ii: i64, jj: i64| {
        ii < 0
            || jj < 0
            || ii >= d[0] as i64
            || jj >= d[1] as i64
            || mask.at([ii as usize, jj as usize, k]) == 0
    };
    let (ii, jj) = (i as i64, j as i64);
    out(ii - 1, jj) || out(ii + 1, jj) || out(ii, jj - 1) || out(ii, jj + 1)
}

/// Draws axial slice `k` of `image` at (x0, 0) with outlines; `scale` repeats pixels.
pub fn draw_slice(
    canvas: &mut Canvas,
    x0: usize,
    image: &Volume<f32>,
    k: usize,
    levels: (f32, f32),
    outlines: &[(&Volume<u8>, [u8; 3])],
    scale: usize,
) {
    let d = image.geometry.dims;
    for j in 0..d[1] {
        for i in 0..d[0] {
            let v = image.at([i, j, k]);
            let g = (((v - levels.0) / (levels.1 - levels.0)).clamp(0.0, 1.0) * 255.0) as u8;
            let mut c = [g, g, g];
            for (mask, colour) in outlines {
                if on_outline(mask, i, j, k) {
                    c = *colour;
                }
            }
            for dy in 0..scale {
                for dx in 0..scale {
                    canvas.put(x0 + i * scale + dx, j * scale + dy, c);
                }
            }
        }
    }
}

/// The slice with the most voxels of `mask` (the first mask that has any), else the middle one.
pub fn central_slice(masks: &[&Volume<u8>]) -> Option<usize> {
    for m in masks {
        let d = m.geometry.dims;
        let counts: Vec<usize> = (0..d[2])
            .map(|k| {
                (0..d[0] * d[1])
                    .filter(|&o| m.data[o + k * d[0] * d[1]] != 0)
                    .count()
            })
            .collect();
        if let Some((k, &c)) = counts.iter().enumerate().max_by_key(|(_, &c)| c) {
            if c > 0 {
                return Some(k);
            }
        }
    }
    None
}

/// Three adjacent axial slices through the lesion, side by side, written to `path` as PNG.
pub fn lesion_montage(
    path: &Path,
    image: &Volume<f32>,
    predicted: &Volume<u8>,
    expert: Option<&Volume<u8>>,
) -> std::io::Result<()> {
    let d = image.geometry.dims;
    let mut masks = vec![predicted];
    if let Some(e) = expert {
        masks.push(e);
    }
    let centre = central_slice(&masks).unwrap_or(d[2] / 2);
    let slices: Vec<usize> = [centre.saturating_sub(1), centre, (centre + 1).min(d[2] - 1)]
        .into_iter()
        .collect();
    let scale = if d[0].max(d[1]) < 200 { 2 } else { 1 };
    let (w, h) = (d[0] * scale, d[1] * scale);
    let gap = 4;
    let mut canvas = Canvas::new(slices.len() * w + (slices.len() - 1) * gap, h);
    let levels = window_levels(image);
    let mut outlines: Vec<(&Volume<u8>, [u8; 3])> = Vec::new();
    if let Some(e) = expert {
        outlines.push((e, EXPERT));
    }
    outlines.push((predicted, PREDICTED));
    for (n, &k) in slices.iter().enumerate() {
        draw_slice(
            &mut canvas,
            n * (w + gap),
            image,
            k,
            levels,
            &outlines,
            scale,
        );
    }
    let bytes = canvas.encode_png().map_err(std::io::Error::other)?;
    promptseg_volume::io::write_atomic(path, &bytes)
        .map_err(|e| std::io::Error::other(e.to_string()))
}
