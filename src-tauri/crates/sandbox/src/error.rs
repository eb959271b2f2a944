//! Error responses of the p1 API: `{"errors":[{"status","code","title","detail"}]}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answered to a p1 client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
}

impl ApiError {
    /// 400: a parameter is malformed.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            title: "Bad Request",
            detail: detail.into(),
        }
    }

    /// 422: the parameters are well formed but cannot be carried out.
    pub fn unprocessable(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "unprocessable_entity",
            title: "Unprocessable Entity",
            detail: detail.into(),
        }
    }

    /// 404: the company, conversation, job or file does not exist (for this token).
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            title: "Not Found",
            detail: detail.into(),
        }
    }

    /// 401: the token is missing or wrong.
    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            title: "Unauthorized",
            detail: "Invalid API token".to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{
                "status": self.status.as_u16(),
                "code": self.code,
                "title": self.title,
                "detail": self.detail,
            }]
        });
        (self.status, Json(body)).into_response()
    }
}
