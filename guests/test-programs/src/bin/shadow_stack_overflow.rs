//! Recurses without bound with frames that live in linear memory (Rust's shadow stack at the
//! bottom of the guest's memory): the shadow stack runs off the start of memory first, which
//! must end in a clean out-of-bounds trap.
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
