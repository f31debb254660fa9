use crate::error::Problem;

/// Bounds applied before any voxel buffer is allocated, so a header that lies about its size
/// cannot exhaust memory.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Largest decoded image accepted, in bytes of f32 voxels.
    pub max_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        // 1 GiB of f32 = 268M voxels: far above any prostate MR series (a 640x640x31 T2W is 12.7M).
        Self { max_bytes: 1 << 30 }
    }
}

impl ReadOptions {
    /// Returns the voxel count when both the stored and the decoded sizes fit the limit.
    pub fn check_size(&self, dims: &[u64], stored_bytes_per_voxel: u64) -> Result<u64, Problem> {
        let voxels = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let per = stored_bytes_per_voxel.max(4);
        match voxels.and_then(|v| v.checked_mul(per)) {
            Some(bytes) if bytes <= self.max_bytes => Ok(voxels.unwrap_or(0)),
            _ => Err(Problem::TooLarge {
                dims: dims.to_vec(),
                voxels: voxels.unwrap_or(u64::MAX),
                bytes_per_voxel: per,
                limit_mib: self.max_bytes >> 20,
            }),
        }
    }
}
