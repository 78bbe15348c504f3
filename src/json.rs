//! The document tree the inventory reader validates (R-INV-1), borrowed from the text it was
//! read from.
//!
//! Reading JSON into `serde_json::Value` allocated every key and every string, and hashed every
//! key into an ordered map: for the 4.4 MB cluster-maximum inventory that tree took longer to
//! build than the whole validation. A [`Node`] borrows its strings from the text (only a string
//! holding an escape is decoded into its own buffer), keeps an object's entries in a list in
//! document order, and keeps numbers as `serde_json::Number` (so they read, print and compare
//! exactly as before). The JSON syntax is still serde_json's (its errors, positions, recursion
//! limit and number rules), through a visitor that builds this tree and refuses a repeated key.
//!
//! YAML documents and Python data arrive as `serde_json::Value`; [`Node::from_value`] borrows a
//! `Node` view of them, so every front end feeds the one validator in `parse.rs`.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::Result;

/// One value of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Object<'a>),
}

/// An object: its entries in document order, each key once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Node<'a>)>,
    /// Key → position, for an object of more than [`Object::SMALL`] keys (the few objects with
    /// that many: a lookup in them must not cost a scan, or reading would be quadratic).
    index: Option<Box<HashMap<Box<str>, usize>>>,
}

impl<'a> Object<'a> {
    /// Largest object whose keys are found by scanning its entries.
    pub const SMALL: usize = 32;

    /// The entries in document order.
    pub fn entries(&self) -> &[(Cow<'a, str>, Node<'a>)] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `key` is among the entries.
    pub fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.position(key).and_then(|i| self.entries.get(i)).map(|(_, v)| v)
    }

    /// A mutable reference to the value under `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node<'a>> {
        let i = self.position(key)?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| &**k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> + '_ {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// An object of these entries, whose keys the caller has checked are distinct.
    fn from_distinct(entries: Vec<(Cow<'a, str>, Node<'a>)>) -> Self {
        let index = (entries.len() > Self::SMALL)
            .then(|| Box::new(entries.iter().enumerate().map(|(i, (k, _))| (Box::from(&**k), i)).collect()));
        Object { entries, index }
    }
}

impl<'a> Node<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Node::Array(_))
    }
    pub fn is_string(&self) -> bool {
        matches!(self, Node::String(_))
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&Vec<Node<'a>>> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(n) => n.as_u64(),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Node::Number(n) => n.as_i64(),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    /// The value under `key` when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(o) => o.get(key),
            _ => None,
        }
    }

    /// How the value's type reads in messages ("a number", "a list", …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::String(_) => "a string",
            Node::Array(_) => "a list",
            Node::Object(_) => "an object",
        }
    }

    /// A view of a decoded value tree (YAML, Python data), borrowing its strings. The tree's
    /// depth is bounded by its front end (128 levels for YAML, 64 from Python). The lists of the
    /// view are allocated fallibly: out of memory is an error, never an abort.
    pub fn from_value(v: &'a Value) -> Result<Node<'a>> {
        Ok(match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(Cow::Borrowed(s)),
            Value::Array(items) => {
                let mut out = crate::mem::try_with_capacity(items.len(), "reading the document")?;
                for item in items {
                    out.push(Node::from_value(item)?);
                }
                Node::Array(out)
            }
            Value::Object(map) => {
                let mut out = crate::mem::try_with_capacity(map.len(), "reading the document")?;
                for (k, item) in map {
                    out.push((Cow::Borrowed(k.as_str()), Node::from_value(item)?));
                }
                // A map's keys are distinct.
                Node::Object(Object::from_distinct(out))
            }
        })
    }

    /// The same document as a `serde_json::Value` (for readers that keep one, such as the
    /// scenario reader).
    pub fn into_value(self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Number(n) => Value::Number(n),
            Node::String(s) => Value::String(s.into_owned()),
            Node::Array(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            Node::Object(o) => {
                let mut map = Map::with_capacity(o.entries.len());
                map.extend(o.entries.into_iter().map(|(k, v)| (k.into_owned(), v.into_value())));
                Value::Object(map)
            }
        }
    }
}

