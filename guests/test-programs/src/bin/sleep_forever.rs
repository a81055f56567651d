//! Blocks in a host call (a long sleep): the deadline must stop it too.
fn main() {
    println!("sleeping");
    std::thread::sleep(std::time::Duration::from_secs(3600));
    println!("ESCAPED woke up");
    std::process::exit(1);
}
