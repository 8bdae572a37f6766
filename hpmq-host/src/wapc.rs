//! The waPC protocol, host side: the `wapc` imports a guest links against, one instance with its store, and
//! the classification of everything that can go wrong in a call.
//!
//! A call is `__guest_call(op_len, msg_len)`; the guest fetches the operation name and the request with
//! `__guest_request`, answers with `__guest_response` (or `__guest_error`) and returns 1 (or 0). During the
//! call it may use `__host_call` (answered through `__host_response[_len]`/`__host_error[_len]`) and
//! `__console_log`. Every pointer the guest passes is bounds-checked; every length is capped.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hpmq_abi::{
    HOST_BINDING, KV_NAMESPACE, LOG_NAMESPACE, LogLevel, OP_KV_DELETE, OP_KV_GET, OP_KV_SET, OP_TIME_NOW,
    TIME_NAMESPACE, decode_kv_set,
};
use wasmtime::{Caller, Engine, Extern, InstancePre, Linker, Memory, ResourceLimiter, Store, Trap, TypedFunc};

use crate::config::Limits;
use crate::error::CallFailure;
use crate::state::FunctionInfo;

/// The import module every waPC guest links against.
pub(crate) const WAPC_MODULE: &str = "wapc";

/// The imports this host provides; a module importing anything else is refused at load time.
pub(crate) const WAPC_IMPORTS: [&str; 9] = [
    "__guest_request",
    "__guest_response",
    "__guest_error",
    "__host_call",
    "__host_response",
    "__host_response_len",
    "__host_error",
    "__host_error_len",
    "__console_log",
];

/// What the host knows inside one store.
pub(crate) struct HostState {
    limits: Arc<Limits>,
    module: Arc<str>,
    memory: Option<Memory>,
    /// The function being called (its name is the waPC operation); `None` while initialising.
    current: Option<Arc<FunctionInfo>>,
    /// Whether the current call entered at `__guest_call`, so `__guest_request` writes the operation name
    /// (a direct entry implies it, and its guest reserves no room for it).
    via_guest_call: bool,
    pub(crate) request: Vec<u8>,
    pub(crate) response: Vec<u8>,
    responded: bool,
    guest_error: Option<String>,
    host_response: Vec<u8>,
    host_error: Vec<u8>,
    /// A limit or protocol rule the guest broke; takes precedence over the trap it causes.
    violation: Option<CallFailure>,
}

impl ResourceLimiter for HostState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limits.memory_bytes {
            self.violation = Some(CallFailure::MemoryLimit {
                desired,
                limit: self.limits.memory_bytes,
            });
            return Err(wasmtime::Error::msg("memory limit exceeded"));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        // Tables hold function references; a guest needs a few hundred at most.
        Ok(desired <= 100_000)
    }
}

fn ptr(v: i32) -> usize {
    v as u32 as usize
}

/// Records a protocol violation and returns the error that traps the guest.
fn violate(state: &mut HostState, what: String) -> wasmtime::Error {
    let e = wasmtime::Error::msg(what.clone());
    state.violation.get_or_insert(CallFailure::Protocol(what));
    e
}

fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    match caller.data().memory {
        Some(m) => Ok(m),
        None => Err(violate(
            caller.data_mut(),
            "host call before the instance exported its memory".into(),
        )),
    }
}

/// Copies `len` bytes at `ptr` out of guest memory, refusing more than `max`.
fn read_guest(
    caller: &mut Caller<'_, HostState>,
    p: i32,
    len: i32,
    max: usize,
    what: &str,
) -> wasmtime::Result<Vec<u8>> {
    let mem = memory(caller)?;
    let (start, len) = (ptr(p), ptr(len));
    if len > max {
        let e = wasmtime::Error::msg(format!("{what} of {len} bytes exceeds {max}"));
        caller
            .data_mut()
            .violation
            .get_or_insert(CallFailure::Protocol(format!("{what} of {len} bytes exceeds {max}")));
        return Err(e);
    }
    let (data, state) = mem.data_and_store_mut(&mut *caller);
    match start.checked_add(len).and_then(|end| data.get(start..end)) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(violate(
            state,
            format!("{what} pointer {start}+{len} is outside guest memory"),
        )),
    }
}

