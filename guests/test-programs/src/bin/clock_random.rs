//! Prints everything that could differ between two runs: wall clock, monotonic clock,
//! random bytes (secure and insecure), the insecure seed, and HashMap iteration order.
use std::collections::HashMap;
use std::time::{Instant, SystemTime};

fn main() {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos());
    println!("wall {now:?}");
    let start = Instant::now();
    let mut x = 0u64;
    for i in 0..100_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    println!("elapsed {:?} (x={x})", start.elapsed());
    println!("random {:?}", wasip2::random::random::get_random_bytes(16));
    println!("random-u64 {}", wasip2::random::random::get_random_u64());
    println!(
        "insecure {:?}",
        wasip2::random::insecure::get_insecure_random_bytes(16)
    );
    println!("seed {:?}", wasip2::random::insecure_seed::insecure_seed());
    let map: HashMap<u32, u32> = (0..20).map(|i| (i, i)).collect();
    println!("hashmap {:?}", map.keys().collect::<Vec<_>>());
    println!(
        "wall-resolution {:?}",
        wasip2::clocks::wall_clock::resolution()
    );
}
