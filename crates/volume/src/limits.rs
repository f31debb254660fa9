use crate::error::Problem;

/// Bounds applied before any voxel buffer is allocated, so a header that lies about its size
/// cannot exhaust memory.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Largest decoded image accepted, in bytes of f32 voxels.
    pub max_bytes: u64,
}

/// Environment variable that raises (or lowers) the default limit, in MiB.
pub const MAX_IMAGE_ENV: &str = "PROMPTSEG_MAX_IMAGE_MIB";

impl Default for ReadOptions {
    /// 256 MiB of f32 = 67M voxels: far above any prostate MR series (a 640x640x31 T2W is 12.7M,
    /// a 512x512x160 isotropic one 42M), small enough that three lying headers cannot exhaust
    /// a laptop. `PROMPTSEG_MAX_IMAGE_MIB` overrides it; an unparsable value keeps the default.
    fn default() -> Self {
        let mib = std::env::var(MAX_IMAGE_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&m| m > 0)
            .unwrap_or(256);
        Self {
            max_bytes: mib.saturating_mul(1 << 20),
        }
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
