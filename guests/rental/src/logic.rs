//! The rental rules as plain functions over a [`Store`], so they unit-test natively without a broker.

use hpmq::anyhow::Result;
use hpmq::{Action, Message};

use crate::json::parse_flat_object;
use crate::topics;

/// Where the bindings live. In the broker it is the function's host key-value state; in tests a `HashMap`.
pub trait Store {
    /// The value under `key`.
    fn get(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` under `key`.
    fn set(&mut self, key: &str, value: &str) -> Result<()>;
    /// Removes `key`.
    fn delete(&mut self, key: &str) -> Result<()>;
}

/// Longest device or phone id accepted (ids become topic levels).
pub const MAX_ID_LEN: usize = 64;

/// An id is 1 to [`MAX_ID_LEN`] ASCII letters, digits, `-`, `_` or `.`: it becomes a topic level, so `/`,
/// `+`, `#` and `$` must not get in, and it is written into JSON replies without escaping.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn device_key(device: &str) -> String {
    format!("d/{device}")
}

fn phone_key(phone: &str) -> String {
    format!("p/{phone}")
}

/// What a request on `rental/bind` or `rental/return` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The phone asking.
    pub phone_id: String,
    /// The device it asks about.
    pub device_id: String,
}

/// Why a request was not understood; `phone_id` is set when a reply can still be addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// The requesting phone, when its id was readable and valid.
    pub phone_id: Option<String>,
    /// What was wrong.
    pub reason: &'static str,
}

/// Reads `{ "phone_id": "...", "device_id": "..." }` (other string fields are ignored).
pub fn parse_request(payload: &[u8]) -> Result<Request, BadRequest> {
    let fields = parse_flat_object(payload).map_err(|e| BadRequest {
        phone_id: None,
        reason: e.0,
    })?;
    let phone_id = fields
        .get("phone_id")
        .filter(|p| valid_id(p))
        .cloned()
        .ok_or(BadRequest {
            phone_id: None,
            reason: "missing or invalid phone_id",
        })?;
    let device_id = match fields.get("device_id").filter(|d| valid_id(d)) {
        Some(d) => d.clone(),
        None => {
            return Err(BadRequest {
                phone_id: Some(phone_id),
                reason: "missing or invalid device_id",
            });
        }
    };
    Ok(Request { phone_id, device_id })
}

fn reply(request: &Message, topic: String, payload: String) -> Message {
    Message {
        topic,
        payload: payload.into_bytes(),
        qos: request.qos,
        retain: false,
        user_properties: Vec::new(),
    }
}

