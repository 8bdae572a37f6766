extern crate hpmq_sdk as hpmq;
use std::collections::HashMap;

#[hpmq::upstream]
fn f(_t: String, _p: &[u8], _h: Option<Vec<u8>>, _c: HashMap<String, String>) -> hpmq::anyhow::Result<hpmq::Action> {
    Ok(hpmq::Action::Forward)
}

fn main() {}
