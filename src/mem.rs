//! Fallible memory for the big buffers of the load, plan and sweep paths.
//!
//! Rust aborts the process when an allocation fails. For the buffers whose size the input
//! decides (document trees, per-VM and per-host tables, host × datastore matrices, verdict
//! tables, sweep results), the core instead estimates the size first and reserves it fallibly:
//! running out of memory (or over a `ulimit -v`) becomes [`Error::OutOfMemory`] — `MemoryError`
//! in Python — never an abort.
//!
//! Two tools: [`ensure_headroom`] reserves the memory a step is about to need in small pieces
//! and gives it back at once (the step's own allocations are many small ones no one could
//! reserve one by one); [`try_with_capacity`] / [`try_filled`] allocate one large buffer
//! fallibly.

use crate::error::{Error, Result};

/// Bytes of address space reading a JSON document takes per byte of text, at its peak (the
/// serde_json tree with ordered maps, then the inventory built from it). Measured as the growth
/// of the process's peak virtual size on generated inventories (20,000 and 200,000 VMs):
/// 12.6–12.8, allocator overhead included; rounded up.
pub const JSON_TREE_BYTES_PER_TEXT_BYTE: usize = 13;
/// The same for YAML, measured the same way: 24 for block style (terser text than JSON's, so
/// more tree per byte), 26.8 for flow style (the parser then holds the tokens of each flow
/// collection until it closes); rounded up.
pub const YAML_TREE_BYTES_PER_TEXT_BYTE: usize = 28;

/// Checks that `bytes` more bytes can be had now: reserves them and gives them back. Reserving
/// only claims address space (no page is touched), so this is cheap even for gigabytes.
/// `what` says what the memory was for ("reading the inventory").
pub fn ensure_headroom(bytes: usize, what: &'static str) -> Result<()> {
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(bytes).map_err(|_| Error::out_of_memory(what, bytes))
}

/// `Vec::with_capacity(n)`, or [`Error::OutOfMemory`].
pub fn try_with_capacity<T>(n: usize, what: &'static str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::out_of_memory(what, n.saturating_mul(std::mem::size_of::<T>())))?;
    Ok(v)
}

/// `vec![value; n]`, or [`Error::OutOfMemory`].
pub fn try_filled<T: Clone>(value: T, n: usize, what: &'static str) -> Result<Vec<T>> {
    let mut v = try_with_capacity(n, what)?;
    v.resize(n, value);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors_not_aborts() {
        let err = ensure_headroom(usize::MAX / 2, "testing").unwrap_err();
        assert!(matches!(err, Error::OutOfMemory { what: "testing", .. }), "{err}");
        assert!(err.to_string().starts_with("out of memory while testing: "), "{err}");
        assert!(try_with_capacity::<u64>(usize::MAX / 16, "testing").is_err());
        assert!(try_filled(0u32, usize::MAX / 8, "testing").is_err());
        assert_eq!(try_filled(7u8, 3, "testing").unwrap(), vec![7, 7, 7]);
        ensure_headroom(1 << 20, "testing").unwrap();
    }
}
