//! Tolerant serde helpers for p2 payloads, whose JSON types drift: ids as numbers or numeric
//! strings, booleans as `true`/`1`/`"true"`, text given as numbers, lists given as `null`, times as
//! ISO 8601 strings (with or without fraction and offset) or integer epochs (seconds or
//! milliseconds). Everything but an id degrades to `None` instead of failing the whole payload.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

/// Epoch values at or above this magnitude are milliseconds (10^11 seconds is the year 5138).
const MILLISECOND_THRESHOLD: f64 = 1e11;

/// A required integer id: a JSON number or a numeric string.
pub(crate) fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    integer_from(&value)
        .ok_or_else(|| D::Error::custom(format!("expected an integer id, got {}", kind_of(&value))))
}

/// An optional integer (number, numeric string); anything else is `None`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(integer_from))
}

/// An optional non-negative integer that fits `u32`.
pub(crate) fn opt_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Ok(opt_i64(deserializer)?.and_then(|n| u32::try_from(n).ok()))
}

/// An optional HTTP status (`429` or `"429"`).
pub(crate) fn opt_u16<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    Ok(opt_i64(deserializer)?.and_then(|n| u16::try_from(n).ok()))
}

/// An optional float (number or numeric string).
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    })
}

/// An optional boolean: `true`/`false`, `1`/`0`, `"true"`/`"false"` (also `"1"`, `"yes"`, ...).
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(bool_from))
}

/// A boolean where null, absence and anything unreadable mean `false`.
pub(crate) fn bool_or_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(opt_bool(deserializer)?.unwrap_or(false))
}

/// Optional text: strings as they are, numbers and booleans as their JSON text.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(text)) => Some(text),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => Some(scalar.to_string()),
        _ => None,
    })
}

/// Any JSON value, with `null` as `None`.
pub(crate) fn opt_value<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?.filter(|value| !value.is_null()))
}

/// A list where `null` (or absence, with `#[serde(default)]`) means empty.
pub(crate) fn vec_or_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// An optional time in any supported shape; unreadable values are `None`.
pub(crate) fn opt_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(time_from))
}

/// Reads an integer out of a number (integral floats allowed) or a numeric string.
pub(crate) fn integer_from(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                .map(|f| f as i64)
        }),
        Value::String(text) => {
            let text = text.trim();
            text.parse().ok().or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// Reads a boolean out of a bool, `0`/`1` or a word.
pub(crate) fn bool_from(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => number.as_f64().map(|n| n != 0.0),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "t" => Some(true),
            "false" | "0" | "no" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Reads a time out of an ISO 8601 string or an epoch (number or numeric string).
pub(crate) fn time_from(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(number) => match number.as_i64() {
            Some(whole) => from_whole_epoch(whole),
            None => number.as_f64().and_then(from_epoch),
        },
        Value::String(text) => parse_time(text),
        _ => None,
    }
}

/// Parses an ISO 8601 / RFC 3339 time (`2024-11-11T12:35:57.995Z`, `...+03:00`, `...+0300`,
/// zone-less as UTC, a space instead of `T`, a ` UTC` suffix) or a numeric epoch.
pub(crate) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(whole) = text.parse::<i64>() {
        return from_whole_epoch(whole);
    }
    if let Ok(number) = text.parse::<f64>() {
        return from_epoch(number);
    }
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    const OFFSET_LAYOUTS: [&str; 3] = [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ];
    if let Some(parsed) = OFFSET_LAYOUTS
        .iter()
        .find_map(|layout| DateTime::parse_from_str(text, layout).ok())
    {
        return Some(parsed.with_timezone(&Utc));
    }
    let bare = ["UTC", "GMT", "Z"]
        .iter()
        .find_map(|suffix| text.strip_suffix(suffix))
        .unwrap_or(text)
        .trim_end();
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|layout| NaiveDateTime::parse_from_str(bare, layout).ok())
        .map(|naive| naive.and_utc())
}

/// Whole epoch seconds, or milliseconds for values that would be far in the future as seconds
/// (exact, unlike the float path).
pub(crate) fn from_whole_epoch(value: i64) -> Option<DateTime<Utc>> {
    if value.unsigned_abs() >= MILLISECOND_THRESHOLD as u64 {
        DateTime::from_timestamp_millis(value)
    } else {
        DateTime::from_timestamp(value, 0)
    }
}

/// Epoch seconds, or milliseconds for values that would be far in the future as seconds.
pub(crate) fn from_epoch(value: f64) -> Option<DateTime<Utc>> {
    if !value.is_finite() {
        return None;
    }
    let seconds = if value.abs() >= MILLISECOND_THRESHOLD {
        value / 1000.0
    } else {
        value
    };
    let whole = seconds.floor();
    if whole.abs() > 1e15 {
        return None;
    }
    let nanos = ((seconds - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a non-numeric string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn utc(text: &str) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    #[test]
    fn integers_in_several_shapes() {
        assert_eq!(integer_from(&json!(42)), Some(42));
        assert_eq!(integer_from(&json!("42")), Some(42));
        assert_eq!(integer_from(&json!(" 42 ")), Some(42));
        assert_eq!(integer_from(&json!(42.0)), Some(42));
        assert_eq!(integer_from(&json!("42.0")), Some(42));
        assert_eq!(integer_from(&json!(42.5)), None);
        assert_eq!(integer_from(&json!("abc")), None);
        assert_eq!(integer_from(&json!(null)), None);
        assert_eq!(integer_from(&json!(true)), None);
    }

    #[test]
    fn booleans_in_several_shapes() {
        for yes in [
            json!(true),
            json!(1),
            json!("true"),
            json!("1"),
            json!("TRUE"),
        ] {
            assert_eq!(bool_from(&yes), Some(true), "{yes}");
        }
        for no in [json!(false), json!(0), json!("false"), json!("0")] {
            assert_eq!(bool_from(&no), Some(false), "{no}");
        }
        assert_eq!(bool_from(&json!("maybe")), None);
        assert_eq!(bool_from(&json!(null)), None);
    }

    #[test]
    fn times_in_several_shapes() {
        let exact = utc("2024-11-11T12:35:57.995Z");
        assert_eq!(time_from(&json!("2024-11-11T12:35:57.995Z")), exact);
        assert_eq!(time_from(&json!("2024-11-11T15:35:57.995+03:00")), exact);
        assert_eq!(time_from(&json!("2024-11-11T15:35:57.995+0300")), exact);
        let whole = utc("2024-11-11T12:35:57Z");
        assert_eq!(time_from(&json!("2024-11-11T12:35:57Z")), whole);
        assert_eq!(time_from(&json!("2024-11-11T12:35:57")), whole);
        assert_eq!(time_from(&json!("2024-11-11 12:35:57 UTC")), whole);
        assert_eq!(time_from(&json!(1731328557)), whole);
        assert_eq!(time_from(&json!("1731328557")), whole);
        assert_eq!(time_from(&json!(1731328557995_i64)), exact, "milliseconds");
        assert_eq!(time_from(&json!(null)), None);
        assert_eq!(time_from(&json!("")), None);
        assert_eq!(time_from(&json!("yesterday")), None);
        assert_eq!(time_from(&json!(true)), None);
        assert_eq!(time_from(&json!(1e300)), None);
    }
}
