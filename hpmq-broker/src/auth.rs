//! Authentication (user names with argon2 password hashes) and authorization (topic ACLs), behind the
//! [`Authorizer`] trait so a broker can make the decisions elsewhere (a guest function, a database).

use std::collections::HashMap;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};

use mqtt_codec::TopicFilter;

use super::config::{AclRule, AuthConfig};

/// Who is asking: what the broker knows about a connected client (client identifier, assigned by the broker
/// when the client sent none; authenticated user name; peer address; protocol level, 4 for MQTT 3.1.1 and 5
/// for 5.0).
///
/// The same type as the context a function call receives, so the session hands it to `hpmq-host` as it is:
/// building a separate context (copying the client id and user name) for every message a function sees cost
/// two allocations per message. It comes from `hpmq-abi`, which has no dependencies, so an [`Authorizer`]
/// names no type of the WebAssembly runtime.
pub type ClientInfo = hpmq_abi::Context;

/// What a client wants to do with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// PUBLISH (or a will) to a topic name.
    Publish,
    /// SUBSCRIBE to a topic filter.
    Subscribe,
}

/// Decides whether a client may publish to a topic or subscribe to a filter. Called on the connection's task
/// for every PUBLISH and every filter of a SUBSCRIBE, so keep it fast.
pub trait Authorizer: Send + Sync + 'static {
    /// True to allow. `topic` is a topic name for [`Action::Publish`] and a topic filter (maybe
    /// `$share/...`) for [`Action::Subscribe`].
    fn authorize(&self, client: &ClientInfo, action: Action, topic: &str) -> bool;
}

/// Checks a password against a PHC hash: [`verify_password`], or a stand-in that counts the checks in tests.
type Verify = fn(&[u8], &str) -> bool;

/// The configured user names and password hashes.
#[derive(Debug, Clone)]
pub struct Users {
    allow_anonymous: bool,
    hashes: HashMap<String, String>,
    /// What an unknown user name's password is checked against, so that refusing it costs the same argon2
    /// run as a wrong password for a known name and the answer's timing does not tell which names exist
    /// (issue 16 item 6). A hash of a fixed password, made once with the first user's algorithm and
    /// parameters; `None` with no users.
    dummy_hash: Option<String>,
    verify: Verify,
}

impl Default for Users {
    /// No users, anonymous clients allowed (the default `[auth]`).
    fn default() -> Self {
        Users::new(&AuthConfig::default())
    }
}

/// Why a CONNECT was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No user name and anonymous access is off.
    #[error("anonymous access is not allowed")]
    AnonymousRefused,
    /// Unknown user or wrong password.
    #[error("bad user name or password")]
    BadCredentials,
}

impl AuthError {
    /// The CONNACK reason code: 0x87 Not authorized or 0x86 Bad User Name or Password.
    pub fn reason_code(self) -> mqtt_codec::ReasonCode {
        match self {
            AuthError::AnonymousRefused => mqtt_codec::ReasonCode::NotAuthorized,
            AuthError::BadCredentials => mqtt_codec::ReasonCode::BadUserNameOrPassword,
        }
    }
}

impl Users {
    /// From the `[auth]` section (already validated).
    ///
    /// With users configured this runs argon2 once (tens of ms) for the unknown-user dummy hash.
    pub fn new(config: &AuthConfig) -> Self {
        Users {
            allow_anonymous: config.allow_anonymous,
            hashes: config
                .users
                .iter()
                .map(|u| (u.username.clone(), u.password_hash.clone()))
                .collect(),
            dummy_hash: config.users.first().map(|u| dummy_hash_like(&u.password_hash)),
            verify: verify_password,
        }
    }

    /// Checks a CONNECT's credentials. Argon2 is deliberately slow (tens of ms): call it off the reactor, or
    /// first ask [`decide_without_hashing`](Self::decide_without_hashing).
    ///
    /// An unknown user name with a password is verified against a dummy hash and refused, so it takes as long
    /// as a known name with a wrong password.
    pub fn authenticate(&self, username: Option<&str>, password: Option<&[u8]>) -> Result<(), AuthError> {
        self.decide_without_hashing(username, password).unwrap_or_else(|| {
            let (Some(username), Some(password)) = (username, password) else {
                return Err(AuthError::BadCredentials);
            };
            match (self.hashes.get(username), &self.dummy_hash) {
                (Some(hash), _) if (self.verify)(password, hash) => Ok(()),
                (Some(_), _) => Err(AuthError::BadCredentials),
                (None, Some(dummy)) => {
                    let _ = (self.verify)(password, dummy);
                    Err(AuthError::BadCredentials)
                }
                (None, None) => Err(AuthError::BadCredentials),
            }
        })
    }

