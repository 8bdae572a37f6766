//! Example functions: a rewrite, a relay (the rewrite without its QoS change, for load tests), a fan-out, a
//! dedup (seed form, using `his_payload`), the seed project's function verbatim, and a counter that uses the
//! host's key-value state, clock and log.

use hpmq::anyhow::Result;
use hpmq::{Action, Context, HandResult, Message, QoS};
use std::collections::HashMap;

hpmq::sdk_init!();

/// Moves `raw/{rest}` to `site/{rest}`, raises QoS to 1 and records the sender as a user property.
#[hpmq::upstream]
pub fn rewrite(msg: &Message, ctx: &Context) -> Result<Action> {
    let Some(mut out) = to_site(msg, ctx) else {
        return Ok(Action::Forward);
    };
    out.qos = QoS::AtLeastOnce;
    Ok(Action::publish(out))
}

/// Moves `raw/{rest}` to `site/{rest}` and records the sender as a user property, keeping the message's QoS:
/// what `rewrite` does minus the QoS change, so that a load test that runs it measures what running a function
/// costs and not the cost of delivering at another QoS.
#[hpmq::upstream]
pub fn relay(msg: &Message, ctx: &Context) -> Result<Action> {
    Ok(to_site(msg, ctx).map_or(Action::Forward, Action::publish))
}

/// `msg` moved from `raw/{rest}` to `site/{rest}` with the sender in a `client` user property; `None` for a
/// topic outside `raw/`.
fn to_site(msg: &Message, ctx: &Context) -> Option<Message> {
    let rest = msg.topic.strip_prefix("raw/")?;
    let mut out = msg.clone();
    out.topic = format!("site/{rest}");
    out.user_properties.push(("client".into(), ctx.client_id.clone()));
    Some(out)
}

/// Splits a comma-separated payload into one message per value on `{topic}/{index}`; an empty payload drops
/// the message.
#[hpmq::upstream]
pub fn fan_out(msg: &Message, _ctx: &Context) -> Result<Action> {
    if msg.payload.is_empty() {
        return Ok(Action::Discard);
    }
    let out = msg
        .payload
        .split(|b| *b == b',')
        .enumerate()
        .map(|(i, part)| Message {
            topic: format!("{}/{i}", msg.topic),
            payload: part.to_vec(),
            ..msg.clone()
        })
        .collect();
    Ok(Action::Publish(out))
}

/// Drops a message whose payload equals the previous one on the same topic (seed form).
#[hpmq::downstream]
pub fn dedup(
    topic: String,
    payload: &[u8],
    his_payload: Option<Vec<u8>>,
    _context: HashMap<String, String>,
) -> Result<HandResult> {
    if his_payload.as_deref() == Some(payload) {
        return Ok(HandResult::Discard);
    }
    Ok(HandResult::Transmit((topic.into_bytes(), payload.to_vec())))
}

/// The seed project's function, unchanged apart from this comment and the lint allowance.
#[allow(clippy::collapsible_if)]
#[hpmq::upstream]
fn custom_local_publish(
    topic: String,
    _payload: &[u8],
    his_payload: Option<Vec<u8>>,
    _context: HashMap<String, String>,
) -> Result<HandResult> {
    if let Some(his) = his_payload {
        if his.as_slice() == _payload {
            println!("duplicate publish, not delivered");
            return Ok(HandResult::Discard);
        }
    }
    println!("new publish, delivered");
    Ok(HandResult::Transmit((topic.as_bytes().to_vec(), _payload.to_vec())))
}

/// Writes the context map into the payload as `key=value` lines (sorted), to show what the seed form sees.
#[hpmq::upstream]
fn show_context(
    topic: String,
    _payload: &[u8],
    _his: Option<Vec<u8>>,
    context: HashMap<String, String>,
) -> Result<HandResult> {
    let mut lines: Vec<String> = context.iter().map(|(k, v)| format!("{k}={v}")).collect();
    lines.sort();
    Ok(HandResult::Transmit((
        topic.into_bytes(),
        lines.join("\n").into_bytes(),
    )))
}

/// Counts messages per function in the host's key-value state, stamps each with the count and the host's
/// clock, and logs every 1000th.
#[hpmq::upstream]
pub fn count(msg: &Message, ctx: &Context) -> Result<Action> {
    let n = match ctx.kv_get(b"n")? {
        Some(v) => u64::from_le_bytes(v.as_slice().try_into()?) + 1,
        None => 1,
    };
    ctx.kv_set(b"n", &n.to_le_bytes())?;
    if n % 1000 == 1 {
        ctx.log(&format!("count reached {n}"));
    }
    let now = ctx.now_millis()?;
    Ok(Action::publish(
        msg.clone()
            .with_user_property("count", n.to_string())
            .with_user_property("now_ms", now.to_string()),
    ))
}

/// Returns the message unchanged without looking at it (the cheapest possible call; benchmark baseline).
#[hpmq::upstream]
pub fn pass(_msg: &Message, _ctx: &Context) -> Result<Action> {
    Ok(Action::Forward)
}

/// Fails with an error chain (not a trap): the host reports it and applies the binding's failure policy.
#[hpmq::downstream]
pub fn reject(msg: &Message, _ctx: &Context) -> Result<Action> {
    Err(hpmq::anyhow::anyhow!("payload of {} bytes refused", msg.payload.len()))
}

/// Publishes a topic with a wildcard, which the host must refuse.
#[hpmq::upstream]
pub fn bad_topic(msg: &Message, _ctx: &Context) -> Result<Action> {
    Ok(Action::publish(Message {
        topic: "a/#".into(),
        ..msg.clone()
    }))
}
