//! Fuzzes the NAR reader with untrusted bytes: it must never panic, never
//! allocate beyond its limits, and whatever it accepts must re-serialise to
//! exactly the input (the grammar has one canonical form).
#![no_main]

use std::io::Read;

use nix_formats::nar::reader::{Event, NarReader};
use nix_formats::nar::writer;
use libfuzzer_sys::fuzz_target;

enum Tree {
    File(bool, Vec<u8>),
    Symlink(Vec<u8>),
    Dir(Vec<(Vec<u8>, Tree)>),
}

fn read_tree(r: &mut NarReader<&[u8]>) -> Option<Tree> {
    match r.next_event().ok()?? {
        Event::File { executable, .. } => {
            let mut data = Vec::new();
            r.contents().read_to_end(&mut data).ok()?;
            Some(Tree::File(executable, data))
        }
        Event::Symlink(t) => Some(Tree::Symlink(t)),
        Event::DirStart => {
            let mut entries = Vec::new();
            loop {
                match r.next_event().ok()?? {
                    Event::Entry(name) => {
                        let child = read_tree(r)?;
                        entries.push((name, child));
                    }
                    Event::DirEnd => return Some(Tree::Dir(entries)),
                    _ => unreachable!("the reader yields only entries or DirEnd in a directory"),
                }
            }
        }
        _ => unreachable!("the reader yields a node here"),
    }
}

fn write(node: writer::Node<'_, Vec<u8>>, t: &Tree) {
    match t {
        Tree::File(x, data) => node.file_bytes(*x, data).unwrap(),
        Tree::Symlink(target) => node.symlink(target).unwrap(),
        Tree::Dir(entries) => {
            let mut d = node.directory().unwrap();
            for (name, child) in entries {
                write(d.entry(name).unwrap(), child);
            }
            d.close().unwrap();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Streaming validation with hashing.
    let _ = nix_formats::nar::nar_hash_and_size(data);
    // Full parse; accepted input must round-trip.
    let mut r = NarReader::new(data);
    let Some(tree) = read_tree(&mut r) else {
        return;
    };
    if !matches!(r.next_event(), Ok(None)) {
        return;
    }
    let Ok(rest) = r.finish() else { return };
    let consumed = &data[..data.len() - rest.len()];
    let mut out = Vec::new();
    write(writer::open(&mut out).unwrap(), &tree);
    assert_eq!(out, consumed);
});
