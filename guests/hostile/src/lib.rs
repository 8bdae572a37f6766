//! Misbehaving functions: the host must stop each of them, discard the instance and carry on.

use hpmq::anyhow::Result;
use hpmq::{Action, AuthRequest, Context, Message, Verdict};

/// Panics (an abort, i.e. a wasm trap) with a message the host should report.
#[hpmq::upstream]
pub fn panics(msg: &Message, _ctx: &Context) -> Result<Action> {
    panic!("boom on {}", msg.topic)
}

/// Never returns.
#[hpmq::upstream]
pub fn spins(msg: &Message, _ctx: &Context) -> Result<Action> {
    let mut x = msg.payload.len() as u64;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Tries to allocate and touch 1 GiB.
#[hpmq::upstream]
pub fn memory_bomb(_msg: &Message, _ctx: &Context) -> Result<Action> {
    // black_box keeps the optimiser from eliding the allocation.
    let mut v: Vec<u8> = std::hint::black_box(Vec::with_capacity(std::hint::black_box(1 << 30)));
    v.resize(1 << 30, 1);
    let v = std::hint::black_box(v);
    Ok(Action::publish(Message::new(
        "big",
        vec![v.get(12345).copied().unwrap_or(0)],
    )))
}

/// Returns a 16 MiB payload, above the host's output cap.
#[hpmq::upstream]
pub fn huge_output(msg: &Message, _ctx: &Context) -> Result<Action> {
    Ok(Action::publish(Message::new(msg.topic.clone(), vec![7u8; 16 << 20])))
}

/// Publishes a hundred thousand tiny messages, above the host's per-call message cap.
#[hpmq::upstream]
pub fn flood(msg: &Message, _ctx: &Context) -> Result<Action> {
    Ok(Action::Publish(vec![
        Message::new(msg.topic.clone(), Vec::new());
        100_000
    ]))
}

/// Recurses until the wasm stack overflows.
#[hpmq::upstream]
pub fn deep(msg: &Message, _ctx: &Context) -> Result<Action> {
    fn down(n: u64) -> u64 {
        if std::hint::black_box(n) == u64::MAX {
            return 0;
        }
        std::hint::black_box(down(n + 1)) + 1
    }
    let _ = down(msg.payload.len() as u64);
    Ok(Action::Forward)
}

/// Behaves: used to check a healthy function in the same module keeps working after its neighbours trap.
#[hpmq::upstream]
pub fn fine(_msg: &Message, _ctx: &Context) -> Result<Action> {
    Ok(Action::Forward)
}

/// An authorize hook that panics (a trap): the host must deny, count and log it.
#[hpmq::authorize]
pub fn authorize_panics(req: &AuthRequest, _ctx: &Context) -> Result<Verdict> {
    panic!("authorize boom on {}", req.topic)
}

/// An authorize hook that never returns: stopped at the deadline, and the request denied.
#[hpmq::authorize]
pub fn authorize_spins(req: &AuthRequest, _ctx: &Context) -> Result<Verdict> {
    let mut x = req.topic.len() as u64;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// An authorize hook that denies with a success code, which is malformed output: the host must deny.
#[hpmq::authorize]
pub fn authorize_bad_code(_req: &AuthRequest, _ctx: &Context) -> Result<Verdict> {
    Ok(Verdict::deny_with(0x00))
}
