//! Prints its arguments and environment: checks argument passing and `--env`.
fn main() {
    for arg in std::env::args().skip(1) {
        println!("arg {arg}");
    }
    for (k, v) in std::env::vars() {
        println!("env {k}={v}");
    }
    eprintln!("to stderr");
}
