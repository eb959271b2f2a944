//! VoIPbin timestamps: `2022-06-17 06:06:14.446158` (UTC, legacy), RFC 3339 (both read by the
//! clients' one parser, [`parley_http::timestamp`]), and the ways of saying "never" (`null`,
//! empty, `9999-01-01 …`, Go's zero time `0001-01-01 …`).

use chrono::{DateTime, Utc};
use parley_http::timestamp::parse_str;

/// A timestamp field, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// A real moment.
    At(DateTime<Utc>),
    /// The event has not happened (`null`, absent, empty or a `9999-01-01` / `0001-01-01` sentinel).
    Never,
    /// A value in no known form.
    Invalid,
}

impl Timestamp {
    /// The moment, if there is one.
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Self::At(moment) => Some(moment),
            Self::Never | Self::Invalid => None,
        }
    }
}

/// Reads an optional raw timestamp as the API sends it.
pub fn parse_optional(raw: Option<&str>) -> Timestamp {
    raw.map_or(Timestamp::Never, parse)
}

/// Reads a raw timestamp as the API sends it, with the clients' one parser
/// ([`parley_http::timestamp::parse_str`]).
pub fn parse(raw: &str) -> Timestamp {
    if raw.trim().is_empty() {
        return Timestamp::Never;
    }
    match parse_str(raw) {
        Some(moment) if is_sentinel(moment) => Timestamp::Never,
        Some(moment) => Timestamp::At(moment),
        None => Timestamp::Invalid,
    }
}

/// Years 9999 and 0001 are used by the server for "not yet" / "unset".
fn is_sentinel(moment: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    moment.year() >= 9999 || moment.year() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
            + chrono::Duration::microseconds(i64::from(micros))
    }

    #[test]
    fn legacy_form_is_utc_with_microseconds() {
        assert_eq!(
            parse("2022-06-17 06:06:14.446158"),
            Timestamp::At(utc(2022, 6, 17, 6, 6, 14, 446_158))
        );
        assert_eq!(
            parse("2022-03-13 15:11:06.497184184")
                .at()
                .unwrap()
                .timestamp(),
            utc(2022, 3, 13, 15, 11, 6, 0).timestamp()
        );
        assert_eq!(
            parse("2022-06-17 06:06:14"),
            Timestamp::At(utc(2022, 6, 17, 6, 6, 14, 0))
        );
    }

    #[test]
    fn rfc3339_forms() {
        let expected = Timestamp::At(utc(2026, 4, 30, 10, 0, 0, 0));
        assert_eq!(parse("2026-04-30T10:00:00.000000Z"), expected);
        assert_eq!(parse("2026-04-30T10:00:00Z"), expected);
        assert_eq!(parse("2026-04-30T12:00:00+02:00"), expected);
        assert_eq!(parse("2026-04-30T10:00:00"), expected);
    }

    #[test]
    fn never_forms() {
        assert_eq!(parse("9999-01-01 00:00:00.000000"), Timestamp::Never);
        assert_eq!(parse("9999-01-01T00:00:00Z"), Timestamp::Never);
        assert_eq!(parse("0001-01-01T00:00:00Z"), Timestamp::Never);
        assert_eq!(parse(""), Timestamp::Never);
        assert_eq!(parse_optional(None), Timestamp::Never);
    }

    #[test]
    fn garbage_is_invalid_not_never() {
        assert_eq!(parse("yesterday"), Timestamp::Invalid);
        assert_eq!(parse("2022-13-45 99:00:00"), Timestamp::Invalid);
        assert_eq!(parse("yesterday").at(), None);
    }
}
