//! Python objects ⇄ the core's document tree (`serde_json::Value`).

use std::collections::HashSet;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::model::Problem;

/// Deepest nesting accepted from Python (inventories are 4–5 levels deep).
const MAX_DEPTH: usize = 64;

/// Converts plain Python data (dict / list / tuple / str / int / float / bool / None; str
/// subclasses such as `StrEnum` members; anything with `__index__`) into a document tree.
/// What cannot be represented is recorded in `problems` with its path and becomes `null`,
/// so the validator still reports everything else in the same pass.
///
/// A container that contains itself (`d["self"] = d`, or a list inside itself) is reported
/// once, where it first refers back, naming the path it refers back to; the same container
/// reached twice without a cycle (`[d] * 1000`) is just converted twice. The work per
/// container is bounded (at most [`MAX_DEPTH`] ancestors are compared), so a list of n
/// self-referencing dicts costs O(n).
pub fn to_value(obj: &Bound<'_, PyAny>, path: &str, problems: &mut Vec<Problem>) -> Value {
    let mut ancestors = Vec::new();
    convert(obj, path, 0, &mut ancestors, problems)
}

/// The conversion problems followed by the validator's, without a validator problem at a path
/// where a value could not be converted (that value became null, and the validator's complaint
/// about the null would only repeat the conversion problem), sorted. Linear in the number of
/// problems (a hash set of the converted paths, not a scan of them per validator problem: 60,000
/// unconvertible values with 180,000 validator problems took 24 s that way).
pub fn merge_problems(mut converted: Vec<Problem>, validator: Vec<Problem>) -> Vec<Problem> {
    let seen: HashSet<String> = converted.iter().map(|p| p.path.clone()).collect();
    converted.extend(validator.into_iter().filter(|p| !seen.contains(&p.path)));
    converted.sort();
    converted
}

fn here(path: &str) -> String {
    if path.is_empty() {
        "<root>".to_string()
    } else {
        path.to_string()
    }
}

/// A container on the way from the root to the object being converted: its address (it stays
/// alive while we are inside it) and the length of its path, a prefix of every path below it.
struct Ancestor {
    address: usize,
    path_len: usize,
}

fn convert(
    obj: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
    ancestors: &mut Vec<Ancestor>,
    problems: &mut Vec<Problem>,
) -> Value {
    if depth > MAX_DEPTH {
        problems.push(Problem::new(here(path), format!("nested more than {MAX_DEPTH} levels deep")));
        return Value::Null;
    }
    if obj.is_none() {
        return Value::Null;
    }
    // bool before int: Python's bool is an int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Value::Bool(b.is_true());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_str() {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => {
                problems.push(Problem::new(here(path), "string is not valid UTF-8 (lone surrogate)"));
                Value::Null
            }
        };
    }
    if obj.is_instance_of::<PyInt>() || (obj.hasattr("__index__").unwrap_or(false) && !obj.is_instance_of::<PyFloat>())
    {
        if let Ok(v) = obj.extract::<u64>() {
            return Value::Number(v.into());
        }
        if let Ok(v) = obj.extract::<i64>() {
            return Value::Number(v.into());
        }
        // Beyond 64 bits: a float, as JSON text reads such a literal, so the document is judged
        // the same whichever way it came (a field that is ignored stays ignored).
        if let Some(n) = obj.extract::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
        // `str()` refuses integers of more than 4,300 digits (Python's conversion limit).
        let text = obj.str().map(|s| s.to_string()).unwrap_or_else(|_| "an integer of thousands of digits".to_string());
        problems.push(Problem::new(here(path), format!("{text} is too large")));
        return Value::Null;
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return match Number::from_f64(v) {
            Some(n) => Value::Number(n),
            None => {
                problems.push(Problem::new(here(path), format!("expected a finite number, got {v}")));
                Value::Null
            }
        };
    }
    let is_container =
        obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    if is_container {
        let address = obj.as_ptr() as usize;
        if let Some(a) = ancestors.iter().find(|a| a.address == address) {
            let target = here(&path[..a.path_len.min(path.len())]);
            problems.push(Problem::new(here(path), format!("refers back to its own container {target} (a cycle)")));
            return Value::Null;
        }
        ancestors.push(Ancestor { address, path_len: path.len() });
        let value = convert_container(obj, path, depth, ancestors, problems);
        ancestors.pop();
        return value;
    }
    // Objects of our own Python layer (Host, Vm, …) expose `to_dict()`.
    if let Ok(method) = obj.getattr("to_dict") {
        if let Ok(d) = method.call0() {
            return convert(&d, path, depth + 1, ancestors, problems);
        }
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    problems.push(Problem::new(here(path), format!("unsupported type {type_name}")));
    Value::Null
}

/// A dict, list or tuple (`obj` is one; `convert` has put it on `ancestors`).
fn convert_container(
    obj: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
    ancestors: &mut Vec<Ancestor>,
    problems: &mut Vec<Problem>,
) -> Value {
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let Some(key) = k.cast::<PyString>().ok().and_then(|s| s.to_str().ok().map(str::to_string)) else {
                let shown = k.repr().map(|r| r.to_string()).unwrap_or_default();
                problems.push(Problem::new(here(path), format!("keys must be strings, got {shown}")));
                continue;
            };
            let child = if path.is_empty() {
                key.clone()
            } else if key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                format!("{path}.{key}")
            } else {
                format!("{path}['{key}']")
            };
            let value = convert(&v, &child, depth + 1, ancestors, problems);
            map.insert(key, value);
        }
        return Value::Object(map);
    }
    let mut items = Vec::new();
    if let Ok(iter) = obj.try_iter() {
        for (i, item) in iter.enumerate() {
            match item {
                Ok(item) => items.push(convert(&item, &format!("{path}[{i}]"), depth + 1, ancestors, problems)),
                Err(e) => problems.push(Problem::new(format!("{path}[{i}]"), e.to_string())),
            }
        }
    }
    Value::Array(items)
}

/// Converts a document tree into plain Python data.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
