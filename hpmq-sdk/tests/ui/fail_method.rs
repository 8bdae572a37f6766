extern crate hpmq_sdk as hpmq;
use hpmq::{Action, Context, Message};

struct S;

impl S {
    #[hpmq::upstream]
    fn f(&self, _msg: &Message, _ctx: &Context) -> hpmq::anyhow::Result<Action> {
        Ok(Action::Forward)
    }
}

fn main() {}
