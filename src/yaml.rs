//! The YAML front end: text → the JSON value tree the inventory reader takes (R-INV-1).
//!
//! Built on `saphyr-parser`, a maintained, pure-Rust YAML 1.2 parser (the successor of
//! `yaml-rust2`, checked against the YAML test suite). It replaced `serde_yaml` (archived
//! upstream, built on `unsafe-libyaml`, a C transliteration). The parser hands out events; this
//! module builds the tree from them itself, which is where the limits are enforced as the tree
//! grows, never after:
//! * nesting deeper than [`MAX_NESTING`] collections is refused (the flow pre-scan in
//!   `parse.rs` refuses deep `[`/`{` before the parser runs);
//! * aliases may expand the document to at most `2 × its size in bytes + 1,000,000` values
//!   ("billion laughs");
//! * a key repeated in one mapping is an error, with line and column;
//! * what JSON cannot hold (NaN, infinities, tags other than the core schema's, keys that are
//!   lists, mappings or null) is reported by path, all of it.
//!
//! Scalars are resolved as `serde_yaml` 0.9 did (YAML 1.2 core schema): `null`/`~`/empty,
//! `true`/`false` (three spellings each), integers in decimal, `0x`, `0o`, `0b` (a decimal with
//! a leading zero stays text), floats including `.inf`/`.nan`; quoted and block scalars are text.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Tag};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};
use crate::model::Problem;
use crate::parse::MAX_NESTING;

/// Decodes YAML text (one document) into a value tree. The caller has checked the size and the
/// flow nesting already.
pub(crate) fn to_value(text: &str) -> Result<Value> {
    crate::mem::ensure_headroom(
        text.len().saturating_mul(crate::mem::YAML_TREE_BYTES_PER_TEXT_BYTE),
        "reading the YAML document",
    )?;
    let mut b = Builder::new(text);
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(x)) => x,
            Some(Err(e)) => return Err(b.syntax_error(&e)),
        };
        let mark = span.start;
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                if b.documents == 1 {
                    return Err(at(
                        mark,
                        "the text holds more than one YAML document; an inventory is one document".to_string(),
                    ));
                }
                b.documents += 1;
            }
            Event::Scalar(value, style, anchor, tag) => {
                b.count(mark)?;
                let node = scalar(value.into_owned(), style, tag.as_deref());
                b.remember(anchor, &node, 1);
                b.add(node, mark)?;
            }
            Event::SequenceStart(anchor, tag) => b.open(Kind::Sequence, anchor, tag.as_deref(), mark)?,
            Event::MappingStart(anchor, tag) => b.open(Kind::Mapping, anchor, tag.as_deref(), mark)?,
            Event::SequenceEnd | Event::MappingEnd => b.close(mark)?,
            Event::Alias(id) => b.alias(id, mark)?,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    let value = b.root.unwrap_or(Value::Null);
    if b.problems.is_empty() {
        Ok(value)
    } else {
        b.problems.sort();
        Err(Error::Invalid(b.problems))
    }
}

/// "line L, column C: message" at the document path `<yaml>`.
fn at(mark: Marker, message: String) -> Error {
    Error::invalid("<yaml>", format!("line {}, column {}: {message}", mark.line(), mark.col() + 1))
}

/// A sequence's buffer could not grow past `len` items.
fn oom(len: usize) -> Error {
    Error::out_of_memory("reading the YAML document", len.max(4) * std::mem::size_of::<Value>())
}

