//! Version 2 of the hot-reload test module.
const VERSION: &str = "2";
include!("../../tagger.rs");
