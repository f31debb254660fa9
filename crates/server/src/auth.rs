//! Optional bearer token. With `--token`, every API request needs `Authorization: Bearer TOKEN`
//! (the viewer page and its scripts hold no data and load without it; the page takes the token
//! from `?token=`). `GET /auth/` tells MONAI Label clients whether auth is on, and
//! `POST /auth/token` (a form with `username` and `password`, as MONAI Label's login takes)
//! hands the token back when the password is the token, so the Slicer plug-in can log in.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::AppState;

/// Paths reachable without the token.
fn public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/index.html"
            | "/app.js"
            | "/style.css"
            | "/favicon.ico"
            | "/auth/"
            | "/auth"
            | "/auth/token"
    )
}

/// Constant-time comparison of two byte strings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn require_token(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(token) = state.config.token.as_deref() else {
        return next.run(req).await;
    };
    if public(req.uri().path()) {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match given {
        Some(g) if same(g.as_bytes(), token.as_bytes()) => next.run(req).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "wrong bearer token").into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this server needs a bearer token (Authorization: Bearer TOKEN)",
        )
        .into_response(),
    }
}

pub async fn info(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!({ "enabled": state.config.token.is_some() }))
}

#[derive(serde::Deserialize)]
pub struct Login {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

pub async fn token(
    State(state): State<Arc<AppState>>,
    axum::Form(login): axum::Form<Login>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let _ = login.username;
    match state.config.token.as_deref() {
        None => Err(ApiError::not_found(
            "authentication is not enabled on this server",
        )),
        Some(t) if same(login.password.as_bytes(), t.as_bytes()) => Ok(Json(json!({
            "access_token": t,
            "token_type": "bearer",
        }))),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong password (give the server's token)",
        )),
    }
}
