//! The broker's TOML configuration. Every field is optional; [`Config::default`] is a safe broker on
//! `127.0.0.1:1883` with anonymous access, no ACLs and no functions. `hpmq-broker/broker.toml` documents each field.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The longest time a duration key (`*_ms`, `*_secs`) may give: 365 days. A running broker adds these to the
/// clock's current instant (session deadlines, write and save deadlines, tickers), and a value past the
/// clock's range would panic there; [`Config::validate`] refuses larger ones at load instead.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where to accept connections.
    pub listener: ListenerConfig,
    /// Resource limits per connection and for the whole broker.
    pub limits: LimitsConfig,
    /// Who may connect.
    pub auth: AuthConfig,
    /// Who may publish and subscribe to what. No entries: everything is allowed.
    pub acl: Vec<AclRule>,
    /// WebAssembly functions: modules, bindings and their limits (the `hpmq-host` runtime configuration).
    pub functions: hpmq_host::RuntimeConfig,
    /// `$SYS/broker/...` statistics.
    pub sys: SysConfig,
    /// Sessions and retained messages saved to disk across restarts. Off unless `path` is set.
    pub persistence: PersistenceConfig,
    /// Directory that relative module paths are resolved against (the config file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[listener]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenerConfig {
    /// TCP address to listen on. Default `127.0.0.1:1883`; port 0 picks a free port.
    pub address: SocketAddr,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            address: SocketAddr::from(([127, 0, 0, 1], 1883)),
        }
    }
}

/// `[limits]`. Each duration (`*_ms`) is at most [`MAX_DURATION`].
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most simultaneous connections; the next CONNECT is refused with 0x97 Quota exceeded (3.1.1: 3 Server
    /// unavailable). Default 10 000.
    pub max_connections: usize,
    /// Largest packet accepted from a client, in bytes (announced to v5 clients). Default 1 MiB.
    pub max_packet_size: u32,
    /// Unacknowledged inbound QoS 1/2 PUBLISHes a client may have (v5 Receive Maximum); a client sending
    /// more is disconnected with 0x93. Default 1024.
    #[serde(alias = "max_inflight")]
    pub receive_maximum: u16,
    /// Unacknowledged outbound QoS 1/2 PUBLISHes the broker sends one client, capped by the client's own
    /// Receive Maximum; the rest wait in the client's queue (`max_queued_messages`), so a slow reader is
    /// paced by its PUBACK/PUBREC rather than handed its whole backlog at once (mosquitto's
    /// `max_inflight_messages`). Default 65 535: the client's Receive Maximum alone (a cap of 32 cost a
    /// third of fan-in QoS 1 throughput in the load comparison, see BENCHMARKS.md).
    pub send_maximum: u16,
    /// Messages queued per client (offline, or beyond the client's Receive Maximum); further ones are
    /// dropped, QoS 0 messages first, and counted in `$SYS/broker/messages/dropped`. Default 1000.
    pub max_queued_messages: usize,
    /// Bytes (payloads, topics and variable-length properties) queued per client; further messages are
    /// dropped the same way. With `max_queued_messages` this bounds the memory a slow or offline client
    /// costs. Default 16 MiB.
    pub max_queued_bytes: usize,
    /// Highest Keep Alive a client may use, in seconds; a client asking for more (or for 0) is told this
    /// value as Server Keep Alive. 0: no cap. Default 0.
    pub keep_alive_max: u16,
    /// Highest Session Expiry Interval, in seconds. Default 86 400 (one day).
    pub session_expiry_max: u32,
    /// Topic aliases a v5 client may use towards the broker. Default 64.
    pub topic_alias_maximum: u16,
    /// How long a new connection has to send its CONNECT, in milliseconds. Default 10 000.
    pub connect_timeout_ms: u64,
    /// How long a write to a client may stall (a client that does not read) before the connection is
    /// dropped, in milliseconds. Default 30 000.
    pub write_timeout_ms: u64,
    /// How long a session waits with nothing to do (no packet, delivery, command or deadline) before it
    /// parks, in milliseconds: it gives up its task and its socket's registration with the runtime and
    /// waits in the broker's parking lot, which watches the socket, the mailbox and the session's next
    /// deadline for it and starts a task again on the first of them. A parked connection costs about a
    /// third of an idle unparked one; waking one costs a few system calls. 0: never park. Default 1 000.
    pub park_after_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 10_000,
            max_packet_size: 1 << 20,
            receive_maximum: 1024,
            send_maximum: u16::MAX,
            max_queued_messages: 1000,
            max_queued_bytes: 16 << 20,
            keep_alive_max: 0,
            session_expiry_max: 86_400,
            topic_alias_maximum: 64,
            connect_timeout_ms: 10_000,
            write_timeout_ms: 30_000,
            park_after_ms: 1_000,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Whether a CONNECT without a user name is accepted. Default true (false as soon as you add users
    /// you probably want). Without `users` it also governs a CONNECT with a user name: accepted whatever its
    /// password when true (the name is then the client's identity for `%u` ACL rules and the authorize
    /// function, as with mosquitto without a password file), refused when false.
    pub allow_anonymous: bool,
    /// Known users.
    pub users: Vec<UserConfig>,
    /// An `#[authorize]` guest function (`module::function`, its module in `[[functions.modules]]`) asked
    /// after the ACL allows a publish or subscribe. It sees the action, topic or filter, QoS, retain flag and
    /// the client (id, user name, address, protocol); its deny reason code goes into PUBACK/PUBREC/SUBACK. A
    /// failed call denies. Checked at start: the function must exist and be declared `#[authorize]`.
    pub authorize_function: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            allow_anonymous: true,
            users: Vec::new(),
            authorize_function: None,
        }
    }
}

