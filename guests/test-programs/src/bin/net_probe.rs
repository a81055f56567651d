//! Tries the network the way ordinary code does (Rust's `std::net`, which imports
//! `wasi:sockets`): a TCP connection to the address given as the first argument, a UDP
//! datagram to it, and a name lookup. Prints one line per attempt; exits 1 if any succeeded.
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};

fn main() {
    let addr = std::env::args().nth(1).expect("an address to try");
    let mut escaped = false;
    match TcpStream::connect(&addr) {
        Ok(_) => {
            println!("ESCAPED tcp connect to {addr}");
            escaped = true;
        }
        Err(e) => println!("tcp: {e}"),
    }
    match UdpSocket::bind("127.0.0.1:0").and_then(|s| s.send_to(b"x", &addr)) {
        Ok(_) => {
            println!("ESCAPED udp send to {addr}");
            escaped = true;
        }
        Err(e) => println!("udp: {e}"),
    }
    match ("localhost", 80).to_socket_addrs().map(Iterator::count) {
        Ok(0) => println!("lookup: no address"),
        Ok(_) => {
            println!("ESCAPED name lookup");
            escaped = true;
        }
        Err(e) => println!("lookup: {e}"),
    }
    std::process::exit(i32::from(escaped));
}
