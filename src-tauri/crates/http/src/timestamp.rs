//! The one timestamp parser of the three clients: ISO 8601 / RFC 3339 (`2024-11-11T12:35:57.995Z`,
//! `...+03:00`, `...+0300`, zone-less as UTC), a space for the `T` (VoIPbin's legacy
//! `2022-06-17 06:06:14.446158`, Ruby's `2017-11-11 12:45:53 UTC`), and epochs as numbers or
//! numeric strings, in seconds (whole or fractional) or milliseconds.
//!
//! Use with `#[serde(default, deserialize_with = "parley_http::timestamp::deserialize")]` on an
//! `Option<DateTime<Utc>>` field.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::lenient::integer_from;

/// Epoch values at or above this magnitude are milliseconds (10^11 seconds is the year 5138).
const MILLISECOND_THRESHOLD: f64 = 1e11;

/// Layouts with a numeric offset that RFC 3339 parsing rejects (`+0300`, space separators).
const OFFSET_LAYOUTS: [&str; 3] = [
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f %z",
];

/// Zone-less layouts tried after stripping a `UTC`/`GMT`/`Z` suffix (all read as UTC).
const NAIVE_LAYOUTS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];

/// An optional time in any supported shape; null, absence and unreadable values are `None`.
pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(time_from))
}

/// Like [`deserialize`], but epoch `0` (or `"0"`) means "never" and is `None` (Pact's
/// `last_message_at` / `last_income_message_at`).
pub fn deserialize_zero_as_none<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?
        .as_ref()
        .filter(|value| integer_from(value) != Some(0))
        .and_then(time_from))
}

/// Reads a time out of a string in any supported shape or an epoch number.
pub fn time_from(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(number) => match number.as_i64() {
            Some(whole) => from_whole_epoch(whole),
            None => number.as_f64().and_then(from_epoch_seconds),
        },
        Value::String(text) => parse_str(text),
        _ => None,
    }
}

/// Parses a time's text in any supported shape (a numeric epoch included); `None` when it is in
/// none of them.
pub fn parse_str(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(whole) = text.parse::<i64>() {
        return from_whole_epoch(whole);
    }
    if let Ok(number) = text.parse::<f64>() {
        return from_epoch_seconds(number);
    }
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
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
    NAIVE_LAYOUTS
        .iter()
        .find_map(|layout| NaiveDateTime::parse_from_str(bare, layout).ok())
        .map(|naive| naive.and_utc())
}

/// Whole epoch seconds, or milliseconds for values that would be far in the future as seconds
/// (exact, unlike the float path).
pub fn from_whole_epoch(value: i64) -> Option<DateTime<Utc>> {
    if value.unsigned_abs() >= MILLISECOND_THRESHOLD as u64 {
        DateTime::from_timestamp_millis(value)
    } else {
        DateTime::from_timestamp(value, 0)
    }
}

/// Epoch seconds (fractions kept), or milliseconds for values that would be far in the future as
/// seconds; `None` for values no time can hold.
pub fn from_epoch_seconds(value: f64) -> Option<DateTime<Utc>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Sample {
        #[serde(default, deserialize_with = "deserialize")]
        at: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "deserialize_zero_as_none")]
        last: Option<DateTime<Utc>>,
    }

    fn at(json: &str) -> Option<DateTime<Utc>> {
        serde_json::from_str::<Sample>(&format!(r#"{{"at":{json}}}"#))
            .unwrap()
            .at
    }

    fn last(json: &str) -> Option<DateTime<Utc>> {
        serde_json::from_str::<Sample>(&format!(r#"{{"last":{json}}}"#))
            .unwrap()
            .last
    }

    fn utc(text: &str) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    /// ISO 8601 in every form p1, p2 and VoIPbin sent: fraction or none, `Z`, `+03:00`, `+0300`,
    /// zone-less.
    #[test]
    fn iso_strings() {
        let exact = utc("2024-11-11T12:35:57.995Z");
        assert_eq!(at(r#""2024-11-11T12:35:57.995Z""#), exact);
        assert_eq!(at(r#""2024-11-11T15:35:57.995+03:00""#), exact);
        assert_eq!(at(r#""2024-11-11T15:35:57.995+0300""#), exact);
        let whole = utc("2024-11-11T12:35:57Z");
        assert_eq!(at(r#""2024-11-11T12:35:57Z""#), whole);
        assert_eq!(at(r#""2024-11-11T12:35:57""#), whole);
        assert_eq!(at(r#""2024-11-11T12:35:57.000000Z""#), whole);
    }

    /// A space for the `T`: Ruby's ` UTC` suffix and offsets (Pact), VoIPbin's legacy form with
    /// micro- or nanoseconds.
    #[test]
    fn space_separated_strings() {
        assert_eq!(
            at(r#""2017-11-11 12:45:53 UTC""#),
            utc("2017-11-11T12:45:53Z")
        );
        assert_eq!(
            at(r#""2017-11-11 12:45:53.25 UTC""#),
            utc("2017-11-11T12:45:53.25Z")
        );
        assert_eq!(
            at(r#""2017-11-11 15:45:53 +0300""#),
            utc("2017-11-11T12:45:53Z")
        );
        assert_eq!(
            at(r#""2017-11-11 15:45:53+0300""#),
            utc("2017-11-11T12:45:53Z")
        );
        assert_eq!(at(r#""2017-11-11 12:45:53""#), utc("2017-11-11T12:45:53Z"));
        assert_eq!(
            at(r#""2022-06-17 06:06:14.446158""#),
            utc("2022-06-17T06:06:14.446158Z")
        );
        assert_eq!(
            at(r#""2022-03-13 15:11:06.497184184""#),
            utc("2022-03-13T15:11:06.497184184Z")
        );
        assert_eq!(
            at(r#""9999-01-01 00:00:00.000000""#),
            utc("9999-01-01T00:00:00Z")
        );
    }

    /// Epochs: whole and fractional seconds, milliseconds, as numbers or numeric strings.
    #[test]
    fn epochs() {
        let expected = utc("2020-10-19T15:00:00Z");
        assert_eq!(at("1603119600"), expected);
        assert_eq!(at("1603119600.0"), expected);
        assert_eq!(at(r#""1603119600""#), expected);
        assert_eq!(at(r#""1603119600.0""#), expected);
        assert_eq!(at("1603119600000"), expected, "milliseconds");
        assert_eq!(at("1603119600.25"), utc("2020-10-19T15:00:00.25Z"));
        assert_eq!(
            at("1731328557995"),
            utc("2024-11-11T12:35:57.995Z"),
            "exact milliseconds"
        );
        assert_eq!(at("1e300"), None);
        assert_eq!(from_epoch_seconds(f64::NAN), None);
    }

    #[test]
    fn null_absent_empty_and_garbage_are_none() {
        for none in ["null", r#""""#, r#""  ""#, r#""not a date""#, "true", "[1]"] {
            assert_eq!(at(none), None, "{none}");
        }
        assert_eq!(parse_str("2022-13-45 99:00:00"), None);
        assert_eq!(serde_json::from_str::<Sample>("{}").unwrap().at, None);
    }

    #[test]
    fn zero_means_never_only_where_asked() {
        assert_eq!(last("0"), None);
        assert_eq!(last(r#""0""#), None);
        assert_eq!(last("0.0"), None);
        assert_eq!(last("null"), None);
        assert_eq!(last("1639030130"), utc("2021-12-09T06:08:50Z"));
        assert_eq!(at("0"), utc("1970-01-01T00:00:00Z"));
    }
}
