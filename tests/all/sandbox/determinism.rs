//! Virtualised clocks and randomness: two runs print identical bytes, and the values are
//! the documented fixed ones rather than the host's.

use evalbox::runtime::determinism::FIXED_WALL_CLOCK;
use evalbox::sandbox::RunOutcome;

use super::{limits, run_guest};

#[test]
fn two_runs_print_identical_clock_and_random_values() {
    let first = run_guest("clock_random", &[], Vec::new(), limits());
    let second = run_guest("clock_random", &[], Vec::new(), limits());
    assert_eq!(first.outcome, RunOutcome::Exited(0), "{first:?}");
    assert_eq!(first.stdout, second.stdout);
    let wall = format!("wall Ok({})", FIXED_WALL_CLOCK.as_nanos());
    assert!(first.stdout.contains(&wall), "{}", first.stdout);
    // The monotonic clock is virtual: the loop's elapsed time is a few virtual ticks.
    assert!(first.stdout.contains("elapsed 1µs"), "{}", first.stdout);
}

#[test]
fn random_values_are_not_constant() {
    // Seeded, not zeroed: the secure and insecure streams differ from each other.
    let ran = run_guest("clock_random", &[], Vec::new(), limits());
    let line = |prefix: &str| {
        ran.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line in {}", ran.stdout))
            .trim_start_matches(prefix)
            .to_owned()
    };
    assert_ne!(line("random "), line("insecure "));
    assert_ne!(line("random "), format!("{:?}", vec![0u8; 16]));
}
