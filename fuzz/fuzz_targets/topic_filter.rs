//! Fuzz target `topic_filter`: the body lives in [`hpmq_fuzz::topic_filter`] so the stable corpus replay runs the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpmq_fuzz::topic_filter(data));