/// Writes `bytes` into guest memory at `ptr`.
fn write_guest(
    caller: &mut Caller<'_, HostState>,
    p: i32,
    what: &str,
    pick: fn(&HostState) -> &[u8],
) -> wasmtime::Result<()> {
    let mem = memory(caller)?;
    let start = ptr(p);
    let (data, state) = mem.data_and_store_mut(&mut *caller);
    let bytes = pick(state);
    match start.checked_add(bytes.len()).and_then(|end| data.get_mut(start..end)) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            Ok(())
        }
        None => {
            let len = bytes.len();
            Err(violate(
                state,
                format!("{what} pointer {start}+{len} is outside guest memory"),
            ))
        }
    }
}

fn truncated_text(bytes: &[u8], max: usize) -> String {
    let cut = bytes.get(..max).unwrap_or(bytes);
    String::from_utf8_lossy(cut).into_owned()
}

fn function_name(state: &HostState) -> &str {
    state.current.as_ref().map_or("(init)", |f| f.name.function.as_str())
}

fn log_line(state: &HostState, level: LogLevel, text: &str) {
    let module = &*state.module;
    let function = function_name(state);
    match level {
        LogLevel::Error => tracing::error!(target: "hpmq_host::guest", module, function, "{text}"),
        LogLevel::Warn => tracing::warn!(target: "hpmq_host::guest", module, function, "{text}"),
        LogLevel::Info => tracing::info!(target: "hpmq_host::guest", module, function, "{text}"),
        LogLevel::Debug => tracing::debug!(target: "hpmq_host::guest", module, function, "{text}"),
        LogLevel::Trace => tracing::trace!(target: "hpmq_host::guest", module, function, "{text}"),
    }
}

/// Answers one `__host_call`: `Ok(response)` or `Err(error text)` for the guest.
fn host_call(state: &mut HostState, binding: &[u8], ns: &[u8], op: &[u8], payload: &[u8]) -> Result<Vec<u8>, String> {
    if binding != HOST_BINDING.as_bytes() {
        return Err(format!(
            "unknown host call binding `{}` (this host offers `{HOST_BINDING}`)",
            String::from_utf8_lossy(binding)
        ));
    }
    let limits = Arc::clone(&state.limits);
    if ns == LOG_NAMESPACE.as_bytes() {
        let level =
            LogLevel::from_name(op).ok_or_else(|| format!("unknown log level `{}`", String::from_utf8_lossy(op)))?;
        log_line(state, level, &truncated_text(payload, limits.max_log_bytes));
        return Ok(Vec::new());
    }
    if ns == TIME_NAMESPACE.as_bytes() && op == OP_TIME_NOW.as_bytes() {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_millis();
        return Ok(u64::try_from(ms).unwrap_or(u64::MAX).to_le_bytes().to_vec());
    }
    if ns == KV_NAMESPACE.as_bytes() {
        let function = state
            .current
            .as_ref()
            .ok_or("key-value state is only available inside a call")?;
        let mut kv = function.kv.lock().map_err(|_| "key-value state is poisoned")?;
        return match op {
            _ if op == OP_KV_GET.as_bytes() => Ok(match kv.get(payload) {
                Some(v) => {
                    let mut out = Vec::with_capacity(v.len() + 1);
                    out.push(1);
                    out.extend_from_slice(v);
                    out
                }
                None => vec![0],
            }),
            _ if op == OP_KV_SET.as_bytes() => {
                let (key, value) = decode_kv_set(payload).map_err(|e| e.to_string())?;
                kv.set(key, value, limits.kv_max_entries, limits.kv_max_entry_bytes)
                    .map_err(|e| e.to_string())?;
                Ok(Vec::new())
            }
            _ if op == OP_KV_DELETE.as_bytes() => {
                kv.delete(payload);
                Ok(Vec::new())
            }
            _ => Err(format!("unknown kv operation `{}`", String::from_utf8_lossy(op))),
        };
    }
    Err(format!(
        "unknown host call `{}/{}`",
        String::from_utf8_lossy(ns),
        String::from_utf8_lossy(op)
    ))
}

