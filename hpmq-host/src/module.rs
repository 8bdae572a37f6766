//! A compiled module, its pool of idle instances, and the slot that lets a reload swap it atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

use wasmtime::{Engine, ExternType, InstancePre, Linker, Module, ValType};

use crate::Direction;
use crate::config::Limits;
use crate::error::{CallFailure, Error};
use crate::wapc::{HostState, Instance, WAPC_IMPORTS, WAPC_MODULE};

use hpmq_abi::exports::{AUTHORIZE_PREFIX, CALL_PREFIX, DOWNSTREAM_PREFIX, UPSTREAM_PREFIX};

/// What an hpmq-sdk module declares one of its functions to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// `#[upstream]` or `#[downstream]`.
    Message(Direction),
    /// `#[authorize]`.
    Authorize,
}

impl Declared {
    /// The attribute's name: `"upstream"`, `"downstream"` or `"authorize"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Declared::Message(d) => d.as_str(),
            Declared::Authorize => "authorize",
        }
    }
}

/// A compiled, validated module. Immutable once built; a reload builds a new one.
pub(crate) struct LoadedModule {
    pub(crate) name: Arc<str>,
    pre: InstancePre<HostState>,
    init_exports: Vec<String>,
    /// Functions with a direct entry (`__hpmq_call_{name}`), which the host calls instead of `__guest_call`.
    direct_entries: Vec<String>,
    /// Functions an hpmq-sdk guest declares (name → direction); empty for a plain waPC guest, whose handlers
    /// are registered at run time and cannot be listed.
    pub(crate) declared: BTreeMap<String, Direction>,
    /// Functions an hpmq-sdk guest declares `#[authorize]`.
    pub(crate) authorize: BTreeSet<String>,
    pool: Mutex<Vec<Instance>>,
    limits: Arc<Limits>,
}

impl LoadedModule {
    /// Compiles and checks `bytes`, then instantiates once to prove the module initialises. The instance is
    /// kept as the first idle one.
    pub(crate) fn build(
        engine: &Engine,
        linker: &Linker<HostState>,
        limits: &Arc<Limits>,
        name: &str,
        bytes: &[u8],
    ) -> Result<Self, Error> {
        let module = Module::new(engine, bytes).map_err(|e| Error::Compile {
            module: name.to_owned(),
            reason: format!("{e:#}"),
        })?;
        for import in module.imports() {
            if import.module() != WAPC_MODULE || !WAPC_IMPORTS.contains(&import.name()) {
                return Err(Error::UnsupportedImport {
                    module: name.to_owned(),
                    import_module: import.module().to_owned(),
                    import_name: import.name().to_owned(),
                });
            }
        }
        let mut init_exports = Vec::new();
        let mut declared = BTreeMap::new();
        let mut authorize = BTreeSet::new();
        let mut direct_entries = Vec::new();
        let mut has_guest_call = false;
        for export in module.exports() {
            let export_name = export.name();
            let is_nullary =
                matches!(export.ty(), ExternType::Func(ref f) if f.params().len() == 0 && f.results().len() == 0);
            match export_name {
                "__guest_call" => has_guest_call = true,
                _ if export_name.starts_with(CALL_PREFIX) => {
                    // Only an export of the right type counts; anything else is left alone, and the function
                    // is called through `__guest_call` like in any waPC module.
                    if let Some(f) = export_name.strip_prefix(CALL_PREFIX)
                        && is_direct_entry(&export.ty())
                    {
                        direct_entries.push(f.to_owned());
                    }
                }
                "_start" | "wapc_init" if is_nullary => init_exports.push(export_name.to_owned()),
                _ if export_name.starts_with(AUTHORIZE_PREFIX) => {
                    if let Some(f) = export_name.strip_prefix(AUTHORIZE_PREFIX)
                        && is_nullary
                    {
                        authorize.insert(f.to_owned());
                        init_exports.push(export_name.to_owned());
                    }
                }
                _ => {
                    let (function, direction) = if let Some(f) = export_name.strip_prefix(UPSTREAM_PREFIX) {
                        (f, Direction::Upstream)
                    } else if let Some(f) = export_name.strip_prefix(DOWNSTREAM_PREFIX) {
                        (f, Direction::Downstream)
                    } else {
                        continue;
                    };
                    if is_nullary {
                        declared.insert(function.to_owned(), direction);
                        init_exports.push(export_name.to_owned());
                    }
                }
            }
        }
        if !has_guest_call {
            return Err(Error::Init {
                module: name.to_owned(),
                reason: "no `__guest_call` export: not a waPC module".into(),
            });
        }
        // `_start` before `wapc_init` before the hpmq registrations, as waPC hosts do.
        init_exports.sort_by_key(|n| match n.as_str() {
            "_start" => 0,
            "wapc_init" => 1,
            _ => 2,
        });
        let pre = linker.instantiate_pre(&module).map_err(|e| Error::Init {
            module: name.to_owned(),
            reason: format!("{e:#}"),
        })?;
        let loaded = LoadedModule {
            name: Arc::from(name),
            pre,
            init_exports,
            direct_entries,
            declared,
            authorize,
            pool: Mutex::new(Vec::new()),
            limits: Arc::clone(limits),
        };
        let first = loaded.instantiate().map_err(|f| Error::Init {
            module: name.to_owned(),
            reason: f.to_string(),
        })?;
        loaded.checkin(first);
        Ok(loaded)
    }

