//! The runtime a broker holds: modules, bindings, limits, and the chain rule.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bytes::Bytes;
use hpmq_abi::{DecodeLimits, MessageView, RequestView, Response, encode_request};
use mqtt_codec::{ByteStr, TopicFilter, TopicName};
use wasmtime::{Engine, Linker};

use crate::bindings::{Binding, BindingId, Bindings, Bound, Step};
use crate::config::{FailurePolicy, Limits, RuntimeConfig};
use crate::engine::{self, EpochTicker};
use crate::error::{CallFailure, Error};
use crate::history::History;
use crate::module::{Declared, LoadedModule, ModuleSlot};
use crate::name_hash::NameMap;
use crate::peer_addr;
use crate::state::{FunctionInfo, FunctionStats};
use crate::wapc::{self, HostState};
use crate::{Context, Direction, FunctionRef, Message};

mod authorize;
pub use authorize::{AuthRequest, Authorization};

/// What one function decided about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Continue with the message unchanged.
    Forward,
    /// Drop it.
    Discard,
    /// Continue with these messages instead (a rewrite is one message, a fan-out several).
    Publish(Vec<Message>),
}

/// The result of running a message through every matching binding.
#[derive(Debug, Default)]
pub struct Processed {
    /// The messages to route (upstream) or deliver (downstream); empty when the message was dropped.
    pub messages: Vec<Message>,
    /// The calls that failed on the way; each was also counted and logged. Whether the message survived a
    /// failure was decided by its binding's [`FailurePolicy`].
    pub errors: Vec<Error>,
}

/// What was loaded: the module's name and the functions it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// The module's name.
    pub name: String,
    /// `(function, direction)` for each `#[upstream]`/`#[downstream]` function; empty for a plain waPC
    /// module (its handlers are registered at run time).
    pub functions: Vec<(String, Direction)>,
    /// Each `#[authorize]` function.
    pub authorize_functions: Vec<String>,
}

/// Loads modules, binds their functions to topics and runs them on messages, within limits.
///
/// `Runtime` is `Send + Sync`: share it (in an `Arc`) between the broker's tasks; calls from many threads
/// run in parallel on separate instances. Loading, reloading and binding may happen while calls run.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Arc<Limits>,
    decode_limits: DecodeLimits,
    modules: RwLock<NameMap<String, Arc<ModuleSlot>>>,
    functions: Mutex<NameMap<FunctionRef, Arc<FunctionInfo>>>,
    bindings: RwLock<Arc<Bindings>>,
    /// Serialises loads, reloads, binds and unbinds, so checks and swaps do not interleave.
    admin: Mutex<()>,
    next_binding: AtomicU64,
    /// Authorize functions in use ([`Runtime::use_authorize_function`]); a reload may not drop them.
    authorizers: Mutex<std::collections::BTreeSet<FunctionRef>>,
    _ticker: Option<EpochTicker>,
}

/// Locks `m` on a path that must keep serving: every value behind the runtime's locks is replaced whole
/// (an `Arc` swapped, an entry inserted), so a panic elsewhere cannot have left it half-changed, and calls
/// go on. Administrative operations use [`Runtime::admin`] and [`locked`] instead, which refuse.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Maps a poisoned lock to [`Error::Poisoned`] naming it, for operations that check before they change
/// something and must not act on a state a panic interrupted.
fn locked<G, P>(result: Result<G, std::sync::PoisonError<P>>, lock: &'static str) -> Result<G, Error> {
    result.map_err(|_| Error::Poisoned { lock })
}

impl Runtime {
    /// Creates a runtime with `limits` and no modules, on an engine of its own configured for them (see
    /// [`Runtime::engine_config`]).
    pub fn new(limits: Limits) -> Result<Self, Error> {
        let engine = Engine::new(&engine::config(&limits)).map_err(|e| Error::Engine(format!("{e:#}")))?;
        Runtime::with_engine(engine, limits)
    }

