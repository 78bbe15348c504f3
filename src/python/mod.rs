//! Python bindings (`hapolicy._core`), built only with the `python` feature.
//!
//! Thin by design: parse arguments, call the core with the GIL released, convert results to
//! plain Python data. User-facing classes (enums, result objects, pandas/HTML) live in the
//! pure-Python package `hapolicy`.

mod admission;
mod convert;
mod errors;
mod functions;
mod inventory;
mod placement;
mod remedy;
mod simulation;
mod sweep;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::admission::{admission_control, check_enter_maintenance, check_operation, heartbeat_datastores};

    #[pymodule_export]
    use super::inventory::PyInventory;

    #[pymodule_export]
    use super::placement::{plan_failover, PyFailoverPlan};

    #[pymodule_export]
    use super::sweep::{failures_tolerated, sweep, PySweepResult};

    #[pymodule_export]
    use super::remedy::{remedies, PyRemedyPatch};

    #[pymodule_export]
    use super::simulation::{event_kinds, PySimulation};

    #[pymodule_export]
    use super::functions::{
        _error_for_tests, _panic_for_tests, classify_host, classify_self, elect, enum_values, generate_inventory,
        known_options,
    };

    #[allow(non_upper_case_globals)]
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
