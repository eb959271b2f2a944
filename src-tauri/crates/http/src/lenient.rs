//! Tolerant serde helpers for the three clients' payloads, whose JSON types drift between doc
//! revisions and servers: ids as numbers or numeric strings (`42`, `"42"`, `42.0`, `"42.0"`),
//! booleans as `true`/`1`/`"true"`/`"yes"`/`"t"`, floats as numbers or any text Rust reads as one
//! (`"1.5"`, `"NaN"`), text given as numbers, lists given as `null`. Everything but an id degrades
//! to `None` instead of failing the whole payload. Times are read by [`crate::timestamp`].
//!
//! Use with `#[serde(default, deserialize_with = "parley_http::lenient::opt_i64")]`.

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

/// A required integer id: a JSON number or a numeric string.
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    integer_from(&value)
        .ok_or_else(|| D::Error::custom(format!("expected an integer id, got {}", kind_of(&value))))
}

/// An optional integer (number, numeric string); anything else is `None`.
pub fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(integer_from))
}

/// An optional non-negative integer that fits `u64` (all of it, above `i64::MAX` too).
pub fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(number)) if number.is_u64() => number.as_u64(),
        other => other
            .as_ref()
            .and_then(integer_from)
            .and_then(|n| u64::try_from(n).ok()),
    })
}

/// An optional non-negative integer that fits `u32`.
pub fn opt_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Ok(opt_i64(deserializer)?.and_then(|n| u32::try_from(n).ok()))
}

/// An optional HTTP status (`429` or `"429"`).
pub fn opt_u16<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    Ok(opt_i64(deserializer)?.and_then(|n| u16::try_from(n).ok()))
}

/// An optional float: a number, or text Rust reads as one (`"1.5"`, `" 2 "`, `"NaN"`, `"inf"`).
pub fn opt_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(float_from))
}

/// An optional boolean: `true`/`false`, `1`/`0`, `"true"`/`"false"` (also `"1"`, `"yes"`, `"t"`, ...).
pub fn opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(bool_from))
}

/// A boolean where null, absence and anything unreadable mean `false`.
pub fn bool_or_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(opt_bool(deserializer)?.unwrap_or(false))
}

/// Optional text: strings as they are, numbers and booleans as their JSON text.
pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(text)) => Some(text),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => Some(scalar.to_string()),
        _ => None,
    })
}

/// Any JSON value, with `null` as `None`.
pub fn opt_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?.filter(|value| !value.is_null()))
}

/// A list where `null` (or absence, with `#[serde(default)]`) means empty.
pub fn vec_or_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads an integer out of a number or a numeric string; integral floats (`42.0`, `"42.0"`) count.
pub fn integer_from(value: &Value) -> Option<i64> {
    let integral = |f: f64| (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64);
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().and_then(integral)),
        Value::String(text) => {
            let text = text.trim();
            text.parse()
                .ok()
                .or_else(|| text.parse::<f64>().ok().and_then(integral))
        }
        _ => None,
    }
}

