//! VoIPbin authentication: `POST /auth/login` hands out JWTs with `exp`, and `/v1.0` requests are
//! accepted with `?accesskey=`, `?token=` or `Authorization: Bearer`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use super::VoipbinState;
use crate::state::lock;

/// A token handed out by the login endpoint.
#[derive(Debug, Clone)]
pub struct Issued {
    token: String,
    expires_at: SystemTime,
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Nothing was sent.
    Missing,
    /// Wrong, unknown or expired key or token.
    Invalid,
}

impl VoipbinState {
    /// Checks the credentials and hands out a fresh JWT.
    pub fn login(&self, username: &str, password: &str) -> Option<String> {
        if username != self.username || password != self.password {
            return None;
        }
        let now = SystemTime::now();
        let expires_at = now + self.jwt_lifetime;
        self.logins
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The claims carry the server's clock; whether the token is still good is measured from
        // when it was handed out, so a wrong server clock never cuts a lifetime short here.
        let (customer_id, server_now) = {
            let world = lock(&self.world);
            (world.customer_id.clone(), world.clock.system_now())
        };
        let mut issued = lock(&self.issued);
        let claims = Claims {
            issued_at: server_now,
            expires_at: server_now + self.jwt_lifetime,
            serial: issued.len(),
        };
        let token = jwt(username, &customer_id, &claims);
        issued.push(Issued {
            token: token.clone(),
            expires_at,
        });
        Some(token)
    }

    /// Makes every token handed out so far expired, as if their `exp` had passed.
    pub fn expire_tokens(&self) {
        let now = SystemTime::now();
        for issued in lock(&self.issued).iter_mut() {
            issued.expires_at = issued.expires_at.min(now);
        }
    }

    /// Whether a request's access key or token is good.
    pub fn authenticate(&self, query: Option<&str>, headers: &HeaderMap) -> Result<(), Rejection> {
        let query_value = |name: &str| {
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        if let Some(key) = query_value("accesskey") {
            return (key == self.access_key)
                .then_some(())
                .ok_or(Rejection::Invalid);
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_owned());
        match bearer.or_else(|| query_value("token")) {
            Some(token) if self.token_is_valid(&token) => Ok(()),
            Some(_) => Err(Rejection::Invalid),
            None => Err(Rejection::Missing),
        }
    }

    fn token_is_valid(&self, token: &str) -> bool {
        let now = SystemTime::now();
        lock(&self.issued)
            .iter()
            .any(|issued| issued.token == token && now < issued.expires_at)
    }
}

/// The times and serial number a token's claims carry (times by the server's clock).
struct Claims {
    issued_at: SystemTime,
    expires_at: SystemTime,
    serial: usize,
}

/// A JWT-shaped token: the claims are real, the signature is only a sandbox marker.
fn jwt(username: &str, customer_id: &str, claims: &Claims) -> String {
    let seconds = |at: SystemTime| at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let serial = claims.serial;
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    let claims = json!({
        "username": username,
        "customer_id": customer_id,
        "iat": seconds(claims.issued_at),
        "exp": seconds(claims.expires_at),
        "serial": serial,
    });
    let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let signature = URL_SAFE_NO_PAD.encode(format!("parley-sandbox-{serial}"));
    format!("{}.{}.{signature}", encode(&header), encode(&claims))
}
