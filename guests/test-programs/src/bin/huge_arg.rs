//! Passes a huge argument to a store call: the host-call argument cap must stop it.
fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let text = "x".repeat(mib << 20);
    println!("sending {mib} MiB");
    let result = evalbox_guest::store::add_text_to_store("huge", &text, &[]);
    println!("ESCAPED the host accepted it: {result:?}");
    std::process::exit(1);
}
