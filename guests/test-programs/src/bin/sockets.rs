//! Imports `wasi:sockets` directly: the sandbox provides it with every operation denied (a
//! strict audit refuses it before it runs). Exits 0 when no socket could be made.
fn main() {
    let network = wasip2::sockets::instance_network::instance_network();
    let socket = wasip2::sockets::tcp_create_socket::create_tcp_socket(
        wasip2::sockets::network::IpAddressFamily::Ipv4,
    );
    drop(network);
    match socket {
        Ok(_) => {
            println!("ESCAPED got a socket");
            std::process::exit(1);
        }
        Err(e) => println!("denied: {e:?}"),
    }
}
