//! The registry: which session task serves which client id.

use std::collections::HashMap;
use std::sync::Arc;

use crate::mailbox::{Attach, Control, Mailbox, Post};
use crate::park::Unpark;

/// How the registry reaches a session task: its mailbox, which also tells whose entry it is (a session
/// that ends removes the entry only if it still holds its own mailbox, not a successor's). One word per
/// client: the registry's table is paid per connection.
pub(crate) struct SessionHandle {
    pub(crate) control: Arc<Mailbox>,
}

/// The client id -> session table; one live session per client id.
#[derive(Default)]
pub(crate) struct Registry {
    sessions: HashMap<Arc<str>, SessionHandle>,
}

impl Registry {
    /// Gives the connection to the live session of `client_id` (which takes it over or resumes with it);
    /// gives it back when there is none, or when that session's task is ending: then it needs a new session.
    #[must_use = "a connection given back needs a new session"]
    pub fn offer<P: Unpark>(&self, client_id: &str, attach: Box<Attach>, post: Post<'_, P>) -> Option<Box<Attach>> {
        match self.sessions.get(client_id) {
            Some(handle) => match handle.control.send(Control::Attach(attach), post) {
                Ok(()) => None,
                // The session task is ending: start a new session with the connection.
                Err(Control::Attach(attach)) => Some(attach),
                Err(_) => None,
            },
            None => Some(attach),
        }
    }

    /// Registers the session task reached through `mailbox` under `client_id`, in place of any earlier one.
    pub fn insert(&mut self, client_id: Arc<str>, mailbox: Arc<Mailbox>) {
        self.sessions.insert(client_id, SessionHandle { control: mailbox });
    }

    /// Unregisters `client_id` if its entry is still the session reached through `mailbox` (not a successor).
    pub fn remove_if_mine(&mut self, client_id: &str, mailbox: &Arc<Mailbox>) {
        if self
            .sessions
            .get(client_id)
            .is_some_and(|h| Arc::ptr_eq(&h.control, mailbox))
        {
            self.sessions.remove(client_id);
        }
    }

    /// Every registered session, with its client id.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &SessionHandle)> {
        self.sessions.iter()
    }

    /// Every registered session.
    pub fn values(&self) -> impl Iterator<Item = &SessionHandle> {
        self.sessions.values()
    }

    /// How many sessions are registered.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use mqtt_codec::{ByteStr, Connect, MqttCodec};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::auth::ClientInfo;
    use crate::cap::Connections;
    use crate::framing::framed;
    use crate::mailbox::NoSession;

    fn post() -> Post<'static, NoSession> {
        Post { capacity: 8, lot: None }
    }

    async fn connection(client_id: &str) -> (Box<Attach>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let attach = Box::new(Attach {
            framed: framed(stream, MqttCodec::server_with_max_packet_size(1024), 0),
            connect: Box::new(Connect::new(ByteStr::try_from(client_id).unwrap())),
            client: ClientInfo::new(Arc::from(client_id)),
            assigned: None,
            guard: Connections::new(1).acquire().unwrap(),
        });
        (attach, client)
    }

    #[tokio::test]
    async fn a_connection_goes_to_the_live_session_or_comes_back_for_a_new_one() {
        let (attach, _client) = connection("c").await;
        let mut registry = Registry::default();
        let attach = registry.offer("c", attach, post()).expect("no session yet: given back");
        let live = Arc::new(Mailbox::default());
        registry.insert(Arc::from("c"), Arc::clone(&live));
        assert!(registry.offer("c", attach, post()).is_none());
        let Some(Control::Attach(attach)) = live.try_recv_control() else {
            panic!("the live session did not get the connection");
        };
        // A session task that is ending takes no commands: the connection comes back.
        live.close_control();
        assert!(registry.offer("c", attach, post()).is_some());
    }

    #[test]
    fn an_ending_session_removes_its_own_entry_only() {
        let mut registry = Registry::default();
        let (old, new) = (Arc::new(Mailbox::default()), Arc::new(Mailbox::default()));
        registry.insert(Arc::from("c"), Arc::clone(&old));
        registry.insert(Arc::from("c"), Arc::clone(&new));
        registry.remove_if_mine("c", &old);
        assert_eq!(registry.len(), 1);
        assert!(registry.values().all(|h| Arc::ptr_eq(&h.control, &new)));
        registry.remove_if_mine("c", &new);
        assert_eq!(registry.len(), 0);
    }
}
