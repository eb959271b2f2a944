//! `POST /api/p2/attachments/`: a multipart `file` (with `company_id`, optional `metadata[...]`)
//! or JSON `{"company_id", "file_url"}`, which the sandbox downloads (see `link.rs`) before it
//! stores anything.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use axum::http::header;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::params::P2Params;
use super::render;
use super::{require_company, UPLOAD_LIMIT_BYTES};
use crate::error::ApiError;
use crate::model::Attachment;
use crate::p1::attachments::{guess_mime, throttled};
use crate::params::parse_bool;
use crate::state::{lock, Shared};

/// A file part as received.
struct UploadedFile {
    file_name: String,
    mime_type: Option<String>,
    bytes: Bytes,
}

/// `POST /api/p2/attachments` (also with a trailing slash, as documented).
pub async fn upload(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let speed = lock(&shared.switches).upload_bytes_per_second;
    let request = match speed {
        Some(bytes_per_second) => throttled(request, bytes_per_second),
        None => request,
    };
    let (params, file) = read_upload(query.as_deref(), request).await?;
    let company_id = params.company_id()?;
    require_company(&lock(&shared.world), company_id)?;
    let push_to_talk = params
        .first("metadata[push_to_talk]")
        .or_else(|| params.first("push_to_talk"))
        .map(|raw| parse_bool("metadata[push_to_talk]", raw))
        .transpose()?
        .unwrap_or(false);
    let file_url = params
        .first("file_url")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    let (file_name, mime_type, bytes) = match (file, file_url) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "file and file_url are mutually exclusive",
            ))
        }
        (None, None) => return Err(ApiError::unprocessable("file or file_url is required")),
        (Some(file), None) => {
            if file.bytes.is_empty() {
                return Err(ApiError::unprocessable("file is empty"));
            }
            let mime_type = file
                .mime_type
                .filter(|m| !m.trim().is_empty() && m != "application/octet-stream")
                .unwrap_or_else(|| guess_mime(&file.file_name));
            (file.file_name, mime_type, file.bytes)
        }
        // Downloaded with no lock held; a link that fails stores nothing.
        (None, Some(url)) => {
            let fetched = shared.fetch_link(&url, UPLOAD_LIMIT_BYTES).await?;
            (fetched.file_name, fetched.mime_type, fetched.bytes)
        }
    };
    let mut world = lock(&shared.world);
    let id = world.take_attachment_id();
    let attachment = Attachment {
        id,
        company_id,
        file_name,
        mime_type,
        bytes,
        push_to_talk,
    };
    let rendered = render::attachment(&attachment, None, &shared.files_base);
    world.attachments.insert(id, attachment);
    Ok(Json(json!({ "attachment": rendered })))
}

async fn read_upload(
    query: Option<&str>,
    request: Request,
) -> Result<(P2Params, Option<UploadedFile>), ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/"));
    if !is_multipart {
        let headers = request.headers().clone();
        let body = axum::body::to_bytes(request.into_body(), UPLOAD_LIMIT_BYTES)
            .await
            .map_err(|_| ApiError::bad_request("request body too large or unreadable"))?;
        let params = P2Params::from_request(query, &headers, &body)?;
        if params.has("file") {
            return Err(ApiError::unprocessable(
                "file must be sent as a multipart/form-data file part",
            ));
        }
        return Ok((params, None));
    }
    let invalid = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("invalid multipart body: {}", e.body_text()))
    };
    let mut params = P2Params::from_request(query, &Default::default(), &Bytes::new())?;
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("invalid multipart body: {}", e.body_text())))?;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(invalid)? {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let mime_type = field.content_type().map(str::to_owned);
        let data = field.bytes().await.map_err(invalid)?;
        match name.as_str() {
            "file" => {
                file = Some(UploadedFile {
                    file_name: file_name
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| "file".to_owned()),
                    mime_type,
                    bytes: data,
                })
            }
            "private_api_token" => {}
            _ => params.push(name, String::from_utf8_lossy(&data).trim().to_owned()),
        }
    }
    Ok((params, file))
}
