//! Allocates and touches memory until something stops it: the memory cap must.
fn main() {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 16 << 20];
        block[0] = 1;
        *block.last_mut().unwrap_or(&mut 0) = 1;
        blocks.push(std::hint::black_box(block));
        println!("allocated {} MiB", blocks.len() * 16);
    }
}
