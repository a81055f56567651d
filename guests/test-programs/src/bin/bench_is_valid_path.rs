//! P2 benchmark guest: calls `is-valid-path` N times (argv[1]), the host-call round trip.
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let path = format!(
        "{}/{}-evalbox-bench",
        evalbox_guest::store::store_dir(),
        "0".repeat(32)
    );
    let mut valid = 0u64;
    for _ in 0..n {
        match evalbox_guest::store::is_valid_path(&path) {
            Ok(true) => valid += 1,
            Ok(false) => {}
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    std::hint::black_box(valid);
}