/// A finished node, before it is placed as a value or a key.
#[derive(Clone)]
enum Node {
    Plain(Value),
    /// A tag outside the core schema (`!mhz 4`), spelled as written.
    Tagged(String),
    /// `.nan`, `.inf`, `-.inf`.
    NotFinite(&'static str),
    /// A core-schema tag whose text does not fit it (`!!int abc`).
    Invalid(String),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sequence,
    Mapping,
}

/// An open collection.
struct Frame {
    kind: Kind,
    flow: bool,
    start: Marker,
    anchor: usize,
    /// A tag outside the core schema on the collection.
    tag: Option<String>,
    /// Where the collection sits in its parent (for paths).
    seg: Seg,
    problems_at_start: usize,
    nodes_at_start: usize,
    items: Vec<Value>,
    map: Map<String, Value>,
    /// For a mapping: the key read, waiting for its value.
    key: Option<Key>,
}

impl Frame {
    /// The segment of the next node placed in this collection.
    fn pending(&self) -> Seg {
        match (self.kind, &self.key) {
            (Kind::Sequence, _) => Seg::Index(self.items.len()),
            (Kind::Mapping, Some(Key::Text(k))) => Seg::Key(k.clone()),
            (Kind::Mapping, _) => Seg::InKey,
        }
    }
}

enum Seg {
    Root,
    Index(usize),
    Key(String),
    /// Inside a key (a list or mapping used as a key): reported at the mapping's path.
    InKey,
}

enum Key {
    Text(String),
    /// A key JSON cannot hold (already reported): its value is dropped.
    Skip,
}

struct Builder<'t> {
    text: &'t str,
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    problems: Vec<Problem>,
    /// Anchored nodes and how many values each holds.
    anchors: HashMap<usize, (Node, usize)>,
    /// Values so far, aliases expanded; at most `budget`.
    nodes: usize,
    budget: usize,
    /// Char index → byte offset, walked forward (markers count chars).
    cursor: (usize, usize),
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Self {
        Builder {
            text,
            stack: Vec::new(),
            root: None,
            documents: 0,
            problems: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            budget: text.len().saturating_mul(2).saturating_add(1_000_000),
            cursor: (0, 0),
        }
    }

    /// Counts one more value against the alias-expansion budget.
    fn count(&mut self, mark: Marker) -> Result<()> {
        self.grow(1, mark)
    }