/// Builds the linker holding the waPC imports, and nothing else.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut l = Linker::new(engine);
    l.func_wrap(
        WAPC_MODULE,
        "__guest_request",
        |mut c: Caller<'_, HostState>, op_ptr: i32, p: i32| {
            if c.data().via_guest_call {
                write_guest(&mut c, op_ptr, "operation", |s| {
                    s.current.as_ref().map_or(&[][..], |f| f.name.function.as_bytes())
                })?;
            }
            write_guest(&mut c, p, "request", |s| &s.request)
        },
    )?;
    l.func_wrap(
        WAPC_MODULE,
        "__guest_response",
        |mut c: Caller<'_, HostState>, p: i32, len: i32| {
            let max = c.data().limits.max_output_bytes;
            // Copied straight into the store's response buffer, which every call reuses.
            let (start, n) = (ptr(p), ptr(len));
            if n > max {
                c.data_mut()
                    .violation
                    .get_or_insert(CallFailure::OutputTooLarge { len: n, limit: max });
                return Err(wasmtime::Error::msg(format!("response of {n} bytes exceeds {max}")));
            }
            let mem = memory(&mut c)?;
            let (data, s) = mem.data_and_store_mut(&mut c);
            match start.checked_add(n).and_then(|end| data.get(start..end)) {
                Some(bytes) => {
                    s.response.clear();
                    s.response.extend_from_slice(bytes);
                    s.responded = true;
                    Ok(())
                }
                None => Err(violate(
                    s,
                    format!("response pointer {start}+{n} is outside guest memory"),
                )),
            }
        },
    )?;
    l.func_wrap(
        WAPC_MODULE,
        "__guest_error",
        |mut c: Caller<'_, HostState>, p: i32, len: i32| {
            let max = c.data().limits.max_log_bytes;
            let len = len.min(i32::try_from(max).unwrap_or(i32::MAX));
            let bytes = read_guest(&mut c, p, len, max, "error")?;
            c.data_mut().guest_error = Some(String::from_utf8_lossy(&bytes).into_owned());
            Ok(())
        },
    )?;
    l.func_wrap(
        WAPC_MODULE,
        "__console_log",
        |mut c: Caller<'_, HostState>, p: i32, len: i32| {
            let max = c.data().limits.max_log_bytes;
            let len = len.min(i32::try_from(max).unwrap_or(i32::MAX));
            let bytes = read_guest(&mut c, p, len, max, "log line")?;
            log_line(c.data(), LogLevel::Info, &String::from_utf8_lossy(&bytes));
            Ok(())
        },
    )?;
    l.func_wrap(
        WAPC_MODULE,
        "__host_call",
        |mut c: Caller<'_, HostState>,
         bd: i32,
         bd_len: i32,
         ns: i32,
         ns_len: i32,
         op: i32,
         op_len: i32,
         p: i32,
         len: i32|
         -> wasmtime::Result<i32> {
            let max_name = 256;
            let max_payload = {
                let l = &c.data().limits;
                l.kv_max_entry_bytes.max(l.max_log_bytes) + 16
            };
            let binding = read_guest(&mut c, bd, bd_len, max_name, "host call binding")?;
            let namespace = read_guest(&mut c, ns, ns_len, max_name, "host call namespace")?;
            let operation = read_guest(&mut c, op, op_len, max_name, "host call operation")?;
            let payload = read_guest(&mut c, p, len, max_payload, "host call payload")?;
            let s = c.data_mut();
            match host_call(s, &binding, &namespace, &operation, &payload) {
                Ok(out) => {
                    s.host_response = out;
                    s.host_error.clear();
                    Ok(1)
                }
                Err(text) => {
                    s.host_response.clear();
                    s.host_error = text.into_bytes();
                    Ok(0)
                }
            }
        },
    )?;
    l.func_wrap(
        WAPC_MODULE,
        "__host_response",
        |mut c: Caller<'_, HostState>, p: i32| write_guest(&mut c, p, "host response", |s| &s.host_response),
    )?;
    l.func_wrap(WAPC_MODULE, "__host_response_len", |c: Caller<'_, HostState>| -> i32 {
        i32::try_from(c.data().host_response.len()).unwrap_or(i32::MAX)
    })?;
    l.func_wrap(WAPC_MODULE, "__host_error", |mut c: Caller<'_, HostState>, p: i32| {
        write_guest(&mut c, p, "host error", |s| &s.host_error)
    })?;
    l.func_wrap(WAPC_MODULE, "__host_error_len", |c: Caller<'_, HostState>| -> i32 {
        i32::try_from(c.data().host_error.len()).unwrap_or(i32::MAX)
    })?;
    Ok(l)
}

