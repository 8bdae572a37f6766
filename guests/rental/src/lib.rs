//! The shared-device rental scenario as two hpmq functions.
//!
//! Devices publish their status on `device/{device_id}/status`. A phone rents a device by publishing
//! `{ "phone_id": "BBB", "device_id": "AAA" }` on `rental/bind` and gives it back with the same payload on
//! `rental/return`. While rented, the device's status is also delivered on `phone/BBB/device-status`, and
//! the phone's commands on `phone/BBB/cmd` are delivered to `device/AAA/cmd`; a second phone asking for the
//! same device is refused on `phone/{its id}/bind-result`. All topics are listed in [`topics`].
//!
//! - [`rental`] (typed, `#[upstream]`) keeps the bindings in the function's host key-value state, which
//!   survives instance replacement and hot reloads. Bind it to `rental/+`, `device/+/status` and
//!   `phone/+/cmd`.
//! - [`dedup`] (seed form, `#[upstream]`) drops a status equal to the previous one on the same topic
//!   (`his_payload`). Chain it before `rental` on `device/+/status` so a repeated status reaches nobody.
//!
//! - [`authorize`] (`#[authorize]`) is the broker's authorize hook: devices publish only their own status,
//!   phones command and subscribe only as themselves (the full table is in [`policy`]). Name it in the
//!   broker's `auth.authorize_function = "rental::authorize"`.
//!
//! The rules are plain functions in [`logic`] over a [`logic::Store`] and in [`policy`], unit-tested
//! natively.
//!
//! Limits worth knowing: ids are 1–64 characters of `[A-Za-z0-9._-]` (they become topic levels); the
//! host's default state limit (`kv_max_entries = 1024`) allows 512 simultaneous rentals; a phone id in the
//! payload of `rental/bind` is trusted (the authorize hook sees topics, not payloads), so a phone can rent a
//! device on another phone's behalf, though only the named phone receives its status and commands it; two bind requests for one device that run at the very same moment on two instances may both
//! read "free" (state reads and writes are separate host calls), the later write wins.

use hpmq::anyhow::Result;
use hpmq::{Action, AuthRequest, Context, HandResult, Message, Verdict};
use std::collections::HashMap;

pub mod json;
pub mod logic;
pub mod policy;
pub mod topics;

hpmq::sdk_init!();

/// The rental rules over the function's host key-value state.
struct HostStore;

impl logic::Store for HostStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        match hpmq::host::kv_get(key.as_bytes())? {
            Some(v) => Ok(Some(String::from_utf8(v)?)),
            None => Ok(None),
        }
    }
    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        hpmq::host::kv_set(key.as_bytes(), value.as_bytes())
    }
    fn delete(&mut self, key: &str) -> Result<()> {
        hpmq::host::kv_delete(key.as_bytes())
    }
}

/// Binding, forwarding and refusal (see the crate docs for the topics).
#[hpmq::upstream]
pub fn rental(msg: &Message, _ctx: &Context) -> Result<Action> {
    logic::handle(msg, &mut HostStore)
}

/// Drops a status identical to the previous one on the same topic.
#[hpmq::upstream]
pub fn dedup(
    topic: String,
    payload: &[u8],
    his_payload: Option<Vec<u8>>,
    _context: HashMap<String, String>,
) -> Result<HandResult> {
    if logic::is_duplicate(payload, his_payload.as_deref()) {
        return Ok(HandResult::Discard);
    }
    Ok(HandResult::Transmit((topic.into_bytes(), payload.to_vec())))
}

/// The authorize hook: who may publish and subscribe where (see [`policy`]).
#[hpmq::authorize]
pub fn authorize(req: &AuthRequest, ctx: &Context) -> Result<Verdict> {
    Ok(policy::decide(req, &ctx.client_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_run_natively_over_the_sdk_state() {
        let ctx = Context::for_test("phone-BBB");
        let bind = Message::new("rental/bind", br#"{"phone_id":"BBB","device_id":"AAA"}"#.to_vec());
        assert!(matches!(rental(&bind, &ctx).unwrap(), Action::Publish(m) if m.len() == 2));
        let second = Message::new("rental/bind", br#"{"phone_id":"CCC","device_id":"AAA"}"#.to_vec());
        let Action::Publish(out) = rental(&second, &ctx).unwrap() else {
            panic!("expected a refusal")
        };
        assert_eq!(out[0].topic, "phone/CCC/bind-result");
        assert!(String::from_utf8_lossy(&out[0].payload).contains("refused"));

        let t = "device/AAA/status".to_string();
        assert!(matches!(
            dedup(t.clone(), b"on", Some(b"on".to_vec()), HashMap::new()).unwrap(),
            HandResult::Discard
        ));
        assert!(matches!(
            dedup(t, b"on", Some(b"off".to_vec()), HashMap::new()).unwrap(),
            HandResult::Transmit(_)
        ));

        let device = Context::for_test("AAA");
        assert!(
            authorize(&AuthRequest::publish("device/AAA/status"), &device)
                .unwrap()
                .is_allow()
        );
        assert_eq!(
            authorize(&AuthRequest::publish("device/BBB/status"), &device).unwrap(),
            Verdict::deny()
        );
    }
}
