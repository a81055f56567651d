//! The escape suite: each guest tries to get out, and each test asserts it failed cleanly,
//! the host survived, the message names the cause, and the host file system is unchanged.

use std::time::{Duration, Instant};

use evalbox::runtime::{LimitExceeded, Limits, OutputTarget, exit_code};
use evalbox::sandbox::{RunConfig, RunOutcome};

use super::{SourceTree, limits, run_guest, run_guest_env};

#[test]
fn writes_to_a_source_dir_all_fail() {
    let tree = SourceTree::new();
    let before = tree.snapshot();
    let src = tree.src.to_str().unwrap();
    let ran = run_guest("fs_write", &[src], vec![tree.preopen()], limits());
    ran.assert_all_stopped();
    // Every attempt printed a line.
    assert!(
        ran.stdout
            .lines()
            .filter(|l| l.starts_with("stopped "))
            .count()
            >= 17
    );
    assert_eq!(tree.snapshot(), before, "the source tree changed");
    assert!(!tree.root.join("evalbox-escape").exists());
}

#[test]
fn reads_outside_the_source_dir_all_fail() {
    let tree = SourceTree::new();
    let src = tree.src.to_str().unwrap();
    let secret = tree.root.join("secret.txt");
    let ran = run_guest(
        "fs_read_outside",
        &[src, secret.to_str().unwrap()],
        vec![tree.preopen()],
        limits(),
    );
    ran.assert_all_stopped();
    assert!(!ran.stdout.contains("TOP SECRET"));
    assert!(ran.stdout.contains("stopped control: source readable"));
}

#[test]
fn reads_fail_without_any_preopen() {
    let tree = SourceTree::new();
    let src = tree.src.to_str().unwrap();
    let secret = tree.root.join("secret.txt");
    let ran = run_guest(
        "fs_read_outside",
        &[src, secret.to_str().unwrap()],
        Vec::new(),
        limits(),
    );
    // The control read fails too (nothing is preopened), so the guest reports that one.
    assert!(
        ran.stdout.contains("ESCAPED control: source readable"),
        "{}",
        ran.stdout
    );
    assert_eq!(
        ran.stdout.matches("ESCAPED").count(),
        1,
        "only the control may 'escape':\n{}",
        ran.stdout
    );
}

#[test]
fn host_environment_is_invisible() {
    // SAFETY: tests in this binary do not read this variable concurrently.
    unsafe { std::env::set_var("EVALBOX_TEST_HOST_SECRET", "leaked") };
    let ran = run_guest("env_probe", &[], Vec::new(), limits());
    assert_eq!(ran.outcome, RunOutcome::Exited(0), "{ran:?}");
    assert!(ran.stdout.contains("vars 0\n"), "{}", ran.stdout);
    assert!(!ran.stdout.contains("leaked"));
    assert!(!ran.stdout.contains("PATH="));
    // stdin is empty: reading it gives EOF, not the host's terminal.
    assert!(ran.stdout.contains("stdin Ok(0) \"\""), "{}", ran.stdout);
}

#[test]
fn env_is_exactly_what_was_passed() {
    let ran = run_guest_env(
        "env_probe",
        &[],
        Vec::new(),
        limits(),
        vec![("A".into(), "1".into()), ("B".into(), "two words".into())],
    );
    assert!(
        ran.stdout.contains("vars 2\nenv A=1\nenv B=two words\n"),
        "{}",
        ran.stdout
    );
}

#[test]
fn sockets_are_denied_and_refused_when_strict() {
    // Provided, but nothing may be done with them: the guest gets no socket.
    let ran = run_guest("sockets", &[], Vec::new(), limits());
    assert_eq!(ran.outcome, RunOutcome::Exited(0), "{}", ran.stdout);
    assert!(ran.stdout.contains("access-denied"), "{}", ran.stdout);
    // A strict sandbox refuses the component before it runs.
    let strict = evalbox::sandbox::Sandbox::new(evalbox::sandbox::SandboxOptions {
        strict: true,
        ..Default::default()
    })
    .expect("sandbox");
    let wasm = evalbox_tests::guest_wasm("sockets");
    let err = match strict.prepare_file(&wasm) {
        Ok(_) => panic!("a strict sandbox accepted a guest importing wasi:sockets"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains("wasi:sockets/") && err.contains("--strict"),
        "{err}"
    );
}

/// Ordinary code (Rust's `std::net`) reaching for a listener on loopback and for name
/// resolution: every attempt fails and the listener receives nothing.
#[test]
fn the_network_is_unreachable_from_ordinary_code() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let udp = std::net::UdpSocket::bind(addr).unwrap();
    tcp.set_nonblocking(true).unwrap();
    udp.set_nonblocking(true).unwrap();
    let ran = run_guest("net_probe", &[&addr.to_string()], Vec::new(), limits());
    assert_eq!(ran.outcome, RunOutcome::Exited(0), "{}", ran.stdout);
    assert!(!ran.stdout.contains("ESCAPED"), "{}", ran.stdout);
    for attempt in ["tcp:", "udp:", "lookup:"] {
        assert!(ran.stdout.contains(attempt), "{}", ran.stdout);
    }
    assert!(tcp.accept().is_err(), "the listener got a connection");
    let mut buf = [0u8; 16];
    assert!(
        udp.recv_from(&mut buf).is_err(),
        "the UDP socket got a datagram"
    );
}