    /// Creates a runtime with `limits` and no modules on `engine`, an engine the embedder built: to share it
    /// with its own WebAssembly, or to choose the compiler, allocator or cache settings itself.
    ///
    /// The engine must be able to enforce `limits`, else this returns [`Error::UnsuitableEngine`] naming
    /// what it lacks:
    /// - [`Limits::deadline_ms`] set: `Config::epoch_interruption(true)`. The runtime starts a thread that
    ///   increments the engine's epoch every [`Limits::epoch_tick_ms`]; an embedder that increments the same
    ///   engine's epoch as well makes deadlines end sooner.
    /// - [`Limits::fuel`] set: `Config::consume_fuel(true)`.
    /// - A pooling allocator, if the engine has one, must give a linear memory at least
    ///   [`Limits::memory_bytes`] (`PoolingAllocationConfig::max_memory_size`).
    ///
    /// Epoch interruption or fuel that the limits do not use are harmless: this runtime's stores get a
    /// budget no call reaches. The pooling allocator is recommended, not required: instantiating into a
    /// pooled slot is far cheaper than mapping fresh memory, and its slot count is what bounds the number of
    /// live instances; with another allocator [`Limits::max_instances`] bounds nothing (it only sizes the
    /// pool of the engine [`Runtime::new`] builds), while [`Limits::memory_bytes`] is enforced either way.
    /// Start from [`Runtime::engine_config`] to get every setting right.
    ///
    /// ```
    /// use hpmq_host::{Error, Limits, Runtime, wasmtime};
    ///
    /// let limits = Limits { max_instances: 4, ..Limits::default() };
    /// let engine = wasmtime::Engine::new(&Runtime::engine_config(&limits)).unwrap();
    /// let rt = Runtime::with_engine(engine.clone(), limits.clone()).unwrap();
    /// assert!(wasmtime::Engine::same(rt.engine(), &engine));
    ///
    /// // The default limits have a deadline, which a plain engine cannot enforce.
    /// let plain = wasmtime::Engine::default();
    /// assert!(matches!(Runtime::with_engine(plain, limits), Err(Error::UnsuitableEngine(_))));
    /// ```
    pub fn with_engine(engine: Engine, limits: Limits) -> Result<Self, Error> {
        engine::check(&engine, &limits)?;
        let linker = wapc::linker(&engine).map_err(|e| Error::Engine(format!("{e:#}")))?;
        let ticker = match limits.deadline_ms {
            Some(_) => Some(EpochTicker::start(
                engine.clone(),
                Duration::from_millis(limits.epoch_tick_ms.max(1)),
            )?),
            None => None,
        };
        let decode_limits = DecodeLimits {
            max_messages: limits.max_messages_per_call,
            max_topic_len: 65_535,
            max_payload_len: limits.max_output_bytes,
            max_user_properties: 256,
        };
        Ok(Runtime {
            engine,
            linker,
            limits: Arc::new(limits),
            decode_limits,
            modules: RwLock::new(NameMap::default()),
            functions: Mutex::new(NameMap::default()),
            bindings: RwLock::new(Arc::new(Bindings::default())),
            admin: Mutex::new(()),
            next_binding: AtomicU64::new(1),
            authorizers: Mutex::new(std::collections::BTreeSet::new()),
            _ticker: ticker,
        })
    }

    /// The engine configuration [`Runtime::new`] uses for `limits`: epoch interruption when there is a
    /// deadline, fuel when there is a fuel limit, and the pooling allocator with [`Limits::max_instances`]
    /// slots of [`Limits::memory_bytes`]. Build a shared engine from it for [`Runtime::with_engine`].
    pub fn engine_config(limits: &Limits) -> wasmtime::Config {
        engine::config(limits)
    }

    /// The engine this runtime compiles and runs modules on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Creates a runtime from a configuration: limits, then every module (paths relative to `base_dir`),
    /// then every binding, in order.
    pub fn from_config(config: &RuntimeConfig, base_dir: &Path) -> Result<Self, Error> {
        let rt = Runtime::new(config.limits.clone())?;
        for m in &config.modules {
            rt.load_module_file(&m.name, &base_dir.join(&m.path))?;
        }
        for b in &config.bindings {
            let filter = TopicFilter::try_from(b.filter.as_str())
                .map_err(|e| Error::Config(format!("binding filter `{}`: {e}", b.filter)))?;
            let chain = b
                .chain
                .iter()
                .map(|f| f.parse())
                .collect::<Result<Vec<FunctionRef>, Error>>()?;
            rt.bind(Binding {
                direction: b.direction,
                filter,
                chain,
                on_error: b.on_error,
                history_topics: b.history_topics,
                history_bytes: b.history_bytes,
            })?;
        }
        Ok(rt)
    }