/// The message of the decoder error that stands for a failed reservation.
pub(crate) const OUT_OF_MEMORY: &str = "out of memory (hapolicy)";

/// Whether a decoder error stands for a failed reservation ([`OUT_OF_MEMORY`]).
pub(crate) fn is_out_of_memory(e: &serde_json::Error) -> bool {
    e.to_string().starts_with(OUT_OF_MEMORY)
}

/// Reads JSON text into a tree borrowing from it. serde_json's errors come back as they are
/// (the caller adds the position); a key repeated in one object is refused where it is read
/// (plain serde_json would keep the last one silently), and a list or object whose buffer
/// cannot grow is the error [`OUT_OF_MEMORY`].
pub fn from_str(text: &str) -> std::result::Result<Node<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let node = NodeSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(node)
}

/// Builds a [`Node`] from serde's events.
#[derive(Clone, Copy)]
struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Node<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed from the text when it holds no escape.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// The length and last bytes of a key, packed: different keys of one object rarely share it.
fn key_print(key: &str) -> u64 {
    key.as_bytes().iter().rev().take(7).fold(key.len() as u64, |acc, &b| acc.rotate_left(8) ^ u64::from(b))
}

/// Makes room for one more item, doubling the buffer, fallibly (a long list's buffer is the
/// tree's one large block).
fn grow<T, E: serde::de::Error>(items: &mut Vec<T>) -> std::result::Result<(), E> {
    if items.len() == items.capacity() {
        items.try_reserve(items.len().max(4)).map_err(|_| E::custom(OUT_OF_MEMORY))?;
    }
    Ok(())
}

impl<'de> Visitor<'de> for NodeSeed {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> std::result::Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> std::result::Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_f64<E>(self, f: f64) -> std::result::Result<Node<'de>, E> {
        Ok(Number::from_f64(f).map_or(Node::Null, Node::Number))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> std::result::Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Node<'de>, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Node<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(NodeSeed)? {
            grow(&mut items)?;
            items.push(v);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Node<'de>, A::Error> {
        // A repeated key is refused where it is read ([`Keys`]).
        let duplicate = |key: &str| serde::de::Error::custom(format!("duplicate key '{key}' in one object"));
        let mut entries: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        let mut keys = Keys::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !keys.add(&key, &entries) {
                return Err(duplicate(&key));
            }
            let v = map.next_value_seed(NodeSeed)?;
            grow(&mut entries)?;
            entries.push((key, v));
        }
        Ok(Node::Object(Object { entries, index: keys.index }))
    }
}

/// Why the fast reader gave up.
#[derive(Debug, PartialEq, Eq)]
pub enum Bail {
    /// Something the fast reader leaves to serde_json: any syntax error (so its message and
    /// position are serde_json's), a repeated key, deep nesting.
    Slow,
    /// A buffer could not grow.
    OutOfMemory,
}

/// Deepest nesting the fast reader takes on itself (serde_json's limit, 128, is reached only
/// through the slow path).
const FAST_DEPTH: usize = 100;

/// Reads JSON text into a tree, faster than serde_json's visitor: a plain recursive descent
/// over the bytes. It accepts exactly what serde_json accepts or gives up ([`Bail::Slow`]), and
/// then [`from_str`] reads the text again, so every error (and its position) is serde_json's.
/// Strings without escapes are borrowed; a string with escapes, and every number but a plain
/// non-negative integer, is handed to serde_json itself, so it decodes exactly as before.
pub fn from_str_fast(text: &str) -> std::result::Result<Node<'_>, Bail> {
    let mut r = Fast { text, bytes: text.as_bytes(), pos: 0 };
    let node = r.value(0)?;
    r.skip_ws();
    if r.pos != r.bytes.len() {
        return Err(Bail::Slow);
    }
    Ok(node)
}

