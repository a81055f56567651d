//! Recurses without bound: must end in a clean stack-overflow trap.
fn depth(n: u64, pad: [u64; 8]) -> u64 {
    let pad = std::hint::black_box([pad[0] + n; 8]);
    if n == u64::MAX {
        return pad[0];
    }
    depth(n + 1, pad) + pad[1]
}

fn main() {
    println!("recursing");
    println!("{}", depth(0, [0; 8]));
}
