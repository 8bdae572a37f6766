extern crate hpmq_sdk as hpmq;
use hpmq::{Context, Message};

#[hpmq::upstream]
fn f(_msg: &Message, _ctx: &Context) {}

fn main() {}