    /// Whether the module declares its functions (built with hpmq-sdk). A plain waPC module registers its
    /// handlers at run time, so nothing about them can be checked before a call.
    pub(crate) fn declares_functions(&self) -> bool {
        !self.declared.is_empty() || !self.authorize.is_empty()
    }

    /// What the module declares `function` to be; `None` if it does not declare it (which for a module that
    /// [declares nothing](Self::declares_functions) says nothing).
    pub(crate) fn declaration(&self, function: &str) -> Option<Declared> {
        if self.authorize.contains(function) {
            return Some(Declared::Authorize);
        }
        self.declared.get(function).map(|d| Declared::Message(*d))
    }

    fn instantiate(&self) -> Result<Instance, CallFailure> {
        Instance::new(
            &self.pre,
            &self.limits,
            &self.name,
            &self.init_exports,
            &self.direct_entries,
        )
    }

    /// Takes an idle instance, or creates one.
    pub(crate) fn checkout(&self) -> Result<Instance, CallFailure> {
        let idle = self.pool.lock().ok().and_then(|mut p| p.pop());
        match idle {
            Some(i) => Ok(i),
            None => self.instantiate().map_err(|f| CallFailure::Instantiate(f.to_string())),
        }
    }

    /// Returns a healthy instance for reuse (dropped if enough are idle already).
    pub(crate) fn checkin(&self, instance: Instance) {
        if let Ok(mut p) = self.pool.lock()
            && p.len() < self.limits.max_idle_instances
        {
            p.push(instance);
        }
    }
}

/// Whether an export has the type of a direct entry: `(i32) -> i32`.
fn is_direct_entry(ty: &ExternType) -> bool {
    let ExternType::Func(f) = ty else {
        return false;
    };
    let mut params = f.params();
    let mut results = f.results();
    matches!((params.next(), params.next()), (Some(ValType::I32), None))
        && matches!((results.next(), results.next()), (Some(ValType::I32), None))
}

/// The current version of one named module. Callers clone the `Arc` and run on that version, so a reload
/// never changes the module under a running call; the old version is freed when its last call returns.
pub(crate) struct ModuleSlot {
    current: RwLock<Arc<LoadedModule>>,
}

impl ModuleSlot {
    pub(crate) fn new(module: LoadedModule) -> Self {
        ModuleSlot {
            current: RwLock::new(Arc::new(module)),
        }
    }

    pub(crate) fn current(&self) -> Arc<LoadedModule> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Makes `module` the current version. A poisoned slot is refused: a reload must not act on a slot a
    /// panic interrupted (calls keep reading it, see [`ModuleSlot::current`]).
    pub(crate) fn replace(&self, module: LoadedModule) -> Result<(), Error> {
        let mut current = self
            .current
            .write()
            .map_err(|_| Error::Poisoned { lock: "module slot" })?;
        *current = Arc::new(module);
        Ok(())
    }
}
