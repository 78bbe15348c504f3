//! Reading an inventory document (JSON, YAML, or an already-decoded value tree) into a
//! validated [`Inventory`] — R-INV-1. Every problem is collected with its path; the first one
//! never hides the others.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::json::{Node, Object};
use crate::model::*;
use crate::options::AdvancedOptions;

/// Largest document accepted, in bytes (larger input is refused with a clear error).
pub const MAX_INPUT_BYTES: usize = 1 << 30;
/// Largest whole number accepted in a numeric field (exactly representable as a float).
pub const MAX_NUMBER: u64 = 1 << 53;

/// Parses JSON text: read into a tree borrowing from the text ([`crate::json`]), then validated.
pub fn from_json_str(text: &str) -> Result<Inventory> {
    from_node(&parse_json_tree(text)?)
}

/// Parses YAML text.
pub fn from_yaml_str(text: &str) -> Result<Inventory> {
    from_value(&parse_yaml_text(text)?)
}

/// Decodes JSON text into a value tree, with line and column on syntax errors. A key repeated
/// within one object is an error too (plain serde_json would keep the last one silently).
pub fn parse_json_text(text: &str) -> Result<Value> {
    parse_json_tree(text).map(Node::into_value)
}

/// Decodes JSON text into a tree borrowing its strings from `text` ([`crate::json`]), with line
/// and column on syntax errors; a key repeated within one object is an error.
pub fn parse_json_tree(text: &str) -> Result<Node<'_>> {
    check_size(text)?;
    let estimate = text.len().saturating_mul(crate::mem::JSON_TREE_BYTES_PER_TEXT_BYTE);
    crate::mem::ensure_headroom(estimate, "reading the JSON document")?;
    // The fast reader takes every well-formed document; anything else (a syntax error, a
    // repeated key, deep nesting) is read again by serde_json, whose errors are the ones shown.
    match crate::json::from_str_fast(text) {
        Ok(node) => return Ok(node),
        Err(crate::json::Bail::OutOfMemory) => {
            return Err(Error::out_of_memory("reading the JSON document", estimate));
        }
        Err(crate::json::Bail::Slow) => {}
    }
    crate::json::from_str(text).map_err(|e| {
        if crate::json::is_out_of_memory(&e) {
            return Error::out_of_memory("reading the JSON document", estimate);
        }
        Error::invalid(
            "<json>",
            format!(
                "line {}, column {}: {}",
                e.line(),
                e.column(),
                tidy_position(&e.to_string(), e.line(), e.column())
            ),
        )
    })
}

/// Decodes YAML text into a value tree, with line and column on syntax errors. YAML values that
/// JSON cannot hold (NaN, infinities, tagged values, keys that are lists, maps or null) are
/// reported by path, all of them. The YAML front end is `src/yaml.rs` (on `saphyr-parser`); it
/// enforces [`MAX_NESTING`] and the alias-expansion limit as it builds the tree.
pub fn parse_yaml_text(text: &str) -> Result<Value> {
    check_size(text)?;
    check_yaml_flow_depth(text)?;
    crate::yaml::to_value(text)
}

/// Deepest nesting the YAML and JSON parsers accept (serde_json's recursion limit; `src/yaml.rs`
/// applies the same to YAML).
pub const MAX_NESTING: usize = 128;

