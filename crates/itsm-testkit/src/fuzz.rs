//! Property-test support for inbound parsers (feature `proptest`): the [`config`] every
//! property test of the workspace runs with, and strategies for hostile input: arbitrary
//! bytes, JSON-looking text, arbitrary JSON, and valid payloads (JSON or TOML) mutated the
//! ways a broken or malicious sender would mutate them.
//!
//! ```
//! use itsm_testkit::fuzz;
//! use proptest::test_runner::TestRunner;
//! use serde_json::json;
//!
//! let mut runner = TestRunner::new(fuzz::config(32));
//! let base = json!({"status": "firing", "labels": {"service": "checkout"}});
//! runner
//!     .run(&fuzz::mutated_json(base), |value| {
//!         // The parser under test reads `value` here and must not panic.
//!         let _ = value.get("status");
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

use std::fmt::Debug;

use itsm_core::ErrorKind;
use itsm_incident::SyncEvent;
use itsm_incident::inbound::webhook::{WebhookDelivery, WebhookRejection};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use proptest::test_runner::{Config, RngSeed};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

/// The seed of every run unless `PROPTEST_RNG_SEED` is set, so that CI explores the same
/// cases every time and a failure reproduces.
pub const DEFAULT_SEED: u64 = 0x0010_0005_1775_2026;

/// Names [`unknown_field_name`] generates all start with this; no inbound format of the
/// workspace has a field of that name.
pub const UNKNOWN_FIELD_PREFIX: &str = "x_unknown_";

/// The runner configuration: `cases` cases unless `PROPTEST_CASES` says otherwise, the
/// fixed [`DEFAULT_SEED`] unless `PROPTEST_RNG_SEED` says otherwise, and no failure
/// persistence files (a failure prints its minimal input; nothing is written into the repo).
pub fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(DEFAULT_SEED);
    }
    config.failure_persistence = None;
    config
}

/// Arbitrary bytes, up to `max_len` of them.
pub fn arbitrary_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max_len)
}

/// Tokens of JSON, odd numbers and escapes among them.
const JSON_TOKENS: [&str; 27] = [
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e999",
    "-1e-999",
    "18446744073709551616",
    "1.5",
    "\\",
    "\\u0000",
    "\"\\ud800\"",
    "\"\"",
    " ",
    "\n",
    "\u{feff}",
    "\"alerts\"",
    "\"event\"",
    "\"status\"",
    "\"firing\"",
];

/// Text made of JSON tokens in any order (braces, quotes, escapes, huge and odd numbers,
/// keywords, lone surrogates): it reaches deeper into a JSON parser than random bytes do.
pub fn json_like_text(max_tokens: usize) -> impl Strategy<Value = String> {
    let token = prop_oneof![
        select(JSON_TOKENS.to_vec()).prop_map(str::to_owned),
        "[a-z_]{1,8}".prop_map(|s| format!("\"{s}\"")),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    vec(token, 0..=max_tokens).prop_map(|tokens| tokens.concat())
}

/// An arbitrary JSON value, at most three levels deep.
pub fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-zA-Z_]{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A field name no inbound format knows: [`UNKNOWN_FIELD_PREFIX`] and a few characters.
pub fn unknown_field_name() -> impl Strategy<Value = String> {
    "[a-z0-9_]{1,12}".prop_map(|s| format!("{UNKNOWN_FIELD_PREFIX}{s}"))
}

/// One change to a JSON document, at one place in it.
#[derive(Debug, Clone)]
enum JsonEdit {
    /// Drop the field or array element.
    Remove,
    /// Put an arbitrary value there.
    Replace(Value),
    /// Keep the content, change the JSON type (`"6"` <-> `6`, object <-> array...).
    ChangeType,
    /// Empty it (`""`, `[]`, `{}`, `0`, `null`).
    Empty,
    /// Add a field (objects) or an element (arrays) with an arbitrary value.
    Insert(String, Value),
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        3 => Just(JsonEdit::Remove),
        3 => arbitrary_json().prop_map(JsonEdit::Replace),
        3 => Just(JsonEdit::ChangeType),
        2 => Just(JsonEdit::Empty),
        1 => (unknown_field_name(), arbitrary_json()).prop_map(|(k, v)| JsonEdit::Insert(k, v)),
    ]
}

