//! Overlap metrics on binary masks (any non-zero voxel is foreground).
//!
//! Convention: Dice of two empty masks is 1 (nothing to find, nothing found), and its loss 0.
//! This is what makes a correct empty prediction on a negative case score as correct.

pub mod components;

pub use components::{component_voxels, connected_components, nearest_to_centroid};

/// Voxel counts of a prediction against a reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

impl Confusion {
    pub fn of(pred: &[u8], truth: &[u8]) -> Self {
        assert_eq!(pred.len(), truth.len(), "masks differ in size");
        let mut c = Confusion::default();
        for (&p, &t) in pred.iter().zip(truth) {
            match (p != 0, t != 0) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
        }
        c
    }

    pub fn dice(&self) -> f64 {
        let denom = 2 * self.tp + self.fp + self.fn_;
        if denom == 0 {
            1.0
        } else {
            2.0 * self.tp as f64 / denom as f64
        }
    }

    /// Voxel-wise sensitivity (recall); 1 when the reference is empty.
    pub fn sensitivity(&self) -> f64 {
        let p = self.tp + self.fn_;
        if p == 0 {
            1.0
        } else {
            self.tp as f64 / p as f64
        }
    }

    /// Voxel-wise false positive rate FP / (FP + TN); 0 when there are no negatives.
    pub fn false_positive_rate(&self) -> f64 {
        let n = self.fp + self.tn;
        if n == 0 {
            0.0
        } else {
            self.fp as f64 / n as f64
        }
    }
}

pub fn dice(pred: &[u8], truth: &[u8]) -> f64 {
    Confusion::of(pred, truth).dice()
}

/// 1 - Dice: the loss of paper eq. 1 evaluated on binary masks, as the reward (eq. 2) uses it.
pub fn dice_loss(pred: &[u8], truth: &[u8]) -> f64 {
    1.0 - dice(pred, truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_overlaps() {
        // pred 4 voxels, truth 4 voxels, 2 shared: Dice = 2*2/(4+4) = 0.5.
        let p = [1, 1, 1, 1, 0, 0, 0, 0];
        let t = [0, 0, 1, 1, 1, 1, 0, 0];
        assert_eq!(dice(&p, &t), 0.5);
        assert_eq!(dice_loss(&p, &t), 0.5);
        let c = Confusion::of(&p, &t);
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 2,
                fn_: 2,
                tn: 2
            }
        );
        assert_eq!(c.sensitivity(), 0.5);
        assert_eq!(c.false_positive_rate(), 0.5);
        // Disjoint: 0; identical: 1; label values other than 1 count as foreground.
        assert_eq!(dice(&[1, 0], &[0, 1]), 0.0);
        assert_eq!(dice(&[3, 0, 2], &[1, 0, 1]), 1.0);
    }

    #[test]
    fn empty_conventions() {
        assert_eq!(dice(&[0, 0], &[0, 0]), 1.0);
        assert_eq!(dice(&[1, 0], &[0, 0]), 0.0);
        assert_eq!(dice(&[0, 0], &[1, 0]), 0.0);
        assert_eq!(Confusion::of(&[0, 0], &[0, 0]).sensitivity(), 1.0);
    }
}
