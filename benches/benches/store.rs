//! Store throughput: NAR serialisation + SHA-256 of a large file and a large tree (the work of
//! `nix-store --add`), and a whole add-to-store into a fresh embedded store. The side-by-side
//! comparison with real Nix is `benches/store-side-by-side.sh`.

use std::fs;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use evalbox_store::fs::{HashSink, dump_tree};
use evalbox_store::local::LocalStore;
use evalbox_store::{AddSource, NixStore};
use nix_formats::{FileIngestionMethod, HashAlgo};
use rand::{RngCore, SeedableRng};

const FILE_SIZE: usize = 64 << 20;
const TREE_FILES: usize = 2048;
const TREE_FILE_SIZE: usize = 32 << 10;

fn make_inputs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let file = dir.join("large-file");
    let mut data = vec![0u8; FILE_SIZE];
    rng.fill_bytes(&mut data);
    fs::write(&file, &data).unwrap();
    let tree = dir.join("large-tree");
    for i in 0..TREE_FILES {
        let sub = tree.join(format!("d{}", i % 32));
        fs::create_dir_all(&sub).unwrap();
        fs::write(
            sub.join(format!("f{i}")),
            &data[i * 64..i * 64 + TREE_FILE_SIZE],
        )
        .unwrap();
    }
    (file, tree, (TREE_FILES * TREE_FILE_SIZE) as u64)
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let (file, tree, tree_bytes) = make_inputs(tmp.path());
    let rt = tokio::runtime::Runtime::new().unwrap();

    let mut g = c.benchmark_group("nar_sha256");
    g.sample_size(10);
    for (label, path, bytes) in [
        ("large_file", &file, FILE_SIZE as u64),
        ("large_tree", &tree, tree_bytes),
    ] {
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut sink = HashSink::new(HashAlgo::Sha256);
                dump_tree(path, None, &mut sink, None).unwrap();
                sink.finish()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("add_to_store");
    g.sample_size(10);
    for (label, path, bytes) in [
        ("large_file", &file, FILE_SIZE as u64),
        ("large_tree", &tree, tree_bytes),
    ] {
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(label, |b| {
            b.iter_batched(
                || {
                    let root = tempfile::tempdir_in(tmp.path()).unwrap();
                    let store = LocalStore::open(root.path(), Default::default()).unwrap();
                    (root, store)
                },
                |(root, store)| {
                    let source = AddSource::Tree {
                        root: evalbox_store::TreeRoot::host(path).unwrap(),
                        filter: None,
                    };
                    rt.block_on(store.add_to_store(
                        "bench",
                        source,
                        FileIngestionMethod::Recursive,
                        HashAlgo::Sha256,
                        &Default::default(),
                    ))
                    .unwrap();
                    (root, store)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