/// `base` with one to three edits, each at a place of the original document: a field or
/// element dropped, replaced by an arbitrary value, changed to another JSON type, emptied,
/// or given an extra field. Most results are no longer valid payloads.
pub fn mutated_json(base: Value) -> impl Strategy<Value = Value> {
    let places = pointers(&base);
    vec((select(places), json_edit()), 1..=3).prop_map(move |edits| {
        let mut value = base.clone();
        for (pointer, edit) in edits {
            apply(&mut value, &pointer, edit);
        }
        value
    })
}

/// `base` with one to three fields of arbitrary values and [unknown
/// names](unknown_field_name) added to the objects at the JSON pointers `at` (`""` is the
/// root). A tolerant parser reads the result as it reads `base`.
///
/// # Panics
///
/// When `at` is empty or names a place that is not an object of `base` (a test's mistake).
pub fn with_unknown_fields(base: Value, at: &[&str]) -> impl Strategy<Value = Value> + use<> {
    assert!(!at.is_empty(), "with_unknown_fields needs a place");
    for pointer in at {
        assert!(
            base.pointer(pointer).is_some_and(Value::is_object),
            "{pointer:?} is not an object of the base document"
        );
    }
    let at: Vec<String> = at.iter().map(|p| (*p).to_owned()).collect();
    vec((select(at), unknown_field_name(), arbitrary_json()), 1..=3).prop_map(move |fields| {
        let mut value = base.clone();
        for (pointer, name, field) in fields {
            if let Some(Value::Object(object)) = value.pointer_mut(&pointer) {
                object.insert(name, field);
            }
        }
        value
    })
}

/// One change to a byte string.
#[derive(Debug, Clone)]
enum ByteEdit {
    /// Cut everything from here on.
    Truncate(Index),
    /// Flip one bit.
    FlipBit(Index, u8),
    /// Overwrite one byte.
    Set(Index, u8),
    /// Insert one byte.
    Insert(Index, u8),
    /// Delete one byte.
    Delete(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, bit)| ByteEdit::FlipBit(i, bit)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        2 => any::<Index>().prop_map(ByteEdit::Delete),
    ]
}

/// `base` with one to four byte-level edits: truncated, a bit flipped, a byte overwritten,
/// inserted or deleted.
pub fn mutated_bytes(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    vec(byte_edit(), 1..=4).prop_map(move |edits| {
        let mut bytes = base.clone();
        for edit in edits {
            edit_bytes(&mut bytes, edit);
        }
        bytes
    })
}

fn edit_bytes(bytes: &mut Vec<u8>, edit: ByteEdit) {
    let len = bytes.len();
    match edit {
        ByteEdit::Truncate(at) => bytes.truncate(at.index(len + 1)),
        ByteEdit::Insert(at, byte) => bytes.insert(at.index(len + 1), byte),
        ByteEdit::FlipBit(..) | ByteEdit::Set(..) | ByteEdit::Delete(_) if len == 0 => {}
        ByteEdit::FlipBit(at, bit) => bytes[at.index(len)] ^= 1 << bit,
        ByteEdit::Set(at, byte) => bytes[at.index(len)] = byte,
        ByteEdit::Delete(at) => {
            bytes.remove(at.index(len));
        }
    }
}

/// One change to a TOML document, line by line.
#[derive(Debug, Clone)]
enum TomlEdit {
    /// Drop a line.
    DeleteLine(Index),
    /// Repeat a line (a duplicate key or table).
    DuplicateLine(Index),
    /// Give the key of a `key = value` line another value (often of another type).
    ReplaceValue(Index, String),
    /// Add a line of TOML-looking text.
    InsertLine(Index, String),
    /// Cut the text (at a character boundary).
    Truncate(Index),
}

