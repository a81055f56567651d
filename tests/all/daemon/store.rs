//! `DaemonStore` (the `Store` trait over the real nix-daemon) against the embedded `LocalStore`
//! and the real `nix-store` CLI: the same adds give the same paths, hashes, references and
//! `.drv` bytes; builds give real outputs and logs; the pool, the temp roots, the `unix://` and
//! stdio transports work. Skips without a daemon socket unless `EVALBOX_REQUIRE_NIX=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use evalbox_daemon::client::ClientOptions;
use evalbox_daemon::{DaemonStore, Transport};
use evalbox_store::derivations::{DrvHashCache, compute_output_paths};
use evalbox_store::local::LocalStore;
use evalbox_store::{AddSource, BuildTarget, NixStore, PathFilter, StoreUri};
use nix_formats::derivation::{Derivation, DerivationOutput};
use nix_formats::{FileIngestionMethod, HashAlgo, NixHash, StoreDir, StorePath};

use super::{nix_store, unique};

const SOCKET: &str = evalbox_tests::DAEMON_SOCKET;

async fn daemon() -> DaemonStore {
    DaemonStore::connect(Transport::Unix(SOCKET.into()), ClientOptions::default(), 2)
        .await
        .unwrap()
}

fn abs(p: &StorePath) -> String {
    StoreDir::default().display(p)
}

/// One add: a label, how to make the source (twice: once per store), method and algorithm.
type Case = (
    &'static str,
    Box<dyn Fn() -> AddSource>,
    FileIngestionMethod,
    HashAlgo,
);

