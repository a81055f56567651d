//! Prints forever to stderr: the output cap covers stderr too.
fn main() {
    loop {
        eprintln!("{}", "y".repeat(1023));
    }
}