/// One live guest instance and its store. Not shared: a call takes it out of its module's pool.
pub(crate) struct Instance {
    store: Store<HostState>,
    guest_call: TypedFunc<(i32, i32), i32>,
    /// `(function name, direct entry)` of every function the module exports one for (see
    /// `hpmq_abi::exports`); a handful at most, so a scan finds one faster than a hash would.
    direct: Vec<(Box<str>, TypedFunc<i32, i32>)>,
}

impl Instance {
    /// Instantiates and initialises (`_start`, `wapc_init`, then each hpmq registration export).
    pub(crate) fn new(
        pre: &InstancePre<HostState>,
        limits: &Arc<Limits>,
        module: &Arc<str>,
        init_exports: &[String],
        direct_entries: &[String],
    ) -> Result<Self, CallFailure> {
        let state = HostState {
            limits: Arc::clone(limits),
            module: Arc::clone(module),
            memory: None,
            current: None,
            via_guest_call: true,
            request: Vec::new(),
            response: Vec::new(),
            responded: false,
            guest_error: None,
            host_response: Vec::new(),
            host_error: Vec::new(),
            violation: None,
        };
        let mut store = Store::new(pre.module().engine(), state);
        store.limiter(|s| s);
        lift_unused_budgets(&mut store, limits);
        arm(&mut store, limits);
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| classify(&mut store, limits, &e, "instantiation"))?;
        let memory = match instance.get_export(&mut store, "memory") {
            Some(Extern::Memory(m)) => m,
            _ => return Err(CallFailure::Protocol("module exports no `memory`".into())),
        };
        store.data_mut().memory = Some(memory);
        let guest_call = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "__guest_call")
            .map_err(|e| CallFailure::Protocol(format!("`__guest_call` export: {e}")))?;
        let mut direct = Vec::with_capacity(direct_entries.len());
        for function in direct_entries {
            let export = format!("{}{function}", hpmq_abi::exports::CALL_PREFIX);
            let f = instance
                .get_typed_func::<i32, i32>(&mut store, &export)
                .map_err(|e| CallFailure::Protocol(format!("`{export}` export: {e}")))?;
            direct.push((function.as_str().into(), f));
        }
        for name in init_exports {
            let f = instance
                .get_typed_func::<(), ()>(&mut store, name)
                .map_err(|e| CallFailure::Protocol(format!("`{name}` export: {e}")))?;
            arm(&mut store, limits);
            f.call(&mut store, ())
                .map_err(|e| classify(&mut store, limits, &e, name))?;
        }
        Ok(Instance {
            store,
            guest_call,
            direct,
        })
    }

    /// Calls `function` with the request already encoded in [`Instance::request_buf`]. On success the
    /// response is in [`Instance::response`]. A failure for which [`CallFailure::discards_instance`] is
    /// true leaves the instance unusable.
    ///
    /// The function is entered at its direct entry when the module has one, else at `__guest_call`.
    pub(crate) fn call(&mut self, function: &Arc<FunctionInfo>, limits: &Limits) -> Result<(), CallFailure> {
        let name = function.name.function.as_str();
        let Instance {
            store,
            guest_call,
            direct,
        } = self;
        // A reference, not a clone: cloning a `TypedFunc` clones its registered type (~150 instructions).
        let entry = direct.iter().find(|(n, _)| **n == *name).map(|(_, f)| f);
        let op_len = i32::try_from(name.len()).map_err(|_| CallFailure::Protocol("operation name too long".into()))?;
        let msg_len =
            i32::try_from(store.data().request.len()).map_err(|_| CallFailure::Protocol("request too long".into()))?;
        {
            let s = store.data_mut();
            s.via_guest_call = entry.is_none();
            s.current = Some(Arc::clone(function));
            s.responded = false;
            s.guest_error = None;
            s.violation = None;
            s.response.clear();
        }
        arm(&mut *store, limits);
        let result = match entry {
            Some(f) => f.call(&mut *store, msg_len),
            None => guest_call.call(&mut *store, (op_len, msg_len)),
        };
        store.data_mut().current = None;
        match result {
            Ok(1) if store.data().responded => Ok(()),
            Ok(1) => Err(CallFailure::Protocol(
                "guest reported success without calling __guest_response".into(),
            )),
            Ok(_) => Err(CallFailure::GuestError(
                store
                    .data_mut()
                    .guest_error
                    .take()
                    .unwrap_or_else(|| "guest failed without an error message".into()),
            )),
            Err(e) => Err(classify(&mut *store, limits, &e, "call")),
        }
    }

    /// The buffer the request is encoded into before [`Instance::call`].
    pub(crate) fn request_buf(&mut self) -> &mut Vec<u8> {
        let buf = &mut self.store.data_mut().request;
        buf.clear();
        buf
    }

    /// The guest's response to the last successful call.
    pub(crate) fn response(&self) -> &[u8] {
        &self.store.data().response
    }
}

