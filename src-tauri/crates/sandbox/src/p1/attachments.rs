//! Attachment upload: a multipart `file` part, or `file_url` (form or multipart field), which the
//! sandbox downloads (see `link.rs`) before it stores anything.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::header;
use axum::Json;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};

use super::{ok, parse_id, require_conversation, UPLOAD_LIMIT_BYTES};
use crate::error::ApiError;
use crate::link;
use crate::model::Attachment;
use crate::params::{parse_bool, Params};
use crate::state::{lock, Shared};

/// A file part as received.
struct UploadedFile {
    file_name: String,
    mime_type: Option<String>,
    bytes: Bytes,
}

/// What an upload request carries.
#[derive(Default)]
struct Upload {
    file: Option<UploadedFile>,
    file_url: Option<String>,
    push_to_talk: bool,
}

/// `POST .../conversations/{conversation_id}/messages/attachments` -> `data.external_id`.
pub async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((company, conversation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let company_id = parse_id(&company, "Company")?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    require_conversation(&lock(&shared.world), company_id, conversation_id)?;
    let speed = lock(&shared.switches).upload_bytes_per_second;
    let request = match speed {
        Some(bytes_per_second) => throttled(request, bytes_per_second),
        None => request,
    };
    let upload = read_upload(query.as_deref(), request).await?;
    // The download (if any) happens here, with no lock held.
    let attachment = into_attachment(&shared, upload, company_id).await?;
    let mut world = lock(&shared.world);
    let id = world.take_attachment_id();
    world
        .attachments
        .insert(id, Attachment { id, ..attachment });
    Ok(ok(json!({ "external_id": id })))
}

/// The request with its body read at most `bytes_per_second` fast: each chunk waits its share.
pub(crate) fn throttled(request: Request, bytes_per_second: u64) -> Request {
    let (parts, body) = request.into_parts();
    let slowed = body.into_data_stream().then(move |chunk| async move {
        if let Ok(bytes) = &chunk {
            let seconds = bytes.len() as f64 / bytes_per_second as f64;
            tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        }
        chunk
    });
    Request::from_parts(parts, Body::from_stream(slowed))
}

async fn read_upload(query: Option<&str>, request: Request) -> Result<Upload, ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/"));
    let mut upload = if is_multipart {
        read_multipart(request).await?
    } else {
        read_form(query, request).await?
    };
    // Query parameters count too (`?file_url=` with an empty body).
    let query_params = Params::from_query(query);
    if upload.file_url.is_none() {
        upload.file_url = query_params.first("file_url").map(str::to_owned);
    }
    if let Some(raw) = query_params.first("push_to_talk") {
        upload.push_to_talk = parse_bool("push_to_talk", raw)?;
    }
    Ok(upload)
}

async fn read_multipart(request: Request) -> Result<Upload, ApiError> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("invalid multipart body: {}", e.body_text())))?;
    let mut upload = Upload::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("invalid multipart body: {}", e.body_text())))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let mime_type = field.content_type().map(str::to_owned);
        let data = field.bytes().await.map_err(|e| {
            ApiError::bad_request(format!("invalid multipart body: {}", e.body_text()))
        })?;
        match name.as_str() {
            "file" => {
                upload.file = Some(UploadedFile {
                    file_name: file_name
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| "file".to_owned()),
                    mime_type,
                    bytes: data,
                })
            }
            "file_url" => upload.file_url = Some(String::from_utf8_lossy(&data).into_owned()),
            "push_to_talk" => {
                upload.push_to_talk = parse_bool("push_to_talk", &String::from_utf8_lossy(&data))?
            }
            _ => {}
        }
    }
    Ok(upload)
}

async fn read_form(query: Option<&str>, request: Request) -> Result<Upload, ApiError> {
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), UPLOAD_LIMIT_BYTES)
        .await
        .map_err(|_| ApiError::bad_request("request body too large or unreadable"))?;
    let params = Params::from_request(query, &headers, &body)?;
    let push_to_talk = params
        .first("push_to_talk")
        .map(|raw| parse_bool("push_to_talk", raw))
        .transpose()?
        .unwrap_or(false);
    if params.has("file") {
        return Err(ApiError::unprocessable(
            "file must be sent as a multipart file part",
        ));
    }
    Ok(Upload {
        file: None,
        file_url: params.first("file_url").map(str::to_owned),
        push_to_talk,
    })
}

async fn into_attachment(
    shared: &Shared,
    upload: Upload,
    company_id: i64,
) -> Result<Attachment, ApiError> {
    let (file_name, mime_type, bytes) = match (upload.file, upload.file_url) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "use only one of file or file_url, not both",
            ))
        }
        (None, None) => return Err(ApiError::unprocessable("file or file_url is required")),
        (Some(file), None) => from_file(file)?,
        (None, Some(url)) => {
            let fetched = shared.fetch_link(&url, UPLOAD_LIMIT_BYTES).await?;
            (fetched.file_name, fetched.mime_type, fetched.bytes)
        }
    };
    Ok(Attachment {
        id: 0,
        company_id,
        file_name,
        mime_type,
        bytes,
        push_to_talk: upload.push_to_talk,
    })
}

fn from_file(file: UploadedFile) -> Result<(String, String, Bytes), ApiError> {
    if file.bytes.is_empty() {
        return Err(ApiError::unprocessable("file is empty"));
    }
    let mime_type = file
        .mime_type
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| guess_mime(&file.file_name));
    Ok((file.file_name, mime_type, file.bytes))
}

pub(crate) fn guess_mime(file_name: &str) -> String {
    link::guess_mime(file_name)
}
