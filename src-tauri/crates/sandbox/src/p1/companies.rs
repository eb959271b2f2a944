//! Companies, channels and delivery jobs.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

use super::{ok, page_of, parse_id, require_company};
use crate::error::ApiError;
use crate::model::Channel;
use crate::paging::{ListKind, PageRequest};
use crate::params::Params;
use crate::render;
use crate::state::{lock, Shared};

/// `GET /p1/companies`
pub async fn list_companies(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::from_query(query.as_deref());
    let request = PageRequest::from_params(&params, ListKind::Companies)?;
    let world = lock(&shared.world);
    let (companies, next_page) = page_of(
        &world.companies,
        &request,
        ListKind::Companies,
        |c| (0, c.id),
        render::company,
    );
    Ok(ok(
        json!({ "companies": companies, "next_page": next_page }),
    ))
}

/// `GET /p1/companies/{company_id}/channels`
pub async fn list_channels(
    State(shared): State<Arc<Shared>>,
    Path(company): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let company_id = parse_id(&company, "Company")?;
    let params = Params::from_query(query.as_deref());
    let request = PageRequest::from_params(&params, ListKind::Channels)?;
    let world = lock(&shared.world);
    require_company(&world, company_id)?;
    let channels: Vec<&Channel> = world
        .channels
        .iter()
        .filter(|c| c.company_id == company_id)
        .collect();
    let (channels, next_page) = page_of(
        &channels,
        &request,
        ListKind::Channels,
        |c| (0, c.id),
        |c| render::channel(c),
    );
    Ok(ok(json!({ "channels": channels, "next_page": next_page })))
}

/// `GET /p1/companies/{company_id}/channels/{channel_id}/jobs/{job_id}`
pub async fn job_details(
    State(shared): State<Arc<Shared>>,
    Path((company, channel, job)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let company_id = parse_id(&company, "Company")?;
    let channel_id = parse_id(&channel, "Channel")?;
    let job_id = parse_id(&job, "Job")?;
    let world = lock(&shared.world);
    require_company(&world, company_id)?;
    let job = world
        .jobs
        .get(&job_id)
        .filter(|j| j.company_id == company_id && j.channel_id == channel_id)
        .ok_or_else(|| ApiError::not_found("Job not found"))?;
    Ok(ok(render::job(job)))
}
