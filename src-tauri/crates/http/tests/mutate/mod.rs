//! Hostile variations of documented JSON examples, for the never-panic property tests of every
//! Parley API client (this file is shared: the Pact p1, Pact p2 and VoIPbin tests include it with
//! `#[path]`).
//!
//! A [`Body`] starts as one seed (a fixture, verbatim or re-serialised) and takes a few edits at
//! random nodes: a field removed or set to null, its type swapped (string ↔ number ↔ bool ↔ array ↔
//! object), a huge or odd number (`u64::MAX`, `1e308`, `-0`, `i64::MIN` as text), a nasty string
//! (dates past year 9999, "wait 10^20 seconds", control and bidi characters), a very long string,
//! raw text no `Value` can hold (10 000 or 100 000 nested arrays, `1e400`, lone surrogates,
//! duplicate keys) or a random JSON value or field. Then a few byte edits: truncated at a random
//! byte, invalid UTF-8 spliced in, a byte overwritten. Some bodies are random bytes or random JSON
//! tokens instead.
//!
//! [`bounded`] runs one decode on its own thread with an ordinary 2 MiB stack (what a tokio worker
//! has) and fails the test when it panics or takes longer than [`TIME_LIMIT`]. [`Scripted`] is a
//! raw HTTP/1.1 server on 127.0.0.1 that answers every request with the [`Reply`] set last, for
//! driving the public clients end to end with [`replies`].

#![allow(dead_code)]

use std::fmt;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value};

/// Longest a single decode may take (debug build, busy CI machine).
pub const TIME_LIMIT: Duration = Duration::from_secs(2);

/// Stack of the thread a decode runs on: a tokio worker's default, not the main thread's 8 MiB.
pub const STACK_SIZE: usize = 2 * 1024 * 1024;

/// The proptest configuration: `default_cases` cases unless `PROPTEST_CASES` says otherwise, and no
/// failure files written next to the sources (a found failure becomes a named regression test).
pub fn config(default_cases: u32) -> Config {
    Config {
        cases: cases(default_cases),
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    }
}

/// `PROPTEST_CASES` when set to a number, else `default_cases`.
pub fn cases(default_cases: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default_cases)
}

/// A response body as fed to a decoder. `Debug` shows it as text, shortened, so a failure report
/// stays readable even for a megabyte body.
#[derive(Clone, PartialEq, Eq)]
pub struct Body(pub Vec<u8>);

impl Body {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as text, invalid UTF-8 replaced (what a lossy reader sees).
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEAD: usize = 600;
        const TAIL: usize = 200;
        let text = self.lossy();
        let chars: Vec<char> = text.chars().collect();
        if chars.len() <= HEAD + TAIL {
            write!(f, "Body({} bytes: {text:?})", self.0.len())
        } else {
            let head: String = chars[..HEAD].iter().collect();
            let tail: String = chars[chars.len() - TAIL..].iter().collect();
            write!(
                f,
                "Body({} bytes: {head:?} … {} chars … {tail:?})",
                self.0.len(),
                chars.len() - HEAD - TAIL
            )
        }
    }
}

/// A documented example: its text as published and its JSON value.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The text, verbatim (some doc examples have trailing commas).
    pub text: String,
    /// The JSON value (trailing commas forgiven).
    pub value: Value,
}

impl Seed {
    /// A seed from its text; panics when even the forgiving reading is not JSON.
    pub fn new(text: &str) -> Self {
        let value = serde_json::from_str(&strip_trailing_commas(text))
            .unwrap_or_else(|error| panic!("seed is not JSON ({error}): {text}"));
        Self {
            text: text.to_string(),
            value,
        }
    }

    /// A seed from a value.
    pub fn from_value(value: Value) -> Self {
        Self {
            text: value.to_string(),
            value,
        }
    }

    /// The value serialised, as a valid body.
    pub fn body(&self) -> Body {
        Body(self.value.to_string().into_bytes())
    }
}

/// Seeds read from `dir/<name>` for each name.
pub fn fixture_seeds(dir: &Path, names: &[&str]) -> Vec<Seed> {
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            Seed::new(&text)
        })
        .collect()
}

