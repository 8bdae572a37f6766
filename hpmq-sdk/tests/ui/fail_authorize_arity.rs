extern crate hpmq_sdk as hpmq;
use hpmq::{AuthRequest, Context, Verdict};

#[hpmq::authorize]
fn authorize(_req: &AuthRequest, _ctx: &Context, _extra: u8) -> hpmq::anyhow::Result<Verdict> {
    Ok(Verdict::Allow)
}

fn main() {}
