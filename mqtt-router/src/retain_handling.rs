//! Retain Handling: whether a SUBSCRIBE is answered with the retained messages matching its filter, decided
//! once for every server [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11].

use mqtt_codec::{RetainHandling, TopicFilter};

use crate::SubscribeOutcome;

/// Whether subscribing to `filter` with `handling` sends the matching retained messages, given whether the
/// client already had a subscription with this filter (`existed`: the subscribe replaced it):
/// - 0, send at subscribe: always [MQTT-3.3.1-9];
/// - 1, send if new: only when the subscription did not exist [MQTT-3.3.1-10];
/// - 2, do not send: never [MQTT-3.3.1-11].
///
/// A shared subscription (`$share/{group}/...`) gets none: a retained message would reach every member that
/// joins the group rather than one of it (mosquitto and hpmq-broker behave alike). A 3.1.1 SUBSCRIBE decodes
/// as Retain Handling 0.
///
/// ```
/// use mqtt_router::{RetainHandling, TopicFilter, sends_retained};
/// let f = TopicFilter::try_from("a/#").unwrap();
/// assert!(sends_retained(&f, RetainHandling::SendIfNew, false));
/// assert!(!sends_retained(&f, RetainHandling::SendIfNew, true));
/// ```
pub fn sends_retained(filter: &TopicFilter, handling: RetainHandling, existed: bool) -> bool {
    !filter.is_shared()
        && match handling {
            RetainHandling::SendAtSubscribe => true,
            RetainHandling::SendIfNew => !existed,
            RetainHandling::DoNotSend => false,
        }
}

impl SubscribeOutcome {
    /// [`sends_retained`] for the subscription [`crate::Router::subscribe`] just made or replaced.
    pub fn sends_retained(self, filter: &TopicFilter, handling: RetainHandling) -> bool {
        sends_retained(filter, handling, self == SubscribeOutcome::Replaced)
    }
}

#[cfg(test)]
mod tests {
    use mqtt_codec::{QoS, SubscriptionOptions};

    use super::*;
    use crate::Router;

    fn f(s: &str) -> TopicFilter {
        TopicFilter::try_from(s).unwrap()
    }

    #[test]
    fn handling_0_sends_whether_or_not_the_subscription_existed() {
        // [MQTT-3.3.1-9]
        assert!(sends_retained(&f("a/#"), RetainHandling::SendAtSubscribe, false));
        assert!(sends_retained(&f("a/#"), RetainHandling::SendAtSubscribe, true));
    }

    #[test]
    fn handling_1_sends_only_for_a_new_subscription() {
        // [MQTT-3.3.1-10]
        assert!(sends_retained(&f("a/#"), RetainHandling::SendIfNew, false));
        assert!(!sends_retained(&f("a/#"), RetainHandling::SendIfNew, true));
    }

    #[test]
    fn handling_2_never_sends() {
        // [MQTT-3.3.1-11]
        assert!(!sends_retained(&f("a/#"), RetainHandling::DoNotSend, false));
        assert!(!sends_retained(&f("a/#"), RetainHandling::DoNotSend, true));
    }

    #[test]
    fn shared_subscriptions_get_no_retained_messages() {
        for handling in [RetainHandling::SendAtSubscribe, RetainHandling::SendIfNew] {
            assert!(!sends_retained(&f("$share/g/a/#"), handling, false));
        }
    }

    #[test]
    fn the_routers_outcome_says_whether_the_subscription_existed() {
        let mut r: Router<u8> = Router::new();
        let options = |retain_handling| SubscriptionOptions {
            retain_handling,
            ..SubscriptionOptions::new(QoS::AtLeastOnce)
        };
        let first = r
            .subscribe(1, &f("a/#"), options(RetainHandling::SendIfNew), None)
            .unwrap();
        assert!(first.sends_retained(&f("a/#"), RetainHandling::SendIfNew));
        let again = r
            .subscribe(1, &f("a/#"), options(RetainHandling::SendIfNew), None)
            .unwrap();
        assert!(!again.sends_retained(&f("a/#"), RetainHandling::SendIfNew));
        assert!(again.sends_retained(&f("a/#"), RetainHandling::SendAtSubscribe));
        // Another client's subscription to the same filter is new for that client.
        let other = r
            .subscribe(2, &f("a/#"), options(RetainHandling::SendIfNew), None)
            .unwrap();
        assert!(other.sends_retained(&f("a/#"), RetainHandling::SendIfNew));
    }
}