/// Seeds from inline JSON texts.
pub fn inline_seeds(texts: &[&str]) -> Vec<Seed> {
    texts.iter().map(|text| Seed::new(text)).collect()
}

/// Removes commas that directly precede `}` or `]` outside strings (hand-typed doc examples).
pub fn strip_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        if in_string {
            in_string = c != '"' || escaped;
            escaped = c == '\\' && !escaped;
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = chars[index + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Runs `work` on the body on a fresh thread with a [`STACK_SIZE`] stack and returns its result;
/// panics (failing the property) when `work` panics or does not return within [`TIME_LIMIT`].
pub fn bounded<T, F>(what: &str, body: &Body, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce(Vec<u8>) -> T + Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    let bytes = body.0.clone();
    let worker = std::thread::Builder::new()
        .name(format!("decode {what}"))
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let _ = sender.send(work(bytes));
        })
        .expect("spawn a decode thread");
    match receiver.recv_timeout(TIME_LIMIT) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not return within {TIME_LIMIT:?} for {body:?}")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let reason = match worker.join() {
                Err(payload) => panic_text(payload.as_ref()),
                Ok(()) => "no result".to_string(),
            };
            panic!("{what} panicked ({reason}) for {body:?}")
        }
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".to_string())
}

/// Bodies derived from `seeds` (most of them), random bytes, or random JSON tokens.
pub fn bodies(seeds: Vec<Seed>) -> BoxedStrategy<Body> {
    assert!(!seeds.is_empty(), "no seeds");
    let seeds = Arc::new(seeds);
    let count = seeds.len();
    let mutated = (
        0..count,
        any::<bool>(),
        vec((any::<Index>(), edit()), 0..5),
        prop_oneof![2 => Just(Vec::new()), 1 => vec(byte_edit(), 1..3)],
    )
        .prop_map(move |(seed, verbatim, edits, byte_edits)| {
            mutate(&seeds[seed], verbatim, &edits, &byte_edits)
        });
    prop_oneof![
        14 => mutated,
        1 => vec(any::<u8>(), 0..512).prop_map(Body),
        1 => json_noise(),
    ]
    .boxed()
}

/// Random text made of JSON tokens: most of it is not JSON, all of it exercises the tokenizer.
pub fn json_noise() -> impl Strategy<Value = Body> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\\",
        "\\u",
        "d800",
        "null",
        "true",
        "false",
        "0",
        "-",
        "1",
        "e",
        "E",
        ".",
        "+",
        "\"id\"",
        "\"data\"",
        "\"errors\"",
        "\"type\"",
        " ",
        "\n",
        "\u{0}",
        "\u{feff}",
        "💥",
    ];
    vec(0..TOKENS.len(), 0..120).prop_map(|picks| {
        Body(
            picks
                .iter()
                .map(|&i| TOKENS[i])
                .collect::<String>()
                .into_bytes(),
        )
    })
}

/// One change to one JSON node.
#[derive(Debug, Clone)]
pub enum Edit {
    /// The field (or array item) is removed; at the root, the body becomes empty.
    Remove,
    /// The node becomes `null`.
    Null,
    /// The node's type changes, keeping what can be kept of its content.
    Swap(Kind),
    /// The node becomes one of [`numbers`].
    Number(usize),
    /// The node becomes one of [`NASTY`].
    Text(usize),
    /// The node becomes a long string: one of [`LONG_LENGTHS`] characters of [`LONG_UNITS`].
    Long(usize, usize),
    /// Every run of digits in the node (a string's, or a number's) becomes one of [`DIGIT_RUNS`]:
    /// "wait 50 s" → "wait 99999999999999999999999 s", "2022-06-17" → "2022-4294967296-17".
    Digits(usize),
    /// The node becomes one of the raw texts of [`raw`] (deep nesting, unrepresentable numbers).
    Raw(usize),
    /// The node becomes a random JSON value.
    Any(Value),
    /// A field named after one of [`KEYS`] is added to (or replaced in) the node or its object.
    Add(usize, Value),
}

