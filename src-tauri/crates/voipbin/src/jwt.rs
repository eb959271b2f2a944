//! Reading a JWT's lifetime (`exp` − `iat`) without verifying it: only to know when to log in again.
//! Both claims are the server's clock; the lifetime they span is counted from when the token
//! arrived here, so a server clock far from ours neither renews the token before every request
//! nor keeps it past what the server accepts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// How long a login token lasts when its payload does not say.
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The longest lifetime believed from an `exp` alone: a longer one says the clocks disagree.
const MAX_BELIEVED_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// When the token expires by our clock: `issued_at` (when it arrived here) plus the lifetime the
/// server wrote into it: `exp` − `iat` when it has both (the server's clock alone), else `exp` −
/// our clock when that is believable (positive, at most 30 days), else 7 days. A server that
/// refuses the token earlier makes the client log in again, so a wrong guess costs one login.
/// A lifetime past what a `SystemTime` holds (`exp` near `u64::MAX`) counts as unreadable.
pub(crate) fn expiry(token: &str, issued_at: SystemTime) -> SystemTime {
    lifetime(token, issued_at)
        .and_then(|lifetime| issued_at.checked_add(lifetime))
        .unwrap_or(issued_at + DEFAULT_TOKEN_LIFETIME)
}

fn lifetime(token: &str, arrived: SystemTime) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let bytes = decode_base64url(payload)?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let expires = seconds(claims.get("exp")?)?;
    match claims.get("iat").and_then(seconds) {
        Some(issued) => (expires > issued).then(|| Duration::from_secs(expires - issued)),
        None => {
            let now = arrived.duration_since(UNIX_EPOCH).ok()?.as_secs();
            let left = Duration::from_secs(expires.checked_sub(now)?);
            (!left.is_zero() && left <= MAX_BELIEVED_LIFETIME).then_some(left)
        }
    }
}

fn seconds(claim: &serde_json::Value) -> Option<u64> {
    claim.as_u64().or_else(|| {
        claim
            .as_f64()
            .filter(|v| *v > 0.0 && v.is_finite())
            .map(|v| v as u64)
    })
}

/// base64url as JWTs carry it: unpadded when written; padded or not, trailing bits allowed, when read.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64url, padded or not; the standard alphabet's `+` and `/` are read too.
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    BASE64URL
        .decode(text.replace('+', "-").replace('/', "_"))
        .ok()
}

/// Builds an unsigned token with the given payload (tests and the sandbox).
#[doc(hidden)]
pub fn unsigned_token(payload_json: &str) -> String {
    format!(
        "{}.{}.sig",
        BASE64URL.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        BASE64URL.encode(payload_json.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_is_the_servers_exp_minus_iat_from_our_arrival() {
        let week = 7 * 24 * 3600;
        let token = unsigned_token(&format!(
            r#"{{"agent":{{"id":"x"}},"iat":1000,"exp":{}}}"#,
            1000 + week
        ));
        let arrived = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        assert_eq!(expiry(&token, arrived), arrived + Duration::from_secs(week));
        // A server a year behind or ahead of us: the same lifetime, counted from arrival.
        for server_now in [
            1_900_000_000u64 - 365 * 86_400,
            1_900_000_000 + 365 * 86_400,
        ] {
            let token = unsigned_token(&format!(
                r#"{{"iat":{server_now},"exp":{}}}"#,
                server_now + 3600
            ));
            assert_eq!(expiry(&token, arrived), arrived + Duration::from_secs(3600));
        }
    }

    #[test]
    fn an_exp_alone_is_believed_only_when_the_clocks_roughly_agree() {
        let arrived = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let in_an_hour = unsigned_token(r#"{"exp":1900003600}"#);
        assert_eq!(
            expiry(&in_an_hour, arrived),
            arrived + Duration::from_secs(3600)
        );
        let year = 365 * 86_400;
        for exp in [1_900_000_000 - year, 1_900_000_000 + year] {
            let token = unsigned_token(&format!(r#"{{"exp":{exp}}}"#));
            assert_eq!(
                expiry(&token, arrived),
                arrived + DEFAULT_TOKEN_LIFETIME,
                "{exp}"
            );
        }
    }

    #[test]
    fn payloads_padded_or_not_in_either_alphabet_are_read() {
        // Bytes whose base64 holds `/` and `+` in the standard alphabet, `_` and `-` in base64url.
        let json: &[u8] = &[0xff, 0xfe, 0xfb, 0xef, 0x3e];
        let url = BASE64URL.encode(json);
        assert!(url.contains('_'), "{url}");
        let standard = url.replace('_', "/").replace('-', "+");
        let padded = format!("{url}{}", "=".repeat((4 - url.len() % 4) % 4));
        for payload in [url.as_str(), standard.as_str(), padded.as_str()] {
            assert_eq!(
                decode_base64url(payload).as_deref(),
                Some(json),
                "{payload}"
            );
        }
        assert_eq!(decode_base64url("!!!"), None);
    }

    #[test]
    fn unreadable_tokens_last_seven_days() {
        let now = SystemTime::now();
        for token in [
            "opaque",
            "a.b.c",
            "a.!!!.c",
            &unsigned_token(r#"{"x":1}"#),
            &unsigned_token(r#"{"iat":5,"exp":5}"#),
        ] {
            assert_eq!(expiry(token, now), now + DEFAULT_TOKEN_LIFETIME, "{token}");
        }
    }

    #[test]
    fn base64url_round_trip() {
        for text in ["", "a", "ab", "abc", "abcd", "{\"exp\":1}"] {
            let encoded = BASE64URL.encode(text.as_bytes());
            assert_eq!(decode_base64url(&encoded).unwrap(), text.as_bytes());
        }
    }
}
