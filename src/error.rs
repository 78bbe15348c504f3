//! The core's error type. The Python bindings map it to exceptions in one place
//! (`src/python/errors.rs`).

use crate::model::Problem;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is not a valid inventory / scenario: every problem found, sorted by path.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<Problem>),
    /// An id that names nothing in the inventory (a look-up, not an input document).
    #[error("unknown {kind} '{id}'")]
    UnknownId { kind: &'static str, id: String },
    /// A name carried by several objects of one kind: the ids that carry it, in inventory order.
    /// The bindings raise it as `UnknownIdError` too (a `KeyError`), its message naming them.
    #[error("{kind} name '{name}' is ambiguous: {}", .candidates.join(", "))]
    AmbiguousName { kind: &'static str, name: String, candidates: Vec<String> },
    /// An argument that makes no sense for the call (e.g. a negative time).
    #[error("{0}")]
    Argument(String),
    /// A large buffer could not be reserved (the process is out of memory, or over its limit,
    /// e.g. `ulimit -v`). Raised instead of aborting; the bindings raise `MemoryError`.
    #[error(
        "out of memory while {what}: about {} MB more were needed than the process can get (free memory, raise its limit, e.g. `ulimit -v`, or use a smaller input)",
        .bytes.div_ceil(1_000_000)
    )]
    OutOfMemory { what: &'static str, bytes: usize },
}

impl Error {
    /// One problem at one path.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid(vec![Problem::new(path, message)])
    }

    /// A failed reservation of `bytes` bytes while doing `what` ("reading the inventory").
    pub fn out_of_memory(what: &'static str, bytes: usize) -> Error {
        Error::OutOfMemory { what, bytes }
    }
}

/// "N problem(s) in the input", then one indented line per problem.
fn invalid_message(problems: &[Problem]) -> String {
    let n = problems.len();
    let mut out = format!("{n} problem{} in the input", if n == 1 { "" } else { "s" });
    for p in problems {
        out.push_str(&format!("\n  {p}"));
    }
    out
}

pub type Result<T> = std::result::Result<T, Error>;