    fn grow(&mut self, n: usize, mark: Marker) -> Result<()> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.budget {
            return Err(at(
                mark,
                format!(
                    "aliases expand the document to more than {} values (the limit is 2 per byte of input + 1000000)",
                    self.budget
                ),
            ));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node, nodes: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), nodes));
        }
    }

    fn alias(&mut self, id: usize, mark: Marker) -> Result<()> {
        let Some((node, n)) = self.anchors.get(&id) else {
            // The parser refuses unknown anchors; an anchor still open is used inside itself.
            return Err(at(mark, "an alias refers to a node that contains it (a recursive structure)".to_string()));
        };
        let (node, n) = (node.clone(), *n);
        self.grow(n, mark)?;
        self.add(node, mark)
    }

    /// The document path of the node about to be placed in the innermost open collection.
    fn path(&self) -> String {
        let mut path = String::new();
        for f in &self.stack {
            append(&mut path, &f.seg);
        }
        if let Some(f) = self.stack.last() {
            append(&mut path, &f.pending());
        }
        path
    }

    fn problem(&mut self, message: String) {
        let path = self.path();
        self.problems.push(Problem::new(if path.is_empty() { "<root>".to_string() } else { path }, message));
    }

    /// Places a finished node: as the root, an item, a key, or a key's value.
    fn add(&mut self, node: Node, mark: Marker) -> Result<()> {
        let awaiting_key = matches!(self.stack.last(), Some(f) if f.kind == Kind::Mapping && f.key.is_none());
        if awaiting_key {
            let key = match node {
                Node::Plain(Value::String(s)) => Key::Text(s),
                Node::Plain(Value::Number(n)) => Key::Text(n.to_string()),
                Node::Plain(Value::Bool(b)) => Key::Text(b.to_string()),
                Node::NotFinite(repr) => Key::Text(repr.to_string()),
                other => {
                    let what = match other {
                        Node::Plain(Value::Null) => "null",
                        Node::Plain(Value::Array(_)) => "a list",
                        Node::Plain(Value::Object(_)) => "a mapping",
                        _ => "a tagged value",
                    };
                    self.problem(format!("a key must be text, got {what}"));
                    Key::Skip
                }
            };
            if let (Key::Text(k), Some(f)) = (&key, self.stack.last()) {
                if f.map.contains_key(k) {
                    let here = self.path();
                    let whose = if here.is_empty() { String::new() } else { format!("{here}: ") };
                    return Err(at(
                        mark,
                        format!(
                            "{whose}duplicate entry with key \"{k}\" (in the mapping at line {}, column {})",
                            f.start.line(),
                            f.start.col() + 1
                        ),
                    ));
                }
            }
            if let Some(f) = self.stack.last_mut() {
                f.key = Some(key);
            }
            return Ok(());
        }
        let value = match node {
            Node::Plain(v) => v,
            Node::Tagged(tag) => {
                self.problem(format!("YAML tag {tag} is not supported"));
                Value::Null
            }
            Node::NotFinite(repr) => {
                self.problem(format!("{repr} is not a finite number"));
                Value::Null
            }
            Node::Invalid(message) => {
                self.problem(message);
                Value::Null
            }
        };
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
            }
            Some(f) if f.kind == Kind::Sequence => {
                f.items.try_reserve(1).map_err(|_| oom(f.items.len()))?;
                f.items.push(value);
            }
            Some(f) => {
                if let Some(Key::Text(k)) = f.key.take() {
                    f.map.insert(k, value);
                }
            }
        }
        Ok(())
    }

    fn open(&mut self, kind: Kind, anchor: usize, tag: Option<&Tag>, mark: Marker) -> Result<()> {
        self.count(mark)?;
        if self.stack.len() >= MAX_NESTING {
            return Err(at(mark, format!("nested more than {MAX_NESTING} levels deep")));
        }
        let parent_flow = self.stack.last().is_some_and(|f| f.flow);
        let flow = parent_flow || matches!(self.indicator(mark), b'[' | b'{');
        let seg = self.stack.last().map_or(Seg::Root, Frame::pending);
        let tag = tag.and_then(|t| match (t.is_yaml_core_schema(), t.suffix.as_str(), kind) {
            (true, "seq", Kind::Sequence) | (true, "map", Kind::Mapping) => None,
            _ => Some(spell(t)),
        });
        self.stack.push(Frame {
            kind,
            flow,
            start: mark,
            anchor,
            tag,
            seg,
            problems_at_start: self.problems.len(),
            nodes_at_start: self.nodes,
            items: Vec::new(),
            map: Map::new(),
            key: None,
        });
        Ok(())
    }

    fn close(&mut self, mark: Marker) -> Result<()> {
        let Some(f) = self.stack.pop() else { return Ok(()) };
        let in_key = matches!(f.seg, Seg::InKey);
        let node = if let Some(tag) = f.tag {
            // A tagged collection is reported as one problem, not by its content.
            self.problems.truncate(f.problems_at_start);
            Node::Tagged(tag)
        } else if f.kind == Kind::Sequence {
            Node::Plain(Value::Array(f.items))
        } else {
            Node::Plain(Value::Object(f.map))
        };
        if in_key {
            // Only "a key must be text" is reported for a key that is a collection.
            self.problems.truncate(f.problems_at_start);
        }
        self.remember(f.anchor, &node, self.nodes - f.nodes_at_start);
        self.add(node, mark)
    }

    /// The first byte of a collection's text at `mark`, past any anchor and tag: `[` or `{` for
    /// a flow collection.
    fn indicator(&mut self, mark: Marker) -> u8 {
        let target = mark.index();
        if target < self.cursor.0 {
            self.cursor = (0, 0);
        }
        let (mut chars, mut byte) = self.cursor;
        let bytes = self.text.as_bytes();
        while chars < target && byte < bytes.len() {
            byte += utf8_len(bytes[byte]);
            chars += 1;
        }
        self.cursor = (chars, byte);
        // Skip `&anchor` and `!tag` properties and the blanks after them.
        let mut i = byte;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'&' | b'!' => {
                    while bytes.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                        i += 1;
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                _ => return b,
            }
        }
        0
    }

    /// A parser error with its position, and the collection being read when it happened (as
    /// libyaml spelled it: "…, while parsing a flow sequence (at line 3, column 17)").
    fn syntax_error(&self, e: &ScanError) -> Error {
        let info = e.info();
        let (problem, context) = match info.strip_prefix("while ").and_then(|rest| rest.split_once(", ")) {
            Some((ctx, problem)) => (problem, Some(ctx)),
            None => (info, None),
        };
        let about_collection = |c: &str| ["collection", "sequence", "mapping"].iter().any(|w| c.contains(w));
        let mut message = problem.to_string();
        match (context, self.stack.last()) {
            (Some(ctx), Some(_)) | (Some(ctx), None) if !about_collection(ctx) => {
                message += &format!(", while {ctx}");
            }
            (_, Some(f)) => {
                let kind = match (f.flow, f.kind) {
                    (true, Kind::Sequence) => "flow sequence",
                    (true, Kind::Mapping) => "flow mapping",
                    (false, Kind::Sequence) => "block sequence",
                    (false, Kind::Mapping) => "block mapping",
                };
                message +=
                    &format!(", while parsing a {kind} (at line {}, column {})", f.start.line(), f.start.col() + 1);
            }
            (Some(ctx), None) => message += &format!(", while {ctx}"),
            (None, None) => {}
        }
        at(*e.marker(), message)
    }
}