/// A store of an engine that meters fuel or checks epochs starts with no fuel and an elapsed deadline, so its
/// first instruction would trap. When the limits use neither (the engine was shared with settings of its
/// own, see `Runtime::with_engine`), gives the store a budget no call reaches; [`arm`] leaves it alone.
fn lift_unused_budgets(store: &mut Store<HostState>, limits: &Limits) {
    let engine = store.engine();
    let (fuel, epochs) = (engine.get_consume_fuel(), engine.get_epoch_interruption());
    if fuel && limits.fuel.is_none() {
        // Cannot fail: the engine meters fuel.
        let _ = store.set_fuel(u64::MAX);
    }
    if epochs && limits.deadline_ms.is_none() {
        // Half the range, so that adding the current epoch cannot overflow.
        store.set_epoch_deadline(u64::MAX / 2);
    }
}

/// Gives the store a fresh budget for the next guest entry.
fn arm(store: &mut Store<HostState>, limits: &Limits) {
    if let Some(fuel) = limits.fuel {
        // Fails only when fuel is not enabled on the engine, and the engine enables it exactly when
        // `limits.fuel` is set.
        let _ = store.set_fuel(fuel);
    }
    if let Some(ms) = limits.deadline_ms {
        store.set_epoch_deadline(deadline_ticks(ms, limits.epoch_tick_ms));
    }
}

/// Epoch ticks for a deadline: rounded up, plus one because the current tick may be about to end.
pub(crate) fn deadline_ticks(deadline_ms: u64, tick_ms: u64) -> u64 {
    deadline_ms.div_ceil(tick_ms.max(1)) + 1
}

/// Turns a wasmtime error into the reason the call failed: a recorded violation first, then the trap code,
/// then the panic message a Rust guest hands over before aborting.
fn classify(store: &mut Store<HostState>, limits: &Limits, e: &wasmtime::Error, during: &str) -> CallFailure {
    let state = store.data_mut();
    if let Some(v) = state.violation.take() {
        return v;
    }
    let guest_error = state.guest_error.take();
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallFailure::FuelExhausted {
            fuel: limits.fuel.unwrap_or(0),
        },
        Some(Trap::Interrupt) => CallFailure::DeadlineExceeded {
            deadline_ms: limits.deadline_ms.unwrap_or(0),
        },
        Some(Trap::StackOverflow) => CallFailure::StackOverflow,
        Some(trap) => match guest_error {
            Some(text) => CallFailure::Panicked(text),
            None => CallFailure::Trap(format!("{trap} during {during}")),
        },
        None => CallFailure::Trap(format!("{e} during {during}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_rounds_up_and_adds_a_tick() {
        assert_eq!(deadline_ticks(100, 5), 21);
        assert_eq!(deadline_ticks(1, 5), 2);
        assert_eq!(deadline_ticks(10, 0), 11);
    }
}
