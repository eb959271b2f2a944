//! Request parameters as p1 takes them: query string and form (or JSON) body merged, with
//! repeated keys kept in order (`attachments_ids[]=1&attachments_ids[]=2`).

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use serde_json::Value;

use crate::error::ApiError;

/// Names under which a client may send a token in the query; never treated as a parameter.
const TOKEN_PARAM: &str = "private_api_token";

/// Merged key/value parameters of one request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters of a query string alone.
    pub fn from_query(query: Option<&str>) -> Params {
        let mut params = Params::default();
        params.extend_form(query.unwrap_or("").as_bytes());
        params
    }

    /// Parameters of the query string and the body (urlencoded form or JSON object).
    pub fn from_request(
        query: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Params, ApiError> {
        let mut params = Params::from_query(query);
        if body.is_empty() {
            return Ok(params);
        }
        if is_json(headers) {
            params.extend_json(body)?;
        } else {
            params.extend_form(body);
        }
        Ok(params)
    }

    /// Adds one pair.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }

    /// Adds the pairs of an urlencoded form.
    pub fn extend_form(&mut self, form: &[u8]) {
        for (key, value) in url::form_urlencoded::parse(form) {
            if key != TOKEN_PARAM {
                self.pairs.push((key.into_owned(), value.into_owned()));
            }
        }
    }

    fn extend_json(&mut self, body: &Bytes) -> Result<(), ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::bad_request("JSON body must be an object"));
        };
        for (key, value) in map {
            match value {
                Value::Array(items) => {
                    for item in items {
                        self.push(key.clone(), scalar_text(&item));
                    }
                }
                Value::Null => {}
                other => self.push(key, scalar_text(&other)),
            }
        }
        Ok(())
    }

    /// The first value of a key.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value whose key satisfies the predicate, in request order.
    pub fn all_matching(&self, wanted: impl Fn(&str) -> bool) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| wanted(k))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether the key is present at all.
    pub fn has(&self, key: &str) -> bool {
        self.first(key).is_some()
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

/// Reads a boolean parameter (`true/false/1/0/yes/no`).
pub fn parse_bool(name: &str, raw: &str) -> Result<bool, ApiError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ApiError::bad_request(format!("{name} must be a boolean"))),
    }
}

/// Reads an integer parameter.
pub fn parse_int(name: &str, raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{name} must be an integer")))
}