struct Fast<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// Makes room for one more item, doubling the buffer, fallibly.
fn grow_fast<T>(items: &mut Vec<T>) -> std::result::Result<(), Bail> {
    if items.len() == items.capacity() {
        items.try_reserve(items.len().max(4)).map_err(|_| Bail::OutOfMemory)?;
    }
    Ok(())
}

impl<'a> Fast<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8], node: Node<'a>) -> std::result::Result<Node<'a>, Bail> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(node)
        } else {
            Err(Bail::Slow)
        }
    }

    fn value(&mut self, depth: usize) -> std::result::Result<Node<'a>, Bail> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => self.string().map(Node::String),
            Some(b'{') if depth < FAST_DEPTH => self.object(depth + 1),
            Some(b'[') if depth < FAST_DEPTH => self.array(depth + 1),
            Some(b't') => self.literal(b"true", Node::Bool(true)),
            Some(b'f') => self.literal(b"false", Node::Bool(false)),
            Some(b'n') => self.literal(b"null", Node::Null),
            Some(b'0'..=b'9' | b'-') => self.number(),
            _ => Err(Bail::Slow),
        }
    }

    /// A string; `pos` is at its opening quote.
    fn string(&mut self) -> std::result::Result<Cow<'a, str>, Bail> {
        let open = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                Some(b'"') => {
                    // Both ends sit on ASCII quotes: char boundaries.
                    let s = self.text.get(open + 1..self.pos).ok_or(Bail::Slow)?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => return self.escaped_string(open),
                Some(0..=0x1f) | None => return Err(Bail::Slow),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// A string holding an escape, from its opening quote at `open`: decoded by serde_json.
    fn escaped_string(&mut self, open: usize) -> std::result::Result<Cow<'a, str>, Bail> {
        loop {
            match self.peek() {
                Some(b'\\') => self.pos += 2,
                Some(b'"') => break,
                Some(0..=0x1f) | None => return Err(Bail::Slow),
                Some(_) => self.pos += 1,
            }
        }
        self.pos += 1;
        let quoted = self.text.get(open..self.pos).ok_or(Bail::Slow)?;
        serde_json::from_str::<String>(quoted).map(Cow::Owned).map_err(|_| Bail::Slow)
    }

    fn number(&mut self) -> std::result::Result<Node<'a>, Bail> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
            self.pos += 1;
        }
        let token = self.bytes.get(start..self.pos).unwrap_or_default();
        // A plain integer of at most 19 digits fits a u64; no leading zero.
        let plain = token.len() <= 19 && token.iter().all(u8::is_ascii_digit) && (token.len() == 1 || token[0] != b'0');
        if plain {
            let n = token.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
            return Ok(Node::Number(n.into()));
        }
        // Anything else is read by serde_json, as in the slow path.
        let text = self.text.get(start..self.pos).ok_or(Bail::Slow)?;
        let mut de = serde_json::Deserializer::from_str(text);
        let node = NodeSeed.deserialize(&mut de).map_err(|_| Bail::Slow)?;
        de.end().map_err(|_| Bail::Slow)?;
        Ok(node)
    }

    fn array(&mut self, depth: usize) -> std::result::Result<Node<'a>, Bail> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node::Array(items));
        }
        loop {
            let v = self.value(depth)?;
            grow_fast(&mut items)?;
            items.push(v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(Bail::Slow),
            }
        }
    }

    fn object(&mut self, depth: usize) -> std::result::Result<Node<'a>, Bail> {
        self.pos += 1;
        let mut keys = Keys::new();
        let mut entries: Vec<(Cow<'a, str>, Node<'a>)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node::Object(Object { entries, index: None }));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(Bail::Slow);
            }
            let key = self.string()?;
            if !keys.add(&key, &entries) {
                return Err(Bail::Slow); // a repeated key: serde_json's path reports it
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(Bail::Slow);
            }
            self.pos += 1;
            let v = self.value(depth)?;
            grow_fast(&mut entries)?;
            entries.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Object(Object { entries, index: keys.index }));
                }
                _ => return Err(Bail::Slow),
            }
        }
    }
}

