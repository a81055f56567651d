//! Recurses without bound on the wasm call stack alone (no frame touches linear memory), so
//! the engine's `max_wasm_stack` is what runs out: must end in a clean stack-overflow trap.
#[inline(never)]
fn depth(n: u64) -> u64 {
    if n == u64::MAX {
        return 0;
    }
    // A shift is not an accumulator LLVM can turn into a loop.
    (depth(n + 1) >> 1) + n
}

fn main() {
    println!("recursing");
    println!("{}", depth(std::env::args().count() as u64));
}
