extern crate hpmq_sdk as hpmq;
use hpmq::{Action, Context, Message};

#[hpmq::upstream(name = "x")]
fn f(_msg: &Message, _ctx: &Context) -> hpmq::anyhow::Result<Action> {
    Ok(Action::Forward)
}

fn main() {}
