//! cargo fuzz target `parse_json`: the checks live in `src/lib.rs` (shared with tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hapolicy_fuzz::parse_json(data));
