//! In-process tests of the embedded store against Nix 2.8's ground truth
//! (guest-abi/nix-formats/testdata, produced by real Nix; see its README).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix_formats::derivation::Derivation;
use nix_formats::{FileIngestionMethod, HashAlgo, StoreDir, StorePath};

use super::LocalStore;
use crate::{AddSource, NixStore};

fn testdata(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../guest-abi/nix-formats/testdata")
        .join(p)
}

fn sp(s: &str) -> StorePath {
    StoreDir::default().parse(s).unwrap()
}

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path(), StoreDir::default()).unwrap();
    (dir, store)
}

const HELLO: &[u8] = b"Hello, Nix!\n";

/// Adds [`HELLO`] as `hello.txt`, recursive SHA-256 (`nix-store --add`'s way).
async fn add_hello(s: &LocalStore) -> crate::PathInfo {
    s.add_to_store(
        "hello.txt",
        AddSource::Bytes(HELLO.to_vec()),
        FileIngestionMethod::Recursive,
        HashAlgo::Sha256,
        &BTreeSet::new(),
    )
    .await
    .unwrap()
}

/// Adds the host tree at `src` (recursive SHA-256), keeping what `filter` accepts.
async fn add_tree(
    s: &LocalStore,
    name: &str,
    src: &Path,
    filter: Option<crate::PathFilter>,
) -> crate::PathInfo {
    s.add_to_store(
        name,
        AddSource::Tree {
            root: crate::TreeRoot::host(src).unwrap(),
            filter,
        },
        FileIngestionMethod::Recursive,
        HashAlgo::Sha256,
        &BTreeSet::new(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn bytes_in_every_ingestion_form() {
    let (_d, s) = store();
    let none = BTreeSet::new();
    let cases = [
        (
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
            "/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt",
        ),
        (
            FileIngestionMethod::Flat,
            HashAlgo::Sha256,
            "/nix/store/074js36zvzgjcc64qgnl216rlvpy7q65-hello.txt",
        ),
        (
            FileIngestionMethod::Flat,
            HashAlgo::Sha1,
            "/nix/store/jgj24cnq4hss1j1ky1phqw7nh2kr3gd7-hello.txt",
        ),
        (
            FileIngestionMethod::Recursive,
            HashAlgo::Sha1,
            "/nix/store/srm64xgkqpv0bjv7a3shpqan69859ljx-hello.txt",
        ),
    ];
    for (method, algo, want) in cases {
        let info = s
            .add_to_store(
                "hello.txt",
                AddSource::Bytes(HELLO.to_vec()),
                method,
                algo,
                &none,
            )
            .await
            .unwrap();
        assert_eq!(info.path, sp(want), "{method:?} {algo}");
        assert!(s.is_valid_path(&info.path).await.unwrap());
        assert_eq!(info.nar_size, 128);
        let mut nar = Vec::new();
        s.nar_from_path(&info.path, &mut nar).await.unwrap();
        assert_eq!(nar, std::fs::read(testdata("nar/hello.txt.nar")).unwrap());
    }
}

#[tokio::test]
async fn nar_source_round_trips_and_rejects_garbage() {
    let (_d, s) = store();
    let nar = std::fs::read(testdata("nar/hello.txt.nar")).unwrap();
    let info = s
        .add_to_store(
            "hello.txt",
            AddSource::Nar(Box::new(std::io::Cursor::new(nar.clone()))),
            FileIngestionMethod::Recursive,
            HashAlgo::Sha256,
            &BTreeSet::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        info.path,
        sp("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt")
    );
    for bad in [
        &nar[..nar.len() - 8],
        &nar[..20],
        b"nothing at all".as_slice(),
    ] {
        let r = s
            .add_to_store(
                "bad",
                AddSource::Nar(Box::new(std::io::Cursor::new(bad.to_vec()))),
                FileIngestionMethod::Recursive,
                HashAlgo::Sha256,
                &BTreeSet::new(),
            )
            .await;
        assert!(matches!(r, Err(crate::Error::BadInput(_))), "{r:?}");
    }
    // Failed adds leave no temporaries behind.
    let tmp = s.inner.tmp_root();
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
}

#[tokio::test]
async fn filtered_tree() {
    let (d, s) = store();
    let src = d.path().join("src");
    std::fs::create_dir_all(src.join("keep/sub")).unwrap();
    std::fs::create_dir_all(src.join("drop")).unwrap();
    std::fs::write(src.join("keep/sub/a"), "a").unwrap();
    std::fs::write(src.join("drop/b"), "b").unwrap();
    std::fs::write(src.join("c"), "c").unwrap();
    let filter: crate::PathFilter =
        Arc::new(|p: &Path| !p.starts_with("drop") && p != Path::new("c"));
    let info = add_tree(&s, "src", &src, Some(filter)).await;
    let real = s.real_path(&info.path);
    assert!(real.join("keep/sub/a").exists());
    assert!(!real.join("drop").exists());
    assert!(!real.join("c").exists());
    // Same as adding the pre-filtered tree.
    std::fs::remove_dir_all(src.join("drop")).unwrap();
    std::fs::remove_file(src.join("c")).unwrap();
    let plain = add_tree(&s, "src", &src, None).await;
    assert_eq!(plain.path, info.path);
}

#[tokio::test]
async fn derivations_and_their_outputs() {
    let (_d, s) = store();
    let dir = StoreDir::default();
    let hello = "/nix/store/76w21n1f03fs5kw8fnffphx7qrqffw6r-hello.drv";
    let bytes = std::fs::read(testdata("drv/76w21n1f03fs5kw8fnffphx7qrqffw6r-hello.drv")).unwrap();
    let drv = Derivation::from_aterm_bytes(&bytes, &dir).unwrap();
    let p = s.add_derivation(&drv, "hello").await.unwrap();
    assert_eq!(p, sp(hello));
    let outs = s.query_derivation_output_map(&p).await.unwrap();
    assert_eq!(
        outs.get("out").cloned().flatten(),
        Some(sp("/nix/store/mjs27ix6ig2bkbi3s3sm470vrv4lf7ic-hello"))
    );
    assert_eq!(s.read_derivation(&p).await.unwrap(), drv);
    let info = s.query_path_info(&p).await.unwrap().unwrap();
    assert_eq!(info.ca.unwrap().to_string().split(':').next(), Some("text"));

    // A derivation with an input derivation that is not in the store is refused.
    let dep = std::fs::read(testdata("drv/jxs8q3a23mclyfrpbyzljsk8q7y5s13f-dep.drv")).unwrap();
    let dep = Derivation::from_aterm_bytes(&dep, &dir).unwrap();
    assert!(s.add_derivation(&dep, "dep").await.is_err());
    assert!(
        !s.is_valid_path(&sp("/nix/store/jxs8q3a23mclyfrpbyzljsk8q7y5s13f-dep.drv"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn unregistered_leftovers_do_not_block_an_add() {
    let (_d, s) = store();
    let want = sp("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt");
    // A half-written copy at the final name, as a crash between rename and commit leaves it.
    let real = s.real_path(&want);
    std::fs::write(&real, "half").unwrap();
    let info = add_hello(&s).await;
    assert_eq!(info.path, want);
    assert_eq!(std::fs::read(&real).unwrap(), HELLO);
    let report = s.verify(true).await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
}

#[tokio::test]
async fn verify_notices_tampering() {
    let (_d, s) = store();
    let info = add_hello(&s).await;
    let real = s.real_path(&info.path);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&real, "tampered").unwrap();
    let report = s.verify(true).await.unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(report.problems[0].contains("was modified"));
}

#[tokio::test]
async fn text_leftovers_are_replaced_with_and_without_fsync() {
    for fsync in [false, true] {
        let (_d, s) = store();
        let mut settings = crate::settings::BuildSettings::default();
        settings
            .set("fsync-store-paths", if fsync { "true" } else { "false" })
            .unwrap();
        s.set_build_settings(settings);
        let none = BTreeSet::new();
        // Text paths are written in place: a killed writer leaves a read-only partial copy.
        // (The path is `builtins.toFile "hello.txt" "Hello, Nix!\n"` in Nix 2.8.)
        let want = sp("/nix/store/s8sxyivrbvzq8lbak2293llc6wmi5745-hello.txt");
        let real = s.real_path(&want);
        std::fs::write(&real, "half").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o444)).unwrap();
        let path = s
            .add_text_to_store("hello.txt", HELLO, &none)
            .await
            .unwrap();
        assert_eq!(path, want, "fsync {fsync}");
        assert_eq!(std::fs::read(&real).unwrap(), HELLO);
        let meta = std::fs::metadata(&real).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o444);
        assert_eq!(
            meta.modified().unwrap(),
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1)
        );
        let tree = add_hello(&s).await;
        assert!(s.is_valid_path(&tree.path).await.unwrap());
        let report = s.verify(true).await.unwrap();
        assert_eq!(report.problems, Vec::<String>::new(), "fsync {fsync}");
    }
}

#[tokio::test]
async fn import_checks_the_nar_against_its_metadata() {
    let (_a, from) = store();
    let (_b, to) = store();
    let info = add_hello(&from).await;
    let mut nar = Vec::new();
    from.nar_from_path(&info.path, &mut nar).await.unwrap();
    let mut wrong = info.clone();
    wrong.nar_size += 1;
    let err = to.add_to_store_nar(&wrong, &nar).await.unwrap_err();
    assert!(err.to_string().contains("as its metadata says"), "{err}");
    assert!(!to.is_valid_path(&info.path).await.unwrap());
    to.add_to_store_nar(&info, &nar).await.unwrap();
    let copied = to.query_path_info(&info.path).await.unwrap().unwrap();
    assert_eq!((copied.nar_hash, copied.ca), (info.nar_hash, info.ca));
    assert_eq!(
        to.verify(true).await.unwrap().problems,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn reads_objects_as_the_nar_has_them() {
    let (d, s) = store();
    let src = d.path().join("tree");
    std::fs::create_dir_all(src.join("dir/sub")).unwrap();
    std::fs::create_dir_all(src.join("empty")).unwrap();
    std::fs::write(src.join("dir/sub/f"), "deep").unwrap();
    std::fs::write(src.join("run"), "#!/bin/sh").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("dir", src.join("link")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("abs")).unwrap();
    let info = add_tree(&s, "tree", &src, None).await;
    let mut nar = Vec::new();
    s.nar_from_path(&info.path, &mut nar).await.unwrap();
    let cases: &[&[&[u8]]] = &[
        &[],
        &[b"dir"],
        &[b"dir", b"sub", b"f"],
        &[b"run"],
        &[b"empty"],
        &[b"link"],
        &[b"link", b"sub"],
        &[b"abs"],
        &[b"missing"],
        &[b"run", b"x"],
        &[b".."],
    ];
    for rel in cases {
        let direct = s.read_object(&info.path, rel).await.unwrap();
        let from_nar = crate::objects::find_in_nar(&nar, rel).unwrap();
        assert_eq!(direct, from_nar, "{rel:?}");
    }
    // An invalid path has nothing to read.
    let gone = sp("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt");
    assert_eq!(s.read_object(&gone, &[]).await.unwrap(), None);
}

/// A tree is hashed before it is copied: a new one is unpacked from the NAR kept in memory
/// (or, too large to keep, read again), and one already in the store is left as it is.
#[tokio::test]
async fn trees_are_hashed_before_they_are_copied() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("tree");
    std::fs::create_dir_all(src.join("dir/sub")).unwrap();
    std::fs::write(src.join("dir/sub/f"), "deep").unwrap();
    std::fs::write(src.join("run"), "#!/bin/sh").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("dir", src.join("link")).unwrap();
    let mut nars = Vec::new();
    // Kept in memory (the default), and too large to keep (read twice).
    for cap in [super::NAR_KEPT, 0] {
        let root = d.path().join(format!("store-{cap}"));
        let s = LocalStore::open(&root, StoreDir::default())
            .unwrap()
            .keeping_nars_up_to(cap);
        let info = add_tree(&s, "tree", &src, None).await;
        let real = s.real_path(&info.path);
        let mode = std::fs::metadata(real.join("run"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o555, "cap {cap}");
        assert_eq!(
            std::fs::read_link(real.join("link")).unwrap(),
            Path::new("dir")
        );
        let mut nar = Vec::new();
        s.nar_from_path(&info.path, &mut nar).await.unwrap();
        nars.push((info.path.clone(), nar));
        // Nothing is left in the temporary directory.
        let tmp = s.inner.tmp_root();
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "cap {cap}");
        std::fs::remove_dir(&tmp).unwrap();
        // Adding it again finds it, without writing anything: no temporary directory, and
        // the registration is the first one's.
        let again = add_tree(&s, "tree", &src, None).await;
        assert_eq!(again, info, "cap {cap}");
        assert!(!tmp.exists(), "cap {cap}");
        assert!(s.verify(true).await.unwrap().problems.is_empty());
    }
    assert_eq!(nars[0], nars[1]);
}
