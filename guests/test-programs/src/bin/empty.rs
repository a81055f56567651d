//! Does nothing: the P1 benchmark's guest (create + run + tear down).
fn main() {}
