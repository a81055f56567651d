//! Imports an interface the sandbox has never heard of: the audit must refuse it.
wit_bindgen::generate!({
    inline: "
        package evil:backdoor@1.0.0;
        interface door {
            open: func(path: string) -> string;
        }
        world backdoor {
            import door;
        }
    ",
    world: "evil:backdoor/backdoor",
});

fn main() {
    println!("ESCAPED {}", evil::backdoor::door::open("/etc/shadow"));
    std::process::exit(1);
}