/// Appends one path segment in the reader's path style.
fn append(path: &mut String, seg: &Seg) {
    match seg {
        Seg::Root | Seg::InKey => {}
        Seg::Index(i) => path.push_str(&format!("[{i}]")),
        Seg::Key(k) => {
            if path == "cluster.advanced_options" {
                path.push_str(&format!("['{k}']"));
            } else {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// A tag as written: `!mhz`, `!!binary`, or `!<…>` for any other prefix.
fn spell(t: &Tag) -> String {
    if t.handle == "!" {
        format!("!{}", t.suffix)
    } else if t.is_yaml_core_schema() {
        format!("!!{}", t.suffix)
    } else {
        format!("!<{}{}>", t.handle, t.suffix)
    }
}

/// Resolves a scalar (see the module comment).
fn scalar(text: String, style: ScalarStyle, tag: Option<&Tag>) -> Node {
    let Some(t) = tag else {
        return if style == ScalarStyle::Plain { plain(text) } else { Node::Plain(Value::String(text)) };
    };
    if t.handle == "!" && t.suffix.is_empty() {
        // The non-specific tag `!`: text.
        return Node::Plain(Value::String(text));
    }
    if !t.is_yaml_core_schema() {
        return Node::Tagged(spell(t));
    }
    let bad = |what: &str| Node::Invalid(format!("{text:?} is not {what} (tag !!{})", t.suffix));
    match t.suffix.as_str() {
        "str" => Node::Plain(Value::String(text)),
        "null" => match is_null(&text) {
            true => Node::Plain(Value::Null),
            false => bad("null"),
        },
        "bool" => match parse_bool(&text) {
            Some(b) => Node::Plain(Value::Bool(b)),
            None => bad("a boolean"),
        },
        "int" => match parse_int(&text) {
            Some(n) => Node::Plain(Value::Number(n)),
            None => bad("an integer"),
        },
        "float" => match parse_float(&text) {
            Some(node) => node,
            None => bad("a float"),
        },
        _ => Node::Tagged(spell(t)),
    }
}

/// An untagged plain scalar.
fn plain(text: String) -> Node {
    if is_null(&text) {
        return Node::Plain(Value::Null);
    }
    if let Some(b) = parse_bool(&text) {
        return Node::Plain(Value::Bool(b));
    }
    if let Some(n) = parse_int(&text) {
        return Node::Plain(Value::Number(n));
    }
    if !digits_but_not_number(&text) {
        if let Some(node) = parse_float(&text) {
            return node;
        }
    }
    Node::Plain(Value::String(text))
}

fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Leading zeros followed by digits are text in YAML 1.2 (`017`).
fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())
}

/// An integer in decimal, `0x`, `0o` or `0b`, with an optional sign; beyond 64 bits, a float.
fn parse_int(s: &str) -> Option<Number> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(r) = body.strip_prefix("0x") {
        (16, r)
    } else if let Some(r) = body.strip_prefix("0o") {
        (8, r)
    } else if let Some(r) = body.strip_prefix("0b") {
        (2, r)
    } else {
        (10, body)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) || (radix == 10 && digits_but_not_number(s)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if !negative {
        return Some(match u64::try_from(magnitude) {
            Ok(u) => Number::from(u),
            Err(_) => Number::from_f64(magnitude as f64)?,
        });
    }
    // -2^63 is the one negative i64 whose magnitude is no i64.
    match i64::try_from(magnitude) {
        Ok(m) => Some(Number::from(-m)),
        Err(_) if magnitude == 1 << 63 => Some(Number::from(i64::MIN)),
        Err(_) => Number::from_f64(-(magnitude as f64)),
    }
}

/// A float: finite ones as numbers, `.inf`/`.nan` spellings as [`Node::NotFinite`].
fn parse_float(s: &str) -> Option<Node> {
    let unsigned = match s.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => s,
    };
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Some(Node::NotFinite(".inf"));
    }
    if matches!(s, "-.inf" | "-.Inf" | "-.INF") {
        return Some(Node::NotFinite("-.inf"));
    }
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return Some(Node::NotFinite(".nan"));
    }
    let f = unsigned.parse::<f64>().ok().filter(|f| f.is_finite())?;
    Number::from_f64(f).map(|n| Node::Plain(Value::Number(n)))
}
