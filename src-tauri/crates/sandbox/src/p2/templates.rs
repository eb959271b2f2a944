//! WABA templates: two or three per company, derived from the company (nothing random).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::params::{P2Params, Page};
use crate::error::ApiError;
use crate::model::World;
use crate::seed::mix64;
use crate::state::{lock, Shared};

/// A WABA template.
#[derive(Debug, Clone)]
pub struct Template {
    pub id: i64,
    pub name: &'static str,
    pub body: String,
    pub waba_id: String,
    pub substitutions_count: usize,
    pub header_content_type: Option<&'static str>,
    pub company_id: i64,
    pub header: Option<&'static str>,
    pub namespace: Option<String>,
    pub created_at: DateTime<Utc>,
    pub position: i64,
}

/// The company's templates, by position (none for an unknown company).
pub fn for_company(world: &World, company_id: i64) -> Vec<Template> {
    let Some(company) = world.company(company_id) else {
        return Vec::new();
    };
    let hash = mix64(company.id as u64 ^ 0x00AB_A000_0000_0004);
    let base = (company.id - 1) * 3;
    let day = |days: i64, minutes: i64| {
        world.seeded_at - ChronoDuration::days(days) + ChronoDuration::minutes(minutes)
    };
    let mut templates = vec![
        Template {
            id: base + 1,
            name: "greeting",
            body: "Здравствуйте! Спасибо, что написали нам. Чем можем помочь?".to_owned(),
            waba_id: base36(hash, 10),
            substitutions_count: 0,
            header_content_type: None,
            company_id: company.id,
            header: None,
            namespace: None,
            created_at: day(120, company.id),
            position: 1,
        },
        Template {
            id: base + 2,
            name: "order_status",
            body: "Привет, {{1}}. Ваш заказ {{2}} передан в доставку.".to_owned(),
            waba_id: "order_status".to_owned(),
            substitutions_count: 2,
            header_content_type: Some("text"),
            company_id: company.id,
            header: Some("Статус заказа"),
            namespace: Some(format!(
                "{:08x}_{:04x}_4{:03x}_a{:03x}_{:012x}",
                hash >> 32,
                (hash >> 16) & 0xffff,
                hash & 0xfff,
                (hash >> 40) & 0xfff,
                mix64(hash) & 0xffff_ffff_ffff
            )),
            created_at: day(90, company.id * 7),
            position: 2,
        },
    ];
    if company.id % 2 == 1 {
        templates.push(Template {
            id: base + 3,
            name: "appointment_reminder",
            body: "Hello {{1}}, this is a reminder of your appointment tomorrow.".to_owned(),
            waba_id: "appointment_reminder".to_owned(),
            substitutions_count: 1,
            header_content_type: Some("image"),
            company_id: company.id,
            header: None,
            namespace: None,
            created_at: day(30, company.id * 11),
            position: 3,
        });
    }
    templates
}

fn base36(mut value: u64, length: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..length)
        .map(|_| {
            let digit = DIGITS[(value % 36) as usize];
            value /= 36;
            char::from(digit)
        })
        .collect()
}

fn render(template: &Template) -> Value {
    json!({
        "id": template.id,
        "name": template.name,
        "body": template.body,
        "waba_id": template.waba_id,
        "substitutions_count": template.substitutions_count,
        "header_content_type": template.header_content_type,
        "company_id": template.company_id,
        "header": template.header,
        "namespace": template.namespace,
        "created_at": template.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "position": template.position,
    })
}

/// `GET /api/p2/waba_templates?company_ids[]=..&sort[position]=asc&page=&per_page=`, by default
/// newest first; every company's when `company_ids` is absent.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_ids = params.int_list("company_ids")?;
    let page = Page::read(&params, 25, 100)?;
    let (field, ascending) = read_sort(&params)?;
    let world = lock(&shared.world);
    let mut templates: Vec<Template> = world
        .companies
        .iter()
        .filter(|c| company_ids.is_empty() || company_ids.contains(&c.id))
        .flat_map(|c| for_company(&world, c.id))
        .collect();
    templates.sort_by(|a, b| {
        let order = if field == "position" {
            a.position.cmp(&b.position)
        } else {
            a.created_at.cmp(&b.created_at)
        }
        .then(a.id.cmp(&b.id));
        if ascending {
            order
        } else {
            order.reverse()
        }
    });
    let rendered: Vec<Value> = page.slice(&templates).iter().map(render).collect();
    let meta = page.meta(rendered.len());
    Ok(Json(json!({ "waba_templates": rendered, "meta": meta })))
}

/// `sort[created_at]=desc` / `sort[position]=asc` (JSON `{"sort":{"position":"asc"}}`).
fn read_sort(params: &P2Params) -> Result<(&'static str, bool), ApiError> {
    for field in ["position", "created_at"] {
        if let Some(direction) = params.first(&format!("sort[{field}]")) {
            let ascending = match direction.trim().to_ascii_lowercase().as_str() {
                "asc" => true,
                "desc" => false,
                _ => return Err(ApiError::bad_request("sort direction must be asc or desc")),
            };
            return Ok((field, ascending));
        }
    }
    Ok(("created_at", false))
}
