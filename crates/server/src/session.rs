//! Open cases: the loaded volumes, the per-case window cache that makes further clicks warm,
//! the lesions of the viewer with undo/redo. One lock per case, taken only inside blocking
//! workers, so a long click on one case never holds up another case.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use promptseg_case::{load_case, Case, GeometryFix, Prompt};
use promptseg_infer::{segment, Models, Options, Window};
use promptseg_volume::{resample_linear, ReadOptions, Volume};
use serde::Serialize;

use crate::datastore::CaseEntry;
use crate::error::{ApiError, ApiResult};

/// Windows kept per case (each is a few MB); the oldest goes first.
const MAX_WINDOWS: usize = 24;

/// One lesion of the viewer: the click and its mask (T2W voxel offsets).
#[derive(Clone, Debug, Serialize)]
pub struct Lesion {
    pub id: u32,
    /// The click, T2W voxel i, j, k.
    pub prompt: [i64; 3],
    #[serde(skip)]
    pub offsets: Vec<u32>,
    pub voxels: usize,
    pub volume_ml: f64,
    /// Below one growth neighbourhood: this click found no lesion (its mask is dropped).
    pub negative: bool,
    pub steps: usize,
    pub final_seed: [i64; 3],
    pub reused_window: bool,
    pub ms: f64,
}

pub struct Session {
    pub id: String,
    pub entry: CaseEntry,
    pub case: Case,
    pub windows: Vec<Window>,
    pub lesions: Vec<Arc<Lesion>>,
    undo: Vec<Vec<Arc<Lesion>>>,
    redo: Vec<Vec<Arc<Lesion>>>,
    next_id: u32,
    /// ADC and HBV resampled onto the T2W grid, made on first display.
    display: Option<Arc<[Vec<f32>; 2]>>,
    pub version: u64,
}

/// The mask of one click on the T2W grid, and what `segment` reported.
pub struct Click {
    pub mask: Volume<u8>,
    pub report: promptseg_infer::LesionReport,
    pub ms: f64,
}

impl Session {
    pub fn open(entry: CaseEntry) -> ApiResult<Session> {
        let case = load_case(
            &entry.files,
            &GeometryFix::default(),
            &ReadOptions::default(),
        )?;
        Ok(Session {
            id: entry.id.clone(),
            entry,
            case,
            windows: Vec::new(),
            lesions: Vec::new(),
            undo: Vec::new(),
            redo: Vec::new(),
            next_id: 1,
            display: None,
            version: 0,
        })
    }

    /// Segments one lesion from a click at T2W voxel `p`, with the default options of
    /// `promptseg segment` and this case's window cache.
    pub fn click(&mut self, models: &Models, p: [i64; 3]) -> ApiResult<Click> {
        let t = Instant::now();
        if !self.case.t2w.geometry.contains(p) {
            return Err(ApiError::unprocessable(format!(
                "prompt voxel {},{},{}: outside the T2W image (dims {:?})",
                p[0], p[1], p[2], self.case.t2w.geometry.dims
            )));
        }
        let seg = segment(
            &self.case,
            &[Prompt::Voxel(p)],
            models,
            &Options::default(),
            &mut self.windows,
        )?;
        if self.windows.len() > MAX_WINDOWS {
            let extra = self.windows.len() - MAX_WINDOWS;
            self.windows.drain(..extra);
        }
        let report = seg.lesions.into_iter().next().ok_or_else(|| {
            ApiError::internal("segmentation returned no lesion report for the click")
        })?;
        Ok(Click {
            mask: seg.mask,
            report,
            ms: t.elapsed().as_secs_f64() * 1e3,
        })
    }

    fn push_history(&mut self) {
        self.undo.push(self.lesions.clone());
        if self.undo.len() > 200 {
            self.undo.remove(0);
        }
        self.redo.clear();
        self.version += 1;
    }

    /// A viewer click: a new lesion.
    pub fn add_lesion(&mut self, models: &Models, p: [i64; 3]) -> ApiResult<Arc<Lesion>> {
        let c = self.click(models, p)?;
        let offsets: Vec<u32> = c
            .mask
            .data
            .iter()
            .enumerate()
            .filter(|(_, &v)| v != 0)
            .map(|(i, _)| i as u32)
            .collect();
        let ml = self.case.t2w.geometry.voxel_volume_ml();
        let lesion = Arc::new(Lesion {
            id: self.next_id,
            prompt: p,
            voxels: offsets.len(),
            volume_ml: offsets.len() as f64 * ml,
            offsets,
            negative: c.report.negative,
            steps: c.report.steps,
            final_seed: c.report.final_seed,
            reused_window: c.report.reused_window,
            ms: c.ms,
        });
        self.next_id += 1;
        self.push_history();
        self.lesions.push(lesion.clone());
        Ok(lesion)
    }

    pub fn delete_lesion(&mut self, id: u32) -> ApiResult<()> {
        if !self.lesions.iter().any(|l| l.id == id) {
            return Err(ApiError::not_found(format!("no lesion {id} in this case")));
        }
        self.push_history();
        self.lesions.retain(|l| l.id != id);
        Ok(())
    }

