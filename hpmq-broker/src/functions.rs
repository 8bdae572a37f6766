//! The broker's side of `hpmq-host`: runs bound functions on messages, off the async reactor, and
//! reloads modules on demand.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hpmq_host::{
    AuthAction, AuthRequest, Direction, FunctionRef, Runtime, RuntimeConfig, qos_from_codec, qos_to_codec,
};
use mqtt_codec::properties::UserProperty;
use mqtt_codec::{PacketType, QoS, ReasonCode};
use mqtt_session::Message;

use super::auth::{Action, ClientInfo};

/// The loaded function modules and bindings.
pub struct Functions {
    runtime: Arc<Runtime>,
    modules: Vec<(String, PathBuf)>,
    upstream: bool,
    downstream: bool,
    /// Messages the bindings left nothing of (`$SYS/broker/messages/discarded`).
    discarded: AtomicU64,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functions")
            .field("modules", &self.modules)
            .finish_non_exhaustive()
    }
}

impl Functions {
    /// Loads every module and binding of `config`; relative paths resolve against `base_dir`.
    pub fn load(config: &RuntimeConfig, base_dir: &std::path::Path) -> Result<Self, hpmq_host::Error> {
        let runtime = Runtime::from_config(config, base_dir)?;
        let has = |d: Direction| config.bindings.iter().any(|b| b.direction == d);
        Ok(Functions {
            runtime: Arc::new(runtime),
            modules: config
                .modules
                .iter()
                .map(|m| (m.name.clone(), base_dir.join(&m.path)))
                .collect(),
            upstream: has(Direction::Upstream),
            downstream: has(Direction::Downstream),
            discarded: AtomicU64::new(0),
        })
    }

    /// Messages [`Functions::process`] returned nothing for: a function discarded them, or a failed call
    /// under `on_error = "drop"` did. A downstream discard counts once per subscriber copy.
    pub fn discarded(&self) -> u64 {
        self.discarded.load(Ordering::Relaxed)
    }

    /// The runtime, for calls outside the bindings.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Re-reads every module file and swaps it in; calls in progress finish on the old version. Stops at the
    /// first module that fails (it and the following ones keep their current version).
    pub fn reload(&self) -> Result<usize, hpmq_host::Error> {
        for (name, path) in &self.modules {
            self.runtime.load_module_file(name, path)?;
        }
        Ok(self.modules.len())
    }

    /// Whether any binding runs in `direction`; without one, [`Functions::process`] returns the message as it
    /// is, so a caller on a per-message path can skip the call (and its one-element `Vec`).
    pub fn binds(&self, direction: Direction) -> bool {
        match direction {
            Direction::Upstream => self.upstream,
            Direction::Downstream => self.downstream,
        }
    }

    /// Runs `message` through the bindings of `direction` and returns what to route or deliver. Without
    /// bindings in that direction the message comes back untouched at no cost.
    ///
    /// Guest calls run on the calling thread. A call takes about a microsecond; handing each one to tokio's
    /// blocking pool cost more than the call itself (a thread wake-up and two context switches per
    /// message, measured by `scripts/loadtest`). A slow or looping guest stalls this task's worker thread
    /// for at most `[functions.limits] deadline_ms` (epoch interruption ends the call), so keep that
    /// deadline short.
    pub fn process(&self, direction: Direction, message: Message, client: &ClientInfo) -> Vec<Message> {
        if !self.binds(direction) {
            return vec![message];
        }
        let processed = self.runtime.process(direction, to_host(&message), client);
        for error in &processed.errors {
            tracing::warn!(%error, topic = message.topic.as_str(), "function call failed");
        }
        if processed.messages.is_empty() {
            self.discarded.fetch_add(1, Ordering::Relaxed);
        }
        processed.messages.into_iter().map(|m| from_host(m, &message)).collect()
    }
}

/// The message as the guest sees it.
fn to_host(m: &Message) -> hpmq_host::Message {
    hpmq_host::Message {
        topic: m.topic.clone(),
        payload: m.payload.clone(),
        qos: qos_from_codec(m.qos),
        retain: m.retain,
        user_properties: m
            .properties
            .user_properties
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect(),
    }
}

/// A guest's output, keeping the original's other properties (expiry, response topic, correlation data,
/// content type) so request/response survives a rewrite.
fn from_host(m: hpmq_host::Message, original: &Message) -> Message {
    let mut out = original.clone();
    out.topic = m.topic;
    out.payload = m.payload;
    out.qos = qos_to_codec(m.qos);
    out.retain = m.retain;
    out.properties.user_properties = m
        .user_properties
        .into_iter()
        .map(|(name, value)| UserProperty { name, value })
        .collect();
    out
}

/// The authorize hook: an `#[authorize]` guest function asked after the [`super::Authorizer`] (the ACL)
/// allows a publish or subscribe. Its deny carries the reason code the client gets; a failed call (trap,
/// deadline, error, bad answer) denies with 0x87 and is counted in the function's statistics.
pub struct AuthorizeHook {
    runtime: Arc<Runtime>,
    function: FunctionRef,
}

impl std::fmt::Debug for AuthorizeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeHook")
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

