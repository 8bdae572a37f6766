extern crate hpmq_sdk as hpmq;

use hpmq::anyhow::Result;
use hpmq::{Action, AuthAction, AuthRequest, Context, HandResult, Message, Verdict};
use std::collections::HashMap;

hpmq::sdk_init!();

#[hpmq::upstream]
fn typed(msg: &Message, _ctx: &Context) -> Result<Action> {
    Ok(Action::publish(msg.clone()))
}

#[hpmq::downstream]
pub fn seed(topic: String, payload: &[u8], _his: Option<Vec<u8>>, _context: HashMap<String, String>) -> Result<HandResult> {
    Ok(HandResult::Transmit((topic.into_bytes(), payload.to_vec())))
}

#[hpmq::authorize]
fn authorize(req: &AuthRequest, ctx: &Context) -> Result<Verdict> {
    Ok(match req.action {
        AuthAction::Publish => Verdict::allow_if(req.topic.ends_with(&ctx.client_id)),
        AuthAction::Subscribe => Verdict::deny_with(0x80),
    })
}

mod nested {
    use hpmq::anyhow::Result;
    use hpmq::{Action, Context, Message};

    #[hpmq::downstream]
    pub(crate) fn drop_all(_msg: &Message, _ctx: &Context) -> Result<Action> {
        Ok(Action::Discard)
    }
}

fn main() {
    let ctx = Context::for_test("c");
    assert!(typed(&Message::new("t", b"p".to_vec()), &ctx).is_ok());
    assert!(seed("t".into(), b"p", None, HashMap::new()).is_ok());
    assert_eq!(authorize(&AuthRequest::publish("x/c"), &ctx).unwrap(), Verdict::Allow);
    assert_eq!(authorize(&AuthRequest::subscribe("#"), &ctx).unwrap(), Verdict::deny_with(0x80));
    assert!(nested::drop_all(&Message::default(), &ctx).is_ok());
}
