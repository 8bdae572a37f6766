extern crate hpmq_sdk as hpmq;
use hpmq::{Action, Context};

#[hpmq::upstream]
fn f(_msg: &str, _ctx: &Context) -> hpmq::anyhow::Result<Action> {
    Ok(Action::Forward)
}

fn main() {}