/// A JSON type to swap to.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string.
    String,
    /// A number.
    Number,
    /// A boolean.
    Bool,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// A change to the serialised bytes.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    /// The body ends before this byte.
    Truncate(Index),
    /// These bytes are spliced in here.
    Insert(Index, Vec<u8>),
    /// This byte replaces the one here.
    Overwrite(Index, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => Just(Edit::Remove),
        2 => Just(Edit::Null),
        3 => prop_oneof![
            Just(Kind::String),
            Just(Kind::Number),
            Just(Kind::Bool),
            Just(Kind::Array),
            Just(Kind::Object),
        ]
        .prop_map(Edit::Swap),
        2 => (0..numbers().len()).prop_map(Edit::Number),
        3 => (0..NASTY.len()).prop_map(Edit::Text),
        1 => (0..LONG_LENGTHS.len(), 0..LONG_UNITS.len()).prop_map(|(l, u)| Edit::Long(l, u)),
        2 => (0..DIGIT_RUNS.len()).prop_map(Edit::Digits),
        2 => (0..RAW_COUNT).prop_map(Edit::Raw),
        1 => json_value().prop_map(Edit::Any),
        2 => (0..KEYS.len(), json_value()).prop_map(|(key, value)| Edit::Add(key, value)),
    ]
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        2 => any::<Index>().prop_map(ByteEdit::Truncate),
        2 => (any::<Index>(), 0..INVALID_UTF8.len())
            .prop_map(|(at, pick)| ByteEdit::Insert(at, INVALID_UTF8[pick].to_vec())),
        1 => (any::<Index>(), vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| ByteEdit::Insert(at, bytes)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Overwrite(at, byte)),
    ]
}

/// Small random JSON values (also odd floats and strings).
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        (0..NASTY.len()).prop_map(|i| Value::String(NASTY[i].to_string())),
        (0..numbers().len()).prop_map(|i| numbers()[i].clone()),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((0..KEYS.len(), inner), 0..4).prop_map(|fields| {
                Value::Object(
                    fields
                        .into_iter()
                        .map(|(key, value)| (KEYS[key].to_string(), value))
                        .collect(),
                )
            }),
        ]
    })
}

/// Numbers that break naive conversions.
pub fn numbers() -> Vec<Value> {
    vec![
        Value::from(u64::MAX),
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(0),
        Value::from(-1),
        Value::from(1),
        Value::from(1e308),
        Value::from(-1e308),
        Value::from(f64::MAX),
        Value::from(f64::MIN_POSITIVE),
        Value::from(5e-324),
        Value::from(-0.0),
        Value::from(0.5),
        Value::from(9_007_199_254_740_993_u64),
        Value::from(1e11),
        Value::from(99_999_999_999_i64),
        Value::from(100_000_000_000_i64),
        Value::from(1e15),
        Value::from(9.2e18),
        Value::from(9.3e18),
        Value::from(1.8e19),
        Value::from(10_000_000_000_000_000_000_u64),
        Value::from(253_402_300_800_i64),
        Value::from(-62_135_596_801_i64),
        Value::from(8.64e15),
        Value::from(8_640_000_000_000_001_i64),
        Value::from(4_294_967_296_i64),
        Value::from(65_536),
        Value::from(429),
        Value::from(-429),
    ]
}