#[test]
fn unknown_imports_are_refused_by_the_audit() {
    let wasm = evalbox_tests::guest_wasm("unknown_import");
    let err = match super::sandbox().prepare_file(&wasm) {
        Ok(_) => panic!("a guest importing evil:backdoor was accepted"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("evil:backdoor/door@1.0.0"), "{err}");
}

#[test]
fn infinite_loop_hits_the_deadline() {
    let start = Instant::now();
    let ran = run_guest(
        "infinite_loop",
        &[],
        Vec::new(),
        Limits {
            timeout: Some(Duration::from_millis(300)),
            ..Limits::default()
        },
    );
    assert_eq!(
        ran.outcome,
        RunOutcome::Limit(LimitExceeded::Deadline(Duration::from_millis(300)))
    );
    assert_eq!(ran.outcome.exit_code(), exit_code::DEADLINE);
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(ran.stdout.contains("spinning"));
}

#[test]
fn blocking_sleep_hits_the_deadline() {
    let start = Instant::now();
    let ran = run_guest(
        "sleep_forever",
        &[],
        Vec::new(),
        Limits {
            timeout: Some(Duration::from_millis(300)),
            ..Limits::default()
        },
    );
    assert!(
        matches!(ran.outcome, RunOutcome::Limit(LimitExceeded::Deadline(_))),
        "{ran:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(!ran.stdout.contains("ESCAPED"));
}

#[test]
fn memory_bomb_hits_the_cap() {
    let ran = run_guest(
        "memory_bomb",
        &[],
        Vec::new(),
        Limits {
            max_memory: 64 << 20,
            ..limits()
        },
    );
    match &ran.outcome {
        RunOutcome::Limit(LimitExceeded::Memory { limit, requested }) => {
            assert_eq!(*limit, 64 << 20);
            assert!(*requested > 64 << 20);
        }
        other => panic!("expected the memory cap, got {other:?}\n{}", ran.stderr),
    }
    assert_eq!(ran.outcome.exit_code(), exit_code::MEMORY);
    assert!(ran.stdout.contains("allocated 16 MiB"));
}

#[test]
fn stdout_flood_hits_the_output_cap() {
    let ran = run_guest(
        "output_flood",
        &[],
        Vec::new(),
        Limits {
            max_output: 1 << 20,
            ..limits()
        },
    );
    assert_eq!(
        ran.outcome,
        RunOutcome::Limit(LimitExceeded::Output { limit: 1 << 20 })
    );
    assert_eq!(ran.outcome.exit_code(), exit_code::OUTPUT);
    assert!(ran.stdout.len() <= 1 << 20);
    assert!(ran.stdout.len() > 1 << 19, "{}", ran.stdout.len());
}

#[test]
fn stderr_flood_hits_the_output_cap() {
    let ran = run_guest(
        "stderr_flood",
        &[],
        Vec::new(),
        Limits {
            max_output: 256 << 10,
            ..limits()
        },
    );
    assert_eq!(
        ran.outcome,
        RunOutcome::Limit(LimitExceeded::Output { limit: 256 << 10 })
    );
    assert!(ran.stderr.len() <= 256 << 10);
}

/// Runs `bin`, which must end in a trap (exit code 101) whose message contains every needle.
fn assert_traps(bin: &str, needles: &[&str]) -> super::Ran {
    let ran = run_guest(bin, &[], Vec::new(), limits());
    match &ran.outcome {
        RunOutcome::Trapped(message) => {
            for needle in needles {
                assert!(message.contains(needle), "{bin}: {message}");
            }
        }
        other => panic!("{bin}: expected a trap, got {other:?}"),
    }
    assert_eq!(ran.outcome.exit_code(), exit_code::TRAP);
    ran
}

#[test]
fn stack_overflow_is_a_clean_trap() {
    assert_traps("stack_overflow", &["stack overflow"]);
}

#[test]
fn shadow_stack_overflow_is_a_clean_trap() {
    assert_traps("shadow_stack_overflow", &["out of bounds", "recursion"]);
}

#[test]
fn panic_is_a_clean_trap() {
    let ran = assert_traps("panic", &["aborted"]);
    assert!(ran.stderr.contains("index out of bounds"), "{}", ran.stderr);
}

#[test]
fn memory_left_by_an_earlier_guest_is_never_visible() {
    // The pooling allocator reuses memory slots, keeping their first pages resident and
    // resetting them in place: a guest must still start from clean memory. Several rounds,
    // so the reader lands in the writer's slot (the pool prefers a slot the same module used).
    let control = run_guest("memory_residue", &["control"], Vec::new(), limits());
    assert!(
        control.stdout.contains(" found ") && !control.stdout.trim_end().ends_with(" found 0"),
        "the scan must see the pattern in its own memory: {}",
        control.stdout
    );
    for round in 0..5 {
        let wrote = run_guest("memory_residue", &["write"], Vec::new(), limits());
        assert_eq!(wrote.outcome, RunOutcome::Exited(0), "{wrote:?}");
        let scan = run_guest("memory_residue", &["scan"], Vec::new(), limits());
        assert_eq!(scan.outcome, RunOutcome::Exited(0), "{scan:?}");
        assert!(
            scan.stdout.starts_with("scanned ") && scan.stdout.trim_end().ends_with(" found 0"),
            "round {round}: {}",
            scan.stdout
        );
    }
}

#[test]
fn guest_exit_code_is_passed_through() {
    let ran = run_guest("exit_code", &[], Vec::new(), limits());
    assert_eq!(ran.outcome, RunOutcome::Exited(1));
    let ran = run_guest("hello", &["a", "b c"], Vec::new(), limits());
    assert_eq!(ran.outcome, RunOutcome::Exited(0));
    assert_eq!(ran.stdout, "arg a\narg b c\n");
    assert_eq!(ran.stderr, "to stderr\n");
}

#[test]
fn the_sandbox_survives_every_case_in_a_row() {
    // One engine, many hostile guests back to back, then a well-behaved one still works.
    for bin in [
        "memory_bomb",
        "stack_overflow",
        "shadow_stack_overflow",
        "panic",
        "output_flood",
    ] {
        let ran = run_guest(
            bin,
            &[],
            Vec::new(),
            Limits {
                max_memory: 32 << 20,
                max_output: 64 << 10,
                ..limits()
            },
        );
        assert_ne!(ran.outcome, RunOutcome::Exited(0), "{bin}");
    }
    let ran = run_guest("hello", &["still", "alive"], Vec::new(), limits());
    assert_eq!(ran.stdout, "arg still\narg alive\n");
}

// A single-run engine (the CLI's) compiles epoch checks in only when the run has a deadline:
// without them a deadline could not be enforced, so a run asking for one is refused rather
// than allowed to run unbounded.
#[test]
fn an_engine_without_deadlines_refuses_a_timeout_and_runs_without_one() {
    use evalbox::runtime::engine::EngineOptions;
    use evalbox::sandbox::{Error, Sandbox, SandboxOptions};
    let single_run = |deadline| {
        Sandbox::new(SandboxOptions {
            engine: EngineOptions::single_run(deadline),
            cache: None,
            progress: false,
            exit_after_run: false,
            strict: false,
        })
        .expect("sandbox")
    };
    let quiet = RunConfig {
        stdout: OutputTarget::Discard,
        stderr: OutputTarget::Discard,
        ..RunConfig::default()
    };
    let timed = |timeout| RunConfig {
        limits: Limits {
            timeout: Some(timeout),
            ..Limits::default()
        },
        ..quiet.clone()
    };

    let sandbox = single_run(false);
    let guest = sandbox
        .prepare_file(&evalbox_tests::guest_wasm("hello"))
        .expect("prepare hello");
    match sandbox.run_blocking(&guest, &timed(Duration::from_secs(5))) {
        Err(Error::NoDeadlines) => {}
        other => panic!("a timeout on an engine without deadlines was not refused: {other:?}"),
    }
    assert_eq!(
        sandbox.run_blocking(&guest, &quiet).expect("run"),
        RunOutcome::Exited(0)
    );

    // The same preset with a deadline stops a guest that spins.
    let sandbox = single_run(true);
    let spin = sandbox
        .prepare_file(&evalbox_tests::guest_wasm("infinite_loop"))
        .expect("prepare infinite_loop");
    assert_eq!(
        sandbox
            .run_blocking(&spin, &timed(Duration::from_millis(300)))
            .expect("run"),
        RunOutcome::Limit(LimitExceeded::Deadline(Duration::from_millis(300)))
    );
}
