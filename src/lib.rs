//! hapolicy — reproduces the decisions of VMware vSphere HA (the FDM agent).
//!
//! The core is pure Rust (no Python); the `python` feature adds the bindings in
//! [`python`]. Behaviour is specified rule by rule in the rule book, `docs/rules.rst` (`R-…` ids cited in the code).

pub mod admission;
pub mod capacity;
pub mod classify;
pub mod election;
pub mod error;
pub mod generate;
pub mod heartbeat;
pub mod json;
pub mod maintenance;
pub mod mem;
pub mod model;
pub mod options;
pub mod parse;
pub mod placement;
pub mod remedy;
mod rng;
pub mod serialize;
pub mod sim;
pub mod sweep;
mod yaml;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use model::Inventory;
