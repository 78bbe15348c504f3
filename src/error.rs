//! The core's error type. The Python bindings map it to exceptions in one place
//! (`src/python/errors.rs`).

use crate::model::Problem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input is not a valid inventory / scenario: every problem found, sorted by path.
    Invalid(Vec<Problem>),
    /// An id that names nothing in the inventory (a look-up, not an input document).
    UnknownId { kind: &'static str, id: String },
    /// A name carried by several objects of one kind: the ids that carry it, in inventory order.
    /// The bindings raise it as `UnknownIdError` too (a `KeyError`), its message naming them.
    AmbiguousName { kind: &'static str, name: String, candidates: Vec<String> },
    /// An argument that makes no sense for the call (e.g. a negative time).
    Argument(String),
}

impl Error {
    /// One problem at one path.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid(vec![Problem::new(path, message)])
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Invalid(problems) => {
                let n = problems.len();
                write!(f, "{n} problem{} in the input", if n == 1 { "" } else { "s" })?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
            Error::UnknownId { kind, id } => write!(f, "unknown {kind} '{id}'"),
            Error::AmbiguousName { kind, name, candidates } => {
                write!(f, "{kind} name '{name}' is ambiguous: {}", candidates.join(", "))
            }
            Error::Argument(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