    /// A background click: removes the lesions whose masks contain T2W voxel `p`.
    pub fn background_click(&mut self, p: [i64; 3]) -> ApiResult<usize> {
        let g = &self.case.t2w.geometry;
        if !g.contains(p) {
            return Err(ApiError::unprocessable(
                "background click outside the image",
            ));
        }
        let o = g.offset([p[0] as usize, p[1] as usize, p[2] as usize]) as u32;
        let hit: Vec<u32> = self
            .lesions
            .iter()
            .filter(|l| l.offsets.binary_search(&o).is_ok())
            .map(|l| l.id)
            .collect();
        if !hit.is_empty() {
            self.push_history();
            self.lesions.retain(|l| !hit.contains(&l.id));
        }
        Ok(hit.len())
    }

    pub fn undo(&mut self) -> bool {
        match self.undo.pop() {
            Some(prev) => {
                self.redo.push(std::mem::replace(&mut self.lesions, prev));
                self.version += 1;
                true
            }
            None => false,
        }
    }

    pub fn redo(&mut self) -> bool {
        match self.redo.pop() {
            Some(next) => {
                self.undo.push(std::mem::replace(&mut self.lesions, next));
                self.version += 1;
                true
            }
            None => false,
        }
    }

    /// 0 = background, n = the n-th lesion in the list (1-based; later lesions on top).
    pub fn label_map(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.case.t2w.geometry.len()];
        for (n, l) in self.lesions.iter().enumerate() {
            let v = (n + 1).min(255) as u8;
            for &o in &l.offsets {
                out[o as usize] = v;
            }
        }
        out
    }

    /// The union of the lesions, uint8 0/1 on the T2W grid with the T2W's header codes.
    pub fn mask(&self) -> Volume<u8> {
        self.case.t2w.with_data(
            self.label_map()
                .into_iter()
                .map(|v| (v != 0) as u8)
                .collect(),
        )
    }

    /// The surrogate's entropy (nats) on the T2W grid from the cached windows; 0 elsewhere.
    pub fn entropy(&self) -> Vec<f32> {
        let t2w = &self.case.t2w.geometry;
        let mut out = vec![0f32; t2w.len()];
        for w in &self.windows {
            let e = resample_linear(
                &Volume::new(w.geometry().clone(), w.scene.field.entropy.clone()),
                t2w,
                0.0,
            );
            for o in 0..t2w.len() {
                if e.inside[o] {
                    out[o] = e.volume.data[o];
                }
            }
        }
        out
    }

    /// ADC and HBV on the T2W grid (for display).
    pub fn display_channels(&mut self) -> Arc<[Vec<f32>; 2]> {
        if let Some(d) = &self.display {
            return d.clone();
        }
        let g = &self.case.t2w.geometry;
        let adc = resample_linear(&self.case.adc, g, 0.0).volume.data;
        let hbv = resample_linear(&self.case.hbv, g, 0.0).volume.data;
        let d = Arc::new([adc, hbv]);
        self.display = Some(d.clone());
        d
    }

    pub fn state(&self) -> serde_json::Value {
        let g = &self.case.t2w.geometry;
        let voxels: usize = self.label_map().iter().filter(|&&v| v != 0).count();
        let positive = self.lesions.iter().any(|l| !l.negative && l.voxels > 0);
        serde_json::json!({
            "case": self.id,
            "dims": g.dims,
            "spacing": g.spacing,
            "lesions": self.lesions.iter().map(|l| l.as_ref()).collect::<Vec<_>>(),
            "voxels": voxels,
            "volume_ml": voxels as f64 * g.voxel_volume_ml(),
            "call": if positive { "positive" } else { "negative" },
            "can_undo": !self.undo.is_empty(),
            "can_redo": !self.redo.is_empty(),
            "version": self.version,
            "windows_cached": self.windows.len(),
        })
    }
}

pub type Slot = Arc<Mutex<Option<Session>>>;

/// Per-case slots. The map's own lock is held only to find or insert a slot.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, (Slot, Instant)>>,
}

/// Cases kept open at once; the least recently used idle one is closed beyond that.
const MAX_OPEN: usize = 8;

impl Sessions {
    pub fn slot(&self, id: &str) -> Slot {
        let mut map = self.map.lock().expect("sessions lock");
        if let Some((slot, used)) = map.get_mut(id) {
            *used = Instant::now();
            return slot.clone();
        }
        if map.len() >= MAX_OPEN {
            // Close the least recently used case that nobody is using now.
            let idle = map
                .iter()
                .filter(|(_, (s, _))| Arc::strong_count(s) == 1)
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone());
            if let Some(k) = idle {
                map.remove(&k);
            }
        }
        let slot: Slot = Arc::new(Mutex::new(None));
        map.insert(id.to_string(), (slot.clone(), Instant::now()));
        slot
    }
}

/// Runs `f` on the case's session (opened on first use) in a blocking worker.
pub async fn with_session<T: Send + 'static>(
    sessions: &Sessions,
    entry: CaseEntry,
    f: impl FnOnce(&mut Session) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let slot = sessions.slot(&entry.id);
    tokio::task::spawn_blocking(move || {
        let mut guard = slot
            .lock()
            .map_err(|_| ApiError::internal("this case's state was poisoned by a failed worker"))?;
        if guard.is_none() {
            *guard = Some(Session::open(entry)?);
        }
        f(guard.as_mut().expect("session opened"))
    })
    .await?
}
