//! Fuzz target `roundtrip`: the body lives in [`hpmq_fuzz::roundtrip`] so the stable corpus replay runs the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpmq_fuzz::roundtrip(data));
