//! The protocol client against the real nix-daemon on this machine, every result checked with
//! the real `nix-store` CLI. Skips (with a message) without a daemon socket, fails instead when
//! `EVALBOX_REQUIRE_NIX=1` (see `evalbox_tests::have_daemon`). Every test issues several requests on one connection, so a reply
//! that leaves bytes unread (harmonia's bug #954) breaks the next request.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use evalbox_daemon::client::{ClientOptions, DaemonClient};
use evalbox_daemon::types::{CaMethod, DerivedPath};
use evalbox_daemon::{ProtocolVersion, Transport};
use nix_formats::{FileIngestionMethod, HashAlgo, NixHash, StoreDir, StorePath};

use super::{nix_store, unique};

const SOCKET: &str = evalbox_tests::DAEMON_SOCKET;

fn nix_store_bytes(args: &[&str]) -> Vec<u8> {
    let out = Command::new("nix-store").args(args).output().unwrap();
    assert!(out.status.success(), "nix-store {args:?}");
    out.stdout
}

async fn connect() -> DaemonClient {
    Transport::Unix(SOCKET.into())
        .connect(ClientOptions::default())
        .await
        .expect("connect to nix-daemon")
}

fn abs(p: &StorePath) -> String {
    StoreDir::default().display(p)
}

#[tokio::test]
async fn handshake_reports_version() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    let c = connect().await;
    let info = c.info().clone();
    let nix_version = nix_store(&["--version"]);
    // Nix 2.8 speaks 1.34; any newer daemon at least that.
    assert!(info.version >= ProtocolVersion::new(1, 34), "{info:?}");
    assert!(info.version <= ProtocolVersion::MAX);
    if info.version >= ProtocolVersion::new(1, 33) {
        let v = info.daemon_nix_version.clone().unwrap();
        assert!(nix_version.contains(&v), "{v} vs {nix_version}");
    }
}

