//! Limits and the TOML configuration a broker reads.
//!
//! ```toml
//! [limits]
//! deadline_ms = 50          # epoch deadline per call (omit for none)
//! fuel = 50_000_000         # instruction budget per call (omit for none)
//! memory_bytes = 33554432   # linear memory cap per instance
//!
//! [[modules]]
//! name = "filters"
//! path = "filters.wasm"     # relative to the configuration file
//!
//! [[bindings]]
//! direction = "upstream"
//! filter = "sensors/#"
//! chain = ["filters::dedup", "filters::rewrite"]
//! on_error = "pass"         # or "drop"
//! history_topics = 1024     # his_payload memory per function (0 disables)
//! ```

use std::path::PathBuf;

use serde::Deserialize;

use crate::{Direction, Error};

/// Per-call and per-runtime resource limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock budget per call, enforced with wasmtime epochs (a background thread ticks every
    /// [`Limits::epoch_tick_ms`]); a call is stopped between `deadline_ms` and `deadline_ms + epoch_tick_ms`.
    /// `None` disables the deadline. Default: 100 ms.
    pub deadline_ms: Option<u64>,
    /// Resolution of the deadline. Default: 5 ms.
    pub epoch_tick_ms: u64,
    /// Instruction budget per call (wasmtime fuel; deterministic, but slows every call down, see
    /// `BENCHMARKS.md`). `None` disables it. Default: none.
    pub fuel: Option<u64>,
    /// Largest linear memory an instance may grow to. Default: 64 MiB.
    pub memory_bytes: usize,
    /// Largest response a call may return. Default: 1 MiB.
    pub max_output_bytes: usize,
    /// Most messages one call may publish. Default: 64.
    pub max_messages_per_call: usize,
    /// Most messages one message may turn into through a whole chain. Default: 256.
    pub max_messages_per_chain: usize,
    /// Instance slots of the pooling allocator, shared by all modules (each concurrent call needs one, plus
    /// idle instances kept for reuse). Default: 128.
    pub max_instances: u32,
    /// Idle instances kept per module for reuse. Default: 16.
    pub max_idle_instances: usize,
    /// Longest log line or error text taken from a guest; longer ones are truncated. Default: 4096.
    pub max_log_bytes: usize,
    /// Most keys in one function's key-value state. Default: 1024.
    pub kv_max_entries: usize,
    /// Longest key plus value in one function's key-value state. Default: 64 KiB.
    pub kv_max_entry_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline_ms: Some(100),
            epoch_tick_ms: 5,
            fuel: None,
            memory_bytes: 64 << 20,
            max_output_bytes: 1 << 20,
            max_messages_per_call: 64,
            max_messages_per_chain: 256,
            max_instances: 128,
            max_idle_instances: 16,
            max_log_bytes: 4096,
            kv_max_entries: 1024,
            kv_max_entry_bytes: 64 << 10,
        }
    }
}

/// What a binding does with a message whose function call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailurePolicy {
    /// The message continues unchanged to the next function (or is delivered) as if the function had
    /// returned `Forward`.
    #[default]
    Pass,
    /// The message is dropped.
    Drop,
}

/// Reads a [`Direction`] from its name, `"upstream"` or `"downstream"` (hpmq-abi, which defines the type,
/// has no serde).
fn direction_name<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Direction, D::Error> {
    let name = String::deserialize(deserializer)?;
    Direction::from_name(&name).ok_or_else(|| serde::de::Error::unknown_variant(&name, &["upstream", "downstream"]))
}

/// A module to load.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    /// The name bindings refer to it by.
    pub name: String,
    /// The `.wasm` file; relative paths are resolved against the configuration file's directory by
    /// [`crate::Runtime::from_config_file`].
    pub path: PathBuf,
}

fn default_history_topics() -> usize {
    1024
}

fn default_history_bytes() -> usize {
    1 << 20
}

/// A binding as written in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingConfig {
    /// `"upstream"` or `"downstream"`.
    #[serde(deserialize_with = "direction_name")]
    pub direction: Direction,
    /// An MQTT topic filter (`+` and `#` allowed).
    pub filter: String,
    /// Functions as `"module::function"`, run in order.
    pub chain: Vec<String>,
    /// What a failed call does to the message. Default: pass.
    #[serde(default)]
    pub on_error: FailurePolicy,
    /// How many topics' last payloads each function of the binding remembers for `his_payload`
    /// (least-recently-used eviction; 0 disables `his_payload`). Default: 1024.
    #[serde(default = "default_history_topics")]
    pub history_topics: usize,
    /// Most payload bytes remembered per function for `his_payload` (LRU eviction). Default: 1 MiB.
    #[serde(default = "default_history_bytes")]
    pub history_bytes: usize,
}

/// Everything a broker needs to set up a [`crate::Runtime`]: limits, modules and bindings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Resource limits.
    pub limits: Limits,
    /// Modules to load.
    pub modules: Vec<ModuleConfig>,
    /// Bindings, in the order their chains run when several match.
    pub bindings: Vec<BindingConfig>,
}

impl RuntimeConfig {
    /// Parses the TOML form shown in the module documentation.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
            [limits]
            deadline_ms = 50
            fuel = 50_000_000
            memory_bytes = 33554432

            [[modules]]
            name = "filters"
            path = "filters.wasm"

            [[bindings]]
            direction = "upstream"
            filter = "sensors/#"
            chain = ["filters::dedup", "filters::rewrite"]
            on_error = "drop"
        "#;
        let c = RuntimeConfig::from_toml(text).unwrap();
        assert_eq!(c.limits.deadline_ms, Some(50));
        assert_eq!(c.limits.fuel, Some(50_000_000));
        assert_eq!(c.limits.max_output_bytes, Limits::default().max_output_bytes);
        assert_eq!(c.modules[0].path, PathBuf::from("filters.wasm"));
        assert_eq!(c.bindings[0].on_error, FailurePolicy::Drop);
        assert_eq!(c.bindings[0].direction, Direction::Upstream);
        assert_eq!(c.bindings[0].history_topics, 1024);
        assert_eq!(c.bindings[0].chain.len(), 2);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(RuntimeConfig::from_toml("[limits]\nfuels = 1").is_err());
        let e =
            RuntimeConfig::from_toml("[[bindings]]\ndirection = \"sideways\"\nfilter = \"a\"\nchain = []").unwrap_err();
        assert!(e.to_string().contains("sideways"), "{e}");
    }
}