    /// The decision on credentials that need no password hash check (no user name; no password; no users
    /// configured: then a user name is accepted as the client's identity when anonymous access is on, and
    /// refused otherwise), cheap enough for the reactor; `None` when a password must be verified
    /// ([`authenticate`](Self::authenticate), slow), which is the case for every user name with a password
    /// when users are configured, known or not: deciding an unknown name here would answer it faster and
    /// tell which names exist. A broker with anonymous clients thus sends no CONNECT through the blocking
    /// thread pool.
    pub fn decide_without_hashing(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Option<Result<(), AuthError>> {
        let Some(username) = username else {
            return Some(if self.allow_anonymous {
                Ok(())
            } else {
                Err(AuthError::AnonymousRefused)
            });
        };
        if self.hashes.is_empty() {
            // No user database: with anonymous access on, a user name is an identity (for `%u` ACL rules and
            // the authorize hook), not a login, as with mosquitto without a password file; with it off,
            // nobody can log in.
            return Some(if self.allow_anonymous {
                Ok(())
            } else {
                Err(AuthError::BadCredentials)
            });
        }
        match password {
            Some(_) if !username.is_empty() => None,
            _ => Some(Err(AuthError::BadCredentials)),
        }
    }

    /// Whether any user is configured (a CONNECT with a user name is then checked).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

/// True when `password` matches the PHC `hash` (argon2id/argon2i/argon2d).
pub fn verify_password(password: &[u8], hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password, &parsed).is_ok())
}

/// A hash of a fixed password with the algorithm, version and parameters of `like` (so verifying against it
/// costs what verifying against `like` does) and a random salt; the default argon2id parameters when `like`
/// does not parse or name argon2 parameters (configs are validated, so only for a hash argon2 cannot use,
/// which fails verification anyway). Falls back to `like` itself if hashing fails: its verification result
/// is ignored for an unknown user.
fn dummy_hash_like(like: &str) -> String {
    let argon2 = PasswordHash::new(like)
        .ok()
        .and_then(|hash| {
            let algorithm = argon2::Algorithm::try_from(hash.algorithm).ok()?;
            let version = match hash.version {
                Some(v) => argon2::Version::try_from(v).ok()?,
                None => argon2::Version::default(),
            };
            let params = argon2::Params::try_from(&hash).ok()?;
            Some(Argon2::new(algorithm, version, params))
        })
        .unwrap_or_default();
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(b"hpmq: no such user", &salt)
        .map_or_else(|_| like.to_owned(), |hash| hash.to_string())
}

/// An argon2id PHC hash of `password` with a random salt, for `[[auth.users]] password_hash`.
pub fn hash_password(password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password, &salt)?.to_string())
}

/// The `[[acl]]` rules: with no rules everything is allowed; with rules, a client may use a topic only when a
/// rule that applies to it grants it.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    rules: Vec<AclRule>,
}

impl Acl {
    /// From the `[[acl]]` entries (already validated).
    pub fn new(rules: Vec<AclRule>) -> Self {
        Acl { rules }
    }

    fn applies(rule: &AclRule, client: &ClientInfo) -> bool {
        let user_ok = match &rule.username {
            None => true,
            Some(u) => client.username.as_deref() == Some(u.as_str()),
        };
        let id_ok = match &rule.client_id {
            None => true,
            Some(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) => client.client_id.starts_with(prefix),
                None => *client.client_id == **pattern,
            },
        };
        user_ok && id_ok
    }
}

impl Authorizer for Acl {
    fn authorize(&self, client: &ClientInfo, action: Action, topic: &str) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        // A SUBSCRIBE's filter, parsed once for every rule (it came from the codec, so it parses).
        let requested = match action {
            Action::Subscribe => match TopicFilter::try_from(topic) {
                Ok(filter) => Some(filter),
                Err(_) => return false,
            },
            Action::Publish => None,
        };
        self.rules.iter().filter(|r| Acl::applies(r, client)).any(|rule| {
            let filters = match action {
                Action::Publish => &rule.publish,
                Action::Subscribe => &rule.subscribe,
            };
            filters.iter().any(|pattern| {
                let Some(allowed) = substitute(pattern, client) else {
                    return false;
                };
                match &requested {
                    Some(requested) => filter_covers(&allowed, requested),
                    None => filter_matches(&allowed, topic),
                }
            })
        })
    }
}

