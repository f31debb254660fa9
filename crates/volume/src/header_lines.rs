//! Line-by-line reading of the text headers of MetaImage and NRRD files, which both end where
//! binary voxel data begins.

/// Longest text header read (1 MiB): a binary file mistaken for a header stops here.
pub const MAX_HEADER: usize = 1 << 20;

/// Lines of `bytes` from the start, each with the offset just after it, up to [`MAX_HEADER`].
/// A line is decoded lossily (DICOM tags copied into headers may hold Latin-1 text; only the
/// keys a reader uses must be ASCII) and loses its `\r`.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (String, usize)> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= bytes.len() || pos >= MAX_HEADER {
            return None;
        }
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|e| pos + e)
            .unwrap_or(bytes.len());
        let line = String::from_utf8_lossy(&bytes[pos..end])
            .trim_end_matches('\r')
            .to_string();
        pos = (end + 1).min(bytes.len());
        Some((line, pos))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_and_offsets() {
        let b = b"NRRD0004\r\ntype: float\n\n\x00\x01";
        let v: Vec<(String, usize)> = super::lines(b).collect();
        assert_eq!(v[0], ("NRRD0004".to_string(), 10));
        assert_eq!(v[1], ("type: float".to_string(), 22));
        assert_eq!(v[2], (String::new(), 23));
    }
}
