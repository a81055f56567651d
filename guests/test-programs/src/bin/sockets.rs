//! Imports `wasi:sockets`: the capability audit must refuse it before it runs.
fn main() {
    let network = wasip2::sockets::instance_network::instance_network();
    let socket = wasip2::sockets::tcp_create_socket::create_tcp_socket(
        wasip2::sockets::network::IpAddressFamily::Ipv4,
    );
    println!("ESCAPED got a socket: {:?}", socket.is_ok());
    drop(network);
    std::process::exit(1);
}