fn refused(request: &Message, topic: String, device: Option<&str>, reason: &str) -> Message {
    let payload = match device {
        Some(d) => format!(r#"{{"device_id":"{d}","result":"refused","reason":"{reason}"}}"#),
        None => format!(r#"{{"result":"refused","reason":"{reason}"}}"#),
    };
    reply(request, topic, payload)
}

/// The whole scenario: dispatches on the topic. Messages on other topics pass unchanged.
pub fn handle(msg: &Message, store: &mut impl Store) -> Result<Action> {
    if msg.topic == topics::BIND {
        return bind(msg, store);
    }
    if msg.topic == topics::RETURN {
        return give_back(msg, store);
    }
    if let Some(device) = topics::device_of_status(&msg.topic) {
        return forward_status(msg, device, store);
    }
    if let Some(phone) = topics::phone_of_cmd(&msg.topic) {
        return forward_cmd(msg, phone, store);
    }
    Ok(Action::Forward)
}

/// `rental/bind`: the device becomes the phone's unless another phone rents it or the phone already rents
/// another device. The request itself is consumed; the phone gets a reply and the device is told.
pub fn bind(msg: &Message, store: &mut impl Store) -> Result<Action> {
    let req = match parse_request(&msg.payload) {
        Ok(r) => r,
        Err(bad) => return Ok(bad_request(msg, bad, topics::bind_result)),
    };
    let (phone, device) = (req.phone_id.as_str(), req.device_id.as_str());
    let result = topics::bind_result(phone);
    if let Some(renter) = store.get(&device_key(device))? {
        if renter == phone {
            let ok = format!(r#"{{"device_id":"{device}","result":"bound"}}"#);
            return Ok(Action::publish(reply(msg, result, ok)));
        }
        let no = refused(msg, result, Some(device), "device is rented by another phone");
        return Ok(Action::publish(no));
    }
    if store.get(&phone_key(phone))?.is_some() {
        let no = refused(msg, result, Some(device), "phone already rents a device");
        return Ok(Action::publish(no));
    }
    store.set(&device_key(device), phone)?;
    store.set(&phone_key(phone), device)?;
    let ok = format!(r#"{{"device_id":"{device}","result":"bound"}}"#);
    let tell = format!(r#"{{"state":"rented","phone_id":"{phone}"}}"#);
    Ok(Action::Publish(vec![
        reply(msg, result, ok),
        reply(msg, topics::device_rental(device), tell),
    ]))
}

/// `rental/return`: ends the phone's rental of the device; refused when that phone does not rent it.
pub fn give_back(msg: &Message, store: &mut impl Store) -> Result<Action> {
    let req = match parse_request(&msg.payload) {
        Ok(r) => r,
        Err(bad) => return Ok(bad_request(msg, bad, topics::return_result)),
    };
    let (phone, device) = (req.phone_id.as_str(), req.device_id.as_str());
    let result = topics::return_result(phone);
    if store.get(&device_key(device))?.as_deref() != Some(phone) {
        let no = refused(msg, result, Some(device), "device is not rented by this phone");
        return Ok(Action::publish(no));
    }
    store.delete(&device_key(device))?;
    store.delete(&phone_key(phone))?;
    let ok = format!(r#"{{"device_id":"{device}","result":"returned"}}"#);
    let tell = r#"{"state":"free"}"#.to_owned();
    Ok(Action::Publish(vec![
        reply(msg, result, ok),
        reply(msg, topics::device_rental(device), tell),
    ]))
}

fn bad_request(msg: &Message, bad: BadRequest, result_topic: fn(&str) -> String) -> Action {
    hpmq::host::log(hpmq::LogLevel::Warn, &format!("{}: {}", msg.topic, bad.reason));
    match bad.phone_id {
        Some(phone) => Action::publish(refused(msg, result_topic(&phone), None, bad.reason)),
        None => Action::Discard,
    }
}

/// `device/{id}/status`: subscribers of the device topic still get it; the renting phone gets a copy on
/// `phone/{id}/device-status`.
pub fn forward_status(msg: &Message, device: &str, store: &mut impl Store) -> Result<Action> {
    let Some(phone) = store.get(&device_key(device))? else {
        return Ok(Action::Forward);
    };
    let copy = Message {
        topic: topics::phone_status(&phone),
        ..msg.clone()
    };
    Ok(Action::Publish(vec![msg.clone(), copy]))
}

/// `phone/{id}/cmd`: goes to `device/{id}/cmd` of the rented device; a phone that rents nothing has its
/// command dropped (so a phone can never reach a device it does not rent).
pub fn forward_cmd(msg: &Message, phone: &str, store: &mut impl Store) -> Result<Action> {
    let Some(device) = store.get(&phone_key(phone))? else {
        hpmq::host::log(
            hpmq::LogLevel::Info,
            &format!("command from {phone} dropped: it rents no device"),
        );
        return Ok(Action::Discard);
    };
    Ok(Action::publish(Message {
        topic: topics::device_cmd(&device),
        ..msg.clone()
    }))
}

/// `dedup`'s rule: a status equal to the previous one on the same topic is dropped.
pub fn is_duplicate(payload: &[u8], previous: Option<&[u8]>) -> bool {
    previous == Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Mem(HashMap<String, String>);

    impl Store for Mem {
        fn get(&self, key: &str) -> Result<Option<String>> {
            Ok(self.0.get(key).cloned())
        }
        fn set(&mut self, key: &str, value: &str) -> Result<()> {
            self.0.insert(key.into(), value.into());
            Ok(())
        }
        fn delete(&mut self, key: &str) -> Result<()> {
            self.0.remove(key);
            Ok(())
        }
    }

    fn msg(topic: &str, payload: &str) -> Message {
        Message::new(topic, payload.as_bytes().to_vec())
    }

    fn published(a: Action) -> Vec<(String, String)> {
        let Action::Publish(out) = a else {
            panic!("expected Publish, got {a:?}")
        };
        out.into_iter()
            .map(|m| (m.topic, String::from_utf8(m.payload).unwrap()))
            .collect()
    }

    fn bind_req(phone: &str, device: &str) -> Message {
        msg(
            "rental/bind",
            &format!(r#"{{ "phone_id": "{phone}", "device_id": "{device}" }}"#),
        )
    }

    fn return_req(phone: &str, device: &str) -> Message {
        msg(
            "rental/return",
            &format!(r#"{{"phone_id":"{phone}","device_id":"{device}"}}"#),
        )
    }

    #[test]
    fn bind_forward_and_refuse_a_second_renter() {
        let mut s = Mem::default();
        assert_eq!(
            published(handle(&bind_req("BBB", "AAA"), &mut s).unwrap()),
            [
                (
                    "phone/BBB/bind-result".into(),
                    r#"{"device_id":"AAA","result":"bound"}"#.into()
                ),
                (
                    "device/AAA/rental".into(),
                    r#"{"state":"rented","phone_id":"BBB"}"#.into()
                ),
            ]
        );
        // Status reaches the device topic and the renter.
        assert_eq!(
            published(handle(&msg("device/AAA/status", "on"), &mut s).unwrap()),
            [
                ("device/AAA/status".into(), "on".into()),
                ("phone/BBB/device-status".into(), "on".into())
            ]
        );
        // A second phone is refused and the binding is unchanged.
        assert_eq!(
            published(handle(&bind_req("CCC", "AAA"), &mut s).unwrap()),
            [(
                "phone/CCC/bind-result".into(),
                r#"{"device_id":"AAA","result":"refused","reason":"device is rented by another phone"}"#.into()
            )]
        );
        // Commands: the renter's go to the device, anyone else's are dropped.
        assert_eq!(
            published(handle(&msg("phone/BBB/cmd", "unlock"), &mut s).unwrap()),
            [("device/AAA/cmd".into(), "unlock".into())]
        );
        assert_eq!(
            handle(&msg("phone/CCC/cmd", "unlock"), &mut s).unwrap(),
            Action::Discard
        );
        // Binding again to the same device is idempotent.
        assert_eq!(published(handle(&bind_req("BBB", "AAA"), &mut s).unwrap()).len(), 1);
    }

    #[test]
    fn one_device_per_phone() {
        let mut s = Mem::default();
        handle(&bind_req("BBB", "AAA"), &mut s).unwrap();
        assert_eq!(
            published(handle(&bind_req("BBB", "ZZZ"), &mut s).unwrap()),
            [(
                "phone/BBB/bind-result".into(),
                r#"{"device_id":"ZZZ","result":"refused","reason":"phone already rents a device"}"#.into()
            )]
        );
        assert_eq!(handle(&msg("device/ZZZ/status", "x"), &mut s).unwrap(), Action::Forward);
    }

    #[test]
    fn return_frees_the_device_for_the_next_renter() {
        let mut s = Mem::default();
        handle(&bind_req("BBB", "AAA"), &mut s).unwrap();
        // Only the renter can return it.
        assert_eq!(
            published(handle(&return_req("CCC", "AAA"), &mut s).unwrap()),
            [(
                "phone/CCC/return-result".into(),
                r#"{"device_id":"AAA","result":"refused","reason":"device is not rented by this phone"}"#.into()
            )]
        );
        assert_eq!(
            published(handle(&return_req("BBB", "AAA"), &mut s).unwrap()),
            [
                (
                    "phone/BBB/return-result".into(),
                    r#"{"device_id":"AAA","result":"returned"}"#.into()
                ),
                ("device/AAA/rental".into(), r#"{"state":"free"}"#.into()),
            ]
        );
        assert!(s.0.is_empty());
        assert_eq!(
            handle(&msg("device/AAA/status", "on"), &mut s).unwrap(),
            Action::Forward
        );
        assert_eq!(handle(&msg("phone/BBB/cmd", "x"), &mut s).unwrap(), Action::Discard);
        assert_eq!(published(handle(&bind_req("CCC", "AAA"), &mut s).unwrap()).len(), 2);
    }

    #[test]
    fn bad_requests_are_answered_when_possible_and_never_stored() {
        let mut s = Mem::default();
        // No readable phone: nobody to answer, the request is dropped.
        assert_eq!(
            handle(&msg("rental/bind", "not json"), &mut s).unwrap(),
            Action::Discard
        );
        assert_eq!(
            handle(&msg("rental/bind", r#"{"device_id":"AAA"}"#), &mut s).unwrap(),
            Action::Discard
        );
        // Ids that would escape their topic level are refused.
        assert_eq!(handle(&bind_req("B/#", "AAA"), &mut s).unwrap(), Action::Discard);
        assert_eq!(
            published(handle(&bind_req("BBB", "A+A"), &mut s).unwrap()),
            [(
                "phone/BBB/bind-result".into(),
                r#"{"result":"refused","reason":"missing or invalid device_id"}"#.into()
            )]
        );
        assert!(s.0.is_empty());
    }

    #[test]
    fn other_topics_pass_and_ids_are_checked() {
        let mut s = Mem::default();
        for t in ["device/AAA/other", "phone/BBB", "x/y", "device//status"] {
            assert_eq!(handle(&msg(t, "p"), &mut s).unwrap(), Action::Forward, "{t}");
        }
        assert!(valid_id("AAA-1_b.c"));
        assert!(!valid_id(""));
        assert!(!valid_id(&"a".repeat(MAX_ID_LEN + 1)));
        for bad in ["a/b", "+", "#", "$SYS", "a b", "é"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn dedup_rule() {
        assert!(is_duplicate(b"on", Some(b"on")));
        assert!(!is_duplicate(b"on", Some(b"off")));
        assert!(!is_duplicate(b"on", None));
    }
}