/// TOML values of every type and some that are not TOML.
const TOML_VALUES: [&str; 21] = [
    "1",
    "-1",
    "0",
    "4294967296",
    "18446744073709551616",
    "1.5",
    "nan",
    "inf",
    "true",
    "\"\"",
    "\" \"",
    "[]",
    "{}",
    "[1, \"a\"]",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "\"not a url\"",
    "\"http://\"",
    "'''x'''",
    "\"\\u0000\"",
    "\"",
];

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        select(TOML_VALUES.to_vec()).prop_map(str::to_owned),
        "[a-z0-9 ._:/-]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn toml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (unknown_field_name(), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        "[a-z_.]{1,12}".prop_map(|t| format!("[{t}]")),
        "[a-z_.]{1,12}".prop_map(|t| format!("[[{t}]]")),
        ".{0,24}",
    ]
}

fn toml_edit() -> impl Strategy<Value = TomlEdit> {
    prop_oneof![
        2 => any::<Index>().prop_map(TomlEdit::DeleteLine),
        1 => any::<Index>().prop_map(TomlEdit::DuplicateLine),
        4 => (any::<Index>(), toml_value()).prop_map(|(i, v)| TomlEdit::ReplaceValue(i, v)),
        2 => (any::<Index>(), toml_line()).prop_map(|(i, l)| TomlEdit::InsertLine(i, l)),
        1 => any::<Index>().prop_map(TomlEdit::Truncate),
    ]
}

/// `base` (TOML text) with one to three line edits: a line dropped or repeated, a value
/// replaced by one of another type or shape, a line of TOML-looking text added, or the text
/// cut short.
pub fn mutated_toml(base: &str) -> impl Strategy<Value = String> + use<> {
    let base = base.to_owned();
    vec(toml_edit(), 1..=3).prop_map(move |edits| {
        let mut lines: Vec<String> = base.lines().map(str::to_owned).collect();
        for edit in edits {
            edit_lines(&mut lines, edit);
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    })
}

fn edit_lines(lines: &mut Vec<String>, edit: TomlEdit) {
    let len = lines.len();
    match edit {
        TomlEdit::InsertLine(at, line) => lines.insert(at.index(len + 1), line),
        _ if len == 0 => {}
        TomlEdit::DeleteLine(at) => {
            lines.remove(at.index(len));
        }
        TomlEdit::DuplicateLine(at) => {
            let i = at.index(len);
            let line = lines[i].clone();
            lines.insert(i, line);
        }
        TomlEdit::ReplaceValue(at, value) => {
            let line = &mut lines[at.index(len)];
            if let Some((key, _)) = line.split_once('=') {
                *line = format!("{key}= {value}");
            }
        }
        TomlEdit::Truncate(at) => {
            let i = at.index(len);
            let line = &mut lines[i];
            let mut cut = at.index(line.len() + 1);
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            lines.truncate(i + 1);
        }
    }
}

/// Every place in `value` as a JSON pointer, the root (`""`) first.
fn pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, String::new(), &mut out);
    out
}

