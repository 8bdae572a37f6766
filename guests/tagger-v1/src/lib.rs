//! Version 1 of the hot-reload test module.
const VERSION: &str = "1";
include!("../../tagger.rs");
