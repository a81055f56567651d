//! Virtual clocks and seeded randomness: a guest's only sources of nondeterminism in WASI,
//! replaced so that two runs of the same guest on the same inputs produce identical bytes.
//!
//! - The wall clock is fixed (at [`FIXED_WALL_CLOCK`]), like a build sandbox's epoch.
//! - The monotonic clock starts at zero and advances by [`MONOTONIC_STEP_NS`] each time it is
//!   read, so elapsed-time measurements are positive but do not depend on the machine.
//! - Both random interfaces are ChaCha streams from a fixed seed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// What `wasi:clocks/wall-clock.now` returns: the Unix epoch plus one second, as Nix's
/// sandbox timestamps store files (mtime 1).
pub const FIXED_WALL_CLOCK: Duration = Duration::from_secs(1);
/// How far the monotonic clock advances per reading.
pub const MONOTONIC_STEP_NS: u64 = 1_000;
/// The seed of `wasi:random/random`.
pub const RANDOM_SEED: u64 = 0x6576_616c_626f_7801;
/// The seed of `wasi:random/insecure`.
pub const INSECURE_RANDOM_SEED: u64 = 0x6576_616c_626f_7802;
/// What `wasi:random/insecure-seed` returns.
pub const INSECURE_SEED: u128 = 0x6576_616c_626f_7803_6576_616c_626f_7804;

/// A wall clock that always says [`FIXED_WALL_CLOCK`].
#[derive(Debug, Default, Clone, Copy)]
pub struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        FIXED_WALL_CLOCK
    }
}

/// A monotonic clock that advances [`MONOTONIC_STEP_NS`] per reading.
#[derive(Debug, Default)]
pub struct StepMonotonicClock {
    now: AtomicU64,
}

impl HostMonotonicClock for StepMonotonicClock {
    fn resolution(&self) -> u64 {
        MONOTONIC_STEP_NS
    }

    fn now(&self) -> u64 {
        self.now.fetch_add(MONOTONIC_STEP_NS, Ordering::Relaxed) + MONOTONIC_STEP_NS
    }
}

/// The generator behind `wasi:random/random`.
pub fn secure_random() -> StdRng {
    StdRng::seed_from_u64(RANDOM_SEED)
}

/// The generator behind `wasi:random/insecure`.
pub fn insecure_random() -> StdRng {
    StdRng::seed_from_u64(INSECURE_RANDOM_SEED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt as _;

    #[test]
    fn monotonic_clock_steps() {
        let clock = StepMonotonicClock::default();
        assert_eq!(clock.now(), MONOTONIC_STEP_NS);
        assert_eq!(clock.now(), 2 * MONOTONIC_STEP_NS);
    }

    #[test]
    fn random_is_reproducible() {
        let a: [u8; 16] = secure_random().random();
        let b: [u8; 16] = secure_random().random();
        assert_eq!(a, b);
        let c: [u8; 16] = insecure_random().random();
        assert_ne!(a, c);
    }
}