/// `[[auth.users]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The user name of the CONNECT.
    pub username: String,
    /// Argon2 hash of the password in PHC form (`hpmq-broker hash-password <password>` prints one).
    pub password_hash: String,
}

/// `[[acl]]`: a rule granting topics to the clients it applies to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AclRule {
    /// Applies to this user name only (absent: any client, authenticated or not).
    pub username: Option<String>,
    /// Applies to client ids equal to this, or starting with the part before a trailing `*`.
    pub client_id: Option<String>,
    /// Topic filters the client may publish to; `%c` is replaced by its client id, `%u` by its user name.
    pub publish: Vec<String>,
    /// Topic filters the client may subscribe to (a requested filter must lie within one of them).
    pub subscribe: Vec<String>,
}

/// `[sys]`. `interval_secs` is at most [`MAX_DURATION`].
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SysConfig {
    /// Seconds between `$SYS/broker/...` updates (retained messages); 0 disables them. Default 10.
    pub interval_secs: u64,
}

impl Default for SysConfig {
    fn default() -> Self {
        SysConfig { interval_secs: 10 }
    }
}

/// `[persistence]`. `autosave_interval_secs` is at most [`MAX_DURATION`].
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistenceConfig {
    /// The state file. Absent (the default): nothing is saved, sessions and retained messages last as long as
    /// the process. Relative paths resolve against the config file's directory; missing directories are
    /// created.
    pub path: Option<PathBuf>,
    /// Seconds between saves while running, so a crash loses at most this much; 0 saves only on graceful
    /// shutdown. Default 60.
    pub autosave_interval_secs: u64,
}

impl Default for PersistenceConfig {
    fn default() -> Self {
        PersistenceConfig {
            path: None,
            autosave_interval_secs: 60,
        }
    }
}

