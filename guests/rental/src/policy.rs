//! Who may publish and subscribe where: the rental scenario's authorize policy.
//!
//! Devices and phones share one id space and connect with their id as MQTT client id. A client id `AAA`
//! acts for id `AAA`; so does `AAA:anything` (a second connection of the same device or phone, e.g. a
//! command listener beside a status publisher, which could not share the client id without taking over
//! each other's session). Ids cannot contain `:`, so the prefix is unambiguous.
//!
//! | action | topic | allowed for |
//! | --- | --- | --- |
//! | publish | `device/{id}/status` | `{id}` (retained or not) |
//! | publish | `phone/{id}/cmd` | `{id}`, not retained (a retained command would rerun on every reconnect) |
//! | publish | `rental/bind`, `rental/return` | anyone (the `rental` function checks the payload) |
//! | publish | any other `device/...`, `phone/...`, `rental/...` | nobody: only the functions write them |
//! | publish | `$...` | nobody |
//! | publish | anything else | anyone |
//! | subscribe | `device/{id}/...`, `phone/{id}/...` (any filter under the literal id) | `{id}` |
//! | subscribe | `device/...`, `phone/...` with a wildcard id level, `rental/...` | nobody |
//! | subscribe | a filter starting with a wildcard (`#`, `+/...`) | nobody: it would cover other clients' topics |
//! | subscribe | `$SYS/...` | anyone |
//! | subscribe | anything else | anyone |
//!
//! Shared subscriptions (`$share/{group}/{filter}`) are judged by their `{filter}`. Every deny is 0x87 Not
//! authorized.

use hpmq::{AuthAction, AuthRequest, Verdict};

use crate::logic::valid_id;
use crate::topics;

/// The id a client acts for: its client id up to the first `:`, if that is a valid id.
pub fn acting_id(client_id: &str) -> Option<&str> {
    let id = client_id.split_once(':').map_or(client_id, |(id, _)| id);
    valid_id(id).then_some(id)
}

/// The decision for `req` from the client `client_id`.
pub fn decide(req: &AuthRequest, client_id: &str) -> Verdict {
    let me = acting_id(client_id);
    let allowed = match req.action {
        AuthAction::Publish => may_publish(&req.topic, req.retain, me),
        AuthAction::Subscribe => may_subscribe(&req.topic, me),
    };
    Verdict::allow_if(allowed)
}

fn may_publish(topic: &str, retain: bool, me: Option<&str>) -> bool {
    if let Some(device) = topics::device_of_status(topic) {
        return me == Some(device);
    }
    if let Some(phone) = topics::phone_of_cmd(topic) {
        return me == Some(phone) && !retain;
    }
    if topic == topics::BIND || topic == topics::RETURN {
        return true;
    }
    let first = topic.split('/').next().unwrap_or_default();
    !matches!(first, "device" | "phone" | "rental") && !topic.starts_with('$')
}

fn may_subscribe(filter: &str, me: Option<&str>) -> bool {
    let filter = match filter.strip_prefix("$share/") {
        Some(rest) => match rest.split_once('/') {
            Some((_group, f)) => f,
            None => return false,
        },
        None => filter,
    };
    let mut levels = filter.split('/');
    match levels.next() {
        Some("device" | "phone") => match levels.next() {
            Some(id) => valid_id(id) && me == Some(id),
            None => false,
        },
        Some("rental") => false,
        Some("#" | "+") | None => false,
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(topic: &str, retain: bool, client: &str) -> bool {
        let mut req = AuthRequest::publish(topic);
        req.retain = retain;
        decide(&req, client).is_allow()
    }

    fn subscribe(filter: &str, client: &str) -> bool {
        decide(&AuthRequest::subscribe(filter), client).is_allow()
    }

    #[test]
    fn devices_publish_only_their_own_status() {
        assert!(publish("device/AAA/status", false, "AAA"));
        assert!(publish("device/AAA/status", true, "AAA:status"));
        assert!(!publish("device/AAA/status", false, "BBB"));
        assert!(!publish("device/AAA/status", false, "AAAX"));
        assert!(!publish("device/AAA/status", false, "AAA-2"));
        // The functions' outputs are theirs alone.
        assert!(!publish("device/AAA/cmd", false, "AAA"));
        assert!(!publish("device/AAA/rental", false, "AAA"));
        assert!(!publish("device/AAA/other", false, "AAA"));
    }

    #[test]
    fn phones_command_only_as_themselves_and_never_retained() {
        assert!(publish("phone/BBB/cmd", false, "BBB"));
        assert!(!publish("phone/BBB/cmd", true, "BBB"));
        assert!(!publish("phone/BBB/cmd", false, "CCC"));
        assert!(!publish("phone/BBB/device-status", false, "BBB"));
        assert!(!publish("phone/BBB/bind-result", false, "AAA"));
    }

    #[test]
    fn rental_requests_and_other_topics() {
        assert!(publish("rental/bind", false, "BBB"));
        assert!(publish("rental/return", false, "anyone"));
        assert!(!publish("rental/other", false, "BBB"));
        assert!(publish("weather/outside", true, "station"));
        assert!(!publish("$SYS/broker/uptime", false, "BBB"));
        // Client ids that are no valid id act for nobody, but may still use the open topics.
        assert!(!publish("device/AAA/status", false, ""));
        assert!(!publish("device/a+b/status", false, "a+b"));
        assert!(publish("rental/bind", false, "not/an/id"));
    }

    #[test]
    fn subscriptions_stay_within_the_own_id() {
        assert!(subscribe("phone/BBB/#", "BBB"));
        assert!(subscribe("phone/BBB/device-status", "BBB:listener"));
        assert!(subscribe("device/AAA/cmd", "AAA:cmd"));
        assert!(subscribe("device/AAA/+", "AAA"));
        assert!(!subscribe("phone/BBB/#", "CCC"));
        assert!(!subscribe("phone/+/device-status", "BBB"));
        assert!(!subscribe("phone/#", "BBB"));
        assert!(!subscribe("phone", "BBB"));
        assert!(!subscribe("device/AAA/cmd", "BBB"));
        assert!(!subscribe("rental/#", "BBB"));
        assert!(!subscribe("#", "BBB"));
        assert!(!subscribe("+/BBB/#", "BBB"));
        assert!(subscribe("$SYS/broker/#", "BBB"));
        assert!(subscribe("weather/#", "BBB"));
    }

    #[test]
    fn shared_subscriptions_are_judged_by_their_filter() {
        assert!(subscribe("$share/g/phone/BBB/#", "BBB"));
        assert!(!subscribe("$share/g/phone/CCC/#", "BBB"));
        assert!(!subscribe("$share/g", "BBB"));
        assert!(!subscribe("$share/g/#", "BBB"));
    }

    #[test]
    fn denials_are_not_authorized() {
        assert_eq!(
            decide(&AuthRequest::subscribe("phone/CCC/#"), "BBB"),
            Verdict::Deny { reason_code: 0x87 }
        );
    }
}