    /// Reads a TOML configuration file and calls [`Runtime::from_config`] with its directory as base.
    pub fn from_config_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let config = RuntimeConfig::from_toml(&text)?;
        Runtime::from_config(&config, path.parent().unwrap_or(Path::new(".")))
    }

    /// The limits this runtime enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Loads (or hot-reloads) module `name` from wasm bytes.
    ///
    /// The module is compiled, its imports checked, and one instance created and initialised before
    /// anything changes; only then does it replace the previous version, atomically. Calls already running
    /// finish on the old version; no call ever sees a half-loaded module. If anything fails the old version
    /// stays and the error is returned.
    ///
    /// A new version must still offer every function of the module in use: each bound function declared
    /// for its binding's direction, and each authorize function in use
    /// ([`Runtime::use_authorize_function`]) declared `#[authorize]`. A module that declares no functions
    /// (a plain waPC module, whose handlers are registered at run time) cannot show that, so it cannot
    /// replace a module with functions in use, whatever kind of module is loaded now
    /// ([`Error::ReloadUnverifiable`]); unbind them first.
    pub fn load_module(&self, name: &str, bytes: &[u8]) -> Result<ModuleInfo, Error> {
        // Compile outside the admin lock: it is the slow part, and needs no shared state.
        let loaded = LoadedModule::build(&self.engine, &self.linker, &self.limits, name, bytes)?;
        let info = ModuleInfo {
            name: name.to_owned(),
            functions: loaded.declared.iter().map(|(f, d)| (f.clone(), *d)).collect(),
            authorize_functions: loaded.authorize.iter().cloned().collect(),
        };
        let _admin = self.admin()?;
        let existing = locked(self.modules.read(), "modules")?.get(name).cloned();
        match existing {
            Some(slot) => {
                self.check_reload(name, &loaded)?;
                slot.replace(loaded)?;
                tracing::info!(module = name, "module reloaded");
            }
            None => {
                locked(self.modules.write(), "modules")?.insert(name.to_owned(), Arc::new(ModuleSlot::new(loaded)));
                tracing::info!(module = name, "module loaded");
            }
        }
        Ok(info)
    }

    /// Refuses a new version of module `name` that does not offer every function of it in use (see
    /// [`Runtime::load_module`]). Runs under the admin lock, so no binding or hook appears meanwhile.
    fn check_reload(&self, name: &str, loaded: &LoadedModule) -> Result<(), Error> {
        let bindings = Arc::clone(&*locked(self.bindings.read(), "bindings")?);
        for b in &bindings.all {
            for f in b.spec.chain.iter().filter(|f| f.module == name) {
                match offered(loaded, f)? {
                    Declared::Message(d) if d == b.spec.direction => {}
                    other => {
                        return Err(Error::DirectionMismatch {
                            function: f.clone(),
                            declared: other.as_str(),
                            bound: b.spec.direction.as_str(),
                        });
                    }
                }
            }
        }
        for f in locked(self.authorizers.lock(), "authorizers")?
            .iter()
            .filter(|f| f.module == name)
        {
            if let Declared::Message(d) = offered(loaded, f)? {
                return Err(Error::NotAuthorizeFunction {
                    function: f.clone(),
                    declared: d.as_str(),
                });
            }
        }
        Ok(())
    }

    /// Loads (or hot-reloads) module `name` from a `.wasm` file; see [`Runtime::load_module`].
    pub fn load_module_file(&self, name: &str, path: &Path) -> Result<ModuleInfo, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        self.load_module(name, &bytes)
    }

    /// Unloads a module that no binding uses and that holds no authorize function in use.
    pub fn unload_module(&self, name: &str) -> Result<(), Error> {
        let _admin = self.admin()?;
        let bound = locked(self.bindings.read(), "bindings")?.uses_module(name);
        let hook = locked(self.authorizers.lock(), "authorizers")?
            .iter()
            .any(|f| f.module == name);
        if bound || hook {
            return Err(Error::ModuleInUse(name.to_owned()));
        }
        locked(self.modules.write(), "modules")?
            .remove(name)
            .map(drop)
            .ok_or_else(|| Error::UnknownModule(name.to_owned()))
    }

    /// Adds a binding after the existing ones. Every function must be loaded; for hpmq-sdk modules it must
    /// also be exported and declared for the binding's direction.
    pub fn bind(&self, binding: Binding) -> Result<BindingId, Error> {
        if binding.filter.is_shared() {
            return Err(Error::Config(format!(
                "binding filter `{}`: shared subscriptions pick one subscriber and make no sense for functions",
                binding.filter
            )));
        }
        let _admin = self.admin()?;
        let mut steps = Vec::with_capacity(binding.chain.len());
        for f in &binding.chain {
            let slot = self.slot(&f.module)?;
            let module = slot.current();
            // A plain waPC module declares nothing and is trusted; it can then not be replaced while bound.
            if module.declares_functions() {
                match module.declaration(&f.function) {
                    None => return Err(Error::UnknownFunction(f.clone())),
                    Some(Declared::Message(d)) if d == binding.direction => {}
                    Some(other) => {
                        return Err(Error::DirectionMismatch {
                            function: f.clone(),
                            declared: other.as_str(),
                            bound: binding.direction.as_str(),
                        });
                    }
                }
            }
            let history = (binding.history_topics > 0)
                .then(|| Mutex::new(History::new(binding.history_topics, binding.history_bytes)));
            steps.push(Step {
                slot,
                function: self.function_info(f),
                history,
            });
        }
        let id = BindingId(self.next_binding.fetch_add(1, Ordering::Relaxed));
        let mut all = locked(self.bindings.read(), "bindings")?.all.clone();
        all.push(Arc::new(Bound {
            id,
            spec: binding,
            steps,
        }));
        *locked(self.bindings.write(), "bindings")? = Arc::new(Bindings::new(all)?);
        Ok(id)
    }

    /// Removes a binding; returns whether it existed.
    pub fn unbind(&self, id: BindingId) -> bool {
        let _admin = lock(&self.admin);
        let current = self.bindings_snapshot();
        let all: Vec<Arc<Bound>> = current.all.iter().filter(|b| b.id != id).cloned().collect();
        let removed = all.len() != current.all.len();
        // Removing a binding cannot make the remaining filters invalid; on the impossible error the old
        // table stays.
        match Bindings::new(all) {
            Ok(table) => self.set_bindings(table),
            Err(_) => return false,
        }
        removed
    }

    /// Counters of a function, if it was ever bound or called.
    pub fn stats(&self, function: &FunctionRef) -> Option<FunctionStats> {
        lock(&self.functions).get(function).map(|f| f.stats())
    }

    /// Runs `message` through every binding of `direction` whose filter matches its topic.
    ///
    /// **Chain rule.** The bindings that match the message's original topic are run in the order they were
    /// added, their chains concatenated. Each function receives every message the previous one let through:
    /// `Forward` passes the message on, `Discard` stops that message (nothing after it runs for it), and
    /// `Publish` replaces it by zero or more messages that *each* continue separately through the rest of
    /// the chain. A failed call is returned in [`Processed::errors`] and the binding's [`FailurePolicy`]
    /// decides whether the message continues unchanged (`Pass`) or is dropped (`Drop`). At most
    /// [`Limits::max_messages_per_chain`] messages exist at any step; the excess is dropped and reported.
    pub fn process(&self, direction: Direction, message: Message, ctx: &Context) -> Processed {
        let table = self.bindings_snapshot();
        let topic = message.topic.clone();
        let mut current = vec![message];
        let mut errors = Vec::new();
        for bound in table.matching(direction, &topic) {
            for step in &bound.steps {
                let mut next = Vec::with_capacity(current.len());
                for msg in current.drain(..) {
                    let his = step
                        .history
                        .as_ref()
                        .and_then(|h| lock(h).swap(msg.topic.as_str(), &msg.payload));
                    match self.invoke(&step.slot, &step.function, direction, &msg, ctx, his.as_deref()) {
                        Ok(Decision::Forward) => next.push(msg),
                        Ok(Decision::Discard) => {}
                        Ok(Decision::Publish(out)) => next.extend(out),
                        Err(e) => {
                            errors.push(e);
                            if bound.spec.on_error == FailurePolicy::Pass {
                                next.push(msg);
                            }
                        }
                    }
                }
                let limit = self.limits.max_messages_per_chain;
                if next.len() > limit {
                    next.truncate(limit);
                    let failure = CallFailure::TooManyMessages { limit };
                    errors.push(self.fail(&step.function, failure));
                }
                current = next;
                if current.is_empty() {
                    return Processed {
                        messages: current,
                        errors,
                    };
                }
            }
        }
        Processed {
            messages: current,
            errors,
        }
    }

    /// Calls one function on one message directly, outside any binding (`his_payload` is whatever the
    /// caller passes).
    pub fn call(
        &self,
        function: &FunctionRef,
        direction: Direction,
        message: &Message,
        ctx: &Context,
        his_payload: Option<&[u8]>,
    ) -> Result<Decision, Error> {
        let slot = self.slot(&function.module)?;
        let info = self.function_info(function);
        self.invoke(&slot, &info, direction, message, ctx, his_payload)
    }

    /// Calls one function with raw waPC bytes and returns its raw response: the plain waPC contract, for
    /// modules that do not speak the hpmq message encoding.
    pub fn call_raw(&self, function: &FunctionRef, payload: &[u8]) -> Result<Vec<u8>, Error> {
        let slot = self.slot(&function.module)?;
        let info = self.function_info(function);
        info.record_call();
        let module = slot.current();
        let mut instance = module.checkout().map_err(|f| self.fail(&info, f))?;
        instance.request_buf().extend_from_slice(payload);
        match instance.call(&info, &self.limits) {
            Ok(()) => {
                let out = instance.response().to_vec();
                module.checkin(instance);
                Ok(out)
            }
            Err(failure) => {
                if !failure.discards_instance() {
                    module.checkin(instance);
                }
                Err(self.fail(&info, failure))
            }
        }
    }

    fn invoke(
        &self,
        slot: &ModuleSlot,
        function: &Arc<FunctionInfo>,
        direction: Direction,
        msg: &Message,
        ctx: &Context,
        his_payload: Option<&[u8]>,
    ) -> Result<Decision, Error> {
        function.record_call();
        let module = slot.current();
        let mut instance = module.checkout().map_err(|f| self.fail(function, f))?;
        encode(instance.request_buf(), direction, msg, ctx, his_payload);
        match instance.call(function, &self.limits) {
            Ok(()) => {
                let decision = decode(instance.response(), &self.decode_limits, msg);
                module.checkin(instance);
                decision.map_err(|f| self.fail(function, f))
            }
            Err(failure) => {
                if !failure.discards_instance() {
                    module.checkin(instance);
                }
                Err(self.fail(function, failure))
            }
        }
    }

    /// Takes the lock that serialises loads, reloads, binds and hook changes; poisoned, it refuses.
    pub(super) fn admin(&self) -> Result<MutexGuard<'_, ()>, Error> {
        locked(self.admin.lock(), "admin")
    }

    fn fail(&self, function: &FunctionInfo, failure: CallFailure) -> Error {
        let discarded = failure.discards_instance();
        function.record_failure(discarded);
        tracing::warn!(
            module = %function.name.module,
            function = %function.name.function,
            kind = failure.kind(),
            discarded_instance = discarded,
            "function call failed: {failure}"
        );
        Error::Call {
            function: function.name.clone(),
            failure,
        }
    }

    fn slot(&self, module: &str) -> Result<Arc<ModuleSlot>, Error> {
        let modules = self.modules.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        modules
            .get(module)
            .cloned()
            .ok_or_else(|| Error::UnknownModule(module.to_owned()))
    }

    fn function_info(&self, f: &FunctionRef) -> Arc<FunctionInfo> {
        let mut functions = lock(&self.functions);
        // Known functions (every call after the first) are found without cloning the name.
        if let Some(info) = functions.get(f) {
            return Arc::clone(info);
        }
        Arc::clone(
            functions
                .entry(f.clone())
                .or_insert_with(|| Arc::new(FunctionInfo::new(f.clone()))),
        )
    }

    fn bindings_snapshot(&self) -> Arc<Bindings> {
        Arc::clone(&self.bindings.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn set_bindings(&self, b: Bindings) {
        *self.bindings.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(b);
    }
}

/// What a new version of a module declares `function` (a function of it in use) to be: refused when it
/// lacks it, or declares nothing at all and so cannot show it has it.
fn offered(loaded: &LoadedModule, function: &FunctionRef) -> Result<Declared, Error> {
    if !loaded.declares_functions() {
        return Err(Error::ReloadUnverifiable {
            module: function.module.clone(),
            function: function.function.clone(),
        });
    }
    loaded
        .declaration(&function.function)
        .ok_or_else(|| Error::ReloadDropsBoundFunction {
            module: function.module.clone(),
            function: function.function.clone(),
        })
}

/// Encodes one call's request. The peer address is formatted into a stack buffer, not allocated.
fn encode(out: &mut Vec<u8>, direction: Direction, msg: &Message, ctx: &Context, his_payload: Option<&[u8]>) {
    let mut addr_buf = [0u8; peer_addr::MAX_LEN];
    let peer_addr = ctx.peer_addr.as_ref().and_then(|a| peer_addr::format(a, &mut addr_buf));
    let props: Vec<(&[u8], &[u8])> = msg
        .user_properties
        .iter()
        .map(|(k, v)| (k.as_bytes().as_ref(), v.as_bytes().as_ref()))
        .collect();
    let request = RequestView {
        direction,
        protocol_version: ctx.protocol_version,
        message: MessageView {
            topic: msg.topic.as_str().as_bytes(),
            payload: &msg.payload,
            qos: msg.qos,
            retain: msg.retain,
            user_properties: props,
        },
        his_payload,
        client_id: ctx.client_id.as_bytes(),
        username: ctx.username.as_deref().map(str::as_bytes),
        peer_addr,
    };
    out.reserve(msg.payload.len() + msg.topic.len() + his_payload.map_or(0, <[u8]>::len) + 64);
    encode_request(&request, out);
}

/// Decodes a guest's response into a decision. Topics and strings are validated with the MQTT rules; the
/// published payloads are views of one copy of the response.
fn decode(response: &[u8], limits: &DecodeLimits, input: &Message) -> Result<Decision, CallFailure> {
    // Forward and discard are two bytes and need no copy; a publish response is copied once so that the
    // messages can be zero-copy views of it.
    if response.len() <= 2 {
        return match Response::decode(response, limits)? {
            Response::Forward => Ok(Decision::Forward),
            Response::Discard => Ok(Decision::Discard),
            Response::Publish(_) => Ok(Decision::Publish(Vec::new())),
        };
    }
    let owned = Bytes::copy_from_slice(response);
    let views = match Response::decode(&owned, limits)? {
        Response::Forward => return Ok(Decision::Forward),
        Response::Discard => return Ok(Decision::Discard),
        Response::Publish(views) => views,
    };
    let mut out = Vec::with_capacity(views.len());
    for v in views {
        let topic = TopicName::try_from(owned.slice_ref(v.topic))?;
        let mut user_properties = Vec::with_capacity(v.user_properties.len());
        for (k, val) in v.user_properties {
            user_properties.push((
                ByteStr::try_from(owned.slice_ref(k))?,
                ByteStr::try_from(owned.slice_ref(val))?,
            ));
        }
        // An unchanged payload keeps sharing the input's buffer.
        let payload = if v.payload == &input.payload[..] {
            input.payload.clone()
        } else {
            owned.slice_ref(v.payload)
        };
        out.push(Message {
            topic,
            payload,
            qos: v.qos,
            retain: v.retain,
            user_properties,
        });
    }
    Ok(Decision::Publish(out))
}

#[cfg(test)]
mod tests;