impl AuthorizeHook {
    /// Checks that `function` is loaded in `functions` and declared `#[authorize]`, and pins it so a reload
    /// cannot drop it.
    pub fn new(functions: &Functions, function: FunctionRef) -> Result<Self, hpmq_host::Error> {
        functions.runtime.use_authorize_function(&function)?;
        Ok(AuthorizeHook {
            runtime: Arc::clone(&functions.runtime),
            function,
        })
    }

    /// The function asked.
    pub fn function(&self) -> &FunctionRef {
        &self.function
    }

    /// Asks the function; `Err` carries the reason code to answer the client with, already fitted to the
    /// packet (PUBACK/PUBREC for a publish, SUBACK for a subscribe). Like [`Functions::process`], the call runs
    /// on the calling thread (a hop through the blocking pool costs more than the call); a slow or looping
    /// function holds it for at most the configured deadline, after which it is denied.
    pub fn check(
        &self,
        client: &ClientInfo,
        action: Action,
        topic: &str,
        qos: QoS,
        retain: bool,
    ) -> Result<(), ReasonCode> {
        let request = AuthRequest {
            action: match action {
                Action::Publish => AuthAction::Publish,
                Action::Subscribe => AuthAction::Subscribe,
            },
            topic,
            qos: qos_from_codec(qos),
            retain,
        };
        let outcome = self.runtime.authorize(&self.function, &request, client);
        if let Some(error) = &outcome.error {
            tracing::warn!(%error, function = %self.function, topic, "authorize function failed; denied");
        }
        match outcome.deny_reason() {
            None => Ok(()),
            Some(code) => Err(fit(action, code)),
        }
    }
}

/// A deny code MQTT allows in the packet that answers `action` (the codec's lists: MQTT 5 §3.4.2.1 PUBACK,
/// and PUBREC, which allows the same codes; §3.9.3 SUBACK); any other code becomes 0x87 Not authorized. 0x91
/// Packet Identifier in use is valid in both packets but says nothing about permission, so it is not a denial.
fn fit(action: Action, code: ReasonCode) -> ReasonCode {
    let answer = match action {
        Action::Publish => PacketType::PubAck,
        Action::Subscribe => PacketType::SubAck,
    };
    if code.is_error() && code != ReasonCode::PacketIdentifierInUse && code.is_valid_for(answer) {
        code
    } else {
        ReasonCode::NotAuthorized
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_codec::{ByteStr, TopicName};

    #[test]
    fn deny_codes_fit_the_answering_packet() {
        assert_eq!(
            fit(Action::Publish, ReasonCode::QuotaExceeded),
            ReasonCode::QuotaExceeded
        );
        assert_eq!(
            fit(Action::Publish, ReasonCode::TopicFilterInvalid),
            ReasonCode::NotAuthorized
        );
        assert_eq!(
            fit(Action::Subscribe, ReasonCode::TopicFilterInvalid),
            ReasonCode::TopicFilterInvalid
        );
        assert_eq!(
            fit(Action::Subscribe, ReasonCode::ServerBusy),
            ReasonCode::NotAuthorized
        );
        // Valid in the packet, but no denial: a success code, and 0x91 Packet Identifier in use.
        for action in [Action::Publish, Action::Subscribe] {
            assert_eq!(fit(action, ReasonCode::Success), ReasonCode::NotAuthorized);
            assert_eq!(
                fit(action, ReasonCode::PacketIdentifierInUse),
                ReasonCode::NotAuthorized
            );
        }
    }

    /// The same lists as the ones this function spelled out before it asked the codec.
    #[test]
    fn deny_codes_are_the_error_codes_of_puback_and_suback_but_0x91() {
        let kept = |action| {
            (0..=u8::MAX)
                .filter_map(ReasonCode::from_u8)
                .filter(|&c| fit(action, c) == c)
                .collect::<Vec<_>>()
        };
        use ReasonCode::*;
        assert_eq!(
            kept(Action::Publish),
            [
                UnspecifiedError,
                ImplementationSpecificError,
                NotAuthorized,
                TopicNameInvalid,
                QuotaExceeded,
                PayloadFormatInvalid
            ]
        );
        assert_eq!(
            kept(Action::Subscribe),
            [
                UnspecifiedError,
                ImplementationSpecificError,
                NotAuthorized,
                TopicFilterInvalid,
                QuotaExceeded,
                SharedSubscriptionsNotSupported,
                SubscriptionIdentifiersNotSupported,
                WildcardSubscriptionsNotSupported
            ]
        );
    }

    #[test]
    fn host_round_trip_keeps_properties() {
        let mut m = Message::new(TopicName::from_static("a/b"), "x", QoS::AtLeastOnce);
        m.properties.response_topic = Some(TopicName::from_static("reply/1"));
        m.properties.user_properties.push(UserProperty {
            name: ByteStr::from_static("k"),
            value: ByteStr::from_static("v"),
        });
        let mut h = to_host(&m);
        assert_eq!(h.user_properties.len(), 1);
        h.topic = TopicName::from_static("c");
        let back = from_host(h, &m);
        assert_eq!(back.topic.as_str(), "c");
        assert_eq!(back.properties.response_topic, m.properties.response_topic);
        assert_eq!(back.properties.user_properties, m.properties.user_properties);
    }
}
