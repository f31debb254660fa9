//! `promptseg serve`: one process serving a web viewer and a MONAI Label-compatible REST API
//! over the cases of a data folder, with one loaded model shared by all requests.
//!
//! Inference runs in blocking workers (`spawn_blocking`) under a per-case lock; the model is
//! shared read-only (`Models` is `Send + Sync`), so clicks on different cases run side by side.

pub mod auth;
pub mod datastore;
pub mod error;
pub mod monai;
pub mod multipart;
pub mod session;
pub mod viewer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use promptseg_infer::Models;

pub use datastore::Datastore;
pub use error::ApiError;
pub use session::Sessions;

#[derive(Clone, Debug)]
pub struct Config {
    pub data: PathBuf,
    /// When set, API requests need `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    /// Largest request body accepted (uploads), in bytes.
    pub max_upload_bytes: usize,
}

pub struct AppState {
    pub config: Config,
    pub models: Arc<Models>,
    pub store: Datastore,
    pub sessions: Sessions,
}

impl AppState {
    pub fn new(config: Config, models: Models) -> anyhow::Result<Arc<Self>> {
        if config.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            anyhow::bail!(
                "the token is empty: give a non-empty token, or none to serve without auth"
            );
        }
        if config.max_upload_bytes == 0 {
            anyhow::bail!("the upload limit is 0: give at least 1 MiB");
        }
        let store = Datastore::new(&config.data)?;
        Ok(Arc::new(Self {
            config,
            models: Arc::new(models),
            store,
            sessions: Sessions::default(),
        }))
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_upload_bytes;
    Router::new()
        // viewer
        .route("/", get(viewer::index))
        .route("/index.html", get(viewer::index))
        .route("/app.js", get(viewer::app_js))
        .route("/style.css", get(viewer::style))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/api/cases", get(viewer::cases))
        .route("/api/open", post(viewer::open))
        .route("/api/volume", get(viewer::volume))
        .route("/api/labels", get(viewer::labels))
        .route("/api/click", post(viewer::click))
        .route("/api/undo", post(viewer::undo))
        .route("/api/redo", post(viewer::redo))
        .route("/api/delete", post(viewer::delete))
        .route("/api/download", get(viewer::download))
        .route("/api/save", post(viewer::save))
        .route("/api/upload", post(viewer::upload))
        // MONAI Label
        .route("/info/", get(monai::info))
        .route("/info", get(monai::info))
        .route("/auth/", get(auth::info))
        .route("/auth", get(auth::info))
        .route("/auth/token", post(auth::token))
        .route("/datastore/", get(monai::datastore).put(monai::add_image))
        .route("/datastore", get(monai::datastore).put(monai::add_image))
        .route(
            "/datastore/image",
            get(monai::download_image).put(monai::add_image),
        )
        .route("/datastore/label", put(monai::save_label))
        .route("/infer/{model}", post(monai::infer))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

/// Serves on an already bound listener until the process ends.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state)).await?;
    Ok(())
}

/// Binds `addr` and serves (blocking the calling thread); `on_ready` gets the bound address.
pub fn run(
    addr: SocketAddr,
    state: Arc<AppState>,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        on_ready(listener.local_addr()?);
        serve_on(listener, state).await
    })
}
