//! p2 request parameters: the query string merged with a JSON body (the docs' curl examples send
//! JSON even with GET) or a form body. Unlike p1's reader it remembers explicit JSON `null`s
//! (`"assignee_id": null` clears the assignee) and flattens objects to `key[sub]`.

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use serde_json::Value;

use crate::error::ApiError;
use crate::params::{parse_int, Params};

const TOKEN_PARAM: &str = "private_api_token";

/// Merged parameters of one p2 request.
#[derive(Debug, Default)]
pub struct P2Params {
    params: Params,
    nulls: Vec<String>,
}

impl P2Params {
    /// The query string and the body (JSON object or urlencoded form).
    pub fn from_request(
        query: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<P2Params, ApiError> {
        let mut params = P2Params {
            params: Params::from_query(query),
            nulls: Vec::new(),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(params);
        }
        if is_json(headers, body) {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))?;
            let Value::Object(map) = value else {
                return Err(ApiError::bad_request("JSON body must be an object"));
            };
            for (key, value) in map {
                if key != TOKEN_PARAM {
                    params.add_json(key, value);
                }
            }
        } else {
            params.params.extend_form(body);
        }
        Ok(params)
    }

    /// Adds one pair (multipart fields).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.params.push(key, value);
    }

    fn add_json(&mut self, key: String, value: Value) {
        match value {
            Value::Null => self.nulls.push(key),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::String(s) => self.params.push(key.clone(), s),
                        Value::Null => {}
                        other => self.params.push(key.clone(), other.to_string()),
                    }
                }
            }
            Value::Object(map) => {
                for (sub, value) in map {
                    self.add_json(format!("{key}[{sub}]"), value);
                }
            }
            Value::String(s) => self.params.push(key, s),
            other => self.params.push(key, other.to_string()),
        }
    }

    /// The first value of a key.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.params.first(key)
    }

    /// Every value of a list parameter: `key`, `key[]` or `key[N]`, each also comma-separated.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.params
            .all_matching(|k| {
                k == key
                    || k.strip_prefix(key).is_some_and(|rest| {
                        rest.starts_with('[')
                            && rest.ends_with(']')
                            && rest[1..rest.len() - 1].bytes().all(|b| b.is_ascii_digit())
                    })
            })
            .into_iter()
            .flat_map(|v| {
                v.split(',')
                    .map(str::trim)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Integers of a list parameter (integers as strings too); 400 for anything else.
    pub fn int_list(&self, key: &str) -> Result<Vec<i64>, ApiError> {
        self.list(key)
            .iter()
            .map(|raw| {
                raw.trim_matches('"').parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("{key} must be an array of integers"))
                })
            })
            .collect()
    }

    /// Whether the JSON body carried `key: null`.
    pub fn is_null(&self, key: &str) -> bool {
        self.nulls.iter().any(|k| k == key)
    }

    /// Whether the key is present (also as `null`).
    pub fn has(&self, key: &str) -> bool {
        self.params.has(key) || self.is_null(key)
    }

    /// An optional integer parameter; 400 when it is not an integer.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.first(key)
            .filter(|raw| !raw.trim().is_empty())
            .map(|raw| parse_int(key, raw))
            .transpose()
    }

    /// The required `company_id`; 400 when missing or not an integer.
    pub fn company_id(&self) -> Result<i64, ApiError> {
        self.int("company_id")?
            .ok_or_else(|| ApiError::bad_request("company_id is required"))
    }
}

fn is_json(headers: &HeaderMap, body: &Bytes) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    match content_type {
        Some(ct) if ct.contains("json") => true,
        Some(ct) if ct.contains("x-www-form-urlencoded") => false,
        _ => body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{'),
    }
}

/// `page` and `per_page` as p2 reads them: page defaults to 1 (below 1 reads as 1), per_page to
/// `default`, silently clamped to `1..=max`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: usize,
    pub per_page: usize,
}

impl Page {
    pub fn read(params: &P2Params, default: usize, max: usize) -> Result<Page, ApiError> {
        let page = params.int("page")?.unwrap_or(1).max(1);
        let per_page = params
            .int("per_page")?
            .unwrap_or(default as i64)
            .clamp(1, max as i64);
        Ok(Page {
            page: usize::try_from(page).unwrap_or(usize::MAX),
            per_page: per_page as usize,
        })
    }

    /// This page's slice of the whole list (empty beyond the end).
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1).saturating_mul(self.per_page);
        if start >= items.len() {
            return &[];
        }
        let end = start.saturating_add(self.per_page).min(items.len());
        &items[start..end]
    }

    /// `{"page","entries_count","per_page"}`
    pub fn meta(&self, entries_count: usize) -> Value {
        serde_json::json!({
            "page": self.page,
            "entries_count": entries_count,
            "per_page": self.per_page,
        })
    }
}
