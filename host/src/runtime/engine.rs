//! The one `Engine` a sandbox uses, configured for speed (pooling allocator), control (epoch
//! interruption for deadlines) and determinism (NaN canonicalisation, deterministic relaxed
//! SIMD), plus the thread that advances its epoch.
//!
//! Two presets: [`EngineOptions::default`] for a long-lived embedder that runs many guests,
//! each perhaps with a deadline; [`EngineOptions::single_run`] for a process that runs one
//! guest and exits (the CLI), which skips setting up and tearing down a pool and compiles the
//! epoch checks in only when that run has a deadline.

use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; the granularity of `--timeout`.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest linear memory the pooling allocator reserves per memory: wasm32's 4 GiB.
const POOL_MAX_MEMORY: usize = 4 << 30;

/// Native stack a guest's wasm code may use. Wasmtime's default (512 KiB) ends a Nix
/// evaluation about 600 calls deep; Nix itself allows its own deep recursion (10 000 nested
/// calls evaluate), so guests get the same room. It is address space, touched only as used.
pub const MAX_WASM_STACK: usize = 256 << 20;

/// The fiber stack a guest runs on: the wasm stack plus room for the host functions it calls.
const ASYNC_STACK: usize = MAX_WASM_STACK + (2 << 20);

/// Bytes of each pooled linear memory and table that stay resident when a guest ends: they are
/// reset to their initial contents in place (with Linux's `PAGEMAP_SCAN`, only the pages the
/// guest touched) instead of `madvise`d away, so the next guest in the slot does not fault
/// them in again. This took P1 (empty guest create + run + drop) from 23 to 9 µs.
const KEEP_RESIDENT: usize = 1 << 20;

/// With [`EngineOptions::reclaim_stacks`], bytes at the top of a guest's fiber stack that are
/// zeroed with memset when it ends (the rest is handed back to the kernel): about what a
/// shallow guest touches.
const STACK_KEEP_RESIDENT: usize = 16 << 10;

/// How the engine is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Use the pooling instance allocator (fast instantiation; reserves address space).
    pub pooling: bool,
    /// Guests instantiated at the same time, at most (pool size).
    pub max_concurrent_guests: u32,
    /// Compile guests with epoch checks, so a run can have a deadline
    /// ([`Limits::timeout`](super::Limits::timeout)). The checks sit at every function entry
    /// and loop header and cost 14–17 % of the Nix evaluator's time; without them a run with
    /// a deadline is refused ([`Error::NoDeadlines`](super::Error::NoDeadlines)). Compiled
    /// code differs, so the compile cache keeps one entry per setting.
    pub deadlines: bool,
    /// Write `/tmp/perf-<pid>.map` so `perf report` names guest functions (profiling only).
    pub perf_map: bool,
    /// Hand the stack pages a guest touched back to the kernel when it ends. Off (wasmtime's
    /// default), a pooled stack keeps the pages its deepest guest touched resident for the
    /// next one: at most `max_concurrent_guests` × [`MAX_WASM_STACK`], and only after deep
    /// recursion. On, every guest pays about 2 µs more (an `madvise` of the stack); for
    /// long-lived embedders that run deep evaluations now and then.
    pub reclaim_stacks: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pooling: true,
            max_concurrent_guests: 16,
            deadlines: true,
            perf_map: false,
            reclaim_stacks: false,
        }
    }
}

impl EngineOptions {
    /// For a process that runs one guest and exits: no pool (its set-up and tear-down cost
    /// 0.3 ms, and there is nothing to reuse), funcref tables filled at instantiation rather
    /// than checked at every indirect call, and epoch checks only if `deadline`.
    pub fn single_run(deadline: bool) -> Self {
        EngineOptions {
            pooling: false,
            max_concurrent_guests: 1,
            deadlines: deadline,
            ..EngineOptions::default()
        }
    }
}

/// Builds the engine's configuration.
pub fn config(options: &EngineOptions) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(options.deadlines)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .parallel_compilation(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(ASYNC_STACK)
        .async_stack_zeroing(options.reclaim_stacks);
    if options.perf_map {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if !options.pooling {
        // One instantiation per engine: fill tables once instead of a null check per
        // indirect call (a pooled engine instantiates often and keeps the lazy default).
        config.table_lazy_init(false);
    } else {
        let guests = options.max_concurrent_guests.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(guests)
            .total_core_instances(guests * 8)
            .total_memories(guests * 4)
            .total_tables(guests * 8)
            .max_memory_size(POOL_MAX_MEMORY)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_core_instances_per_component(16)
            .total_stacks(guests)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT)
            .async_stack_keep_resident(STACK_KEEP_RESIDENT)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Builds the engine and, with [`EngineOptions::deadlines`], starts the thread that ticks its
/// epoch (it stops when the engine is dropped).
pub fn new(options: &EngineOptions) -> wasmtime::Result<Engine> {
    let engine = Engine::new(&config(options))?;
    if !options.deadlines {
        return Ok(engine);
    }
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("evalbox-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map_err(wasmtime::Error::new)?;
    Ok(engine)
}

/// Epoch ticks that mean "no deadline" (wasmtime adds the current epoch to a deadline, so
/// `u64::MAX` would overflow; this is still thousands of years of ticks).
pub const NO_DEADLINE: u64 = u64::MAX / 2;

/// Epoch ticks for a deadline of `timeout` (at least one, at most [`NO_DEADLINE`]).
pub fn ticks(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    u64::try_from(timeout.as_nanos().div_ceil(tick))
        .unwrap_or(NO_DEADLINE)
        .clamp(1, NO_DEADLINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up_and_clamp() {
        assert_eq!(ticks(Duration::from_nanos(1)), 1);
        assert_eq!(ticks(EPOCH_TICK), 1);
        assert_eq!(ticks(EPOCH_TICK * 3 + Duration::from_nanos(1)), 4);
        assert_eq!(ticks(Duration::MAX), NO_DEADLINE);
    }
}