/// Adds the same things to both stores and compares everything observable.
#[tokio::test]
async fn same_results_as_the_embedded_store() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    let d = daemon().await;
    let root = tempfile::tempdir().unwrap();
    let l = LocalStore::open(root.path(), StoreDir::default()).unwrap();
    let src = tempfile::tempdir().unwrap();
    let tree = src.path().join(unique("tree"));
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/data"), unique("data")).unwrap();
    std::fs::write(tree.join("skipped"), "filtered out").unwrap();
    std::fs::write(tree.join("exe"), "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tree.join("exe"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("sub/data", tree.join("link")).unwrap();
    let file = src.path().join(unique("file"));
    std::fs::write(&file, unique("file contents")).unwrap();
    let filter: PathFilter = Arc::new(|p: &Path| p != Path::new("skipped"));
    let nar = {
        let out = Command::new("nix-store")
            .args(["--dump", tree.to_str().unwrap()])
            .output()
            .unwrap();
        out.stdout
    };

    let text_name = unique("text");
    let text = format!("text {text_name}\n");
    let cases: Vec<Case> = vec![
        (
            "bytes-flat",
            Box::new({
                let t = text.clone();
                move || AddSource::Bytes(t.clone().into_bytes())
            }),
            FileIngestionMethod::Flat,
            HashAlgo::Sha256,
        ),
        (
            "bytes-rec",
            Box::new({
                let t = text.clone();
                move || AddSource::Bytes(t.clone().into_bytes())
            }),
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
        ),
        (
            "bytes-sha1",
            Box::new({
                let t = text.clone();
                move || AddSource::Bytes(t.clone().into_bytes())
            }),
            FileIngestionMethod::Flat,
            HashAlgo::Sha1,
        ),
        (
            "tree",
            Box::new({
                let t = tree.clone();
                move || AddSource::Tree {
                    root: evalbox_store::TreeRoot::host(&t).unwrap(),
                    filter: None,
                }
            }),
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
        ),
        (
            "tree-filtered",
            Box::new({
                let t = tree.clone();
                let f = filter.clone();
                move || AddSource::Tree {
                    root: evalbox_store::TreeRoot::host(&t).unwrap(),
                    filter: Some(f.clone()),
                }
            }),
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
        ),
        (
            "tree-sha512",
            Box::new({
                let t = tree.clone();
                move || AddSource::Tree {
                    root: evalbox_store::TreeRoot::host(&t).unwrap(),
                    filter: None,
                }
            }),
            FileIngestionMethod::Recursive,
            HashAlgo::Sha512,
        ),
        (
            "file-flat",
            Box::new({
                let f = file.clone();
                move || AddSource::Tree {
                    root: evalbox_store::TreeRoot::host(&f).unwrap(),
                    filter: None,
                }
            }),
            FileIngestionMethod::Flat,
            HashAlgo::Sha256,
        ),
        (
            "nar",
            Box::new({
                let n = nar.clone();
                move || AddSource::Nar(Box::new(std::io::Cursor::new(n.clone())))
            }),
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
        ),
    ];
    let mut added = BTreeMap::new();
    for (tag, source, method, algo) in &cases {
        let name = format!("{text_name}-{tag}");
        let from_daemon = d
            .add_to_store(&name, source(), *method, *algo, &BTreeSet::new())
            .await
            .unwrap_or_else(|e| panic!("{tag}: {e}"));
        let from_local = l
            .add_to_store(&name, source(), *method, *algo, &BTreeSet::new())
            .await
            .unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(from_daemon.path, from_local.path, "{tag}");
        assert_eq!(from_daemon.nar_hash, from_local.nar_hash, "{tag}");
        assert_eq!(from_daemon.nar_size, from_local.nar_size, "{tag}");
        assert_eq!(from_daemon.references, from_local.references, "{tag}");
        assert_eq!(from_daemon.ca, from_local.ca, "{tag}");
        assert_eq!(
            nix_store(&["-q", "--hash", &abs(&from_daemon.path)]).trim(),
            from_daemon.nar_hash.to_typed_nix32(),
            "{tag}"
        );
        // And the NAR served back is the same from both.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        d.nar_from_path(&from_daemon.path, &mut a).await.unwrap();
        l.nar_from_path(&from_local.path, &mut b).await.unwrap();
        assert_eq!(a, b, "{tag}");
        added.insert(*tag, from_daemon);
    }
    // The unfiltered tree is what `nix-store --add` makes of it.
    let expected = nix_store(&["--add", tree.to_str().unwrap()]);
    let tree_name = tree.file_name().unwrap().to_str().unwrap();
    let by_name = d
        .add_to_store(
            tree_name,
            AddSource::Tree {
                root: evalbox_store::TreeRoot::host(&tree).unwrap(),
                filter: None,
            },
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
            &BTreeSet::new(),
        )
        .await
        .unwrap();
    assert_eq!(abs(&by_name.path), expected.trim());
    assert!(
        !Path::new(&abs(&added["tree-filtered"].path))
            .join("skipped")
            .exists()
    );
    assert!(
        Path::new(&abs(&added["tree"].path))
            .join("skipped")
            .exists()
    );

    // Text files with references.
    let r = added["tree"].path.clone();
    let refs: BTreeSet<_> = [r.clone()].into();
    let body = format!("uses {}\n", abs(&r));
    let pd = d
        .add_text_to_store(&text_name, body.as_bytes(), &refs)
        .await
        .unwrap();
    l.add_to_store(
        &format!("{text_name}-tree"),
        AddSource::Tree {
            root: evalbox_store::TreeRoot::host(&tree).unwrap(),
            filter: None,
        },
        FileIngestionMethod::Recursive,
        HashAlgo::Sha256,
        &BTreeSet::new(),
    )
    .await
    .unwrap();
    let pl = l
        .add_text_to_store(&text_name, body.as_bytes(), &refs)
        .await
        .unwrap();
    assert_eq!(pd, pl);
    assert_eq!(d.query_referrers(&r).await.unwrap(), [pd.clone()].into());
    assert_eq!(
        d.query_referrers(&r).await.unwrap(),
        l.query_referrers(&r).await.unwrap()
    );
    assert_eq!(
        nix_store(&["-q", "--references", &abs(&pd)]).trim(),
        abs(&r)
    );
    let (di, li) = (
        d.query_path_info(&pd).await.unwrap().unwrap(),
        l.query_path_info(&pd).await.unwrap().unwrap(),
    );
    assert_eq!(
        (di.nar_hash, di.nar_size, di.references, di.ca),
        (li.nar_hash, li.nar_size, li.references, li.ca)
    );
    let all: Vec<StorePath> = added
        .values()
        .map(|i| i.path.clone())
        .chain([bogus()])
        .collect();
    assert_eq!(d.query_valid_paths(&all).await.unwrap().len(), added.len());
    assert!(!d.is_valid_path(&bogus()).await.unwrap());
    assert_eq!(d.query_path_info(&bogus()).await.unwrap(), None);
    match d.nar_from_path(&bogus(), &mut Vec::new()).await {
        Err(evalbox_store::Error::InvalidPath(p)) => assert_eq!(p, abs(&bogus())),
        other => panic!("{other:?}"),
    }
    // A NAR with the flat method is refused before anything is sent.
    assert!(matches!(
        d.add_to_store(
            "x",
            AddSource::Nar(Box::new(std::io::Cursor::new(nar.clone()))),
            FileIngestionMethod::Flat,
            HashAlgo::Sha256,
            &BTreeSet::new()
        )
        .await,
        Err(evalbox_store::Error::BadInput(_))
    ));
    // A corrupt NAR is the daemon's error, and the store keeps working.
    let mut corrupt = nar.clone();
    corrupt[20] ^= 0xff;
    assert!(
        d.add_to_store(
            "corrupt",
            AddSource::Nar(Box::new(std::io::Cursor::new(corrupt))),
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
            &BTreeSet::new()
        )
        .await
        .is_err()
    );
    assert!(d.is_valid_path(&pd).await.unwrap());
}