fn collect(value: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let token = key.replace('~', "~0").replace('/', "~1");
                collect(child, format!("{here}/{token}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Applies `edit` at `pointer`; a place an earlier edit removed is left alone.
fn apply(root: &mut Value, pointer: &str, edit: JsonEdit) {
    if let JsonEdit::Remove = edit {
        remove(root, pointer);
        return;
    }
    let Some(target) = root.pointer_mut(pointer) else {
        return;
    };
    match edit {
        JsonEdit::Remove => {}
        JsonEdit::Replace(value) => *target = value,
        JsonEdit::ChangeType => *target = retyped(target),
        JsonEdit::Empty => *target = emptied(target),
        JsonEdit::Insert(name, value) => match target {
            Value::Object(map) => {
                map.insert(name, value);
            }
            Value::Array(items) => items.push(value),
            other => *other = value,
        },
    }
}

fn remove(root: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        // The root itself: nothing is left.
        *root = Value::Null;
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match root.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// The same content as another JSON type.
fn retyped(value: &Value) -> Value {
    match value {
        Value::Null => Value::Bool(false),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::Array(vec![Value::String(s.clone())]),
        },
        Value::Array(items) => Value::Object(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect::<Map<String, Value>>(),
        ),
        Value::Object(map) => Value::Array(map.values().cloned().collect()),
    }
}

fn emptied(value: &Value) -> Value {
    match value {
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Object(_) => Value::Object(Map::new()),
        Value::Number(_) => Value::Number(Number::from(0)),
        Value::Null | Value::Bool(_) => Value::Null,
    }
}

/// The property every configuration table read from TOML text holds (`[servicenow]`,
/// `[jira]`, `[pagerduty]`): text TOML refuses is refused with a message; a table it reads
/// never shows `secret` in its `Debug` output; what `validate` refuses is an
/// [`ErrorKind::Config`] error with a message that does not show `secret` either.
///
/// # Errors
///
/// A [`TestCaseError`] naming the broken part of the property.
pub fn check_config<T: DeserializeOwned + Debug>(
    text: &str,
    secret: &str,
    validate: impl Fn(&T) -> itsm_core::Result<()>,
) -> Result<(), TestCaseError> {
    match toml::from_str::<T>(text) {
        Ok(config) => {
            let shown = format!("{config:?}");
            prop_assert!(!shown.contains(secret), "{}", shown);
            if let Err(e) = validate(&config) {
                prop_assert_eq!(e.kind(), ErrorKind::Config, "{}", e);
                prop_assert!(!e.message().trim().is_empty());
                prop_assert!(!e.to_string().contains(secret), "{}", e);
            }
        }
        Err(e) => prop_assert!(!e.message().trim().is_empty()),
    }
    Ok(())
}

/// `base` with `key = 1` added: at the top when `table` is empty, else as the first line
/// of `table`, a header (`[fields]`, `[[change.templates]]`) as it stands on a line of its
/// own in `base`.
pub fn with_unknown_key(base: &str, table: &str, key: &str) -> String {
    if table.is_empty() {
        format!("{key} = 1\n{base}")
    } else {
        base.replacen(
            &format!("\n{table}\n"),
            &format!("\n{table}\n{key} = 1\n"),
            1,
        )
    }
}

/// The property of an unknown key: `base` with `key = 1` added to `table` (see
/// [`with_unknown_key`]) is refused by TOML with a message naming `key`.
///
/// # Errors
///
/// A [`TestCaseError`] when the key could not be placed or the text was not refused by
/// name.
pub fn check_unknown_key<T: DeserializeOwned + Debug>(
    base: &str,
    table: &str,
    key: &str,
) -> Result<(), TestCaseError> {
    let text = with_unknown_key(base, table, key);
    prop_assert_ne!(
        &text,
        base,
        "table {:?} is not a line of the base table",
        table
    );
    let e = toml::from_str::<T>(&text).err();
    prop_assert!(
        e.as_ref().is_some_and(|e| e.message().contains(key)),
        "{:?}",
        e
    );
    Ok(())
}

/// The property every webhook source's parse holds: an accepted delivery has an id, and
/// each of its events carries that id as a prefix and passes `identifies` (it names the
/// record it is about, by key or page); a refusal is [`WebhookRejection::Malformed`] (400)
/// with a reason.
///
/// # Errors
///
/// A [`TestCaseError`] naming the broken part of the property.
pub fn check_delivery(
    parsed: &Result<WebhookDelivery, WebhookRejection>,
    identifies: impl Fn(&SyncEvent) -> bool,
) -> Result<(), TestCaseError> {
    match parsed {
        Ok(delivery) => {
            prop_assert!(!delivery.delivery_id.trim().is_empty());
            for event in &delivery.events {
                prop_assert!(event.delivery_id.starts_with(&delivery.delivery_id));
                prop_assert!(identifies(event), "{:?}", event);
            }
        }
        Err(rejection) => {
            prop_assert!(
                matches!(rejection, WebhookRejection::Malformed(_)),
                "{}",
                rejection
            );
            prop_assert_eq!(rejection.status(), 400);
            prop_assert!(!rejection.reason().trim().is_empty());
        }
    }
    Ok(())
}

/// A refusal for authenticity: [`WebhookRejection::Unauthorized`] (401) with a reason that
/// does not show `secret`.
///
/// # Errors
///
/// A [`TestCaseError`] naming the broken part of the property.
pub fn check_unauthorized(rejection: &WebhookRejection, secret: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(rejection, WebhookRejection::Unauthorized(_)),
        "{}",
        rejection
    );
    prop_assert_eq!(rejection.status(), 401);
    prop_assert!(!rejection.reason().trim().is_empty());
    prop_assert!(!rejection.reason().contains(secret), "{}", rejection);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::TestRunner;
    use serde_json::json;
    use std::cell::Cell;

    #[test]
    fn pointers_reach_every_place_and_escape_keys() {
        let value = json!({"a": [1, {"b/c": 2}], "d~": null});
        assert_eq!(
            pointers(&value),
            ["", "/a", "/a/0", "/a/1", "/a/1/b~1c", "/d~0"]
        );
        let mut removed = value.clone();
        remove(&mut removed, "/a/1/b~1c");
        remove(&mut removed, "/d~0");
        assert_eq!(removed, json!({"a": [1, {}]}));
    }

    #[test]
    fn edits_change_what_they_say() {
        assert_eq!(retyped(&json!("6")), json!(6));
        assert_eq!(retyped(&json!(6)), json!("6"));
        assert_eq!(retyped(&json!({"k": 1})), json!([1]));
        assert_eq!(emptied(&json!("text")), json!(""));
        assert_eq!(emptied(&json!({"k": 1})), json!({}));
    }

    #[test]
    fn mutations_differ_from_the_base_and_unknown_fields_are_added() {
        let base = json!({"status": "firing", "labels": {"service": "checkout"}});
        // A runner counts its passed cases across runs: one runner per run.
        let runner = || TestRunner::new(config(64));
        let changed = Cell::new(0);
        let count = |changed_now: bool| changed.set(changed.get() + usize::from(changed_now));
        runner()
            .run(&mutated_json(base.clone()), |value| {
                count(value != base);
                Ok(())
            })
            .unwrap();
        let toml = "a = 1\n[t]\nb = \"x\"\n";
        runner()
            .run(&mutated_toml(toml), |text| {
                count(text != toml);
                Ok(())
            })
            .unwrap();
        let bytes = b"{\"k\": [1, 2]}".to_vec();
        runner()
            .run(&mutated_bytes(bytes.clone()), |mutated| {
                prop_assert!(mutated.len() <= bytes.len() + 4);
                count(mutated != bytes);
                Ok(())
            })
            .unwrap();
        assert!(
            changed.get() > 3 * 32,
            "only {} of 192 mutations changed their base",
            changed.get()
        );
        runner()
            .run(
                &with_unknown_fields(base.clone(), &["", "/labels"]),
                |value| {
                    let extra = value.as_object().unwrap().len() - 2
                        + value["labels"].as_object().unwrap().len()
                        - 1;
                    prop_assert!(extra >= 1, "{value}");
                    prop_assert_eq!(&value["status"], &base["status"]);
                    Ok(())
                },
            )
            .unwrap();
    }

    #[test]
    fn config_is_deterministic_and_writes_nothing() {
        let config = config(17);
        assert!(config.failure_persistence.is_none());
        if std::env::var_os("PROPTEST_CASES").is_none() {
            assert_eq!(config.cases, 17);
        }
        if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
            assert_eq!(config.rng_seed, RngSeed::Fixed(DEFAULT_SEED));
        }
    }
}
