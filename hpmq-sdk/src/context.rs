//! Who sent the message, and the host services a function may use.

use std::collections::HashMap;

use crate::Direction;
use crate::host;

/// Everything about a call besides the message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Upstream (device → broker) or downstream (broker → subscriber).
    pub direction: Direction,
    /// The MQTT client identifier of the publisher (upstream) or receiver (downstream).
    pub client_id: String,
    /// The username the client connected with.
    pub username: Option<String>,
    /// The client's socket address as text (`"192.0.2.7:51234"`), when the transport has one.
    pub peer_addr: Option<String>,
    /// MQTT protocol level: 4 for 3.1.1, 5 for 5.0.
    pub protocol_version: u8,
    /// The previous payload this binding saw on the same topic, if the host still remembers it.
    pub his_payload: Option<Vec<u8>>,
}

impl Context {
    /// A context for native unit tests of a function: upstream, MQTT 5, no username or address.
    pub fn for_test(client_id: &str) -> Self {
        Context {
            direction: Direction::Upstream,
            client_id: client_id.to_owned(),
            username: None,
            peer_addr: None,
            protocol_version: 5,
            his_payload: None,
        }
    }

    /// The seed project's `context` map: `client_id`, `username`, `peer_addr` (empty strings when absent),
    /// `protocol_version` (`"4"`/`"5"`) and `direction` (`"upstream"`/`"downstream"`).
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::with_capacity(5);
        m.insert("client_id".to_owned(), self.client_id.clone());
        m.insert("username".to_owned(), self.username.clone().unwrap_or_default());
        m.insert("peer_addr".to_owned(), self.peer_addr.clone().unwrap_or_default());
        m.insert("protocol_version".to_owned(), self.protocol_version.to_string());
        m.insert("direction".to_owned(), self.direction.as_str().to_owned());
        m
    }

    /// Logs `text` through the broker's `tracing` at INFO, tagged with the function's name.
    pub fn log(&self, text: &str) {
        host::log(crate::LogLevel::Info, text);
    }

    /// Reads this function's state under `key` (see [`host::kv_get`]).
    pub fn kv_get(&self, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        host::kv_get(key)
    }

    /// Stores this function's state under `key` (see [`host::kv_set`]).
    pub fn kv_set(&self, key: &[u8], value: &[u8]) -> anyhow::Result<()> {
        host::kv_set(key, value)
    }

    /// Milliseconds since the Unix epoch, from the host's clock (see [`host::now_millis`]).
    pub fn now_millis(&self) -> anyhow::Result<u64> {
        host::now_millis()
    }
}
