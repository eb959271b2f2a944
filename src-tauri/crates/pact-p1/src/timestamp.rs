//! Lenient timestamp parsing for Pact payloads: ISO 8601 / RFC 3339 strings, Ruby-style
//! `"2017-11-11 12:45:53 UTC"` strings, integer or float epoch seconds, numeric strings and null.
//!
//! Use with `#[serde(default, deserialize_with = "parley_pact_p1::timestamp::deserialize")]`
//! on an `Option<DateTime<Utc>>` field.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, Visitor};

/// Epoch values at or above this magnitude are taken as milliseconds, not seconds
/// (10^11 seconds would be the year 5138).
const MILLISECOND_THRESHOLD: f64 = 1e11;

/// Zone-less layouts tried after stripping a `UTC`/`GMT`/`Z` suffix (all read as UTC).
const NAIVE_LAYOUTS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];

/// Layouts with a numeric offset that RFC 3339 parsing rejects (`+0300`, space separators).
const OFFSET_LAYOUTS: [&str; 3] = [
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f %z",
];

/// Deserializes an optional timestamp in any supported shape; unparseable strings become `None`.
pub fn deserialize<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(TimestampVisitor {
        zero_is_none: false,
    })
}

/// Like [`deserialize`], but epoch `0` means "never" and becomes `None`
/// (Pact's `last_message_at` / `last_income_message_at`).
pub fn deserialize_zero_as_none<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(TimestampVisitor { zero_is_none: true })
}

/// Parses a timestamp string in any supported textual shape (including numeric epochs).
pub fn parse_str(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(number) = text.parse::<f64>() {
        return from_epoch_seconds(number);
    }
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    parse_with_offset(text).or_else(|| parse_as_utc(text))
}

/// Converts epoch seconds (or milliseconds, for very large values) into a UTC time.
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
    let nanos = ((seconds - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    if whole < i64::MIN as f64 || whole > i64::MAX as f64 {
        return None;
    }
    DateTime::from_timestamp(whole as i64, nanos)
}

fn parse_with_offset(text: &str) -> Option<DateTime<Utc>> {
    OFFSET_LAYOUTS.iter().find_map(|layout| {
        DateTime::parse_from_str(text, layout)
            .ok()
            .map(|parsed| parsed.with_timezone(&Utc))
    })
}

fn parse_as_utc(text: &str) -> Option<DateTime<Utc>> {
    let bare = ["UTC", "GMT", "Z"]
        .iter()
        .find_map(|suffix| text.strip_suffix(suffix))
        .unwrap_or(text)
        .trim_end();
    NAIVE_LAYOUTS.iter().find_map(|layout| {
        NaiveDateTime::parse_from_str(bare, layout)
            .ok()
            .map(|naive| naive.and_utc())
    })
}

struct TimestampVisitor {
    zero_is_none: bool,
}

impl TimestampVisitor {
    fn timestamp_from_number(&self, value: f64) -> Option<DateTime<Utc>> {
        if self.zero_is_none && value == 0.0 {
            return None;
        }
        from_epoch_seconds(value)
    }
}

impl<'de> Visitor<'de> for TimestampVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a timestamp (ISO 8601 string, epoch seconds, or null)")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(self.timestamp_from_number(value as f64))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(self.timestamp_from_number(value as f64))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(self.timestamp_from_number(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        match value.trim().parse::<f64>() {
            Ok(number) => Ok(self.timestamp_from_number(number)),
            Err(_) => Ok(parse_str(value)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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

    #[test]
    fn iso_strings_with_and_without_fraction() {
        assert_eq!(
            at(r#""2017-04-25T18:30:23.076Z""#),
            utc("2017-04-25T18:30:23.076Z")
        );
        assert_eq!(at(r#""2017-04-25T18:30:23Z""#), utc("2017-04-25T18:30:23Z"));
        assert_eq!(
            at(r#""2017-04-25T21:30:23+03:00""#),
            utc("2017-04-25T18:30:23Z")
        );
        assert_eq!(
            at(r#""2017-04-25T21:30:23.5+0300""#),
            utc("2017-04-25T18:30:23.5Z")
        );
        assert_eq!(at(r#""2017-04-25T18:30:23""#), utc("2017-04-25T18:30:23Z"));
    }

    #[test]
    fn ruby_style_utc_strings() {
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
        assert_eq!(at(r#""2017-11-11 12:45:53""#), utc("2017-11-11T12:45:53Z"));
    }

    #[test]
    fn epoch_numbers_and_numeric_strings() {
        let expected = utc("2020-10-19T15:00:00Z");
        assert_eq!(at("1603119600"), expected);
        assert_eq!(at("1603119600.0"), expected);
        assert_eq!(at(r#""1603119600""#), expected);
        assert_eq!(at("1603119600000"), expected, "milliseconds");
        assert_eq!(at("1603119600.25"), utc("2020-10-19T15:00:00.25Z"));
    }

    #[test]
    fn null_absent_empty_and_garbage_are_none() {
        assert_eq!(at("null"), None);
        assert_eq!(at(r#""""#), None);
        assert_eq!(at(r#""not a date""#), None);
        assert_eq!(serde_json::from_str::<Sample>("{}").unwrap().at, None);
        assert!(serde_json::from_str::<Sample>(r#"{"at":true}"#).is_err());
    }

    #[test]
    fn zero_means_never_only_where_asked() {
        assert_eq!(last("0"), None);
        assert_eq!(last(r#""0""#), None);
        assert_eq!(last("null"), None);
        assert_eq!(last("1639030130"), utc("2021-12-09T06:08:50Z"));
        assert_eq!(at("0"), utc("1970-01-01T00:00:00Z"));
    }
}
