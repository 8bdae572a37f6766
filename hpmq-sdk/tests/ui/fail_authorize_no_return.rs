extern crate hpmq_sdk as hpmq;
use hpmq::{AuthRequest, Context};

#[hpmq::authorize]
fn authorize(_req: &AuthRequest, _ctx: &Context) {}

fn main() {}
