//! One JSON object per line per step/epoch, appended and flushed as training goes, so a crash
//! loses nothing already logged and the curves can be drawn at any time.

use std::io::Write;
use std::path::Path;

pub struct JsonLog {
    file: std::fs::File,
}

impl JsonLog {
    /// A fresh log (a new run replaces the old one's).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::File::create(path)?;
        Ok(Self { file })
    }

    /// Continues an existing log (resumed runs).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self { file })
    }

    pub fn write(&mut self, value: &impl serde::Serialize) -> std::io::Result<()> {
        let line = serde_json::to_string(value).map_err(std::io::Error::other)?;
        writeln!(self.file, "{line}")?;
        self.file.flush()
    }
}
