//! Panics: must end as a trap with a clear message, not a host crash.
fn main() {
    let v: Vec<u32> = std::hint::black_box(Vec::new());
    println!("about to panic");
    println!("{}", v[3]);
}
