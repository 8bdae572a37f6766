//! The host's one error type.

use std::path::PathBuf;

use mqtt_codec::ReasonCode;

use crate::FunctionRef;

/// Why a module could not be loaded or bound, or why one function call failed.
///
/// Call failures ([`Error::Call`]) name the function and the [`CallFailure`]; the broker decides what to do
/// with the message from the binding's [`crate::FailurePolicy`]. [`Error::reason_code`] gives the v5 reason
/// code to answer a publisher with when the message is dropped because of the error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid WebAssembly module (or use a feature this engine does not enable).
    #[error("module `{module}` does not compile: {reason}")]
    Compile {
        /// The module's name.
        module: String,
        /// wasmtime's explanation.
        reason: String,
    },
    /// A module file could not be read.
    #[error("cannot read module file {path}: {source}")]
    Io {
        /// The path that was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The module imports something the host does not provide (guests get only the waPC imports: no WASI,
    /// no filesystem, network, clock or stdio).
    #[error(
        "module `{module}` imports `{import_module}::{import_name}`, which hpmq does not provide (only waPC `wapc::__*` imports exist)"
    )]
    UnsupportedImport {
        /// The module's name.
        module: String,
        /// The import's module.
        import_module: String,
        /// The import's name.
        import_name: String,
    },
    /// The module compiled but could not be instantiated or initialised (no `memory` or `__guest_call`
    /// export, a trap in `wapc_init`/`_start`/registration, ...).
    #[error("module `{module}` failed to initialise: {reason}")]
    Init {
        /// The module's name.
        module: String,
        /// What went wrong.
        reason: String,
    },
    /// No module of that name is loaded.
    #[error("no module named `{0}` is loaded")]
    UnknownModule(String),
    /// The module exports no function of that name (only checked for modules built with hpmq-sdk, whose
    /// functions are visible as exports; plain waPC modules register names at run time).
    #[error("module `{}` has no function `{}`", .0.module, .0.function)]
    UnknownFunction(FunctionRef),
    /// A new version of a module lacks a function that a binding uses; the old version stays loaded.
    #[error("new version of module `{module}` lacks `{function}`, which is bound; the old version stays loaded")]
    ReloadDropsBoundFunction {
        /// The module's name.
        module: String,
        /// The bound function it lacks.
        function: String,
    },
    /// A module that declares no functions (a plain waPC module) cannot replace one with functions in use:
    /// nothing shows that it still has them. The old version stays loaded; unbind the module's functions
    /// (and stop using it as the authorize hook) before such a reload.
    #[error(
        "new version of module `{module}` declares no functions, so nothing shows it still has `{function}`, which is in use; the old version stays loaded"
    )]
    ReloadUnverifiable {
        /// The module's name.
        module: String,
        /// A function of it in use (bound, or the authorize hook).
        function: String,
    },
    /// The function is declared for the other direction (`#[upstream]` bound as downstream or vice versa)
    /// or is an `#[authorize]` function; on a reload, the new version declares a bound function so.
    #[error("function `{function}` is declared `#[{declared}]` but bound {bound}")]
    DirectionMismatch {
        /// The function.
        function: FunctionRef,
        /// The direction in its attribute.
        declared: &'static str,
        /// The direction of the binding.
        bound: &'static str,
    },
    /// The function named as the authorize hook is a message function (`#[upstream]`/`#[downstream]`), not
    /// an `#[authorize]` one.
    #[error("function `{function}` is declared `#[{declared}]`, not `#[authorize]`")]
    NotAuthorizeFunction {
        /// The function.
        function: FunctionRef,
        /// The direction in its attribute.
        declared: &'static str,
    },
    /// A module that is still bound cannot be unloaded.
    #[error("module `{0}` is still used by a binding")]
    ModuleInUse(String),
    /// The configuration text is not valid TOML for [`crate::RuntimeConfig`].
    #[error("invalid hpmq-host configuration: {0}")]
    Config(String),
    /// The wasmtime engine could not be created from the limits (for example, too many instances for the
    /// address space).
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// The engine given to [`crate::Runtime::with_engine`] cannot enforce the limits.
    #[error("the wasm engine cannot enforce these limits: {0}")]
    UnsuitableEngine(#[from] crate::EngineMismatch),
    /// A lock of the runtime is poisoned (a thread panicked while holding it), so a load, reload, bind or
    /// hook change that must check the runtime's state first is refused rather than acting on it. Calls
    /// keep running.
    #[error("the runtime's `{lock}` lock is poisoned by an earlier panic; refused")]
    Poisoned {
        /// Which lock.
        lock: &'static str,
    },
    /// A function call failed; see [`CallFailure`].
    #[error("function `{function}` failed: {failure}")]
    Call {
        /// The function that failed.
        function: FunctionRef,
        /// Why.
        failure: CallFailure,
    },
}

