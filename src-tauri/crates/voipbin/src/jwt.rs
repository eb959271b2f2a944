//! Reading a JWT's expiry (`exp`) without verifying it: only to know when to log in again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a login token lasts when its payload does not say.
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// When the token expires: its `exp` claim if readable, else `issued_at` + 7 days.
pub(crate) fn expiry(token: &str, issued_at: SystemTime) -> SystemTime {
    exp_claim(token)
        .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds))
        .unwrap_or(issued_at + DEFAULT_TOKEN_LIFETIME)
}

fn exp_claim(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = decode_base64url(payload)?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    exp.as_u64()
        .or_else(|| exp.as_f64().filter(|v| *v > 0.0).map(|v| v as u64))
}

/// Decodes unpadded (or padded) base64url.
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.trim_end_matches('=').bytes() {
        bits = (bits << 6) | u32::from(sextet(byte)?);
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            out.push((bits >> bit_count) as u8);
            bits &= (1 << bit_count) - 1;
        }
    }
    Some(out)
}

fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'-' | b'+' => Some(62),
        b'_' | b'/' => Some(63),
        _ => None,
    }
}

/// Builds an unsigned token with the given payload (tests and the sandbox).
#[doc(hidden)]
pub fn unsigned_token(payload_json: &str) -> String {
    format!(
        "{}.{}.sig",
        encode_base64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        encode_base64url(payload_json.as_bytes())
    )
}

fn encode_base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_claim_is_read() {
        let token = unsigned_token(r#"{"agent":{"id":"x"},"exp":1900000000}"#);
        assert_eq!(
            expiry(&token, UNIX_EPOCH),
            UNIX_EPOCH + Duration::from_secs(1_900_000_000)
        );
    }

    #[test]
    fn unreadable_tokens_last_seven_days() {
        let now = SystemTime::now();
        for token in ["opaque", "a.b.c", "a.!!!.c", &unsigned_token(r#"{"x":1}"#)] {
            assert_eq!(expiry(token, now), now + DEFAULT_TOKEN_LIFETIME, "{token}");
        }
    }

    #[test]
    fn base64url_round_trip() {
        for text in ["", "a", "ab", "abc", "abcd", "{\"exp\":1}"] {
            let encoded = encode_base64url(text.as_bytes());
            assert_eq!(decode_base64url(&encoded).unwrap(), text.as_bytes());
        }
    }
}
