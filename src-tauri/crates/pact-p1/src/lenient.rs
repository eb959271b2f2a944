//! Tolerant serde helpers for fields whose JSON type drifts between Pact doc revisions
//! (ids as numbers or numeric strings, booleans as strings, null lists, numbers where text is expected).

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

/// A required integer id given as a JSON number or a numeric string.
pub(crate) fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    integer_from(&value)
        .ok_or_else(|| D::Error::custom(format!("expected an integer id, got {}", kind_of(&value))))
}

/// An optional integer: number, numeric string, null or absent. Other shapes become `None`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.as_ref().and_then(integer_from))
}

/// An optional float: number, numeric string, null or absent.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    })
}

/// An optional boolean: `true`/`false`, `"true"`/`"false"`, `1`/`0`, null or absent.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::Bool(flag)) => Some(flag),
        Some(Value::Number(number)) => number.as_i64().map(|n| n != 0),
        Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// Optional text: strings as they are, numbers and booleans as their JSON text, null as `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::String(text)) => Some(text),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => Some(scalar.to_string()),
        _ => None,
    })
}

/// A list where `null` (or absence, with `#[serde(default)]`) means empty.
pub(crate) fn vec_or_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads an integer out of a number (integral floats allowed) or a numeric string.
pub(crate) fn integer_from(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        }),
        Value::String(text) => text.trim().parse().ok(),
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
    use super::*;

    #[derive(Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "id")]
        id: i64,
        #[serde(default, deserialize_with = "opt_i64")]
        other: Option<i64>,
        #[serde(default, deserialize_with = "opt_bool")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "opt_string")]
        text: Option<String>,
        #[serde(default, deserialize_with = "vec_or_empty")]
        list: Vec<i64>,
    }

    #[test]
    fn accepts_drifting_shapes() {
        let sample: Sample = serde_json::from_str(
            r#"{"id":"42","other":7.0,"flag":"true","text":79250000001,"list":null}"#,
        )
        .unwrap();
        assert_eq!(sample.id, 42);
        assert_eq!(sample.other, Some(7));
        assert_eq!(sample.flag, Some(true));
        assert_eq!(sample.text.as_deref(), Some("79250000001"));
        assert!(sample.list.is_empty());
    }

    #[test]
    fn missing_or_bad_required_id_is_an_error() {
        assert!(serde_json::from_str::<Sample>("{}").is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"id":"abc"}"#).is_err());
    }
}