fn bogus() -> StorePath {
    StorePath::from_base_name("00000000000000000000000000000000-evalbox-missing").unwrap()
}

fn sh_derivation(name: &str, script: &str, inputs: &[(StorePath, &str)]) -> Derivation {
    let mut drv = Derivation {
        platform: "x86_64-linux".into(),
        builder: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        ..Derivation::default()
    };
    drv.outputs.insert("out".into(), DerivationOutput::Deferred);
    for (p, out) in inputs {
        drv.input_derivations
            .entry(p.clone())
            .or_default()
            .insert(out.to_string());
    }
    for (k, v) in [
        ("builder", "/bin/sh"),
        ("name", name),
        ("out", ""),
        ("system", "x86_64-linux"),
    ] {
        drv.env.insert(k.into(), v.into());
    }
    drv
}

/// Derivations: identical `.drv` paths and bytes from both stores and from `nix-instantiate`;
/// builds through the daemon with results, outputs and logs.
#[tokio::test]
async fn derivations_and_builds() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    let d = daemon().await;
    let root = tempfile::tempdir().unwrap();
    let l = LocalStore::open(root.path(), StoreDir::default()).unwrap();
    let name = unique("drv");
    let script = format!("echo log-of-{name}; echo {name} > $out");
    let cache = DrvHashCache::new();
    let mut a = sh_derivation(&name, &script, &[]);
    compute_output_paths(&d, &mut a, &name, &cache)
        .await
        .unwrap();
    let a_path = d.add_derivation(&a, &name).await.unwrap();
    assert_eq!(l.add_derivation(&a, &name).await.unwrap(), a_path);
    let expr = format!(
        "derivation {{ name = \"{name}\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; \
         args = [ \"-c\" \"{}\" ]; }}",
        script.replace('$', "\\$")
    );
    let out = Command::new("nix-instantiate")
        .args(["-E", &expr])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        abs(&a_path),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(abs(&a_path)).unwrap(),
        a.to_aterm_bytes(&StoreDir::default())
    );
    assert_eq!(d.read_derivation(&a_path).await.unwrap(), a);

    // A dependent derivation.
    let b_name = format!("{name}-b");
    let a_out = a.outputs["out"].path().unwrap().clone();
    let b_script = format!("/bin/cat {} > $out; echo b-log", abs(&a_out));
    let mut b = sh_derivation(&b_name, &b_script, &[(a_path.clone(), "out")]);
    compute_output_paths(&d, &mut b, &b_name, &cache)
        .await
        .unwrap();
    let mut b_local = sh_derivation(&b_name, &b_script, &[(a_path.clone(), "out")]);
    compute_output_paths(&l, &mut b_local, &b_name, &DrvHashCache::new())
        .await
        .unwrap();
    assert_eq!(b, b_local);
    let b_path = d.add_derivation(&b, &b_name).await.unwrap();
    assert_eq!(l.add_derivation(&b, &b_name).await.unwrap(), b_path);
    assert_eq!(
        nix_store(&["-q", "--references", &abs(&b_path)]).trim(),
        abs(&a_path)
    );
    assert_eq!(
        d.query_referrers(&a_path).await.unwrap(),
        [b_path.clone()].into()
    );

    // Wrong output paths are refused, as by the embedded store.
    let mut wrong = b.clone();
    wrong
        .outputs
        .insert("out".into(), DerivationOutput::InputAddressed(bogus()));
    assert!(d.add_derivation(&wrong, &b_name).await.is_err());
    assert!(l.add_derivation(&wrong, &b_name).await.is_err());

    let map = d.query_derivation_output_map(&b_path).await.unwrap();
    assert_eq!(map, l.query_derivation_output_map(&b_path).await.unwrap());
    let b_out = map["out"].clone().unwrap();
    assert_eq!(
        abs(&b_out),
        nix_store(&["-q", "--outputs", &abs(&b_path)]).trim()
    );

    let results = d
        .build_paths(&[BuildTarget {
            drv_path: b_path.clone(),
            outputs: BTreeSet::new(),
        }])
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert!(r.success, "{r:?}");
    assert_eq!(r.status, "Built");
    assert_eq!(
        r.outputs,
        BTreeMap::from([("out".to_string(), b_out.clone())])
    );
    assert_eq!(r.log, vec!["b-log".to_string()]);
    assert_eq!(
        std::fs::read_to_string(abs(&b_out)).unwrap(),
        format!("{name}\n")
    );
    assert!(d.is_valid_path(&a_out).await.unwrap());

    // A failing build is a result, not an error.
    let f_name = format!("{name}-fail");
    let mut f = sh_derivation(&f_name, "echo about-to-fail; exit 7", &[]);
    compute_output_paths(&d, &mut f, &f_name, &cache)
        .await
        .unwrap();
    let f_path = d.add_derivation(&f, &f_name).await.unwrap();
    let results = d
        .build_paths(&[BuildTarget {
            drv_path: f_path,
            outputs: ["out".to_string()].into(),
        }])
        .await
        .unwrap();
    assert!(!results[0].success);
    assert!(
        results[0].error_msg.contains("exit code 7"),
        "{:?}",
        results[0]
    );
    assert!(!results[0].error_msg.contains('\u{1b}'));
    assert_eq!(results[0].log, vec!["about-to-fail".to_string()]);
    assert!(results[0].outputs.is_empty());
}

