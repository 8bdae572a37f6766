extern crate hpmq_sdk as hpmq;
use hpmq::{Context, Message, Verdict};

// The first parameter of an authorize hook is the request, not a message.
#[hpmq::authorize]
fn authorize(_msg: &Message, _ctx: &Context) -> hpmq::anyhow::Result<Verdict> {
    Ok(Verdict::Allow)
}

fn main() {}