/// Why one function call failed. Every variant except [`CallFailure::GuestError`] discards the instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallFailure {
    /// The call ran past its epoch deadline.
    #[error("deadline of {deadline_ms} ms exceeded")]
    DeadlineExceeded {
        /// The configured deadline.
        deadline_ms: u64,
    },
    /// The call used up its fuel.
    #[error("fuel limit of {fuel} exhausted")]
    FuelExhausted {
        /// The configured fuel.
        fuel: u64,
    },
    /// The guest tried to grow its memory beyond the cap.
    #[error("memory limit exceeded: wanted {desired} bytes, limit is {limit}")]
    MemoryLimit {
        /// The size the guest asked for.
        desired: usize,
        /// The configured cap.
        limit: usize,
    },
    /// The guest returned more bytes than the output cap.
    #[error("output of {len} bytes exceeds the limit of {limit}")]
    OutputTooLarge {
        /// The length the guest returned.
        len: usize,
        /// The configured cap.
        limit: usize,
    },
    /// The wasm call stack overflowed.
    #[error("stack overflow")]
    StackOverflow,
    /// The guest panicked (a Rust guest built with hpmq-sdk reports the panic message before aborting).
    #[error("{0}")]
    Panicked(String),
    /// Any other trap, with wasmtime's description.
    #[error("trap: {0}")]
    Trap(String),
    /// The guest broke the waPC protocol (out-of-bounds pointer, no response, ...).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The function returned an error (`Err(..)` in Rust); the instance is healthy and kept.
    #[error("returned error: {0}")]
    GuestError(String),
    /// The function's output could not be decoded.
    #[error("malformed output: {0}")]
    BadOutput(#[from] hpmq_abi::DecodeError),
    /// The function published a topic, string or QoS that MQTT does not allow.
    #[error("published an invalid message: {0}")]
    InvalidMessage(#[from] mqtt_codec::Error),
    /// A chain's fan-out produced more messages than the configured total.
    #[error("chain produced more than {limit} messages")]
    TooManyMessages {
        /// The configured cap.
        limit: usize,
    },
    /// No instance could be created (the pooling allocator is full, or instantiation trapped).
    #[error("no instance available: {0}")]
    Instantiate(String),
}

impl CallFailure {
    /// Whether the instance that produced this failure must be thrown away.
    pub fn discards_instance(&self) -> bool {
        !matches!(
            self,
            CallFailure::GuestError(_)
                | CallFailure::BadOutput(_)
                | CallFailure::InvalidMessage(_)
                | CallFailure::TooManyMessages { .. }
                | CallFailure::Instantiate(_)
        )
    }

    /// A short stable name for metrics and logs (`"deadline"`, `"fuel"`, `"memory"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            CallFailure::DeadlineExceeded { .. } => "deadline",
            CallFailure::FuelExhausted { .. } => "fuel",
            CallFailure::MemoryLimit { .. } => "memory",
            CallFailure::OutputTooLarge { .. } => "output_size",
            CallFailure::StackOverflow => "stack_overflow",
            CallFailure::Panicked(_) => "panic",
            CallFailure::Trap(_) => "trap",
            CallFailure::Protocol(_) => "protocol",
            CallFailure::GuestError(_) => "guest_error",
            CallFailure::BadOutput(_) => "bad_output",
            CallFailure::InvalidMessage(_) => "invalid_message",
            CallFailure::TooManyMessages { .. } => "too_many_messages",
            CallFailure::Instantiate(_) => "instantiate",
        }
    }
}

impl Error {
    /// The MQTT v5 reason code to report when a message is refused because of this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Error::Call {
                failure: CallFailure::InvalidMessage(e),
                ..
            } => e.reason_code(),
            Error::Call {
                failure: CallFailure::OutputTooLarge { .. },
                ..
            } => ReasonCode::PacketTooLarge,
            _ => ReasonCode::ImplementationSpecificError,
        }
    }

    /// The MQTT specification statement the error enforces, if any (only topic and string rules do).
    pub fn spec_ref(&self) -> Option<&'static str> {
        match self {
            Error::Call {
                failure: CallFailure::InvalidMessage(e),
                ..
            } => e.spec_ref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_topics_keep_the_codec_reason_and_rule() {
        let e = Error::Call {
            function: FunctionRef::new("m", "f"),
            failure: CallFailure::InvalidMessage(mqtt_codec::Error::WildcardInTopicName),
        };
        assert_eq!(e.reason_code(), ReasonCode::TopicNameInvalid);
        assert_eq!(e.spec_ref(), Some("MQTT-3.3.2-2"));
        assert_eq!(
            e.to_string(),
            "function `m::f` failed: published an invalid message: topic name contains a wildcard [MQTT-3.3.2-2]"
        );
    }

    #[test]
    fn only_traps_discard_instances() {
        assert!(CallFailure::StackOverflow.discards_instance());
        assert!(CallFailure::DeadlineExceeded { deadline_ms: 1 }.discards_instance());
        assert!(!CallFailure::GuestError("x".into()).discards_instance());
    }
}
