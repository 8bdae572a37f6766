//! Fuzz target `decode_v311`: the body lives in [`hpmq_fuzz::decode_v311`] so the stable corpus replay runs the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpmq_fuzz::decode_v311(data));
