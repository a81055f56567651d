//! Prints forever: the output cap must stop it.
use std::io::Write as _;

fn main() {
    let line = [b'x'; 1023];
    let mut out = std::io::stdout().lock();
    loop {
        if out
            .write_all(&line)
            .and_then(|()| out.write_all(b"\n"))
            .is_err()
        {
            // A write error instead of a trap would still end the flood; report it.
            eprintln!("write failed");
            std::process::exit(3);
        }
    }
}
