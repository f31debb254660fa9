use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use promptseg_server::{AppState, Config};

use super::segment::ModelArgs;
use crate::paths;

#[derive(clap::Args)]
pub struct Args {
    /// Data folder: one sub-folder per case (any layout `segment --case` reads); default: the sample cases of this repository.
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Address to listen on; the default serves this machine only. 0.0.0.0 opens it to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Require `Authorization: Bearer TOKEN` on every API request (default: $PROMPTSEG_TOKEN if set).
    #[arg(long)]
    pub token: Option<String>,
    /// Largest upload accepted, MiB.
    #[arg(long, default_value_t = 512)]
    pub max_upload_mib: usize,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(a: Args) -> Result<()> {
    let data = a.data.unwrap_or_else(paths::demo_dir);
    if !data.exists() {
        bail!("{}: the data folder does not exist", data.display());
    }
    if !data.is_dir() {
        bail!(
            "{}: --data must be a folder (of case folders), not a file",
            data.display()
        );
    }
    if a.max_upload_mib == 0 {
        bail!("--max-upload-mib 0: the upload limit must be at least 1 MiB");
    }
    let token = match a.token {
        Some(t) if t.trim().is_empty() => {
            bail!("--token is empty: give a non-empty token, or leave --token out to serve without auth")
        }
        Some(t) => Some(t),
        None => match std::env::var("PROMPTSEG_TOKEN") {
            Ok(t) if t.trim().is_empty() => bail!(
                "PROMPTSEG_TOKEN is set but empty: give a non-empty token, or unset it to serve without auth"
            ),
            Ok(t) => Some(t),
            Err(_) => None,
        },
    };
    if !a.host.is_loopback() && token.is_none() {
        eprintln!(
            "promptseg serve: warning: listening on {} without --token: anyone who can reach this machine can read and add cases",
            a.host
        );
    }
    let models = a.model.load()?;
    let config = Config {
        data: data.clone(),
        token,
        max_upload_bytes: a.max_upload_mib.saturating_mul(1 << 20),
    };
    let state = AppState::new(config, models).with_context(|| "opening the data folder")?;
    let cases = state.store.cases().len();
    let model_dir = state.models.dir.clone();
    promptseg_server::run(SocketAddr::new(a.host, a.port), state, |addr| {
        println!(
            "promptseg serve: http://{addr}/ ({cases} case(s) in {}, model {})",
            data.display(),
            model_dir.display()
        );
    })
}
