//! nnU-Net v2 raw datasets (`Dataset###_Name/`), as picai_prep writes them: `dataset.json`
//! (`channel_names`, `labels`, `file_ending`), `imagesTr/<case>_0000<ending>` (one file per
//! channel) and `labelsTr/<case><ending>`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{patient_of, Dataset, DatasetEntry};
use crate::error::CaseError;
use crate::files::CaseFiles;
use crate::load::GeometryFix;

#[derive(Deserialize)]
struct DatasetJson {
    channel_names: BTreeMap<String, String>,
    file_ending: String,
}

/// Which channel index holds each modality, by the channel's name.
fn channel_of(names: &BTreeMap<String, String>, wanted: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|(_, n)| wanted.contains(&n.to_ascii_lowercase().as_str()))
        .map(|(i, _)| format!("{:04}", i.parse::<u32>().unwrap_or(0)))
}

pub(super) fn open(dir: &Path) -> Result<Dataset, CaseError> {
    let json_path = dir.join("dataset.json");
    let bad = |problem: String| CaseError::Dataset {
        path: json_path.clone(),
        problem,
    };
    let text = std::fs::read_to_string(&json_path).map_err(|e| CaseError::Io {
        path: json_path.clone(),
        source: e,
    })?;
    let meta: DatasetJson = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let t2w = channel_of(&meta.channel_names, &["t2w", "t2", "t2w_image"]).ok_or_else(|| {
        bad(format!(
            "no T2W channel in channel_names {:?}",
            meta.channel_names
        ))
    })?;
    let adc = channel_of(&meta.channel_names, &["adc"])
        .ok_or_else(|| bad("no ADC channel in channel_names".into()))?;
    let hbv = channel_of(&meta.channel_names, &["hbv", "dwi", "hbv_image"])
        .ok_or_else(|| bad("no HBV channel in channel_names".into()))?;
    let ending = meta.file_ending.clone();
    let images = dir.join("imagesTr");
    let entries = std::fs::read_dir(&images).map_err(|e| CaseError::Io {
        path: images.clone(),
        source: e,
    })?;
    let suffix = format!("_{t2w}{ending}");
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(&suffix))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    let mut ds = Dataset::default();
    for id in ids {
        let file = |ch: &str| images.join(format!("{id}_{ch}{ending}"));
        let (ta, aa, ha) = (file(&t2w), file(&adc), file(&hbv));
        if let Some(missing) = [&aa, &ha].into_iter().find(|p| !p.exists()) {
            ds.skipped
                .push((missing.clone(), "channel file missing".into()));
            continue;
        }
        let mut files = CaseFiles::explicit(ta, aa, ha);
        files.id = id.clone();
        let label = dir.join("labelsTr").join(format!("{id}{ending}"));
        files.label = label.exists().then_some(label);
        ds.entries.push(DatasetEntry {
            patient: patient_of(&id),
            note: files
                .label
                .is_none()
                .then(|| "no label in labelsTr".to_string()),
            files,
            fix: GeometryFix::default(),
            negative_by_marksheet: false,
        });
    }
    if ds.entries.is_empty() {
        return Err(bad(format!(
            "no cases `<case>{suffix}` in {}",
            images.display()
        )));
    }
    Ok(ds)
}
