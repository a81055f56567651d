//! Sandbox limits: the caps a guest runs under, and the typed error that ends a guest which
//! exceeds one.
//!
//! Every limit is enforced by the host, never trusted to the guest: memory through a
//! [`ResourceLimiter`], the deadline through epoch interruption, output volume in the capped
//! output streams, host-call arguments in the store interface. Hitting one traps the guest
//! with a [`LimitExceeded`] value, which the runner recognises and reports with its own exit
//! code.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// The caps a guest runs under. Defaults are generous enough for real evaluations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time the guest may run. `None`: no deadline.
    pub timeout: Option<Duration>,
    /// Total linear memory of all the guest's memories, in bytes.
    pub max_memory: u64,
    /// Total bytes the guest may write to stdout and stderr together.
    pub max_output: u64,
    /// Size of any single argument of a store host call (a string, a byte list, the sum of a
    /// list's strings), in bytes.
    pub max_host_arg: u64,
    /// Elements of any table.
    pub max_table_elements: usize,
}

/// wasm32's whole address space.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;
/// One GiB of output.
pub const DEFAULT_MAX_OUTPUT: u64 = 1 << 30;
/// 256 MiB for one host-call argument.
pub const DEFAULT_MAX_HOST_ARG: u64 = 256 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: None,
            max_memory: DEFAULT_MAX_MEMORY,
            max_output: DEFAULT_MAX_OUTPUT,
            max_host_arg: DEFAULT_MAX_HOST_ARG,
            max_table_elements: 1 << 20,
        }
    }
}

/// A limit the guest exceeded. Carried inside the trap that ends the guest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// The deadline passed.
    #[error("time limit exceeded: the guest ran longer than {0:?} (--timeout)")]
    Deadline(Duration),
    /// A memory grew past the cap.
    #[error(
        "memory limit exceeded: the guest asked for {requested} bytes of linear memory, the limit is {limit} bytes (--max-memory)"
    )]
    Memory {
        /// The cap in bytes.
        limit: u64,
        /// The total the guest would have had after growing.
        requested: u64,
    },
    /// A table grew past the cap.
    #[error(
        "table limit exceeded: the guest asked for {requested} table elements, the limit is {limit}"
    )]
    Table {
        /// The cap in elements.
        limit: usize,
        /// What the guest asked for.
        requested: usize,
    },
    /// Too much output.
    #[error(
        "output limit exceeded: the guest wrote more than {limit} bytes to stdout/stderr (--max-output)"
    )]
    Output {
        /// The cap in bytes.
        limit: u64,
    },
    /// A store host call argument was too large.
    #[error(
        "host-call argument limit exceeded: an argument of `{operation}` is {size} bytes, the limit is {limit} bytes (--max-host-arg)"
    )]
    HostArgument {
        /// The store operation.
        operation: &'static str,
        /// The argument's size.
        size: u64,
        /// The cap in bytes.
        limit: u64,
    },
}

impl LimitExceeded {
    /// The `evalbox run` exit code for this limit (see [`crate::runtime::exit_code`]).
    pub fn exit_code(&self) -> u8 {
        use crate::runtime::exit_code;
        match self {
            LimitExceeded::Deadline(_) => exit_code::DEADLINE,
            LimitExceeded::Memory { .. } | LimitExceeded::Table { .. } => exit_code::MEMORY,
            LimitExceeded::Output { .. } => exit_code::OUTPUT,
            LimitExceeded::HostArgument { .. } => exit_code::HOST_ARGUMENT,
        }
    }
}

/// Enforces the memory and table caps of one guest (all its memories together).
#[derive(Debug)]
pub struct Limiter {
    max_memory: u64,
    max_table_elements: usize,
    /// Bytes of linear memory currently held by all the guest's memories.
    memory_in_use: u64,
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Limiter {
            max_memory: limits.max_memory,
            max_table_elements: limits.max_table_elements,
            memory_in_use: 0,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = (desired as u64).saturating_sub(current as u64);
        let requested = self.memory_in_use.saturating_add(growth);
        if requested > self.max_memory {
            return Err(wasmtime::Error::new(LimitExceeded::Memory {
                limit: self.max_memory,
                requested,
            }));
        }
        self.memory_in_use = requested;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            return Err(wasmtime::Error::new(LimitExceeded::Table {
                limit: self.max_table_elements,
                requested: desired,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1000
    }

    fn tables(&self) -> usize {
        1000
    }

    fn memories(&self) -> usize {
        100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cap_counts_all_memories_together() {
        let mut limiter = Limiter::new(&Limits {
            max_memory: 100,
            ..Limits::default()
        });
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        let err = limiter.memory_growing(0, 60, None).unwrap_err();
        assert_eq!(
            err.downcast_ref::<LimitExceeded>(),
            Some(&LimitExceeded::Memory {
                limit: 100,
                requested: 120
            })
        );
        assert!(limiter.memory_growing(60, 101, None).is_err());
        assert!(limiter.memory_growing(10, 50, None).unwrap());
    }

    #[test]
    fn table_cap() {
        let mut limiter = Limiter::new(&Limits {
            max_table_elements: 10,
            ..Limits::default()
        });
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(limiter.table_growing(0, 11, None).is_err());
    }
}
