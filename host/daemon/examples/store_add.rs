//! `store_add URI PATH...`: adds files or trees (recursive SHA-256, like `nix-store --add`)
//! through a daemon store URI (`daemon`, `unix:///path`, `ssh-ng://host`) and prints the store
//! paths. The same code path as `evalbox --store daemon store add`, without the wasm runtime;
//! `benches/daemon-side-by-side.sh` uses it when asked to (`EVALBOX_ADD=example`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use evalbox_store::{AddSource, StoreUri};
use nix_formats::{FileIngestionMethod, HashAlgo};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((uri, paths)) = args.split_first() else {
        eprintln!("usage: store_add URI PATH...");
        return ExitCode::from(2);
    };
    let store = match StoreUri::parse(uri) {
        Ok(u) => match evalbox_daemon::open(&u).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for p in paths {
        let path = PathBuf::from(p);
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            eprintln!("error: {p}: no usable file name");
            return ExitCode::from(1);
        };
        let root = match evalbox_store::TreeRoot::host(&path) {
            Ok(root) => root,
            Err(e) => {
                eprintln!("error: {p}: {e}");
                return ExitCode::from(1);
            }
        };
        let source = AddSource::Tree { root, filter: None };
        match store
            .add_to_store(
                &name,
                source,
                FileIngestionMethod::Recursive,
                HashAlgo::Sha256,
                &BTreeSet::new(),
            )
            .await
        {
            Ok(info) => println!("{}", store.store_dir().display(&info.path)),
            Err(e) => {
                eprintln!("error: {p}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
