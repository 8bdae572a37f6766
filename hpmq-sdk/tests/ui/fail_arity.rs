extern crate hpmq_sdk as hpmq;
use hpmq::{Action, Message};

#[hpmq::upstream]
fn f(_msg: &Message) -> hpmq::anyhow::Result<Action> {
    Ok(Action::Forward)
}

fn main() {}