/// Strings that break naive parsers: numbers as text, dates out of range, waits out of range,
/// markup, control and bidi characters, case-mapping oddities.
pub const NASTY: &[&str] = &[
    "",
    " ",
    "\t\n\r",
    "null",
    "true",
    "0",
    "-0",
    "1",
    "-1",
    "00042",
    " 42 ",
    "4.2e1",
    "42.0",
    "42.5",
    "1e300",
    "-1e300",
    "1e400",
    "NaN",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "0x1F",
    "yes",
    "no",
    "TRUE",
    "t",
    "2017-04-25T18:30:23.076Z",
    "2022-06-17 06:06:14.446158",
    "2017-11-11 12:45:53 UTC",
    "9999-01-01 00:00:00.000000",
    "9999-12-31T23:59:59.999999999+23:59",
    "0001-01-01T00:00:00Z",
    "0000-00-00 00:00:00",
    "2022-13-45 99:99:99",
    "2022-02-30T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "262143-12-31T23:59:59Z",
    "-262144-01-01T00:00:00Z",
    "2017-11-11 12:45:53 +9999",
    "2017-11-11 12:45:53 UTC UTC",
    "2017-04-25T18:30:23.00000000000000000000000001Z",
    "2017-04-25T24:00:00Z",
    "2017-04-25T23:59:60Z",
    "Please wait for 50 seconds",
    "Please wait for 1e300 seconds",
    "Please wait for 99999999999999999999999 seconds",
    "wait 18446744073709551616 s",
    "retry in 307445734561825860 minutes",
    "try again in 5124095576030431 hours",
    "wait 1.2.3 s",
    "wait .",
    "wait for ...5 ms",
    "Wait for 5 ms",
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "<!DOCTYPE html>",
    "\u{0}",
    "\u{1b}[31mred",
    "\u{202e}evil\u{202c}",
    "💥🔥",
    "İİİ",
    "ẞ",
    "ﬃ",
    "Ⱥ",
    "a\u{301}",
    "\r\n\r\n",
    "%00",
    "{\"errors\":[]}",
    "Bearer x",
    "00000000-0000-0000-0000-000000000000",
    "conversation_message_created",
    "conversation_updated",
    "conversation_deleted",
    "conversation_account_created",
    "conversation_",
    "message",
    "line",
    "error",
    "failed",
    "NOT DELIVERED",
    "not_delivered",
    "delivered",
    "trying_deliver",
    "ΣΑΣ",
];

/// Field names the decoders look at.
pub const KEYS: &[&str] = &[
    "id",
    "external_id",
    "data",
    "type",
    "status",
    "errors",
    "error",
    "message",
    "detail",
    "title",
    "reason",
    "code",
    "next_page",
    "meta",
    "result",
    "next_page_token",
    "tm_create",
    "tm_update",
    "tm_delete",
    "conversation_id",
    "peer",
    "self",
    "participants",
    "dialog_id",
    "owner_id",
    "exp",
    "token",
    "details",
    "state",
    "message_id",
    "channel",
    "attachments",
    "medias",
    "per_page",
    "entries_count",
    "page",
    "conversation",
    "job",
    "attachment",
    "conversations",
    "messages",
    "companies",
    "waba_templates",
    "waba_template",
    "created_at",
    "income",
    "permission",
    "",
    "\u{0}",
    "ID",
];

/// What runs of digits become.
pub const DIGIT_RUNS: &[&str] = &[
    "0",
    "00",
    "99999999999999999999999",
    "18446744073709551616",
    "9223372036854775808",
    "4294967296",
    "65536",
    "1e300",
    "-1",
    "",
];

/// Lengths of the long strings (characters).
pub const LONG_LENGTHS: &[usize] = &[1_000, 70_000, 300_000];

/// What long strings are made of.
pub const LONG_UNITS: &[&str] = &["a", "é", "\u{0}", " ", "\n", "💥", "9", "<", "\\"];

/// Byte sequences that are not UTF-8 (and a BOM and a NUL, which are but surprise).
pub const INVALID_UTF8: &[&[u8]] = &[
    &[0xFF],
    &[0xFE, 0xFF],
    &[0xC0, 0x80],
    &[0xED, 0xA0, 0x80],
    &[0xF4, 0x90, 0x80, 0x80],
    &[0x80],
    &[0xE2, 0x82],
    &[0xF0, 0x9F, 0x92],
    &[0xEF, 0xBB, 0xBF],
    &[0x00],
];

/// How many raw texts [`raw`] knows.
pub const RAW_COUNT: usize = 32;