/// Replaces `%c` and `%u`; `None` when the pattern needs a user name the client does not have, or the id
/// or name would add levels or wildcards (a client id of `#` must not widen its grant).
fn substitute(pattern: &str, client: &ClientInfo) -> Option<String> {
    let unsafe_level = |s: &str| s.is_empty() || s.contains(['/', '+', '#']);
    let mut out = pattern.to_owned();
    if out.contains("%c") {
        if unsafe_level(&client.client_id) {
            return None;
        }
        out = out.replace("%c", &client.client_id);
    }
    if out.contains("%u") {
        let user = client.username.as_deref()?;
        if unsafe_level(user) {
            return None;
        }
        out = out.replace("%u", user);
    }
    Some(out)
}

/// Whether topic name `topic` matches `filter` (`+`, `#`; `$` topics only by a filter starting with `$`).
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && !filter.starts_with('$') {
        return false; // [MQTT-4.7.2-1]
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether a grant of `allowed` lets a client subscribe to `requested`: every topic the requested filter
/// matches is matched by the grant ([`TopicFilter::covers`], `$` rule included). A shared subscription is
/// judged by its filter proper. A grant written as a `$share/...` filter grants nothing (a share group is not
/// a set of topics), as before.
pub fn filter_covers(allowed: &str, requested: &TopicFilter) -> bool {
    TopicFilter::try_from(allowed).is_ok_and(|a| !a.is_shared() && a.covers(requested))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserConfig;

    fn client(id: &str, user: Option<&str>) -> ClientInfo {
        ClientInfo {
            client_id: id.into(),
            username: user.map(Into::into),
            peer_addr: None,
            protocol_version: 5,
        }
    }

    #[test]
    fn no_rules_allow_everything() {
        let acl = Acl::default();
        assert!(acl.authorize(&client("a", None), Action::Publish, "x/y"));
        assert!(acl.authorize(&client("a", None), Action::Subscribe, "#"));
    }

    #[test]
    fn rules_grant_with_substitution_and_deny_otherwise() {
        let acl = Acl::new(vec![
            AclRule {
                username: Some("alice".into()),
                publish: vec!["devices/%c/#".into()],
                subscribe: vec!["phones/%u/+".into()],
                ..AclRule::default()
            },
            AclRule {
                client_id: Some("monitor-*".into()),
                subscribe: vec!["$SYS/#".into()],
                ..AclRule::default()
            },
        ]);
        let alice = client("dev1", Some("alice"));
        assert!(acl.authorize(&alice, Action::Publish, "devices/dev1/status"));
        assert!(!acl.authorize(&alice, Action::Publish, "devices/dev2/status"));
        assert!(acl.authorize(&alice, Action::Subscribe, "phones/alice/x"));
        assert!(acl.authorize(&alice, Action::Subscribe, "$share/g/phones/alice/+"));
        assert!(!acl.authorize(&alice, Action::Subscribe, "phones/alice/#"));
        assert!(!acl.authorize(&alice, Action::Subscribe, "phones/+/x"));
        assert!(!acl.authorize(&alice, Action::Subscribe, "$SYS/broker/uptime"));
        let monitor = client("monitor-3", None);
        assert!(acl.authorize(&monitor, Action::Subscribe, "$SYS/broker/#"));
        assert!(!acl.authorize(&monitor, Action::Publish, "devices/monitor-3/x"));
        // A wildcard client id cannot widen a %c grant.
        let sneaky = client("#", Some("alice"));
        assert!(!acl.authorize(&sneaky, Action::Publish, "devices/x/y"));
    }

    #[test]
    fn matching_and_covering() {
        assert!(filter_matches("a/+/c", "a/b/c"));
        assert!(filter_matches("a/#", "a"));
        assert!(!filter_matches("#", "$SYS/x"));
        assert!(filter_matches("$SYS/#", "$SYS/x"));
        let covers =
            |allowed: &str, requested: &str| filter_covers(allowed, &TopicFilter::try_from(requested).unwrap());
        assert!(covers("a/#", "a/+/c"));
        assert!(covers("a/+", "a/b"));
        assert!(!covers("a/+", "a/#"));
        assert!(!covers("a/b", "a/+"));
        assert!(
            covers("a/#", "$share/g/a/b"),
            "a shared subscription by its filter proper"
        );
        assert!(!covers("#", "$SYS/x"), "[MQTT-4.7.2-1]");
        assert!(!covers("$share/g/#", "$share/g/x"), "a shared grant grants nothing");
    }

    thread_local! {
        /// The hashes [`counting_verify`] was asked to check on this thread.
        static VERIFIED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// [`verify_password`], recording the hash it checks against.
    fn counting_verify(password: &[u8], hash: &str) -> bool {
        VERIFIED.with(|v| v.borrow_mut().push(hash.to_owned()));
        verify_password(password, hash)
    }

    /// The hashes verified while running `f`.
    fn verified_during(f: impl FnOnce()) -> Vec<String> {
        VERIFIED.with(|v| v.borrow_mut().clear());
        f();
        VERIFIED.with(|v| v.take())
    }

    #[test]
    fn unknown_user_names_run_argon2_like_known_ones() {
        let alice_hash = hash_password(b"s3cret").unwrap();
        let mut users = Users::new(&AuthConfig {
            allow_anonymous: false,
            users: vec![UserConfig {
                username: "alice".into(),
                password_hash: alice_hash.clone(),
            }],
            authorize_function: None,
        });
        users.verify = counting_verify;
        // An unknown name with a password goes the same way as a known one: to the blocking pool, to argon2.
        assert_eq!(users.decide_without_hashing(Some("bob"), Some(b"s3cret")), None);
        assert_eq!(users.decide_without_hashing(Some("alice"), Some(b"nope")), None);
        let known = verified_during(|| {
            assert_eq!(
                users.authenticate(Some("alice"), Some(b"nope")),
                Err(AuthError::BadCredentials)
            );
        });
        assert_eq!(known, [alice_hash.as_str()]);
        let unknown = verified_during(|| {
            assert_eq!(
                users.authenticate(Some("bob"), Some(b"s3cret")),
                Err(AuthError::BadCredentials)
            );
        });
        assert_eq!(
            unknown.len(),
            1,
            "an unknown user name must cost one argon2 verification"
        );
        assert_ne!(
            unknown[0], alice_hash,
            "checked against the dummy hash, not a real user's"
        );
        // The dummy is fixed (computed once) and costs what the users' hashes cost: same algorithm and params.
        let again = verified_during(|| {
            let _ = users.authenticate(Some("carol"), Some(b"x"));
        });
        assert_eq!(again, unknown);
        let dummy = PasswordHash::new(&unknown[0]).unwrap();
        let real = PasswordHash::new(&alice_hash).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        // Even the right password of a known user is not accepted under an unknown name.
        assert_eq!(
            users.authenticate(Some("bob"), Some(b"s3cret")),
            Err(AuthError::BadCredentials)
        );
    }

    #[test]
    fn without_users_a_user_name_is_an_identity_when_anonymous_access_is_on() {
        // mosquitto without a password file: the name and password are not checked, the name is kept.
        let open = Users::new(&AuthConfig::default());
        assert_eq!(open.decide_without_hashing(Some("alice"), Some(b"any")), Some(Ok(())));
        assert_eq!(open.authenticate(Some("alice"), Some(b"any")), Ok(()));
        assert_eq!(open.authenticate(Some("alice"), None), Ok(()));
        // Anonymous access off and nobody configured: nobody can log in.
        let closed = Users::new(&AuthConfig {
            allow_anonymous: false,
            ..AuthConfig::default()
        });
        assert_eq!(
            closed.authenticate(Some("alice"), Some(b"any")),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(closed.authenticate(None, None), Err(AuthError::AnonymousRefused));
    }

    #[test]
    fn passwords_verify_against_phc_hashes() {
        let hash = hash_password(b"s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(b"s3cret", &hash));
        assert!(!verify_password(b"wrong", &hash));
        assert!(!verify_password(b"s3cret", "not a hash"));
        let users = Users::new(&AuthConfig {
            allow_anonymous: false,
            users: vec![UserConfig {
                username: "alice".into(),
                password_hash: hash,
            }],
            authorize_function: None,
        });
        assert_eq!(users.authenticate(Some("alice"), Some(b"s3cret")), Ok(()));
        assert_eq!(
            users.authenticate(Some("alice"), Some(b"nope")),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(
            users.authenticate(Some("bob"), Some(b"s3cret")),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(users.authenticate(Some("alice"), None), Err(AuthError::BadCredentials));
        assert_eq!(users.authenticate(None, None), Err(AuthError::AnonymousRefused));
        // What the reactor decides without argon2, and what it leaves to the blocking pool.
        assert_eq!(
            users.decide_without_hashing(None, None),
            Some(Err(AuthError::AnonymousRefused))
        );
        // An unknown name is not decided here: it must cost argon2 like a known one (issue 16 item 6).
        assert_eq!(users.decide_without_hashing(Some("bob"), Some(b"s3cret")), None);
        assert_eq!(
            users.decide_without_hashing(Some("bob"), None),
            Some(Err(AuthError::BadCredentials))
        );
        assert_eq!(
            users.decide_without_hashing(Some("alice"), None),
            Some(Err(AuthError::BadCredentials))
        );
        assert_eq!(users.decide_without_hashing(Some("alice"), Some(b"nope")), None);
        assert_eq!(users.decide_without_hashing(Some("alice"), Some(b"s3cret")), None);
    }
}
