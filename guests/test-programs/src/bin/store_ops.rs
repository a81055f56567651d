//! Exercises every store operation once and prints `key value` lines for the host test to
//! compare with real Nix. argv[1] is the source directory (holding `file.txt` and `sub/`).
use evalbox_guest::derivation::DerivationBuilder;
use evalbox_guest::store::{self, DerivedPath, HashAlgo, IngestionMethod};

fn main() {
    if let Err(e) = run() {
        println!("error {} {}", e.kind(), e.message());
        std::process::exit(1);
    }
}

fn run() -> Result<(), store::Error> {
    let src = std::env::args().nth(1).unwrap_or_default();
    println!("store-dir {}", store::store_dir());
    let text = store::add_text_to_store("hello.txt", "hello\n", &[])?;
    println!("text {text}");
    println!("valid {}", store::is_valid_path(&text)?);
    let info = store::query_path_info(&text)?.ok_or(store::Error::NotFound(text.clone()))?;
    println!("nar-hash {}", info.nar_hash);
    println!("nar-size {}", info.nar_size);
    println!("ca {}", info.ca.unwrap_or_default());
    let refs = store::add_text_to_store("refs.txt", &format!("see {text}"), &[&text])?;
    let refs_info = store::query_path_info(&refs)?.ok_or(store::Error::NotFound(refs.clone()))?;
    println!("refs {refs} {}", refs_info.references.join(","));
    let missing = format!("{}/{}-missing", store::store_dir(), "1".repeat(32));
    println!("missing-valid {}", store::is_valid_path(&missing)?);
    println!("missing-info {:?}", store::query_path_info(&missing)?);
    println!(
        "valid-paths {}",
        store::query_valid_paths(&[&missing, &text])?.join(",")
    );
    let flat = store::add_bytes_to_store(
        "bytes.bin",
        b"some bytes",
        IngestionMethod::Flat,
        HashAlgo::Sha256,
        &[],
    )?;
    println!("bytes-flat {}", flat.path);
    let rec = store::add_bytes_to_store(
        "bytes.bin",
        b"some bytes",
        IngestionMethod::Recursive,
        HashAlgo::Sha256,
        &[],
    )?;
    println!("bytes-recursive {}", rec.path);
    let file = store::add_path_to_store(
        "file.txt",
        &format!("{src}/file.txt"),
        IngestionMethod::Recursive,
        HashAlgo::Sha256,
    )?;
    println!("path-file {}", file.path);
    let tree = store::add_path_to_store("src", &src, IngestionMethod::Recursive, HashAlgo::Sha256)?;
    println!("path-tree {}", tree.path);
    // filterSource (p: t: baseNameOf p != "secret.txt"): walk the preopen, keep the rest.
    let mut included = Vec::new();
    walk(&src, "", &mut included);
    let kept: Vec<&str> = included
        .iter()
        .map(String::as_str)
        .filter(|p| !p.ends_with("secret.txt"))
        .collect();
    let filtered = store::add_filtered_path_to_store(
        "src",
        &src,
        &kept,
        IngestionMethod::Recursive,
        HashAlgo::Sha256,
    )?;
    println!("path-filtered {}", filtered.path);
    let drv = DerivationBuilder::new("ops", "x86_64-linux", "/bin/sh")
        .args(["-c", "echo hi > $out"])
        .input_src(&text)
        .add()?;
    println!("drv {}", drv.drv_path);
    println!("drv-out {}", drv.output("out").unwrap_or_default());
    for (name, path) in store::query_derivation_outputs(&drv.drv_path)? {
        println!("drv-outputs {name} {}", path.unwrap_or_default());
    }
    let two = DerivationBuilder::new("two", "x86_64-linux", "/bin/sh")
        .output("out")
        .output("dev")
        .input_drv(&drv.drv_path, &["out"])
        .add()?;
    println!("drv-two {} {}", two.drv_path, two.outputs.len());
    match store::build_paths(&[DerivedPath {
        drv_path: drv.drv_path.clone(),
        outputs: vec!["out".into()],
    }]) {
        Ok(report) => {
            for r in report.results {
                match r.error_message {
                    None => {
                        let outs: Vec<_> =
                            r.outputs.iter().map(|(n, p)| format!("{n}={p}")).collect();
                        println!("build ok {}", outs.join(" "));
                    }
                    Some(e) => println!("build failed {e}"),
                }
            }
        }
        Err(e) => println!("build-error {}", e.kind()),
    }
    match store::add_text_to_store("bad", "x", &[&missing]) {
        Ok(p) => println!("bad-ref accepted {p}"),
        Err(e) => println!("bad-ref {}", e.kind()),
    }
    match store::is_valid_path("/not/a/store/path") {
        Ok(v) => println!("bad-path accepted {v}"),
        Err(e) => println!("bad-path {}", e.kind()),
    }
    Ok(())
}

fn walk(root: &str, rel: &str, out: &mut Vec<String>) {
    let dir = if rel.is_empty() {
        root.to_owned()
    } else {
        format!("{root}/{rel}")
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let is_dir = std::fs::symlink_metadata(format!("{root}/{child}"))
            .map(|m| m.is_dir())
            .unwrap_or(false);
        out.push(child.clone());
        if is_dir {
            walk(root, &child, out);
        }
    }
}