/// A configuration that cannot be used. The message names the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, an unknown field, or a value of the wrong type (the message gives the key and line).
    #[error("config: {0}")]
    Parse(String),
    /// A field has a value the broker cannot use.
    #[error("config field `{field}`: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `auth.users[0].password_hash`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Config {
    /// Parses and validates a configuration; relative module paths resolve against the current directory.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.base_dir = PathBuf::from(".");
        config.validate()?;
        Ok(config)
    }

    /// Reads [`Config::from_toml_str`] from a file; relative module paths resolve against its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::from_toml_str(&text)?;
        config.base_dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        Ok(config)
    }

    /// Checks the values serde cannot: ranges, password hashes, ACL filters, function bindings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: String, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        if self.limits.max_packet_size < 16 {
            return Err(invalid("limits.max_packet_size".into(), "must be at least 16 bytes"));
        }
        if self.limits.receive_maximum == 0 {
            return Err(invalid(
                "limits.receive_maximum".into(),
                "must be at least 1 [MQTT-3.2.2-19]",
            ));
        }
        if self.limits.send_maximum == 0 {
            return Err(invalid("limits.send_maximum".into(), "must be at least 1"));
        }
        if self.limits.max_connections == 0 {
            return Err(invalid("limits.max_connections".into(), "must be at least 1"));
        }
        if self.limits.max_queued_messages == 0 {
            return Err(invalid("limits.max_queued_messages".into(), "must be at least 1"));
        }
        if self.limits.max_queued_bytes == 0 {
            return Err(invalid("limits.max_queued_bytes".into(), "must be at least 1"));
        }
        if self.limits.connect_timeout_ms == 0 {
            return Err(invalid("limits.connect_timeout_ms".into(), "must be at least 1"));
        }
        let max_ms = MAX_DURATION.as_secs() * 1000;
        let max_secs = MAX_DURATION.as_secs();
        for (field, value, max, unit) in [
            (
                "limits.connect_timeout_ms",
                self.limits.connect_timeout_ms,
                max_ms,
                "ms",
            ),
            ("limits.write_timeout_ms", self.limits.write_timeout_ms, max_ms, "ms"),
            ("limits.park_after_ms", self.limits.park_after_ms, max_ms, "ms"),
            ("sys.interval_secs", self.sys.interval_secs, max_secs, "s"),
            (
                "persistence.autosave_interval_secs",
                self.persistence.autosave_interval_secs,
                max_secs,
                "s",
            ),
        ] {
            if value > max {
                return Err(ConfigError::Invalid {
                    field: field.to_owned(),
                    reason: format!("{value} is too long: at most {max} {unit} (365 days)"),
                });
            }
        }
        for (i, user) in self.auth.users.iter().enumerate() {
            if user.username.is_empty() {
                return Err(invalid(format!("auth.users[{i}].username"), "must not be empty"));
            }
            if let Err(e) = argon2::PasswordHash::new(&user.password_hash) {
                return Err(ConfigError::Invalid {
                    field: format!("auth.users[{i}].password_hash"),
                    reason: format!("not a PHC password hash ({e}); make one with `hpmq-broker hash-password`"),
                });
            }
        }
        for (i, rule) in self.acl.iter().enumerate() {
            for (kind, filters) in [("publish", &rule.publish), ("subscribe", &rule.subscribe)] {
                for (j, filter) in filters.iter().enumerate() {
                    // Validate with placeholders substituted by a plain level.
                    let probe = filter.replace("%c", "x").replace("%u", "x");
                    if let Err(e) = mqtt_codec::TopicFilter::try_from(probe.as_str()) {
                        return Err(ConfigError::Invalid {
                            field: format!("acl[{i}].{kind}[{j}]"),
                            reason: format!("`{filter}` is not a topic filter: {e}"),
                        });
                    }
                }
            }
        }
        if let Some(path) = &self.persistence.path {
            if path.as_os_str().is_empty() {
                return Err(invalid(
                    "persistence.path".into(),
                    "must not be empty (leave it out to disable persistence)",
                ));
            }
            if path.file_name().is_none() {
                return Err(invalid("persistence.path".into(), "must name a file, not a directory"));
            }
        }
        let modules: Vec<&str> = self.functions.modules.iter().map(|m| m.name.as_str()).collect();
        for (i, binding) in self.functions.bindings.iter().enumerate() {
            if let Err(e) = mqtt_codec::TopicFilter::try_from(binding.filter.as_str()) {
                return Err(ConfigError::Invalid {
                    field: format!("functions.bindings[{i}].filter"),
                    reason: format!("`{}` is not a topic filter: {e}", binding.filter),
                });
            }
            for (j, function) in binding.chain.iter().enumerate() {
                let known = function
                    .split_once("::")
                    .is_some_and(|(module, name)| !name.is_empty() && modules.contains(&module));
                if !known {
                    return Err(ConfigError::Invalid {
                        field: format!("functions.bindings[{i}].chain[{j}]"),
                        reason: format!("`{function}` is not `module::function` with a module from functions.modules"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The state file, resolved against [`Config::base_dir`], when persistence is on.
    pub fn persistence_path(&self) -> Option<PathBuf> {
        self.persistence.path.as_ref().map(|p| self.base_dir.join(p))
    }

    /// The session limits these settings give.
    pub fn server_config(&self) -> mqtt_session::ServerConfig {
        use std::num::{NonZeroU16, NonZeroU32};
        let l = &self.limits;
        mqtt_session::ServerConfig {
            receive_maximum: NonZeroU16::new(l.receive_maximum).unwrap_or(NonZeroU16::MIN),
            send_maximum: NonZeroU16::new(l.send_maximum).unwrap_or(NonZeroU16::MIN),
            maximum_packet_size: NonZeroU32::new(l.max_packet_size),
            topic_alias_maximum: l.topic_alias_maximum,
            max_keep_alive: NonZeroU16::new(l.keep_alive_max),
            max_session_expiry_interval: l.session_expiry_max,
            max_queued_messages: l.max_queued_messages,
            max_queued_bytes: l.max_queued_bytes,
            ..mqtt_session::ServerConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_safe_default() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c.listener.address, SocketAddr::from(([127, 0, 0, 1], 1883)));
        assert!(c.auth.allow_anonymous && c.acl.is_empty() && c.functions.modules.is_empty());
        assert_eq!(c.limits.max_connections, 10_000);
        assert_eq!(c.server_config().receive_maximum.get(), 1024);
        assert_eq!(c.persistence_path(), None, "persistence is off by default");
    }

    #[test]
    fn the_example_config_is_valid_and_persists_under_target() {
        let c = Config::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/broker.toml")).unwrap();
        let path = c.persistence_path().unwrap();
        assert!(path.ends_with("../target/hpmq-broker/state"), "{}", path.display());
    }

    #[test]
    fn persistence_paths_resolve_against_the_config_file() {
        let dir = std::env::temp_dir().join(format!("hpmq-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("broker.toml");
        std::fs::write(
            &file,
            "[persistence]\npath = \"data/state\"\nautosave_interval_secs = 5\n",
        )
        .unwrap();
        let c = Config::from_file(&file).unwrap();
        assert_eq!(c.persistence_path(), Some(dir.join("data/state")));
        assert_eq!(c.persistence.autosave_interval_secs, 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn full_config_parses() {
        let c = Config::from_toml_str(
            r#"
            [listener]
            address = "0.0.0.0:0"
            [limits]
            max_inflight = 10
            keep_alive_max = 60
            [auth]
            allow_anonymous = false
            [[auth.users]]
            username = "alice"
            password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQxMjM0$3Xg0y8Bf3O3yJ7Yc0uFZC3mX9xqOa4uTNiWg0w2j6Xk"
            [[acl]]
            username = "alice"
            publish = ["devices/%c/#"]
            subscribe = ["phones/%u/#"]
            [sys]
            interval_secs = 0
            "#,
        )
        .unwrap();
        assert_eq!(c.limits.receive_maximum, 10);
        assert_eq!(c.server_config().max_keep_alive.map(|k| k.get()), Some(60));
        assert_eq!(c.acl[0].publish, ["devices/%c/#"]);
    }

    #[test]
    fn huge_durations_are_refused_at_load_naming_the_key() {
        // Each of these is added to an `Instant` by a running broker (session deadlines, write and save
        // deadlines, tickers); a value past the clock's range panicked there instead of failing here.
        let keys = [
            ("limits", "connect_timeout_ms"),
            ("limits", "write_timeout_ms"),
            ("limits", "park_after_ms"),
            ("sys", "interval_secs"),
            ("persistence", "autosave_interval_secs"),
        ];
        for (section, key) in keys {
            for huge in [i64::MAX, 1 << 50] {
                let e = Config::from_toml_str(&format!("[{section}]\n{key} = {huge}"))
                    .expect_err("a huge value must be refused")
                    .to_string();
                assert!(e.contains(&format!("{section}.{key}")), "{e}");
                assert!(e.contains("at most"), "{e}");
            }
        }
        // The largest accepted values load, and fit the clock.
        let c = Config::from_toml_str(&format!(
            "[limits]\nconnect_timeout_ms = {ms}\nwrite_timeout_ms = {ms}\npark_after_ms = {ms}\n\
             [sys]\ninterval_secs = {s}\n[persistence]\nautosave_interval_secs = {s}",
            ms = MAX_DURATION.as_millis(),
            s = MAX_DURATION.as_secs(),
        ))
        .unwrap();
        let now = std::time::Instant::now();
        let far = std::time::Duration::from_millis(c.limits.write_timeout_ms) + std::time::Duration::from_secs(1);
        assert!(now.checked_add(far).is_some());
        assert!(
            now.checked_add(std::time::Duration::from_secs(c.sys.interval_secs) * 2)
                .is_some()
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = Config::from_toml_str("[limits]\nmax_conections = 5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_conections"), "{e}");
        let e = Config::from_toml_str("[listener]\naddress = \"nowhere\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("address"), "{e}");
        let e = Config::from_toml_str("[limits]\nreceive_maximum = 0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.receive_maximum"), "{e}");
        assert_eq!(
            Config::from_toml_str("[limits]\nsend_maximum = 20")
                .unwrap()
                .server_config()
                .send_maximum
                .get(),
            20
        );
        let e = Config::from_toml_str("[limits]\nsend_maximum = 0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.send_maximum"), "{e}");
        let e = Config::from_toml_str("[[auth.users]]\nusername = \"a\"\npassword_hash = \"secret\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("auth.users[0].password_hash"), "{e}");
        let e = Config::from_toml_str("[[acl]]\npublish = [\"a/#/b\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("acl[0].publish[0]"), "{e}");
        let e = Config::from_toml_str(
            "[[functions.bindings]]\ndirection = \"upstream\"\nfilter = \"#\"\nchain = [\"nomodule::f\"]",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("functions.bindings[0].chain[0]"), "{e}");
        let e = Config::from_toml_str("[persistence]\npath = \"\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("persistence.path"), "{e}");
        let e = Config::from_toml_str("[persistence]\npath = \"data/..\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("persistence.path"), "{e}");
        let e = Config::from_toml_str("[persistence]\nautosave_interval_secs = -1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("autosave_interval_secs"), "{e}");
        let e = Config::from_toml_str("[persistence]\nautosave = 5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("autosave"), "{e}");
    }
}
