//! Looks for what an earlier guest left in memory. `memory_residue write` fills 4 MiB of heap
//! with a pattern computed at run time (so it is not in the binary's data) and exits without
//! freeing it; `memory_residue scan` reads every byte of its own linear memory, including
//! freshly grown pages, and prints how many 64-byte runs of that pattern it found. The host
//! must hand every guest clean memory, even when the pooling allocator reuses a slot.
//! `memory_residue control` writes and then scans in one run: the scan must find the pattern.
use std::hint::black_box;

const LEN: usize = 4 << 20;
const RUN: usize = 64;

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(31).wrapping_add(17) as u8) ^ 0xA5 ^ black_box(0)
}

/// Grows linear memory by as much as the writer used; returns its size in bytes.
#[cfg(target_arch = "wasm32")]
fn grow_and_measure() -> usize {
    let _fresh = core::arch::wasm32::memory_grow(0, LEN / 65536 + 1);
    core::arch::wasm32::memory_size(0) * 65536
}

#[cfg(not(target_arch = "wasm32"))]
fn grow_and_measure() -> usize {
    eprintln!("memory_residue scans wasm linear memory: build it for wasm32");
    std::process::exit(2)
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "write" || mode == "control" {
        let buf: Vec<u8> = (0..LEN).map(pattern).collect();
        black_box(&buf);
        std::mem::forget(buf);
        println!("wrote {LEN}");
    }
    match mode.as_str() {
        "write" => {}
        "scan" | "control" => {
            let size = grow_and_measure();
            let first: Vec<u8> = (0..RUN).map(pattern).collect();
            let mut found = 0usize;
            let mut addr = 1; // skip the null page's first byte, never dereference address 0
            while addr + RUN <= size {
                // SAFETY: every address below memory_size is in bounds of this guest's linear
                // memory; reading it is a plain wasm load (volatile so it is not elided).
                let byte = unsafe { std::ptr::read_volatile(addr as *const u8) };
                if byte == first[0] {
                    let run = (0..RUN).all(|k| {
                        // SAFETY: as above, addr + k < size.
                        let b = unsafe { std::ptr::read_volatile((addr + k) as *const u8) };
                        b == first[k]
                    });
                    if run && first.as_ptr() as usize != addr {
                        found += 1;
                    }
                }
                addr += 1;
            }
            println!("scanned {size} found {found}");
        }
        _ => {
            eprintln!("usage: memory_residue write|scan|control");
            std::process::exit(2);
        }
    }
}