/// Raw JSON-ish text no `serde_json::Value` can hold, spliced in where a value was.
pub fn raw(index: usize) -> String {
    let nested = |open: &str, close: &str, depth: usize, inner: &str| {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    };
    match index % RAW_COUNT {
        0 => nested("[", "]", 129, ""),
        1 => nested("[", "]", 10_000, ""),
        2 => nested("{\"a\":", "}", 10_000, "1"),
        3 => "[".repeat(100_000),
        4 => nested("[{\"id\":", "}]", 5_000, "\"x\""),
        5 => "1e400".into(),
        6 => "-1e400".into(),
        7 => "18446744073709551616".into(),
        8 => "-9223372036854775809".into(),
        9 => "9".repeat(400),
        10 => format!("1{}.5", "0".repeat(5_000)),
        11 => "1e-400".into(),
        12 => "-0".into(),
        13 => "-0.0e-0".into(),
        14 => "NaN".into(),
        15 => "Infinity".into(),
        16 => r#""\ud800""#.into(),
        17 => r#""\udc00\ud800x""#.into(),
        18 => r#""\u0000\u001f\u007f""#.into(),
        19 => r#"1,"id":"dup","id":7,"external_id":null,"external_id":1"#.into(),
        20 => format!("\"{}\"", "\\\\".repeat(10_000)),
        21 => format!("[{}1]", "1,".repeat(50_000)),
        22 => {
            let fields: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\":{i}")).collect();
            format!("{{{}}}", fields.join(","))
        }
        23 => "true false".into(),
        24 => String::new(),
        25 => "0x10".into(),
        26 => "01".into(),
        27 => "1.7976931348623157e308".into(),
        28 => "4.9e-324".into(),
        29 => nested("[", "]", 127, "1"),
        30 => nested("[", "]", 128, "1"),
        _ => r#""2022-06-17 06:06:14.4461581234567890123456789""#.into(),
    }
}

/// A step from a node to a child.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

fn collect_paths(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                here.push(Step::At(index));
                collect_paths(item, here, out);
                here.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                here.push(Step::Key(key.clone()));
                collect_paths(item, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |node, step| match step {
        Step::Key(key) => node.get_mut(key.as_str()),
        Step::At(index) => node.get_mut(*index),
    })
}

/// The body made from `seed` with the edits applied.
pub fn mutate(
    seed: &Seed,
    verbatim: bool,
    edits: &[(Index, Edit)],
    byte_edits: &[ByteEdit],
) -> Body {
    let mut bytes = if edits.is_empty() && verbatim {
        seed.text.clone().into_bytes()
    } else {
        let mut value = seed.value.clone();
        let mut raws = Vec::new();
        let mut empty = false;
        for (target, edit) in edits {
            let mut paths = Vec::new();
            collect_paths(&value, &mut Vec::new(), &mut paths);
            let path = &paths[target.index(paths.len())];
            empty |= apply(&mut value, path, edit, &mut raws) && path.is_empty();
        }
        let mut text = if empty {
            String::new()
        } else {
            value.to_string()
        };
        for (index, raw) in raws.iter().enumerate() {
            text = text.replacen(&placeholder(index), raw, 1);
        }
        text.into_bytes()
    };
    for byte_edit in byte_edits {
        match byte_edit {
            ByteEdit::Truncate(at) if !bytes.is_empty() => bytes.truncate(at.index(bytes.len())),
            ByteEdit::Insert(at, inserted) => {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, inserted.iter().copied());
            }
            ByteEdit::Overwrite(at, byte) if !bytes.is_empty() => {
                let at = at.index(bytes.len());
                bytes[at] = *byte;
            }
            _ => {}
        }
    }
    Body(bytes)
}

/// The serialised form of the string that stands for raw text number `index`.
fn placeholder(index: usize) -> String {
    format!("\"@@RAW{index}@@\"")
}

