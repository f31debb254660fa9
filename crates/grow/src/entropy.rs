/// Binary entropy in nats: the paper's y_e = -[p ln p + (1-p) ln(1-p)], 0 at p in {0, 1}, ln 2 at 0.5.
#[inline]
pub fn binary_entropy(p: f32) -> f32 {
    let p = p.clamp(0.0, 1.0);
    let term = |q: f32| if q > 0.0 { q * q.ln() } else { 0.0 };
    -(term(p) + term(1.0 - p))
}

pub fn entropy_map(probability: &[f32]) -> Vec<f32> {
    probability.iter().map(|&p| binary_entropy(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(binary_entropy(0.0), 0.0);
        assert_eq!(binary_entropy(1.0), 0.0);
        assert!((binary_entropy(0.5) - std::f32::consts::LN_2).abs() < 1e-7);
        // -(0.1 ln 0.1 + 0.9 ln 0.9) = 0.325083 (computed by hand / numpy).
        assert!((binary_entropy(0.1) - 0.325_083).abs() < 1e-5);
        assert_eq!(binary_entropy(0.3), binary_entropy(0.7));
    }
}