/// Refuses YAML whose flow collections (`[`, `{`) nest deeper than [`MAX_NESTING`] before the
/// YAML parser sees it. The parser would refuse it too, but only after scanning the whole
/// document, and its scanner spends time proportional to the open flow levels on every token:
/// `[[[[…` on one line costs ~40 µs per byte, so a few megabytes would take minutes. The count
/// skips comments and quoted scalars (a quote opens one at a line start or after an indicator
/// `[ { , : - ?`); brackets inside plain scalars count, so the check can only err
/// towards refusing a document with more than 128 unbalanced brackets in its text values.
fn check_yaml_flow_depth(text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let (mut depth, mut line, mut line_start) = (0usize, 1usize, 0usize);
    // The last byte that was not a space or tab on this line (b'\n' at a line start).
    let mut prev = b'\n';
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                prev = b'\n';
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' if i == line_start || matches!(bytes.get(i.wrapping_sub(1)), Some(b' ' | b'\t')) => {
                // A comment: skip to the end of the line. why: i < bytes.len() (loop condition).
                i = bytes[i..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'"' | b'\'' if matches!(prev, b'\n' | b'[' | b'{' | b',' | b':' | b'-' | b'?') => {
                // A quoted scalar: skip to its closing quote (`\"` escapes in "…", `''` in '…').
                let mut j = i + 1;
                while let Some(&c) = bytes.get(j) {
                    if c == b'\n' {
                        line += 1;
                        line_start = j + 1;
                    }
                    if b == b'"' && c == b'\\' {
                        j += 2;
                        continue;
                    }
                    if c == b {
                        if b == b'\'' && bytes.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                i = j + 1;
                prev = b;
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Error::invalid(
                        "<yaml>",
                        format!(
                            "line {line}, column {}: nested more than {MAX_NESTING} levels deep",
                            // why: both ends sit on ASCII bytes ('\n'+1 or 0, and '['/'{'): char
                            // boundaries, and line_start <= i.
                            text[line_start..i].chars().count() + 1
                        ),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = b;
        i += 1;
    }
    Ok(())
}

fn check_size(text: &str) -> Result<()> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::invalid(
            "<input>",
            format!("document is {} bytes; the limit is {} bytes", text.len(), MAX_INPUT_BYTES),
        ));
    }
    Ok(())
}

/// serde and libyaml write positions as " at line L column C", possibly more than once (libyaml
/// adds the position of the construct being parsed). The error's own position is printed first
/// by the caller, so it is removed here; any other position is kept, spelled "line L, column C".
fn tidy_position(msg: &str, line: usize, column: usize) -> String {
    const AT: &str = " at line ";
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    // why: `find` returns a char boundary, and the digit counts below cover ASCII bytes only, so
    // every slice in this loop starts and ends on a char boundary within its string.
    while let Some(i) = rest.find(AT) {
        out.push_str(&rest[..i]);
        let after = &rest[i + AT.len()..];
        let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
        let l_len = digits(after);
        let parsed = after[l_len..].strip_prefix(" column ").and_then(|t| {
            let c_len = digits(t);
            let l = after[..l_len].parse::<usize>().ok()?;
            let c = t[..c_len].parse::<usize>().ok()?;
            Some((l, c, &t[c_len..]))
        });
        match parsed {
            Some((l, c, tail)) => {
                if (l, c) != (line, column) {
                    out.push_str(&format!(" (at line {l}, column {c})"));
                }
                rest = tail;
            }
            None => {
                out.push_str(AT);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A float for a message: plain when short, scientific when huge or tiny.
fn fmt_float(f: f64) -> String {
    if f != 0.0 && (f.abs() >= 1e15 || f.abs() < 1e-6) {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}

/// Builds and validates an inventory from a decoded document (YAML, Python data, a scenario's
/// inventory): a view of it borrowing its strings goes through the one validator, [`from_node`].
pub fn from_value(doc: &Value) -> Result<Inventory> {
    from_node(&Node::from_value(doc)?)
}

/// Builds and validates an inventory from a document tree (R-INV-1): every problem is
/// collected, with its path.
pub fn from_node(doc: &Node<'_>) -> Result<Inventory> {
    let mut r = Reader::default();
    let inv = r.inventory(doc);
    if r.errors.is_empty() {
        // `inventory` returns Some whenever no error was recorded.
        inv.ok_or_else(|| Error::invalid("<input>", "not an inventory"))
    } else {
        r.errors.sort();
        r.errors.dedup();
        Err(Error::Invalid(r.errors))
    }
}

/// What a VM's references are checked against.
struct VmContext<'a> {
    /// Every host id the document declares.
    host_ids: &'a HashSet<&'a str>,
    /// The hosts that read cleanly, by id.
    hosts: &'a HashMap<&'a str, &'a Host>,
    /// Every datastore id the document declares.
    ds_ids: &'a HashSet<&'a str>,
    /// (CPU MHz, memory MB) of every host; empty when some host could not be read.
    capacities: Vec<(u64, u64)>,
    /// The largest CPU and the largest memory among them.
    max_capacity: Option<(u64, u64)>,
}

/// Reads one VM (the JSON vm shape) against an existing inventory: its host and datastores
/// must exist there, and the same checks apply as inside a whole document. Used by what-if
/// calls (`check_power_on`, …) so they need not re-read the whole inventory. Problems are
/// rooted at `path` (e.g. `vm`).
pub fn vm_from_value(inv: &Inventory, v: &Value, path: &str) -> Result<Vm> {
    let v = &Node::from_value(v)?;
    let host_ids: HashSet<&str> = inv.hosts.iter().map(|h| h.id.as_str()).collect();
    let ds_ids: HashSet<&str> = inv.datastores.iter().map(|d| d.id.as_str()).collect();
    let hosts: HashMap<&str, &Host> = inv.hosts.iter().map(|h| (h.id.as_str(), h)).collect();
    let capacities: Vec<(u64, u64)> = inv.hosts.iter().map(|h| (h.cpu_mhz, h.memory_mb)).collect();
    let max_capacity = capacities.iter().copied().reduce(|a, b| (a.0.max(b.0), a.1.max(b.1)));
    let ctx = VmContext { host_ids: &host_ids, hosts: &hosts, ds_ids: &ds_ids, capacities, max_capacity };
    let mut r = Reader::default();
    let named = names_to_ids(inv, v, path, &mut r.errors);
    let ambiguous: Vec<String> = r.errors.iter().map(|p| p.path.clone()).collect();
    let vm = r.vm(named.as_ref().unwrap_or(v), path, &ctx);
    // An ambiguous name is reported once, with its candidates, not again as unknown.
    let n = ambiguous.len();
    let mut i = 0;
    r.errors.retain(|p| {
        i += 1;
        i <= n || !(ambiguous.contains(&p.path) && p.message.starts_with("unknown "))
    });
    match vm {
        Some(vm) if r.errors.is_empty() => Ok(vm),
        _ => {
            r.errors.sort();
            r.errors.dedup();
            if r.errors.is_empty() {
                r.errors.push(Problem::new(path, "not a VM"));
            }
            Err(Error::Invalid(r.errors))
        }
    }
}

/// A what-if VM's `host`, `home_datastore` and `datastores` may name their objects by an
/// unambiguous name (`Inventory::resolve_*`): the copy returned holds ids (`None` when nothing
/// needed replacing). A name several objects share is a problem naming their ids; an unknown
/// one is left for the reader, which reports it.
fn names_to_ids<'a>(inv: &Inventory, v: &Node<'a>, path: &str, errors: &mut Vec<Problem>) -> Option<Node<'a>> {
    let Node::Object(o) = v else { return None };
    let mut out = o.clone();
    let mut changed = false;
    let mut swap = |value: &mut Node<'a>, at: String, kind: &str| {
        if let Node::String(x) = value {
            let found = if kind == "host" { inv.resolve_host_id(x) } else { inv.resolve_datastore_id(x) };
            match found {
                Ok(id) if id != &**x => {
                    *x = std::borrow::Cow::Owned(id.to_string());
                    changed = true;
                }
                Err(e @ Error::AmbiguousName { .. }) => errors.push(Problem::new(at, e.to_string())),
                _ => {}
            }
        }
    };
    if let Some(h) = out.get_mut("host") {
        swap(h, format!("{path}.host"), "host");
    }
    if let Some(d) = out.get_mut("home_datastore") {
        swap(d, format!("{path}.home_datastore"), "datastore");
    }
    if let Some(Node::Array(list)) = out.get_mut("datastores") {
        for (i, d) in list.iter_mut().enumerate() {
            swap(d, format!("{path}.datastores[{i}]"), "datastore");
        }
    }
    changed.then_some(Node::Object(out))
}

/// Collects problems while reading.
#[derive(Default)]
struct Reader {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

/// How a value's type reads in messages ("a number", "a list", …), for readers of a
/// `serde_json::Value` (the scenario reader): the words of [`Node::type_name`].
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One JSON object being read: remembers which keys were used so the rest can be reported.
struct Obj<'a, 'p> {
    object: &'a Object<'a>,
    /// The object's entries in document order: the reader asks for the fields mostly in the
    /// order the serializer writes them, so in a small object a scan starting where the last
    /// key was found beats hashing every key (a large one has its index, [`Object::position`]).
    entries: &'a [(std::borrow::Cow<'a, str>, Node<'a>)],
    path: &'p str,
    /// For a small object: bit `i` is set once `entries[i]` has been read.
    read: u64,
    /// For a large object: which entries have been read (empty for a small one).
    read_large: Vec<bool>,
    /// Where the last lookup in a small object found its key.
    cursor: std::cell::Cell<usize>,
}

impl<'a, 'p> Obj<'a, 'p> {
    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            let mut out = String::with_capacity(self.path.len() + 1 + key.len());
            out.push_str(self.path);
            out.push('.');
            out.push_str(key);
            out
        }
    }

    fn new(object: &'a Object<'a>, path: &'p str) -> Self {
        let entries = object.entries();
        let read_large = if entries.len() > Object::SMALL { vec![false; entries.len()] } else { Vec::new() };
        Obj { object, entries, path, read: 0, read_large, cursor: 0.into() }
    }

    fn is_small(&self) -> bool {
        self.entries.len() <= Object::SMALL
    }

    /// Where `key` is; a small object is scanned from where the last key was found.
    fn index_of(&self, key: &str) -> Option<usize> {
        if !self.is_small() {
            return self.object.position(key);
        }
        let n = self.entries.len();
        let mut i = self.cursor.get();
        for _ in 0..n {
            if i >= n {
                i = 0;
            }
            if self.entries.get(i).is_some_and(|(k, _)| same_key(k.as_bytes(), key.as_bytes())) {
                self.cursor.set(i);
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// The value under `key` as written (null included), without marking the key read.
    fn raw(&self, key: &str) -> Option<&'a Node<'a>> {
        self.index_of(key).and_then(|i| self.entries.get(i)).map(|(_, v)| v)
    }

    /// Whether entry `i` has been read.
    fn is_read(&self, i: usize) -> bool {
        if self.is_small() {
            self.read & (1 << i) != 0
        } else {
            self.read_large.get(i).copied().unwrap_or(false)
        }
    }

    /// Whether `key` (present in the object) has been read.
    fn was_read(&self, key: &str) -> bool {
        self.index_of(key).is_some_and(|i| self.is_read(i))
    }

    /// The value under `key`, `None` when absent or null.
    fn get(&mut self, key: &'static str) -> Option<&'a Node<'a>> {
        // An absent key needs no mark: only the keys present are checked by `finish`.
        let i = self.index_of(key)?;
        if self.is_small() {
            self.read |= 1 << i;
        } else if let Some(mark) = self.read_large.get_mut(i) {
            *mark = true;
        }
        match self.entries.get(i).map(|(_, v)| v) {
            None | Some(Node::Null) => None,
            Some(v) => Some(v),
        }
    }
}

/// `a == b` for keys, without a call to `memcmp` for the short ones (most are under 24 bytes).
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // why: every window read below lies within the key (the arms need 8 <= n), so `map_or`'s 0
    // is never taken.
    let word =
        |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map_or(0, u64::from_le_bytes);
    match n {
        // Two overlapping 8-byte windows cover the key.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        17..=24 => word(a, 0) == word(b, 0) && word(a, 8) == word(b, 8) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Whether an id or name is blank (empty or only whitespace); most are not, and say so in
/// their first byte.
fn blank(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => s.trim().is_empty(),
    }
}

impl Reader {
    fn error(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.errors.push(Problem::new(path, msg));
    }

    fn warn(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.warnings.push(Problem::new(path, msg));
    }

    fn object<'a, 'p>(&mut self, v: &'a Node<'a>, path: &'p str) -> Option<Obj<'a, 'p>> {
        match v {
            Node::Object(map) => Some(Obj::new(map, path)),
            other => {
                self.error(display_path(path), format!("expected an object, got {}", other.type_name()));
                None
            }
        }
    }

    /// Reports keys nobody read: they would otherwise be lost without a word.
    fn finish(&mut self, o: Obj<'_, '_>) {
        if o.is_small() && o.read == (1u64 << o.entries.len()) - 1 {
            return; // every key read (the usual case)
        }
        for (i, (key, _)) in o.entries.iter().enumerate() {
            if !o.is_read(i) {
                let path = o.field(key);
                self.warn(path, "unknown field: ignored");
            }
        }
    }

    fn string(&mut self, o: &mut Obj<'_, '_>, key: &'static str) -> Option<String> {
        let v = o.get(key)?;
        match v {
            Node::String(s) => Some(s.to_string()),
            other => {
                self.error(o.field(key), format!("expected a string, got {}", other.type_name()));
                None
            }
        }
    }

    fn required_id(&mut self, o: &mut Obj<'_, '_>, key: &'static str) -> Option<String> {
        let present = o.raw(key).is_some_and(|v| !v.is_null());
        match self.string(o, key) {
            Some(s) if blank(&s) => {
                self.error(o.field(key), "must not be empty");
                None
            }
            Some(s) => Some(s),
            None => {
                if !present {
                    self.error(o.field(key), "missing required field");
                }
                None
            }
        }
    }

    fn bool(&mut self, o: &mut Obj<'_, '_>, key: &'static str, default: bool) -> bool {
        match o.get(key) {
            None => default,
            Some(Node::Bool(b)) => *b,
            Some(other) => {
                self.error(o.field(key), format!("expected true or false, got {}", other.type_name()));
                default
            }
        }
    }

    /// A whole number in `0..=MAX_NUMBER` (integral floats accepted).
    fn whole(&mut self, v: &Node<'_>, path: &str) -> Option<u64> {
        let msg = match v {
            Node::Number(n) => {
                if let Some(u) = n.as_u64() {
                    if u <= MAX_NUMBER {
                        return Some(u);
                    }
                    format!("{u} is too large (at most 2^53 = {MAX_NUMBER})")
                } else if let Some(i) = n.as_i64() {
                    format!("must not be negative, got {i}")
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f < 0.0 {
                        format!("must not be negative, got {}", fmt_float(f))
                    } else if f.fract() != 0.0 {
                        format!("expected a whole number, got {}", fmt_float(f))
                    } else if f > MAX_NUMBER as f64 {
                        format!("{} is too large (at most 2^53 = {MAX_NUMBER})", fmt_float(f))
                    } else {
                        return Some(f as u64);
                    }
                }
            }
            other => format!("expected a whole number, got {}", other.type_name()),
        };
        self.error(path, msg);
        None
    }

    fn number_field(&mut self, o: &mut Obj<'_, '_>, key: &'static str, default: Option<u64>) -> Option<u64> {
        match o.get(key) {
            None => {
                if default.is_none() {
                    self.error(o.field(key), "missing required field");
                }
                default
            }
            Some(v) => {
                if let Some(u) = v.as_u64().filter(|&u| u <= MAX_NUMBER) {
                    return Some(u); // the common case, without building the path
                }
                let path = o.field(key);
                self.whole(v, &path)
            }
        }
    }

    fn optional_number(&mut self, o: &mut Obj<'_, '_>, key: &'static str) -> Option<u64> {
        let v = o.get(key)?;
        if let Some(u) = v.as_u64().filter(|&u| u <= MAX_NUMBER) {
            return Some(u); // the common case, without building the path
        }
        let path = o.field(key);
        self.whole(v, &path)
    }

    fn float(&mut self, o: &mut Obj<'_, '_>, key: &'static str, lo: f64, hi: f64) -> Option<f64> {
        let v = o.get(key)?;
        match v.as_f64() {
            Some(f) if f.is_finite() && (lo..=hi).contains(&f) => Some(f),
            Some(f) => {
                self.error(o.field(key), format!("{} is out of range ({lo} to {hi})", fmt_float(f)));
                None
            }
            None => {
                self.error(o.field(key), format!("expected a number, got {}", v.type_name()));
                None
            }
        }
    }

    fn api_enum<T: Copy>(
        &mut self,
        o: &mut Obj<'_, '_>,
        key: &'static str,
        parse: fn(&str) -> Option<T>,
        allowed: fn() -> String,
    ) -> Option<T> {
        let s = match o.get(key)? {
            Node::String(s) => &**s,
            other => {
                self.error(o.field(key), format!("expected a string, got {}", other.type_name()));
                return None;
            }
        };
        match parse(s) {
            Some(v) => Some(v),
            None => {
                self.error(o.field(key), format!("unknown value '{s}'; allowed: {}", allowed()));
                None
            }
        }
    }

    /// A list of ids (strings). Absent → `None`.
    fn id_list(&mut self, o: &mut Obj<'_, '_>, key: &'static str) -> Option<Vec<String>> {
        let v = o.get(key)?;
        // The path is built only when something is wrong (this runs twice per VM).
        match v {
            Node::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Node::String(s) if !blank(s) => out.push(s.to_string()),
                        Node::String(_) => self.error(format!("{}[{i}]", o.field(key)), "must not be empty"),
                        other => self.error(
                            format!("{}[{i}]", o.field(key)),
                            format!("expected a string, got {}", other.type_name()),
                        ),
                    }
                }
                Some(out)
            }
            other => {
                self.error(o.field(key), format!("expected a list, got {}", other.type_name()));
                None
            }
        }
    }

    fn list<'a>(&mut self, o: &mut Obj<'a, '_>, key: &'static str) -> &'a [Node<'a>] {
        match o.get(key) {
            None => &[],
            Some(Node::Array(items)) => items,
            Some(other) => {
                self.error(o.field(key), format!("expected a list, got {}", other.type_name()));
                &[]
            }
        }
    }

    // ------------------------------------------------------------------ the document

    fn inventory(&mut self, doc: &Node<'_>) -> Option<Inventory> {
        let mut top = self.object(doc, "")?;
        let cluster_doc = top.get("cluster");
        let hosts_present = top.raw("hosts").is_some_and(|v| !v.is_null());
        let hosts_doc = self.list(&mut top, "hosts");
        let ds_doc = self.list(&mut top, "datastores");
        let vms_doc = self.list(&mut top, "vms");
        let rules_doc = self.list(&mut top, "rules");
        if !hosts_present {
            self.error("hosts", "missing required field");
        }
        self.finish(top);

        // References are resolved against every id the document declares, also those of
        // elements that failed to read: a host with a bad field is not also "unknown" to its VMs.
        let datastores: Vec<Datastore> =
            ds_doc.iter().enumerate().filter_map(|(i, d)| self.datastore(d, &format!("datastores[{i}]"))).collect();
        let ds_ids = self.unique_ids(ds_doc, "datastores");

        let hosts: Vec<Host> =
            hosts_doc.iter().enumerate().filter_map(|(i, h)| self.host(h, &format!("hosts[{i}]"), &ds_ids)).collect();
        let host_ids = self.unique_ids(hosts_doc, "hosts");
        let all_hosts_read = hosts.len() == hosts_doc.len();

        let empty = Node::Object(Object::default());
        let cluster = self.cluster(cluster_doc.unwrap_or(&empty), &host_ids, &ds_ids);

        let host_by_id: HashMap<&str, &Host> = hosts.iter().map(|h| (h.id.as_str(), h)).collect();
        let ctx = VmContext {
            host_ids: &host_ids,
            hosts: &host_by_id,
            ds_ids: &ds_ids,
            // The capacity checks need every host; with one unreadable they would mislead.
            capacities: if all_hosts_read {
                hosts.iter().map(|h| (h.cpu_mhz, h.memory_mb)).collect()
            } else {
                Vec::new()
            },
            max_capacity: None,
        };
        let max_capacity = ctx.capacities.iter().copied().reduce(|a, b| (a.0.max(b.0), a.1.max(b.1)));
        let ctx = VmContext { max_capacity, ..ctx };
        let mut vms: Vec<Vm> = crate::mem::try_with_capacity(vms_doc.len(), "reading the VMs").ok()?;
        let mut path = String::new();
        for (i, v) in vms_doc.iter().enumerate() {
            // One buffer for the paths of all VMs (10,000 of them in a cluster at its maximum).
            path.clear();
            // why: writing to a String cannot fail.
            let _ = std::fmt::Write::write_fmt(&mut path, format_args!("vms[{i}]"));
            vms.extend(self.vm(v, &path, &ctx));
        }
        let vm_ids = self.unique_ids(vms_doc, "vms");

        let rules: Vec<Rule> = rules_doc
            .iter()
            .enumerate()
            .filter_map(|(i, r)| self.rule(r, &format!("rules[{i}]"), &host_ids, &vm_ids))
            .collect();
        self.dependency_cycles(&rules, rules_doc);

        let cluster = cluster?;
        if all_hosts_read {
            self.stretched_sites(&cluster, &hosts);
            // R-DOMAIN: isolation addresses (none at all; sites of a stretched cluster without one).
            self.warnings.extend(crate::sim::isolation_address_warnings(&cluster, &hosts));
        }
        if let AdmissionControl::Slot { host_failures, .. } | AdmissionControl::PercentageAuto { host_failures } =
            cluster.admission_control
        {
            if host_failures as usize >= hosts.len().max(1) {
                self.warn(
                    "cluster.admission_control.host_failures",
                    format!("{host_failures} host failures cannot be tolerated by a cluster of {} hosts", hosts.len()),
                );
            }
        }
        if !self.errors.is_empty() {
            return None;
        }
        let warnings = std::mem::take(&mut self.warnings);
        Some(Inventory::assemble(cluster, hosts, datastores, vms, rules, warnings))
    }

    /// Reports duplicate ids (pointing at the repeat and at the first) and returns every id the
    /// document declares for one kind of element.
    fn unique_ids<'a>(&mut self, docs: &'a [Node<'a>], what: &str) -> HashSet<&'a str> {
        // Positions come from the document so paths name the right element even when some
        // elements failed to read.
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(docs.len());
        for (i, d) in docs.iter().enumerate() {
            if let Some(Node::String(id)) = d.get("id") {
                if blank(id) {
                    continue; // reported as "must not be empty"
                }
                if let Some(prev) = first.get(&**id) {
                    self.error(format!("{what}[{i}].id"), format!("duplicate id '{id}' (also {what}[{prev}])"));
                } else {
                    first.insert(id, i);
                }
            }
        }
        first.into_keys().collect()
    }

    fn datastore(&mut self, v: &Node<'_>, path: &str) -> Option<Datastore> {
        let mut o = self.object(v, path)?;
        let id = self.required_id(&mut o, "id");
        let name = self.string(&mut o, "name");
        let ds_type =
            self.api_enum(&mut o, "type", DatastoreType::parse, DatastoreType::allowed).unwrap_or(DatastoreType::Vmfs);
        let backing = self.string(&mut o, "backing");
        self.finish(o);
        let id = id?;
        Some(Datastore { name: name.unwrap_or_else(|| id.clone()), id, ds_type, backing })
    }

    fn check_refs(&mut self, ids: &[String], known: &HashSet<&str>, path: &str, what: &str) {
        self.check_refs_lazy(ids, known, || path.to_string(), what)
    }

    /// As [`Self::check_refs`], building the path only when something is wrong.
    fn check_refs_lazy(&mut self, ids: &[String], known: &HashSet<&str>, path: impl FnOnce() -> String, what: &str) {
        if ids.iter().all(|id| known.contains(id.as_str())) {
            return;
        }
        let path = path();
        for (i, id) in ids.iter().enumerate() {
            if !known.contains(id.as_str()) {
                self.error(format!("{path}[{i}]"), format!("unknown {what} '{id}'"));
            }
        }
    }

    fn host(&mut self, v: &Node<'_>, path: &str, ds_ids: &HashSet<&str>) -> Option<Host> {
        let mut o = self.object(v, path)?;
        let id = self.required_id(&mut o, "id");
        let name = self.string(&mut o, "name");
        let cpu_mhz = self.number_field(&mut o, "cpu_mhz", None);
        let memory_mb = self.number_field(&mut o, "memory_mb", None);
        let datastores = self.id_list(&mut o, "datastores").unwrap_or_default();
        self.check_refs_lazy(&datastores, ds_ids, || o.field("datastores"), "datastore");
        let networks = self.id_list(&mut o, "networks");
        let state = self
            .api_enum(&mut o, "state", ConnectionState::parse, ConnectionState::allowed)
            .unwrap_or(ConnectionState::Connected);
        let maintenance = self.bool(&mut o, "maintenance", false);
        let standby = self.bool(&mut o, "standby", false);
        let goodness = match o.get("goodness") {
            None => None,
            Some(g) => match (g.as_i64(), g.as_f64()) {
                (Some(g), _) if g.unsigned_abs() <= MAX_NUMBER => Some(g),
                (Some(g), _) => {
                    self.error(o.field("goodness"), format!("{g} is out of range (-2^53 to 2^53)"));
                    None
                }
                (None, Some(f)) if f.fract() != 0.0 => {
                    self.error(o.field("goodness"), format!("expected a whole number, got {}", fmt_float(f)));
                    None
                }
                // An integral float (4000.0) is a whole number, as in every other number field.
                (None, Some(f)) if f.abs() <= MAX_NUMBER as f64 => Some(f as i64),
                (None, Some(f)) => {
                    self.error(o.field("goodness"), format!("{} is out of range (-2^53 to 2^53)", fmt_float(f)));
                    None
                }
                (None, None) => {
                    self.error(o.field("goodness"), format!("expected a whole number, got {}", g.type_name()));
                    None
                }
            },
        };
        let agent_vms_ready = self.bool(&mut o, "agent_vms_ready", true);
        let fault_domain = self.optional_name(&mut o, "fault_domain");
        let site = self.optional_name(&mut o, "site");
        self.finish(o);
        let id = id?;
        Some(Host {
            name: name.unwrap_or_else(|| id.clone()),
            id,
            cpu_mhz: cpu_mhz?,
            memory_mb: memory_mb?,
            datastores: dedup(datastores),
            networks: networks.map(dedup),
            state,
            maintenance,
            standby,
            goodness,
            agent_vms_ready,
            fault_domain,
            site,
        })
    }

    /// An optional name (fault domain, site): a string, not blank (R-DOMAIN).
    fn optional_name(&mut self, o: &mut Obj<'_, '_>, key: &'static str) -> Option<String> {
        let s = self.string(o, key)?;
        if blank(&s) {
            self.error(o.field(key), "must not be empty (leave the field out instead)");
            return None;
        }
        Some(s)
    }

    fn vm(&mut self, v: &Node<'_>, path: &str, ctx: &VmContext<'_>) -> Option<Vm> {
        let mut o = self.object(v, path)?;
        let id = self.required_id(&mut o, "id");
        let name = self.string(&mut o, "name");
        let host = self.string(&mut o, "host");
        // Absent means powered on; an invalid value is reported and skips the checks that
        // depend on the power state (they would only add noise).
        let power_state = match o.raw("power_state") {
            None | Some(Node::Null) => {
                o.get("power_state");
                Some(PowerState::PoweredOn)
            }
            Some(_) => self.api_enum(&mut o, "power_state", PowerState::parse, PowerState::allowed),
        };
        let cpu = self.number_field(&mut o, "cpu_reservation_mhz", Some(0));
        let mem = self.number_field(&mut o, "memory_reservation_mb", Some(0));
        let overhead = self.number_field(&mut o, "memory_overhead_mb", Some(0));
        let home = self.string(&mut o, "home_datastore");
        let listed = self.id_list(&mut o, "datastores");
        let networks = self.id_list(&mut o, "networks").unwrap_or_default();
        let restart_priority = self
            .api_enum(&mut o, "restart_priority", RestartPriority::parse, RestartPriority::allowed)
            .unwrap_or(RestartPriority::ClusterRestartPriority);
        let isolation_response = self
            .api_enum(&mut o, "isolation_response", IsolationResponse::parse, IsolationResponse::allowed)
            .unwrap_or(IsolationResponse::ClusterIsolationResponse);
        let role = self.api_enum(&mut o, "role", VmRole::parse, VmRole::allowed);
        let protected = self.bool(&mut o, "protected", power_state == Some(PowerState::PoweredOn));
        let clean_power_off = self.bool(&mut o, "clean_power_off", false);
        let tools_running = self.bool(&mut o, "tools_running", true);
        // Current demand (R-AC-PERF), optional.
        let cpu_usage_mhz = self.optional_number(&mut o, "cpu_usage_mhz");
        let memory_usage_mb = self.optional_number(&mut o, "memory_usage_mb");
        // Orchestrated-restart overrides (R-ORCH), flat on the VM.
        let orchestration = OrchestrationOverride {
            ready_condition: self.api_enum(&mut o, "ready_condition", ReadyCondition::parse, ReadyCondition::allowed),
            post_ready_delay_s: self.optional_number(&mut o, "post_ready_delay_s"),
            restart_priority_timeout_s: self.optional_number(&mut o, "restart_priority_timeout_s"),
        };
        let vm_monitoring = o.get("vm_monitoring").and_then(|m| {
            let at = o.field("vm_monitoring");
            let mut mo = self.object(m, &at)?;
            let mode = self.api_enum(&mut mo, "mode", VmMonitoringMode::parse, VmMonitoringMode::allowed);
            let sensitivity =
                self.api_enum(&mut mo, "sensitivity", VmMonitoringSensitivity::parse, VmMonitoringSensitivity::allowed);
            self.finish(mo);
            Some(VmMonitoringOverride { mode, sensitivity })
        });
        let vmcp = o.get("vmcp").and_then(|m| {
            let at = o.field("vmcp");
            let mut mo = self.object(m, &at)?;
            let apd = self.api_enum(&mut mo, "apd", StorageProtection::parse, StorageProtection::allowed);
            let pdl = self.api_enum(&mut mo, "pdl", StorageProtection::parse, StorageProtection::allowed);
            self.finish(mo);
            Some(VmcpOverride { apd, pdl })
        });

        // Datastores: home first, then the others listed; the home is always among them.
        let home_present = o.raw("home_datastore").is_some_and(|v| !v.is_null());
        let home = match (home, &listed) {
            (Some(h), _) if blank(&h) => {
                self.error(o.field("home_datastore"), "must not be empty");
                None
            }
            (Some(h), _) => Some(h),
            (None, Some(list)) if !home_present && !list.is_empty() => list.first().cloned(),
            (None, _) => {
                if !home_present {
                    self.error(o.field("home_datastore"), "missing required field");
                }
                None
            }
        };
        if let Some(h) = &home {
            if !ctx.ds_ids.contains(h.as_str()) {
                self.error(o.field("home_datastore"), format!("unknown datastore '{h}'"));
            }
        }
        if let Some(list) = &listed {
            self.check_refs_lazy(list, ctx.ds_ids, || o.field("datastores"), "datastore");
        }

        // Host reference and what it implies (only when the power state itself is valid).
        let host = match host {
            Some(h) if blank(&h) => {
                self.error(o.field("host"), "must not be empty (use null for a VM without a host)");
                None
            }
            other => other,
        };
        let host_error = match (&host, power_state) {
            (Some(h), _) if !ctx.host_ids.contains(h.as_str()) => Some(format!("unknown host '{h}'")),
            (Some(h), Some(PowerState::PoweredOn)) => match ctx.hosts.get(h.as_str()) {
                Some(hd) if hd.maintenance => {
                    Some(format!("host '{h}' is in maintenance mode and cannot run a powered-on VM"))
                }
                Some(hd) if hd.standby => Some(format!("host '{h}' is in standby and cannot run a powered-on VM")),
                _ => None,
            },
            (None, Some(PowerState::PoweredOn)) if o.raw("host").is_none_or(Node::is_null) => {
                Some("a powered-on VM needs a host".to_string())
            }
            _ => None,
        };
        if let Some(msg) = host_error {
            self.error(o.field("host"), msg);
        }

        // A reservation no host could ever hold is a typo or a unit error.
        if let (Some(cpu), Some(mem), Some(overhead)) = (cpu, mem, overhead) {
            let demand = mem + overhead;
            let (max_cpu, max_mem) = (ctx.max_capacity.map(|c| c.0), ctx.max_capacity.map(|c| c.1));
            let mut reported = false;
            if let Some(max) = max_cpu.filter(|&max| cpu > max) {
                reported = true;
                self.error(
                    o.field("cpu_reservation_mhz"),
                    format!("{cpu} MHz exceeds every host's capacity (largest {max} MHz)"),
                );
            }
            if let Some(max) = max_mem.filter(|&max| demand > max) {
                reported = true;
                self.error(
                    o.field("memory_reservation_mb"),
                    format!(
                        "{demand} MB (reservation {mem} + overhead {overhead}) exceeds every host's capacity (largest {max} MB)"
                    ),
                );
            }
            if !reported && !ctx.capacities.is_empty() && !ctx.capacities.iter().any(|&(c, m)| cpu <= c && demand <= m)
            {
                self.error(
                    path,
                    format!(
                        "reservation of {cpu} MHz and {demand} MB (incl. overhead) fits no single host: \
                         the hosts with enough CPU have too little memory and the other way round"
                    ),
                );
            }
        }
        self.finish(o);

        let id = id?;
        let home = home?;
        // The home first, then the others as listed (repeats dropped by `dedup` below).
        let datastores = match listed {
            Some(mut list) => {
                match list.iter().position(|d| *d == home) {
                    // why: i < list.len(), found just now.
                    Some(i) => list[..=i].rotate_right(1),
                    None => list.insert(0, home.clone()),
                }
                list
            }
            None => vec![home.clone()],
        };
        Some(Vm {
            name: name.unwrap_or_else(|| id.clone()),
            id,
            host,
            power_state: power_state?,
            cpu_reservation_mhz: cpu?,
            memory_reservation_mb: mem?,
            memory_overhead_mb: overhead?,
            home_datastore: home,
            datastores: dedup(datastores),
            networks: dedup(networks),
            restart_priority,
            isolation_response,
            role,
            protected,
            clean_power_off,
            tools_running,
            vm_monitoring,
            vmcp,
            orchestration,
            cpu_usage_mhz,
            memory_usage_mb,
        })
    }

    fn rule(&mut self, v: &Node<'_>, path: &str, host_ids: &HashSet<&str>, vm_ids: &HashSet<&str>) -> Option<Rule> {
        let mut o = self.object(v, path)?;
        // A null type is as missing as an absent one: never a rule dropped without a word.
        let present = o.raw("type").is_some_and(|v| !v.is_null());
        let kind = self.api_enum(&mut o, "type", RuleKind::parse, RuleKind::allowed);
        if !present {
            self.error(o.field("type"), format!("missing required field; allowed: {}", RuleKind::allowed()));
        }
        let name = self.string(&mut o, "name");
        let enabled = self.bool(&mut o, "enabled", true);
        let (mut vms, mut hosts, mut depends_on) = (Vec::new(), Vec::new(), Vec::new());
        match kind {
            Some(RuleKind::VmDependsOn) => {
                match o.get("vm") {
                    Some(Node::String(s)) if blank(s) => self.error(o.field("vm"), "must not be empty"),
                    Some(Node::String(s)) => {
                        if !vm_ids.contains(&**s) {
                            self.error(o.field("vm"), format!("unknown vm '{s}'"));
                        }
                        vms.push(s.to_string());
                    }
                    Some(other) => self.error(o.field("vm"), format!("expected a VM id, got {}", other.type_name())),
                    None => self.error(o.field("vm"), "missing required field"),
                }
                match o.get("depends_on") {
                    // A lone id: its path has no index.
                    Some(Node::String(s)) if blank(s) => self.error(o.field("depends_on"), "must not be empty"),
                    Some(Node::String(s)) => {
                        if !vm_ids.contains(&**s) {
                            self.error(o.field("depends_on"), format!("unknown vm '{s}'"));
                        }
                        depends_on.push(s.to_string());
                    }
                    Some(Node::Array(_)) => {
                        depends_on = self.id_list(&mut o, "depends_on").unwrap_or_default();
                        self.check_refs(&depends_on, vm_ids, &o.field("depends_on"), "vm");
                        if o.raw("depends_on").and_then(Node::as_array).is_some_and(Vec::is_empty) {
                            self.error(o.field("depends_on"), "name at least one VM");
                        }
                    }
                    Some(other) => self.error(
                        o.field("depends_on"),
                        format!("expected a VM id or a list of them, got {}", other.type_name()),
                    ),
                    None => self.error(o.field("depends_on"), "missing required field"),
                }
                if let Some(vm) = vms.first() {
                    if depends_on.contains(vm) {
                        self.error(o.field("depends_on"), format!("'{vm}' cannot depend on itself"));
                    }
                }
            }
            Some(kind) => {
                let listed = self.id_list(&mut o, "vms");
                if listed.is_none() && o.raw("vms").is_none_or(Node::is_null) {
                    self.error(o.field("vms"), "missing required field");
                }
                if let Some(list) = listed {
                    vms = list;
                }
                self.check_refs(&vms, vm_ids, &o.field("vms"), "vm");
                let host_rule = matches!(
                    kind,
                    RuleKind::VmHostMust | RuleKind::VmHostMustNot | RuleKind::VmHostShould | RuleKind::VmHostShouldNot
                );
                let vms_ok = o.raw("vms").is_some_and(Node::is_array);
                if host_rule {
                    let listed = self.id_list(&mut o, "hosts");
                    let hosts_ok = o.raw("hosts").is_some_and(Node::is_array);
                    match listed {
                        Some(list) => hosts = list,
                        None if o.raw("hosts").is_none_or(Node::is_null) => {
                            self.error(o.field("hosts"), "missing required field")
                        }
                        None => {}
                    }
                    self.check_refs(&hosts, host_ids, &o.field("hosts"), "host");
                    if vms_ok && o.raw("vms").and_then(Node::as_array).is_some_and(Vec::is_empty) {
                        self.error(o.field("vms"), "a VM-host rule needs at least one VM");
                    }
                    if hosts_ok && o.raw("hosts").and_then(Node::as_array).is_some_and(Vec::is_empty) {
                        self.error(o.field("hosts"), "a VM-host rule needs at least one host");
                    }
                } else if vms_ok
                    && o.raw("vms").and_then(Node::as_array).is_some_and(|items| items.iter().all(Node::is_string))
                    && dedup(vms.clone()).len() < 2
                {
                    self.error(o.field("vms"), "a VM-VM rule needs at least two distinct VMs");
                }
            }
            None => {
                // Unknown type: read nothing more, but do not call the remaining keys unknown.
                for k in ["vms", "hosts", "vm", "depends_on"] {
                    o.get(k);
                }
            }
        }
        self.finish(o);
        let kind = kind?;
        let index = path.trim_start_matches("rules[").trim_end_matches(']');
        Some(Rule {
            kind,
            name: name.unwrap_or_else(|| format!("rule-{index}")),
            enabled,
            vms: dedup(vms),
            hosts: dedup(hosts),
            depends_on: dedup(depends_on),
        })
    }

    /// VM-to-VM dependencies must form no cycle, or no VM of the cycle could ever restart.
    fn dependency_cycles(&mut self, rules: &[Rule], docs: &[Node<'_>]) {
        let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in rules.iter().filter(|r| r.kind == RuleKind::VmDependsOn && r.enabled) {
            if let Some(vm) = r.vms.first() {
                // A VM naming itself is reported by the rule already; it is no cycle worth a second word.
                edges.entry(vm).or_default().extend(r.depends_on.iter().map(String::as_str).filter(|d| d != vm));
            }
        }
        // Iterative DFS with colours: 0 new, 1 on stack, 2 done.
        let mut colour: HashMap<&str, u8> = HashMap::new();
        for &start in edges.keys() {
            if colour.get(start).copied().unwrap_or(0) != 0 {
                continue;
            }
            let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
            colour.insert(start, 1);
            while let Some((node, next)) = stack.last().copied() {
                let succ = edges.get(node).map(Vec::as_slice).unwrap_or(&[]);
                if next < succ.len() {
                    // why: inside `while let Some(..) = stack.last()`: the stack is not empty.
                    stack.last_mut().expect("non-empty").1 += 1;
                    // why: `next < succ.len()` just above.
                    let s = succ[next];
                    match colour.get(s).copied().unwrap_or(0) {
                        0 => {
                            colour.insert(s, 1);
                            stack.push((s, 0));
                        }
                        1 => {
                            // why: `from` is a position in `stack` (or 0), so `stack[from..]` is in range.
                            let from = stack.iter().position(|(n, _)| *n == s).unwrap_or(0);
                            let mut cycle: Vec<&str> = stack[from..].iter().map(|(n, _)| *n).collect();
                            cycle.push(s);
                            let at = docs
                                .iter()
                                .position(|d| d.get("vm").and_then(Node::as_str) == Some(s))
                                .map(|i| format!("rules[{i}]"))
                                .unwrap_or_else(|| "rules".to_string());
                            self.error(at, format!("dependency cycle: {}", cycle.join(" -> ")));
                        }
                        _ => {}
                    }
                } else {
                    colour.insert(node, 2);
                    stack.pop();
                }
            }
        }
    }

    fn cluster(&mut self, v: &Node<'_>, host_ids: &HashSet<&str>, ds_ids: &HashSet<&str>) -> Option<ClusterConfig> {
        let mut o = self.object(v, "cluster")?;
        let name = self.string(&mut o, "name").unwrap_or_default();
        let version = match o.get("version") {
            None => Version::V8_0,
            Some(Node::String(s)) => Version::parse(s).unwrap_or_else(|| {
                self.error("cluster.version", format!("unknown value '{s}'; allowed: {}", Version::allowed()));
                Version::V8_0
            }),
            // YAML writes `version: 8.0` as a number.
            Some(Node::Number(n)) => {
                // `8` and `8.0` mean "8.0"; `6.5` means "6.5"; nothing is rounded into a version.
                let text = match (n.as_u64(), n.as_f64()) {
                    (Some(u), _) => format!("{u}.0"),
                    (None, Some(f)) if f.fract() == 0.0 => format!("{f:.1}"),
                    (None, Some(f)) => f.to_string(),
                    (None, None) => n.to_string(),
                };
                Version::parse(&text).unwrap_or_else(|| {
                    self.error("cluster.version", format!("unknown value {n}; allowed: {}", Version::allowed()));
                    Version::V8_0
                })
            }
            Some(other) => {
                self.error("cluster.version", format!("expected a string, got {}", other.type_name()));
                Version::V8_0
            }
        };
        let host_monitoring = self.bool(&mut o, "host_monitoring", true);
        let mut resource_reduction_to_tolerate_percent = None;
        let admission_control = match o.get("admission_control") {
            None => default_admission(version),
            Some(a) => self
                .admission(a, version, host_ids, &mut resource_reduction_to_tolerate_percent)
                .unwrap_or(AdmissionControl::Disabled),
        };
        let isolation_response = self
            .api_enum(&mut o, "isolation_response", IsolationResponse::parse, IsolationResponse::allowed)
            .unwrap_or(IsolationResponse::None);
        if isolation_response == IsolationResponse::ClusterIsolationResponse {
            self.error(
                "cluster.isolation_response",
                "the cluster default cannot defer to itself; use 'none', 'powerOff' or 'shutdown'",
            );
        }
        let restart_priority = self
            .api_enum(&mut o, "restart_priority", RestartPriority::parse, RestartPriority::allowed)
            .unwrap_or(RestartPriority::Medium);
        if restart_priority == RestartPriority::ClusterRestartPriority {
            self.error("cluster.restart_priority", "the cluster default cannot defer to itself");
        }
        let isolation_addresses = self.id_list(&mut o, "isolation_addresses").unwrap_or_default();
        let heartbeat_datastores = match o.get("heartbeat_datastores") {
            None => HeartbeatDatastoreConfig { policy: HbDsPolicy::AllFeasibleDsWithUserPreference, preferred: vec![] },
            Some(h) => self.heartbeat_config(h, ds_ids),
        };
        let vm_monitoring = self.vm_monitoring(o.get("vm_monitoring"));
        let vmcp = self.vmcp(o.get("vmcp"));
        let vsan = self.vsan(o.get("vsan"));
        let orchestration = self.orchestration(o.get("orchestration"));
        if o.get("orchestration").is_some_and(|v| !v.is_null()) && !version.at_least(Version::V6_5) {
            self.warn(
                "cluster.orchestration",
                format!(
                    "orchestrated restart (R-ORCH) exists from vSphere 6.5 on: ignored in a {} cluster, where a lower \
                     priority class waits for the power-ons of the higher classes to complete",
                    version.as_str()
                ),
            );
        }
        let drs = self.drs(o.get("drs"));
        let dpm = self.dpm(o.get("dpm"));
        let raw = self.advanced_options(o.get("advanced_options"));
        let advanced_options =
            AdvancedOptions::parse(raw, version, "cluster.advanced_options", &mut self.errors, &mut self.warnings);
        self.finish(o);
        Some(ClusterConfig {
            name,
            version,
            host_monitoring,
            admission_control,
            resource_reduction_to_tolerate_percent,
            isolation_response,
            restart_priority,
            isolation_addresses: dedup(isolation_addresses),
            heartbeat_datastores,
            vm_monitoring,
            vmcp,
            vsan,
            orchestration,
            drs,
            dpm,
            advanced_options,
        })
    }

    /// `cluster.drs` (R-PLACE-DRS): `enabled` (default false) and `automation` (`manual`,
    /// `partiallyAutomated`, `fullyAutomated`; default `fullyAutomated`).
    fn drs(&mut self, v: Option<&Node<'_>>) -> DrsConfig {
        let mut cfg = DrsConfig::default();
        let Some(v) = v.filter(|v| !v.is_null()) else { return cfg };
        let Some(mut o) = self.object(v, "cluster.drs") else {
            return cfg;
        };
        cfg.enabled = self.bool(&mut o, "enabled", false);
        cfg.automation =
            self.api_enum(&mut o, "automation", DrsAutomation::parse, DrsAutomation::allowed).unwrap_or(cfg.automation);
        self.finish(o);
        cfg
    }

    /// `cluster.dpm` (R-PLACE-DRS): `enabled` (default false).
    fn dpm(&mut self, v: Option<&Node<'_>>) -> DpmConfig {
        let mut cfg = DpmConfig::default();
        let Some(v) = v.filter(|v| !v.is_null()) else { return cfg };
        let Some(mut o) = self.object(v, "cluster.dpm") else {
            return cfg;
        };
        cfg.enabled = self.bool(&mut o, "enabled", false);
        self.finish(o);
        cfg
    }

    /// `cluster.orchestration` (R-ORCH): `ready_condition`, `post_ready_delay_s`,
    /// `restart_priority_timeout_s`, each with its default.
    fn orchestration(&mut self, v: Option<&Node<'_>>) -> OrchestrationConfig {
        let mut cfg = OrchestrationConfig::default();
        let Some(v) = v else { return cfg };
        let Some(mut o) = self.object(v, "cluster.orchestration") else {
            return cfg;
        };
        cfg.ready_condition = self
            .api_enum(&mut o, "ready_condition", ReadyCondition::parse, ReadyCondition::allowed)
            .unwrap_or(cfg.ready_condition);
        cfg.post_ready_delay_s = self.optional_number(&mut o, "post_ready_delay_s").unwrap_or(cfg.post_ready_delay_s);
        cfg.restart_priority_timeout_s =
            self.optional_number(&mut o, "restart_priority_timeout_s").unwrap_or(cfg.restart_priority_timeout_s);
        self.finish(o);
        cfg
    }

    /// `cluster.vsan` (R-DOMAIN): `enabled`, and `stretched` with its two sites (checked
    /// against the hosts' sites by [`Self::stretched_sites`]).
    fn vsan(&mut self, v: Option<&Node<'_>>) -> VsanConfig {
        let mut cfg = VsanConfig::default();
        let Some(v) = v else { return cfg };
        let Some(mut o) = self.object(v, "cluster.vsan") else {
            return cfg;
        };
        cfg.enabled = self.bool(&mut o, "enabled", false);
        if let Some(st) = o.get("stretched") {
            if let Some(mut so) = self.object(st, "cluster.vsan.stretched") {
                let preferred = self.required_id(&mut so, "preferred_site");
                let secondary = self.required_id(&mut so, "secondary_site");
                self.finish(so);
                if let (Some(p), Some(s)) = (preferred, secondary) {
                    if p == s {
                        self.error(
                            "cluster.vsan.stretched.secondary_site",
                            format!("must differ from the preferred site '{p}'"),
                        );
                    }
                    if !cfg.enabled {
                        self.error(
                            "cluster.vsan.stretched",
                            "a stretched cluster needs vSAN: set cluster.vsan.enabled to true",
                        );
                    }
                    cfg.stretched = Some(StretchedCluster { preferred_site: p, secondary_site: s });
                }
            }
        }
        self.finish(o);
        cfg
    }

    /// The sites `cluster.vsan.stretched` names must be sites of hosts; in a stretched cluster a
    /// data host without a site is reported (a warning: it belongs to neither site).
    fn stretched_sites(&mut self, cluster: &ClusterConfig, hosts: &[Host]) {
        let Some(st) = &cluster.vsan.stretched else { return };
        let sites: BTreeMap<&str, usize> =
            hosts.iter().filter_map(|h| h.site.as_deref()).fold(BTreeMap::new(), |mut m, s| {
                *m.entry(s).or_default() += 1;
                m
            });
        let known = || {
            if sites.is_empty() {
                "no host has a site (hosts[].site)".to_string()
            } else {
                format!(
                    "the hosts' sites are {}",
                    sites.keys().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
                )
            }
        };
        for (key, name) in [("preferred_site", &st.preferred_site), ("secondary_site", &st.secondary_site)] {
            if !sites.contains_key(name.as_str()) {
                self.error(format!("cluster.vsan.stretched.{key}"), format!("unknown site '{name}': {}", known()));
            }
        }
        for (i, h) in hosts.iter().enumerate() {
            if h.site.is_none() {
                self.warn(
                    format!("hosts[{i}].site"),
                    "a host of a stretched cluster without a site: it belongs to neither site",
                );
            }
        }
    }

    fn admission(
        &mut self,
        v: &Node<'_>,
        version: Version,
        host_ids: &HashSet<&str>,
        perf: &mut Option<u32>,
    ) -> Option<AdmissionControl> {
        let path = "cluster.admission_control";
        let mut o = self.object(v, path)?;
        // R-AC-PERF (6.5+): the performance degradation VMs tolerate, any policy.
        if let Some(p) = self.optional_number(&mut o, "resource_reduction_to_tolerate_percent") {
            if p > 100 {
                self.error(
                    format!("{path}.resource_reduction_to_tolerate_percent"),
                    format!("{p} is out of range (0 to 100)"),
                );
            } else if !version.at_least(Version::V6_5) {
                self.error(
                    format!("{path}.resource_reduction_to_tolerate_percent"),
                    format!("needs version 6.5 or later (cluster is {version})"),
                );
            } else {
                // why: p <= 100, checked just above.
                *perf = Some(p as u32);
            }
        }
        let has = |k: &str| o.raw(k).is_some_and(|v| !v.is_null());
        let (has_failures, has_cpu, has_mem) = (has("host_failures"), has("cpu_percent"), has("memory_percent"));
        // A null policy is missing, not "disabled": admission control is never switched off silently.
        let present = o.raw("policy").is_some_and(|v| !v.is_null());
        let policy = self.api_enum(&mut o, "policy", AdmissionPolicyKind::parse, AdmissionPolicyKind::allowed);
        if !present {
            self.error(
                format!("{path}.policy"),
                format!("missing required field; allowed: {}", AdmissionPolicyKind::allowed()),
            );
        }
        let failures = |r: &mut Reader, o: &mut Obj<'_, '_>| -> Option<u32> {
            let n = r.number_field(o, "host_failures", Some(1))?;
            if n > 1000 {
                r.error(o.field("host_failures"), format!("{n} is out of range (0 to 1000)"));
                return None;
            }
            // why: n <= 1000, checked just above.
            Some(n as u32)
        };
        let result = match policy {
            Some(AdmissionPolicyKind::Slot) => {
                let host_failures = failures(self, &mut o);
                let slot_cpu_mhz = self.optional_number(&mut o, "slot_cpu_mhz");
                let slot_memory_mb = self.optional_number(&mut o, "slot_memory_mb");
                for (k, val) in [("slot_cpu_mhz", slot_cpu_mhz), ("slot_memory_mb", slot_memory_mb)] {
                    if val == Some(0) {
                        self.error(format!("{path}.{k}"), "a fixed slot must be at least 1");
                    }
                }
                if slot_cpu_mhz.is_some() != slot_memory_mb.is_some() {
                    self.error(path, "a fixed slot size needs both slot_cpu_mhz and slot_memory_mb");
                }
                host_failures.map(|host_failures| AdmissionControl::Slot {
                    host_failures,
                    slot_cpu_mhz,
                    slot_memory_mb,
                })
            }
            Some(AdmissionPolicyKind::Percentage) => {
                if has_failures && (has_cpu || has_mem) {
                    self.error(
                        path,
                        "give either host_failures (auto-computed) or cpu_percent and memory_percent, not both",
                    );
                    None
                } else if has_failures {
                    if !version.at_least(Version::V6_5) {
                        self.error(
                            format!("{path}.host_failures"),
                            format!("auto-computed percentages need version 6.5 or later (cluster is {version})"),
                        );
                    }
                    failures(self, &mut o).map(|host_failures| AdmissionControl::PercentageAuto { host_failures })
                } else {
                    if !has_cpu {
                        self.error(format!("{path}.cpu_percent"), "missing required field (or give host_failures)");
                    }
                    if !has_mem {
                        self.error(format!("{path}.memory_percent"), "missing required field (or give host_failures)");
                    }
                    let cpu = self.float(&mut o, "cpu_percent", 0.0, 100.0);
                    let mem = self.float(&mut o, "memory_percent", 0.0, 100.0);
                    match (cpu, mem) {
                        (Some(cpu_percent), Some(memory_percent)) => {
                            Some(AdmissionControl::Percentage { cpu_percent, memory_percent })
                        }
                        _ => None,
                    }
                }
            }
            Some(AdmissionPolicyKind::FailoverHosts) => match self.id_list(&mut o, "hosts") {
                Some(hosts) if !hosts.is_empty() => {
                    self.check_refs(&hosts, host_ids, &format!("{path}.hosts"), "host");
                    Some(AdmissionControl::FailoverHosts { hosts: dedup(hosts) })
                }
                Some(_) => {
                    self.error(format!("{path}.hosts"), "name at least one failover host");
                    None
                }
                None => {
                    self.error(format!("{path}.hosts"), "missing required field");
                    None
                }
            },
            Some(AdmissionPolicyKind::Disabled) => Some(AdmissionControl::Disabled),
            None => None,
        };
        // Keys that belong to another policy are mistakes worth a word.
        for k in ["host_failures", "cpu_percent", "memory_percent", "slot_cpu_mhz", "slot_memory_mb", "hosts"] {
            if o.raw(k).is_some() && !o.was_read(k) {
                o.get(k); // marks it read
                self.warn(
                    format!("{path}.{k}"),
                    format!("ignored by the '{}' policy", policy.map(|p| p.as_str()).unwrap_or("?")),
                );
            }
        }
        self.finish(o);
        result
    }

    fn heartbeat_config(&mut self, v: &Node<'_>, ds_ids: &HashSet<&str>) -> HeartbeatDatastoreConfig {
        let default =
            HeartbeatDatastoreConfig { policy: HbDsPolicy::AllFeasibleDsWithUserPreference, preferred: vec![] };
        let Some(mut o) = self.object(v, "cluster.heartbeat_datastores") else {
            return default;
        };
        let policy = self.api_enum(&mut o, "policy", HbDsPolicy::parse, HbDsPolicy::allowed).unwrap_or(default.policy);
        let preferred = self.id_list(&mut o, "preferred").unwrap_or_default();
        self.check_refs(&preferred, ds_ids, "cluster.heartbeat_datastores.preferred", "datastore");
        self.finish(o);
        HeartbeatDatastoreConfig { policy, preferred: dedup(preferred) }
    }

    fn vm_monitoring(&mut self, v: Option<&Node<'_>>) -> VmMonitoringConfig {
        let mut cfg = VmMonitoringConfig {
            mode: VmMonitoringMode::Disabled,
            sensitivity: VmMonitoringSensitivity::High,
            failure_interval_s: None,
            min_uptime_s: None,
            max_resets: None,
            max_resets_window_s: None,
        };
        let Some(v) = v else { return cfg };
        let Some(mut o) = self.object(v, "cluster.vm_monitoring") else {
            return cfg;
        };
        cfg.mode =
            self.api_enum(&mut o, "mode", VmMonitoringMode::parse, VmMonitoringMode::allowed).unwrap_or(cfg.mode);
        cfg.sensitivity = self
            .api_enum(&mut o, "sensitivity", VmMonitoringSensitivity::parse, VmMonitoringSensitivity::allowed)
            .unwrap_or(cfg.sensitivity);
        cfg.failure_interval_s = self.optional_number(&mut o, "failure_interval_s");
        cfg.min_uptime_s = self.optional_number(&mut o, "min_uptime_s");
        // why: clamped to u32::MAX first.
        cfg.max_resets = self.optional_number(&mut o, "max_resets").map(|n| n.min(u32::MAX as u64) as u32);
        cfg.max_resets_window_s = self.optional_number(&mut o, "max_resets_window_s");
        if cfg.sensitivity == VmMonitoringSensitivity::Custom && cfg.failure_interval_s.is_none() {
            self.error("cluster.vm_monitoring.failure_interval_s", "required when sensitivity is 'custom'");
        }
        self.finish(o);
        cfg
    }

    fn vmcp(&mut self, v: Option<&Node<'_>>) -> VmcpConfig {
        let mut cfg = VmcpConfig {
            apd: StorageProtection::Disabled,
            pdl: StorageProtection::Disabled,
            apd_delay_s: 180,
            apd_cleared: ApdClearedReaction::None,
        };
        let Some(v) = v else { return cfg };
        let Some(mut o) = self.object(v, "cluster.vmcp") else {
            return cfg;
        };
        cfg.apd = self.api_enum(&mut o, "apd", StorageProtection::parse, StorageProtection::allowed).unwrap_or(cfg.apd);
        cfg.pdl = self.api_enum(&mut o, "pdl", StorageProtection::parse, StorageProtection::allowed).unwrap_or(cfg.pdl);
        cfg.apd_delay_s = self.number_field(&mut o, "apd_delay_s", Some(180)).unwrap_or(180);
        cfg.apd_cleared = self
            .api_enum(&mut o, "apd_cleared", ApdClearedReaction::parse, ApdClearedReaction::allowed)
            .unwrap_or(cfg.apd_cleared);
        self.finish(o);
        cfg
    }

    fn advanced_options(&mut self, v: Option<&Node<'_>>) -> BTreeMap<String, String> {
        let mut raw = BTreeMap::new();
        let Some(v) = v else { return raw };
        let Some(o) = self.object(v, "cluster.advanced_options") else {
            return raw;
        };
        // vCenter matches keys case-insensitively: a second spelling of a key is ambiguous.
        // Checked here, in document order, so the later spelling is the one blamed.
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (key, value) in o.object.iter() {
            let folded = crate::options::canonical_key(key).unwrap_or(key).to_ascii_lowercase();
            if let Some(first) = seen.get(&folded) {
                self.error(
                    format!("cluster.advanced_options['{key}']"),
                    format!("duplicate of '{first}' (option keys are case-insensitive)"),
                );
                continue;
            }
            seen.insert(folded, key);
            let text = match value {
                Node::String(s) => s.to_string(),
                // vCenter stores text; numbers and booleans typed in JSON/YAML mean the same.
                Node::Number(n) => n.to_string(),
                Node::Bool(b) => b.to_string(),
                other => {
                    self.error(
                        format!("cluster.advanced_options['{key}']"),
                        format!("expected a string value, got {}", other.type_name()),
                    );
                    continue;
                }
            };
            raw.insert(key.to_string(), text);
        }
        raw
    }
}

/// The policy vCenter enables by default: slot with one failure before 6.5, auto-computed
/// percentages with one failure from 6.5 on.
pub fn default_admission(version: Version) -> AdmissionControl {
    if version.at_least(Version::V6_5) {
        AdmissionControl::PercentageAuto { host_failures: 1 }
    } else {
        AdmissionControl::Slot { host_failures: 1, slot_cpu_mhz: None, slot_memory_mb: None }
    }
}

/// `""` (the document root) prints as `<root>`.
fn display_path(path: &str) -> String {
    if path.is_empty() {
        "<root>".to_string()
    } else {
        path.to_string()
    }
}

/// Removes repeated ids, keeping first occurrences in order.
fn dedup(mut items: Vec<String>) -> Vec<String> {
    if items.len() <= 16 {
        // Short lists (the usual case): in place, no hashing, no clones. `kept` items, first
        // occurrences in order, lead the list; a repeat is swapped behind them.
        let mut kept = 0;
        for i in 0..items.len() {
            if !items[..kept].contains(&items[i]) {
                items.swap(kept, i);
                kept += 1;
            }
        }
        items.truncate(kept);
        return items;
    }
    let mut seen = HashSet::new();
    items.into_iter().filter(|s| seen.insert(s.clone())).collect()
}

#[cfg(test)]
mod tests {
    //! The JSON front end gathers small objects in a list and switches to a map past 32 keys,
    //! and the reader scans small objects instead of hashing: these pin that both paths refuse
    //! repeated keys and report unknown fields alike.
    use super::*;

    /// One host with `extra` appended to its fields (text after `"memory_mb": 1024`).
    fn host_doc(extra: &str) -> String {
        format!(r#"{{"hosts": [{{"id": "h1", "cpu_mhz": 1000, "memory_mb": 1024{extra}}}]}}"#)
    }

    fn unknown(n: usize) -> String {
        (0..n).map(|i| format!(r#", "x{i}": {i}"#)).collect()
    }

    fn refused_as_duplicate(text: &str, key: &str) -> bool {
        match from_json_str(text) {
            Err(Error::Invalid(p)) => {
                p.len() == 1 && p[0].path == "<json>" && p[0].message.contains(&format!("duplicate key '{key}'"))
            }
            _ => false,
        }
    }

    #[test]
    fn repeated_key_is_refused_in_small_and_large_objects() {
        // Small object (4 keys).
        assert!(refused_as_duplicate(&host_doc(r#", "cpu_mhz": 5"#), "cpu_mhz"));
        // 3 + 40 keys: repeats of a key read before and after the switch to a map.
        assert!(refused_as_duplicate(&host_doc(&format!("{}, \"id\": \"h2\"", unknown(40))), "id"));
        assert!(refused_as_duplicate(&host_doc(&format!("{}, \"x35\": 1", unknown(40))), "x35"));
        // The repeat right at the switch (the 33rd key repeats the first).
        assert!(refused_as_duplicate(&host_doc(&format!("{}, \"id\": \"h2\"", unknown(29))), "id"));
    }

    #[test]
    fn keys_sharing_length_and_ending_are_distinct() {
        let inv = from_json_str(&host_doc(r#", "a_1234567": 1, "b_1234567": 2"#)).expect("distinct keys load");
        let ignored: Vec<&str> =
            inv.warnings.iter().filter(|w| w.message == "unknown field: ignored").map(|w| w.path.as_str()).collect();
        assert_eq!(ignored, ["hosts[0].a_1234567", "hosts[0].b_1234567"]);
    }

    #[test]
    fn unknown_fields_are_reported_in_small_and_large_objects() {
        for n in [1, 29, 30, 40] {
            let inv = from_json_str(&host_doc(&unknown(n))).expect("unknown fields are only warned about");
            let mut ignored: Vec<String> =
                inv.warnings.iter().filter(|w| w.message == "unknown field: ignored").map(|w| w.path.clone()).collect();
            ignored.sort();
            let mut expected: Vec<String> = (0..n).map(|i| format!("hosts[0].x{i}")).collect();
            expected.sort(); // warnings come sorted by path
            assert_eq!(ignored, expected, "{n} unknown fields");
            assert_eq!((inv.hosts[0].cpu_mhz, inv.hosts[0].memory_mb), (1000, 1024));
        }
    }

    #[test]
    fn fields_are_found_in_any_order() {
        let text = r#"{"hosts": [{"memory_mb": 1024, "name": "esx", "cpu_mhz": 1000, "id": "h1"}]}"#;
        let inv = from_json_str(text).expect("loads");
        let h = &inv.hosts[0];
        assert_eq!((h.id.as_str(), h.name.as_str(), h.cpu_mhz, h.memory_mb), ("h1", "esx", 1000, 1024));
        assert!(inv.warnings.iter().all(|w| w.message != "unknown field: ignored"));
    }
}
