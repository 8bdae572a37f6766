//! The wasmtime [`Engine`] a runtime runs on: the configuration [`crate::Runtime::new`] builds from the
//! [`Limits`], the check [`crate::Runtime::with_engine`] applies to an engine the embedder brings, and the
//! thread that ticks the epoch for deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::Limits;
use crate::error::Error;

/// Why an engine cannot run functions within a runtime's [`Limits`] (see [`crate::Runtime::with_engine`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineMismatch {
    /// [`Limits::deadline_ms`] is set, but the engine does not instrument code for epoch interruption, so a
    /// looping guest could never be stopped.
    #[error("`Limits::deadline_ms` is set but the engine was built without `Config::epoch_interruption(true)`")]
    NoEpochInterruption,
    /// [`Limits::fuel`] is set, but the engine does not meter fuel.
    #[error("`Limits::fuel` is set but the engine was built without `Config::consume_fuel(true)`")]
    NoFuel,
    /// The engine's pooling allocator gives each linear memory less room than [`Limits::memory_bytes`]
    /// promises a guest.
    #[error(
        "the engine's pooling allocator caps a linear memory at {pool} bytes, below `Limits::memory_bytes` ({limit})"
    )]
    PoolMemoryTooSmall {
        /// `PoolingAllocationConfig::max_memory_size` of the engine.
        pool: usize,
        /// [`Limits::memory_bytes`].
        limit: usize,
    },
}

/// The engine configuration [`crate::Runtime::new`] uses for `limits`: epoch interruption when there is a
/// deadline, fuel when there is a fuel limit, and the pooling allocator with [`Limits::max_instances`]
/// slots of [`Limits::memory_bytes`] each.
pub(crate) fn config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.consume_fuel(limits.fuel.is_some());
    config.epoch_interruption(limits.deadline_ms.is_some());
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(limits.max_instances)
        .total_memories(limits.max_instances)
        .total_tables(limits.max_instances)
        .max_memory_size(limits.memory_bytes);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Whether `engine` can enforce `limits`; the first setting it lacks otherwise.
pub(crate) fn check(engine: &Engine, limits: &Limits) -> Result<(), EngineMismatch> {
    if limits.deadline_ms.is_some() && !engine.get_epoch_interruption() {
        return Err(EngineMismatch::NoEpochInterruption);
    }
    if limits.fuel.is_some() && !engine.get_consume_fuel() {
        return Err(EngineMismatch::NoFuel);
    }
    if let Some(pool) = engine.get_pooling_config()
        && pool.get_max_memory_size() < limits.memory_bytes
    {
        return Err(EngineMismatch::PoolMemoryTooSmall {
            pool: pool.get_max_memory_size(),
            limit: limits.memory_bytes,
        });
    }
    Ok(())
}

/// Ticks the engine's epoch so deadlines expire; stopped and joined on drop.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts the ticker thread, incrementing `engine`'s epoch every `tick`.
    pub(crate) fn start(engine: Engine, tick: Duration) -> Result<Self, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("hpmq-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| Error::Engine(format!("cannot start the epoch thread: {e}")))?;
        Ok(EpochTicker {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(f: impl FnOnce(&mut Config)) -> Engine {
        let mut c = Config::new();
        f(&mut c);
        Engine::new(&c).unwrap()
    }

    #[test]
    fn the_runtime_config_suits_its_limits() {
        for (deadline_ms, fuel) in [
            (Some(10), None),
            (None, Some(1000)),
            (Some(10), Some(1000)),
            (None, None),
        ] {
            let limits = Limits {
                deadline_ms,
                fuel,
                max_instances: 4,
                ..Limits::default()
            };
            let e = Engine::new(&config(&limits)).unwrap();
            assert_eq!(check(&e, &limits), Ok(()));
            assert_eq!(e.get_epoch_interruption(), deadline_ms.is_some());
            assert_eq!(e.get_consume_fuel(), fuel.is_some());
        }
    }

    #[test]
    fn missing_settings_are_named() {
        let deadline = Limits {
            deadline_ms: Some(10),
            fuel: None,
            ..Limits::default()
        };
        assert_eq!(
            check(&engine(|_| {}), &deadline),
            Err(EngineMismatch::NoEpochInterruption)
        );
        let fuel = Limits {
            deadline_ms: None,
            fuel: Some(1000),
            ..Limits::default()
        };
        assert_eq!(check(&engine(|_| {}), &fuel), Err(EngineMismatch::NoFuel));
        assert_eq!(
            check(
                &engine(|c| {
                    c.consume_fuel(true);
                }),
                &fuel
            ),
            Ok(())
        );
        // An engine with more than the limits need (epochs and fuel without limits) is fine.
        let none = Limits {
            deadline_ms: None,
            fuel: None,
            ..Limits::default()
        };
        let both = engine(|c| {
            c.consume_fuel(true).epoch_interruption(true);
        });
        assert_eq!(check(&both, &none), Ok(()));
    }

    #[test]
    fn a_pool_smaller_than_the_memory_limit_is_refused() {
        let limits = Limits {
            memory_bytes: 2 << 20,
            max_instances: 2,
            ..Limits::default()
        };
        let small = engine(|c| {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_core_instances(2)
                .total_memories(2)
                .total_tables(2)
                .max_memory_size(1 << 20);
            c.epoch_interruption(true)
                .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        });
        assert_eq!(
            check(&small, &limits),
            Err(EngineMismatch::PoolMemoryTooSmall {
                pool: 1 << 20,
                limit: 2 << 20
            })
        );
    }
}
