extern crate hpmq_sdk as hpmq;
use hpmq::{Action, AuthRequest, Context};

// An authorize hook answers with a `Verdict`, not a message `Action`.
#[hpmq::authorize]
fn authorize(_req: &AuthRequest, _ctx: &Context) -> hpmq::anyhow::Result<Action> {
    Ok(Action::Forward)
}

fn main() {}