/// Concurrent guests share the pool; broken connections are not reused; temp roots hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pool_and_temp_roots() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    let d = Arc::new(daemon().await);
    let p = d
        .add_text_to_store(&unique("pool"), b"pooled\n", &BTreeSet::new())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (d, p) = (d.clone(), p.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                assert!(d.is_valid_path(&p).await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(d.pool().idle_count() <= 2, "{}", d.pool().idle_count());
    assert!(d.pool().idle_count() >= 1);
    // A cancelled request leaves its connection broken: it must be dropped, not reused.
    let slow = d.clone();
    let handle = tokio::spawn(async move {
        let big = vec![b'x'; 64 << 20];
        let _ = slow
            .add_to_store(
                &unique("cancelled"),
                AddSource::Bytes(big),
                FileIngestionMethod::Flat,
                HashAlgo::Sha256,
                &BTreeSet::new(),
            )
            .await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    handle.abort();
    let _ = handle.await;
    for _ in 0..10 {
        assert!(d.is_valid_path(&p).await.unwrap());
    }
    // The temp root: the daemon lists it among its roots while this store lives.
    d.add_temp_root(&p).await.unwrap();
    let roots = Command::new("nix-store")
        .args(["--gc", "--print-roots"])
        .output()
        .unwrap();
    let roots = String::from_utf8_lossy(&roots.stdout);
    assert!(roots.contains(&abs(&p)), "{roots}");
    let dead = Command::new("nix-store")
        .args(["--gc", "--print-dead"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&dead.stdout).contains(&abs(&p)));
}

/// `open` for `daemon` and `unix://`, and the stdio transport (what `ssh-ng://` runs, here
/// without ssh).
#[tokio::test]
async fn uris_and_stdio() {
    if !evalbox_tests::have_daemon(module_path!()) {
        return;
    }
    for uri in ["daemon", &format!("unix://{SOCKET}")] {
        let s = evalbox_daemon::open(&StoreUri::parse(uri).unwrap())
            .await
            .unwrap();
        let p = s
            .add_text_to_store(&unique("uri"), b"uri\n", &BTreeSet::new())
            .await
            .unwrap();
        assert!(s.is_valid_path(&p).await.unwrap(), "{uri}");
    }
    let stdio = DaemonStore::connect(
        Transport::stdio_daemon("nix-daemon"),
        ClientOptions::default(),
        1,
    )
    .await
    .unwrap();
    let text = unique("stdio");
    let p = stdio
        .add_text_to_store(&text, text.as_bytes(), &BTreeSet::new())
        .await
        .unwrap();
    assert_eq!(
        p,
        StoreDir::default()
            .make_text_path(
                &text,
                &NixHash::of(HashAlgo::Sha256, text.as_bytes()),
                &BTreeSet::new()
            )
            .unwrap()
    );
    assert!(daemon().await.is_valid_path(&p).await.unwrap());
    // ssh-ng builds the ssh command line Nix uses.
    match Transport::ssh_ng("me@example.org") {
        Transport::Command { program, args } => {
            assert_eq!(program, "ssh");
            assert!(args.ends_with(&[
                "-x".into(),
                "-a".into(),
                "me@example.org".into(),
                "nix-daemon".into(),
                "--stdio".into()
            ]));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        evalbox_daemon::open(&StoreUri::parse("unix:///nonexistent/socket").unwrap())
            .await
            .is_err()
    );
}