/// Applies one edit at `path`; returns true when it removed the node.
fn apply(root: &mut Value, path: &[Step], edit: &Edit, raws: &mut Vec<String>) -> bool {
    if let Edit::Remove = edit {
        let Some((last, parent_path)) = path.split_last() else {
            *root = Value::Null;
            return true;
        };
        match (node_mut(root, parent_path), last) {
            (Some(Value::Object(map)), Step::Key(key)) => {
                map.remove(key);
            }
            (Some(Value::Array(items)), Step::At(index)) if *index < items.len() => {
                items.remove(*index);
            }
            _ => {}
        }
        return true;
    }
    let Some(node) = node_mut(root, path) else {
        return false;
    };
    match edit {
        Edit::Remove => unreachable!("handled above"),
        Edit::Null => *node = Value::Null,
        Edit::Swap(kind) => *node = swapped(node.take(), *kind),
        Edit::Number(index) => *node = numbers()[*index % numbers().len()].clone(),
        Edit::Text(index) => *node = Value::String(NASTY[*index % NASTY.len()].to_string()),
        Edit::Long(length, unit) => {
            let unit = LONG_UNITS[*unit % LONG_UNITS.len()];
            *node = Value::String(unit.repeat(LONG_LENGTHS[*length % LONG_LENGTHS.len()]));
        }
        Edit::Raw(index) => {
            raws.push(raw(*index));
            *node = Value::String(placeholder(raws.len() - 1).trim_matches('"').to_string());
        }
        Edit::Digits(index) => {
            let run = DIGIT_RUNS[*index % DIGIT_RUNS.len()];
            match node {
                Value::String(text) => *text = replace_digits(text, run),
                Value::Number(number) => {
                    raws.push(replace_digits(&number.to_string(), run));
                    *node =
                        Value::String(placeholder(raws.len() - 1).trim_matches('"').to_string());
                }
                _ => {}
            }
        }
        Edit::Any(value) => *node = value.clone(),
        Edit::Add(key, value) => {
            let key = KEYS[*key % KEYS.len()].to_string();
            match node {
                Value::Object(map) => {
                    map.insert(key, value.clone());
                }
                other => {
                    let mut map = Map::new();
                    map.insert(key, value.clone());
                    map.insert("value".into(), other.take());
                    *other = Value::Object(map);
                }
            }
        }
    }
    false
}

/// `text` with every run of ASCII digits replaced by `run`.
fn replace_digits(text: &str, run: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push_str(run);
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The value as another JSON type, keeping what can be kept.
fn swapped(value: Value, kind: Kind) -> Value {
    match kind {
        Kind::String => match value {
            Value::String(text) => Value::String(format!("{text}{text}")),
            other => Value::String(other.to_string()),
        },
        Kind::Number => match value {
            Value::String(text) => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.trim().parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::from(text.len())),
            Value::Bool(flag) => Value::from(u8::from(flag)),
            Value::Array(items) => Value::from(items.len()),
            Value::Object(map) => Value::from(map.len()),
            Value::Null => Value::from(0),
            Value::Number(number) => match number.as_i64() {
                Some(whole) => Value::from(whole.wrapping_neg().wrapping_sub(1)),
                None => Value::from(-number.as_f64().unwrap_or(0.0)),
            },
        },
        Kind::Bool => Value::Bool(match value {
            Value::Bool(flag) => !flag,
            Value::Null => false,
            Value::Number(number) => number.as_f64() != Some(0.0),
            Value::String(text) => !text.is_empty(),
            Value::Array(items) => !items.is_empty(),
            Value::Object(map) => !map.is_empty(),
        }),
        Kind::Array => match value {
            Value::Array(items) => Value::Array(items.into_iter().rev().collect()),
            other => Value::Array(vec![other]),
        },
        Kind::Object => match value {
            Value::Object(map) => Value::Object(map.into_iter().rev().collect()),
            other => {
                let mut map = Map::new();
                map.insert("value".into(), other);
                Value::Object(map)
            }
        },
    }
}

/// One scripted HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header lines besides `Content-Length` and `Connection`, written as they are (maybe not
    /// valid header values).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Body,
}

impl Reply {
    /// A 200 with a JSON body.
    pub fn ok(body: Body) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), b"application/json".to_vec())],
            body,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.body.0.len()
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body.0);
        out
    }
}

