//! Reports the environment the guest sees: it must be exactly what `--env` passed.
fn main() {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    println!("vars {}", vars.len());
    for (k, v) in &vars {
        println!("env {k}={v}");
    }
    println!("cwd {:?}", std::env::current_dir().ok());
    let mut stdin = String::new();
    let read = std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin);
    println!("stdin {read:?} {stdin:?}");
}
