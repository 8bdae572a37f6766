//! [`Context`]: who a function call is for, as the host knows the client.

use std::net::SocketAddr;
use std::sync::Arc;

/// Who a message belongs to: the publishing client upstream, the receiving client downstream.
///
/// Defined here, in the crate without a runtime, so that code which only decides about clients (a broker's
/// ACL, an `Authorizer`) can name it without depending on the WebAssembly runtime; `hpmq-host` re-exports it
/// and hands it to every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The MQTT client identifier; shared (a broker keeps one copy per client for its registry, its session
    /// and this context).
    pub client_id: Arc<str>,
    /// The username from CONNECT; shared like `client_id` (a copy of the context is a count, not a string,
    /// and an idle client's context is a word smaller than with a `String`).
    pub username: Option<Arc<str>>,
    /// The client's address, if the transport has one.
    pub peer_addr: Option<SocketAddr>,
    /// MQTT protocol level: 4 (3.1.1) or 5.
    pub protocol_version: u8,
}

impl Context {
    /// A context for `client_id` speaking MQTT 5, with no username or address.
    pub fn new(client_id: impl Into<Arc<str>>) -> Self {
        Context {
            client_id: client_id.into(),
            username: None,
            peer_addr: None,
            protocol_version: 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_context_speaks_mqtt_5_with_no_username_or_address() {
        let ctx = Context::new("dev-1");
        assert_eq!(&*ctx.client_id, "dev-1");
        assert_eq!((ctx.username, ctx.peer_addr, ctx.protocol_version), (None, None, 5));
    }
}
