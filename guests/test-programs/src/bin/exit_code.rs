//! Exits with failure: evalbox must pass the guest's exit code through.
fn main() {
    println!("exiting with failure");
    std::process::exit(1);
}