/// The keys of an object being read, to refuse a repeated one: a small object compares with
/// the keys before it, a cheap fingerprint first; past [`Object::SMALL`] keys a hash index takes
/// over (one hash per key), which becomes the object's index.
struct Keys {
    prints: [u64; Object::SMALL],
    index: Option<Box<HashMap<Box<str>, usize>>>,
}

impl Keys {
    fn new() -> Self {
        Keys { prints: [0; Object::SMALL], index: None }
    }

    /// Records `key`, the key of entry `entries.len()`; false when it is already there.
    fn add(&mut self, key: &str, entries: &[(Cow<'_, str>, Node<'_>)]) -> bool {
        let n = entries.len();
        match &mut self.index {
            None => {
                let print = key_print(key);
                let seen = self.prints.get(..n).unwrap_or_default();
                if seen.iter().zip(entries).any(|(&p, (k, _))| p == print && k == key) {
                    return false;
                }
                match self.prints.get_mut(n) {
                    Some(slot) => *slot = print,
                    None => {
                        // The key after the first `SMALL`: index them all from here on.
                        let mut all: HashMap<Box<str>, usize> = HashMap::with_capacity(n * 2);
                        all.extend(entries.iter().enumerate().map(|(i, (k, _))| (Box::from(&**k), i)));
                        all.insert(Box::from(key), n);
                        self.index = Some(Box::new(all));
                    }
                }
                true
            }
            Some(all) => match all.entry(Box::from(key)) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(n);
                    true
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    //! The fast reader must give the tree serde_json's visitor gives, or give up: these pin both.
    use super::*;

    #[test]
    fn fast_reader_gives_the_tree_serde_json_gives() {
        let wide: String = (0..40).map(|i| format!(r#""k{i}": {i}"#)).collect::<Vec<_>>().join(", ");
        let docs = [
            r#"{"a": [1, 0, 18446744073709551615, 99999999999999999999, -0, -5, 1.5e3, 2.0, 1e-7, 0.1]}"#.to_string(),
            r#" {"b": "x\"y\u00e9\ud83d\ude00 \\ \/", "c": {"d": null, "e": true, "f": false}, "": ""} "#.to_string(),
            " [ ] ".to_string(),
            "{}".to_string(),
            r#""plain""#.to_string(),
            "1234567890123456789".to_string(),
            format!("{{{wide}}}"),
            "[".repeat(90) + &"]".repeat(90),
        ];
        for d in &docs {
            let fast = from_str_fast(d).unwrap_or_else(|e| panic!("{d}: {e:?}"));
            assert_eq!(fast, from_str(d).unwrap(), "{d}");
        }
        let Ok(Node::Object(o)) = from_str_fast(&docs[6]) else { panic!("an object") };
        assert_eq!((o.len(), o.position("k39"), o.get("k7")), (40, Some(39), Some(&Node::Number(7u64.into()))));
    }

    #[test]
    fn fast_reader_leaves_every_error_to_serde_json() {
        let deep = "[".repeat(150) + &"]".repeat(150);
        for d in [
            "",
            " ",
            "{",
            "[1,]",
            r#"{"a":1,}"#,
            "01",
            "1.",
            "-",
            r#"{"a":1,"a":2}"#,
            "[1] x",
            "\"a\u{1}\"",
            "nul",
            "[1e400]",
            r#"{"a" 1}"#,
            r#"{1: 2}"#,
            r#""\x""#,
            r#""\ud800""#,
            "[tru]",
            &deep,
        ] {
            assert_eq!(from_str_fast(d), Err(Bail::Slow), "{d}");
            assert!(from_str(d).is_err() || d == deep.as_str(), "{d}");
        }
    }
}