/// Success answers with bodies from `ok_seeds`, and error answers (4xx, 5xx, odd statuses, odd
/// `Content-Type` and `Retry-After`) with bodies from `error_seeds`.
pub fn replies(ok_seeds: Vec<Seed>, error_seeds: Vec<Seed>) -> BoxedStrategy<Reply> {
    let content_type = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "text/html",
            "text/plain",
            "",
            "💥",
        ])
        .prop_map(|ct| Some(ct.as_bytes().to_vec())),
        vec(any::<u8>(), 0..12).prop_map(|mut bytes| {
            bytes.retain(|b| !matches!(b, b'\r' | b'\n'));
            Some(bytes)
        }),
    ];
    let retry_after = prop::option::weighted(
        0.3,
        prop_oneof![
            (0..NASTY.len()).prop_map(|i| NASTY[i].to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("1e300".to_string()),
        ],
    );
    let status = prop_oneof![
        1 => Just(429u16),
        3 => prop::sample::select(vec![
            400u16, 401, 402, 403, 404, 405, 409, 413, 422, 429, 500, 501, 502, 503, 504, 599,
            302, 304, 418,
        ]),
    ];
    let ok = (
        bodies(ok_seeds),
        prop::sample::select(vec![200u16, 200, 200, 201, 202, 204]),
    )
        .prop_map(|(body, status)| Reply {
            status,
            ..Reply::ok(body)
        });
    let failed = (status, bodies(error_seeds), content_type, retry_after).prop_map(
        |(status, body, content_type, retry_after)| {
            let mut headers = Vec::new();
            if let Some(content_type) = content_type {
                headers.push(("Content-Type".to_string(), content_type));
            }
            if let Some(wait) = retry_after {
                headers.push(("Retry-After".to_string(), wait.into_bytes()));
            }
            Reply {
                status,
                headers,
                body,
            }
        },
    );
    prop_oneof![3 => ok, 1 => failed].boxed()
}

/// A raw HTTP/1.1 server on 127.0.0.1 answering every request (after reading it whole) with the
/// reply set last, then closing the connection. WebSocket upgrades are answered the same way.
pub struct Scripted {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    reply: Arc<Mutex<Reply>>,
}

impl Scripted {
    /// Starts the server (inside a tokio runtime).
    pub async fn start() -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let reply = Arc::new(Mutex::new(Reply::ok(Body(b"{}".to_vec()))));
        let shared = reply.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = vec![0u8; 64 * 1024];
                    let read_whole = async {
                        // Where the head ends, once seen (searched in the new bytes only: a
                        // request may carry a megabyte token).
                        let mut head = None;
                        loop {
                            if head.is_none() {
                                let from = request.len().saturating_sub(buffer.len() + 3);
                                head = head_end(&request[from..]).map(|end| from + end);
                            }
                            if let Some(end) = head {
                                if request.len() >= end + content_length(&request[..end]) {
                                    return;
                                }
                            }
                            match socket.read(&mut buffer).await {
                                Ok(read) if read > 0 => request.extend_from_slice(&buffer[..read]),
                                _ => return,
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(5), read_whole).await;
                    let answer = shared.lock().unwrap().bytes();
                    let _ = socket.write_all(&answer).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { url, reply }
    }

    /// What every following request is answered with.
    pub fn answer(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }
}

/// Where the head of an HTTP request ends (after its blank line).
fn head_end(request: &[u8]) -> Option<usize> {
    request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// The request's `Content-Length` (0 when absent).
fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

/// A request budget that never waits and forgets every pause a 429 asks for, so one scripted 429
/// does not hold the next cases back (the clients' own budgets honour it, as they should).
#[derive(Debug, Default)]
pub struct Unlimited;

type Pending<'t, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 't>>;

impl parley_http::RequestBudget for Unlimited {
    fn acquire<'a, 'b, 't>(&'a self, _bucket: &'b parley_http::Bucket) -> Pending<'t, ()>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async {})
    }

    fn time_until_free<'a, 'b, 't>(
        &'a self,
        _bucket: &'b parley_http::Bucket,
    ) -> Pending<'t, Duration>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async { Duration::ZERO })
    }

    fn hold_off<'a, 'b, 't>(
        &'a self,
        _bucket: &'b parley_http::Bucket,
        _wait: Duration,
    ) -> Pending<'t, ()>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async {})
    }

    fn refusals(&self) -> u64 {
        0
    }
}