#[tokio::test]
async fn add_text_query_and_dump() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    let mut c = connect().await;
    let dir = StoreDir::default();
    let name = unique("text");
    let text = format!("hello from {name}\n");
    let path = c
        .add_text_to_store(&name, text.as_bytes(), &BTreeSet::new())
        .await
        .unwrap();
    let expected = dir
        .make_text_path(
            &name,
            &NixHash::of(HashAlgo::Sha256, text.as_bytes()),
            &BTreeSet::new(),
        )
        .unwrap();
    assert_eq!(path, expected);
    assert!(c.is_valid_path(&path).await.unwrap());
    assert_eq!(
        std::fs::read_to_string(abs(&path)).unwrap(),
        text,
        "file content in the store"
    );

    // A second text file referring to the first.
    let name2 = unique("text-ref");
    let text2 = format!("see {}\n", abs(&path));
    let refs: BTreeSet<_> = [path.clone()].into();
    let path2 = c
        .add_text_to_store(&name2, text2.as_bytes(), &refs)
        .await
        .unwrap();
    assert_eq!(
        nix_store(&["-q", "--references", &abs(&path2)]).trim(),
        abs(&path)
    );
    assert_eq!(
        c.query_referrers(&path).await.unwrap(),
        [path2.clone()].into()
    );
    assert_eq!(
        nix_store(&["-q", "--referrers", &abs(&path)]).trim(),
        abs(&path2)
    );

    let info = c.query_path_info(&path2).await.unwrap().unwrap();
    assert_eq!(info.references, refs);
    assert_eq!(
        info.nar_hash.to_typed_nix32(),
        nix_store(&["-q", "--hash", &abs(&path2)]).trim()
    );
    assert_eq!(
        info.nar_size.to_string(),
        nix_store(&["-q", "--size", &abs(&path2)]).trim()
    );
    assert_eq!(
        info.ca.unwrap().to_string(),
        format!(
            "text:{}",
            NixHash::of(HashAlgo::Sha256, text2.as_bytes()).to_typed_nix32()
        )
    );

    let mut nar = Vec::new();
    let n = c
        .nar_from_path(&path2, &mut |b| {
            nar.extend_from_slice(b);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(n, nar.len() as u64);
    assert_eq!(nar, nix_store_bytes(&["--dump", &abs(&path2)]));
    assert_eq!(NixHash::of(HashAlgo::Sha256, &nar), info.nar_hash);

    let valid = c
        .query_valid_paths(&[path.clone(), path2.clone(), bogus()].into())
        .await
        .unwrap();
    assert_eq!(valid, [path.clone(), path2.clone()].into());
    assert!(!c.is_valid_path(&bogus()).await.unwrap());
    assert_eq!(c.query_path_info(&bogus()).await.unwrap(), None);
    c.add_temp_root(&path2).await.unwrap();
    c.ensure_path(&path2).await.unwrap();
}

fn bogus() -> StorePath {
    StorePath::from_base_name("00000000000000000000000000000000-evalbox-missing").unwrap()
}

#[tokio::test]
async fn add_to_store_matches_nix_store_add() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    let mut c = connect().await;
    let tmp = std::env::temp_dir().join(unique("src"));
    std::fs::create_dir_all(tmp.join("sub")).unwrap();
    let content = unique("content");
    std::fs::write(tmp.join("sub/file"), &content).unwrap();
    std::fs::write(tmp.join("a"), "a\n").unwrap();
    std::os::unix::fs::symlink("sub/file", tmp.join("link")).unwrap();
    let name = tmp.file_name().unwrap().to_str().unwrap().to_string();

    // Flat, SHA-256, the file's bytes: like `nix-store --add-fixed sha256 FILE`.
    let flat_file = tmp.with_extension("flat");
    std::fs::write(&flat_file, &content).unwrap();
    let flat_name = flat_file.file_name().unwrap().to_str().unwrap();
    let flat = c
        .add_to_store(
            flat_name,
            CaMethod::Fixed(FileIngestionMethod::Flat, HashAlgo::Sha256),
            &BTreeSet::new(),
            false,
            &mut content.as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(
        abs(&flat.path),
        nix_store(&["--add-fixed", "sha256", flat_file.to_str().unwrap()]).trim()
    );
    assert_eq!(std::fs::read_to_string(abs(&flat.path)).unwrap(), content);
    assert_eq!(
        flat.ca.unwrap().to_string(),
        format!(
            "fixed:{}",
            NixHash::of(HashAlgo::Sha256, content.as_bytes()).to_typed_nix32()
        )
    );

    // Recursive: the NAR of the tree, like `nix-store --add DIR`.
    let nar = Command::new("nix-store")
        .args(["--dump", tmp.to_str().unwrap()])
        .output()
        .unwrap()
        .stdout;
    let rec = c
        .add_to_store(
            &name,
            CaMethod::Fixed(FileIngestionMethod::Recursive, HashAlgo::Sha256),
            &BTreeSet::new(),
            false,
            &mut &nar[..],
        )
        .await
        .unwrap();
    assert_eq!(
        abs(&rec.path),
        nix_store(&["--add", tmp.to_str().unwrap()]).trim()
    );
    assert_eq!(rec.nar_size, nar.len() as u64);
    assert_eq!(rec.nar_hash, NixHash::of(HashAlgo::Sha256, &nar));
    // Text with a reference, through the framed AddToStore.
    let text = format!("{}\n", abs(&rec.path));
    let refs: BTreeSet<_> = [rec.path.clone()].into();
    let t = c
        .add_to_store(
            &unique("t"),
            CaMethod::Text,
            &refs,
            false,
            &mut text.as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(t.references, refs);
    assert!(c.is_valid_path(&t.path).await.unwrap());
    // The pre-1.25 form, which Nix 2.8 still serves to old clients.
    let mut c = Transport::Unix(SOCKET.into())
        .connect(ClientOptions {
            max_version: ProtocolVersion::new(1, 24),
            ..ClientOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(c.version(), ProtocolVersion::new(1, 24));
    let legacy = c
        .add_to_store_legacy(
            &name,
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
            &mut &nar[..],
        )
        .await
        .unwrap();
    assert_eq!(legacy, rec.path);
    std::fs::remove_dir_all(&tmp).unwrap();
    std::fs::remove_file(&flat_file).unwrap();
}

#[tokio::test]
async fn build_with_results_and_logs() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    let tag = unique("build");
    let expr = format!(
        "derivation {{ name = \"{tag}\"; system = builtins.currentSystem; builder = \"/bin/sh\"; \
         args = [ \"-c\" \"echo building-{tag}; echo {tag} > $out\" ]; }}"
    );
    let out = Command::new("nix-instantiate")
        .args(["-E", &expr])
        .output()
        .unwrap();
    assert!(out.status.success());
    let drv_abs = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let dir = StoreDir::default();
    let drv = dir.parse(&drv_abs).unwrap();
    let mut c = connect().await;
    let outputs = c.query_derivation_output_map(&drv).await.unwrap();
    let out_path = outputs["out"].clone().unwrap();
    assert_eq!(
        abs(&out_path),
        nix_store(&["-q", "--outputs", &drv_abs]).trim()
    );
    let target = DerivedPath::Built {
        drv: drv.clone(),
        outputs: BTreeSet::new(),
    };
    let (results, logs) = c
        .build_paths_with_results(std::slice::from_ref(&target))
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, target);
    assert!(results[0].1.status.is_success(), "{:?}", results[0].1);
    assert_eq!(results[0].1.status.name(), "Built");
    assert_eq!(
        std::fs::read_to_string(abs(&out_path)).unwrap(),
        format!("{tag}\n")
    );
    assert_eq!(logs.lines[&drv_abs], vec![format!("building-{tag}")]);
    // Again: already valid, no log.
    let (results, _) = c
        .build_paths_with_results(std::slice::from_ref(&target))
        .await
        .unwrap();
    assert_eq!(results[0].1.status.name(), "AlreadyValid");
    c.build_paths(std::slice::from_ref(&target)).await.unwrap();

    // A failing build: a result, not an error, with the builder's message.
    let bad = format!(
        "derivation {{ name = \"{tag}-fail\"; system = builtins.currentSystem; builder = \"/bin/sh\"; \
         args = [ \"-c\" \"echo failing-{tag}; exit 3\" ]; }}"
    );
    let out = Command::new("nix-instantiate")
        .args(["-E", &bad])
        .output()
        .unwrap();
    let bad_drv = dir
        .parse(String::from_utf8(out.stdout).unwrap().trim())
        .unwrap();
    let target = DerivedPath::Built {
        drv: bad_drv,
        outputs: ["out".to_string()].into(),
    };
    let (results, logs) = c
        .build_paths_with_results(std::slice::from_ref(&target))
        .await
        .unwrap();
    assert!(!results[0].1.status.is_success());
    assert!(
        results[0].1.error_msg.contains("exit code 3"),
        "{:?}",
        results[0].1
    );
    assert!(
        logs.lines
            .values()
            .flatten()
            .any(|l| l.contains(&format!("failing-{tag}")))
    );
    // BuildPaths reports the failure as a daemon error, and the connection stays usable.
    let err = c.build_paths(&[target]).await.unwrap_err();
    assert!(err.to_string().contains("failed"), "{err}");
    assert!(!c.is_broken());
    assert!(c.is_valid_path(&drv).await.unwrap());
}

#[tokio::test]
async fn stdio_transport_and_concurrency() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    // The same protocol over a child's stdio: what ssh-ng:// uses, without ssh.
    let mut c = Transport::stdio_daemon("nix-daemon")
        .connect(ClientOptions::default())
        .await
        .unwrap();
    assert!(c.version() >= ProtocolVersion::new(1, 34));
    let name = unique("stdio");
    let p = c
        .add_text_to_store(&name, b"stdio\n", &BTreeSet::new())
        .await
        .unwrap();
    assert!(c.is_valid_path(&p).await.unwrap());
    assert_eq!(std::fs::read_to_string(abs(&p)).unwrap(), "stdio\n");

    // Many connections at once.
    let p = Arc::new(p);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = connect().await;
            for _ in 0..20 {
                assert!(c.is_valid_path(&p).await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The NAR of a single regular file.
fn file_nar(contents: &[u8]) -> Vec<u8> {
    let mut req = evalbox_daemon::wire::Request::new();
    req.bytes("nix-archive-1")
        .bytes("(")
        .bytes("type")
        .bytes("regular")
        .bytes("contents")
        .bytes(contents)
        .bytes(")");
    req.into_bytes()
}

/// Path info for a new text file, as AddToStoreNar / AddMultipleToStore want it.
fn text_info(name: &str, text: &[u8]) -> (evalbox_daemon::types::ValidPathInfo, Vec<u8>) {
    let dir = StoreDir::default();
    let hash = NixHash::of(HashAlgo::Sha256, text);
    let path = dir.make_text_path(name, &hash, &BTreeSet::new()).unwrap();
    let nar = file_nar(text);
    let info = evalbox_daemon::types::ValidPathInfo {
        path,
        deriver: None,
        nar_hash: NixHash::of(HashAlgo::Sha256, &nar),
        references: BTreeSet::new(),
        registration_time: 0,
        nar_size: nar.len() as u64,
        ultimate: false,
        signatures: BTreeSet::new(),
        ca: Some(nix_formats::ContentAddress::Text(hash)),
    };
    (info, nar)
}

/// Every operation at every protocol era the client supports, against Nix 2.8's daemon (which
/// still serves old clients): each version-dependent encoding meets the real decoder.
#[tokio::test]
async fn every_protocol_version() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    for minor in [21, 22, 23, 25, 27, 28, 29, 30, 32, 34] {
        let v = ProtocolVersion::new(1, minor);
        let mut c = Transport::Unix(SOCKET.into())
            .connect(ClientOptions {
                max_version: v,
                ..ClientOptions::default()
            })
            .await
            .unwrap_or_else(|e| panic!("1.{minor}: {e}"));
        assert_eq!(c.version(), v);
        let name = unique(&format!("v{minor}"));
        let p = c
            .add_text_to_store(&name, name.as_bytes(), &BTreeSet::new())
            .await
            .unwrap();
        assert!(c.is_valid_path(&p).await.unwrap());
        let info = c.query_path_info(&p).await.unwrap().unwrap();
        assert_eq!(
            info.nar_hash.to_typed_nix32(),
            nix_store(&["-q", "--hash", &abs(&p)]).trim(),
            "1.{minor}"
        );
        let mut nar = Vec::new();
        c.nar_from_path(&p, &mut |b| {
            nar.extend_from_slice(b);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(nar, file_nar(name.as_bytes()), "1.{minor}");
        assert_eq!(
            c.query_valid_paths(&[p.clone(), bogus()].into())
                .await
                .unwrap(),
            [p.clone()].into()
        );
        assert!(c.query_referrers(&p).await.unwrap().is_empty());

        // AddToStoreNar: through READ requests before 1.23, framed after.
        let (info, nar) = text_info(&format!("{name}-nar"), b"imported\n");
        c.add_to_store_nar(&info, false, true, &mut &nar[..])
            .await
            .unwrap_or_else(|e| panic!("1.{minor}: {e}"));
        assert_eq!(
            std::fs::read_to_string(abs(&info.path)).unwrap(),
            "imported\n"
        );
        let got = c.query_path_info(&info.path).await.unwrap().unwrap();
        assert_eq!((got.nar_hash, got.ca), (info.nar_hash, info.ca));

        if minor >= 32 {
            let (i1, n1) = text_info(&format!("{name}-m1"), b"one\n");
            let (i2, n2) = text_info(&format!("{name}-m2"), b"two\n");
            c.add_multiple_to_store(
                vec![
                    (
                        i1.clone(),
                        Box::new(&n1[..]) as evalbox_daemon::client::Source<'_>,
                    ),
                    (i2.clone(), Box::new(&n2[..])),
                ],
                false,
                true,
            )
            .await
            .unwrap();
            assert_eq!(std::fs::read_to_string(abs(&i1.path)).unwrap(), "one\n");
            assert_eq!(std::fs::read_to_string(abs(&i2.path)).unwrap(), "two\n");
        } else {
            assert!(matches!(
                c.add_multiple_to_store(Vec::new(), false, true).await,
                Err(evalbox_daemon::Error::TooOld { .. })
            ));
        }

        if minor >= 25 {
            let added = c
                .add_to_store(
                    &format!("{name}-ca"),
                    CaMethod::Fixed(FileIngestionMethod::Recursive, HashAlgo::Sha256),
                    &BTreeSet::new(),
                    false,
                    &mut &file_nar(b"ca\n")[..],
                )
                .await
                .unwrap();
            assert_eq!(std::fs::read_to_string(abs(&added.path)).unwrap(), "ca\n");
        } else {
            let added = c
                .add_to_store_legacy(
                    &format!("{name}-ca"),
                    FileIngestionMethod::Flat,
                    HashAlgo::Sha256,
                    &mut &file_nar(b"ca\n")[..],
                )
                .await
                .unwrap();
            assert_eq!(std::fs::read_to_string(abs(&added)).unwrap(), "ca\n");
        }

        // A build, all outputs (bare .drv before 1.30, `!*` after).
        let expr = format!(
            "derivation {{ name = \"{name}\"; system = builtins.currentSystem; builder = \"/bin/sh\"; \
             args = [ \"-c\" \"echo log-{minor}; echo {minor} > $out\" ]; }}"
        );
        let out = Command::new("nix-instantiate")
            .args(["-E", &expr])
            .output()
            .unwrap();
        let drv_abs = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let drv = StoreDir::default().parse(&drv_abs).unwrap();
        let logs = c
            .build_paths(&[DerivedPath::Built {
                drv: drv.clone(),
                outputs: BTreeSet::new(),
            }])
            .await
            .unwrap_or_else(|e| panic!("1.{minor}: {e}"));
        assert_eq!(logs.lines[&drv_abs], vec![format!("log-{minor}")]);
        let out_abs = nix_store(&["-q", "--outputs", &drv_abs]);
        assert_eq!(
            std::fs::read_to_string(out_abs.trim()).unwrap(),
            format!("{minor}\n")
        );
        if minor >= 22 {
            let map = c.query_derivation_output_map(&drv).await.unwrap();
            assert_eq!(abs(map["out"].as_ref().unwrap()), out_abs.trim());
        }
        c.add_temp_root(&p).await.unwrap();
        assert!(!c.is_broken());
    }
}