/// Reads a float out of a number or a string Rust reads as one.
pub fn float_from(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a boolean out of a bool, a number (zero or not) or a word.
pub fn bool_from(value: &Value) -> Option<bool> {
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

    #[derive(Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "id")]
        id: i64,
        #[serde(default, deserialize_with = "opt_i64")]
        other: Option<i64>,
        #[serde(default, deserialize_with = "opt_u64")]
        count: Option<u64>,
        #[serde(default, deserialize_with = "opt_u16")]
        status: Option<u16>,
        #[serde(default, deserialize_with = "opt_f64")]
        ratio: Option<f64>,
        #[serde(default, deserialize_with = "opt_bool")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "bool_or_false")]
        seen: bool,
        #[serde(default, deserialize_with = "opt_string")]
        text: Option<String>,
        #[serde(default, deserialize_with = "opt_value")]
        data: Option<Value>,
        #[serde(default, deserialize_with = "vec_or_empty")]
        list: Vec<i64>,
    }

    fn sample(json: &str) -> Sample {
        serde_json::from_str(json).unwrap()
    }

    /// Every integer shape any of the three clients accepted: p1's and p2's numbers, numeric
    /// strings and integral floats, p2's integral float strings, VoIPbin's numeric strings.
    #[test]
    fn integers_in_every_shape() {
        for shape in [
            json!(42),
            json!("42"),
            json!(" 42 "),
            json!(42.0),
            json!("42.0"),
        ] {
            assert_eq!(integer_from(&shape), Some(42), "{shape}");
        }
        for not in [
            json!(42.5),
            json!("abc"),
            json!(null),
            json!(true),
            json!(1e300),
        ] {
            assert_eq!(integer_from(&not), None, "{not}");
        }
        assert_eq!(
            sample(r#"{"id":"7","count":"9","status":"429"}"#).count,
            Some(9)
        );
        assert_eq!(sample(r#"{"id":7,"status":"429"}"#).status, Some(429));
        assert_eq!(sample(r#"{"id":7,"count":-1}"#).count, None);
        assert_eq!(
            sample(r#"{"id":7,"count":18446744073709551615}"#).count,
            Some(u64::MAX)
        );
        assert_eq!(sample(r#"{"id":7,"other":"7.0"}"#).other, Some(7));
    }

    /// Floats: numbers, numeric strings, and p1's `"NaN"` (and infinities).
    #[test]
    fn floats_in_every_shape() {
        assert_eq!(float_from(&json!(1.5)), Some(1.5));
        assert_eq!(float_from(&json!(" 1.5 ")), Some(1.5));
        assert_eq!(float_from(&json!(2)), Some(2.0));
        assert!(float_from(&json!("NaN")).is_some_and(f64::is_nan));
        assert_eq!(float_from(&json!("inf")), Some(f64::INFINITY));
        assert_eq!(float_from(&json!("wide")), None);
        assert_eq!(float_from(&json!(null)), None);
        assert!(sample(r#"{"id":1,"ratio":"NaN"}"#).ratio.is_some());
    }

    /// Booleans: p1's and p2's bools, numbers and words, and p2's `"t"`/`"f"` and `1.0`.
    #[test]
    fn booleans_in_every_shape() {
        for yes in [
            json!(true),
            json!(1),
            json!(1.0),
            json!("true"),
            json!("TRUE"),
            json!("1"),
            json!("yes"),
            json!("t"),
        ] {
            assert_eq!(bool_from(&yes), Some(true), "{yes}");
        }
        for no in [
            json!(false),
            json!(0),
            json!("false"),
            json!("0"),
            json!("no"),
            json!(" F "),
        ] {
            assert_eq!(bool_from(&no), Some(false), "{no}");
        }
        assert_eq!(bool_from(&json!("maybe")), None);
        assert_eq!(bool_from(&json!(null)), None);
        assert!(!sample(r#"{"id":1,"seen":"maybe"}"#).seen);
        assert!(sample(r#"{"id":1,"seen":"t"}"#).seen);
    }

    #[test]
    fn text_values_and_lists() {
        let read = sample(r#"{"id":1,"text":79250000001,"data":null,"list":null}"#);
        assert_eq!(read.text.as_deref(), Some("79250000001"));
        assert_eq!(read.data, None);
        assert!(read.list.is_empty());
        assert_eq!(
            sample(r#"{"id":1,"text":true}"#).text.as_deref(),
            Some("true")
        );
        assert_eq!(sample(r#"{"id":1,"text":[1]}"#).text, None);
        assert_eq!(sample(r#"{"id":1,"flag":"yes"}"#).flag, Some(true));
    }

    #[test]
    fn a_missing_or_bad_id_is_an_error() {
        assert!(serde_json::from_str::<Sample>("{}").is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"id":"abc"}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"id":1.5}"#).is_err());
        assert_eq!(sample(r#"{"id":"42.0"}"#).id, 42);
    }
}
