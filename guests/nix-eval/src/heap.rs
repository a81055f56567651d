//! The guest's heap: one allocator behind both Rust's allocations and wasi-libc's `malloc`
//! family, made for an evaluator's traffic.
//!
//! Evaluation allocates and frees small objects at a high rate (thunks, frames, attribute
//! vectors, strings), and frees them in bulk when a list or a set dies. wasi-libc's dlmalloc
//! coalesces every freed block with its neighbours, so freeing a million thunks walks its
//! bins a million times (`dlfree` was 12 % of a `foldl'` over a million elements).
//!
//! Here a block of up to [`MAX_SMALL`] bytes comes from a page of blocks of its size class
//! (multiples of [`GRAIN`]): allocating pops the class's free list or takes the next block of
//! the class's current page, and freeing pushes the block back on the list. Nothing is
//! coalesced, and a small block has no header. Larger or over-aligned blocks come from the
//! backend's general allocator (the `dlmalloc` crate in the guest), behind a header that
//! records their size.
//!
//! Memory: a page, once given to a class, stays with it, so small blocks occupy at most the
//! peak of their class's live blocks plus one partly used page per class; large blocks are
//! returned to the general allocator. A wasm memory never shrinks anyway, and the sandbox's
//! memory limit bounds all of it.
//!
//! In the guest (wasm32, single-threaded) [`guest`] defines the C symbols `malloc`, `free`,
//! `calloc`, `realloc`, `aligned_alloc`, `posix_memalign`, `malloc_usable_size` and musl's
//! `__libc_*` aliases, so wasi-libc's own allocator is never linked: Rust's `System`
//! allocator, wasi-libc and the component-model glue (which allocates results on one side and
//! frees them on the other) all share this heap. Natively the system allocator is used, and
//! [`Heap`] is tested over a backend made of the system allocator.

use std::ptr;

/// Bytes in a page of small blocks (a wasm page).
pub const PAGE: usize = 64 << 10;
/// The size classes' granularity, and the alignment of every block.
pub const GRAIN: usize = 16;
/// The largest small block.
pub const MAX_SMALL: usize = 256;
const CLASSES: usize = MAX_SMALL / GRAIN;
/// A large block's header: its size and the offset of the block in what the backend gave.
const HEADER: usize = 2 * size_of::<usize>();
const _: () = assert!(HEADER <= GRAIN);

/// Where a [`Heap`] gets its memory.
///
/// # Safety
///
/// Pages must be `PAGE` bytes, `PAGE`-aligned, and never handed out twice; `class_of` must
/// answer what `set_class` recorded for the page holding an address, and 0 for addresses in
/// no such page (large blocks never lie in one).
pub unsafe trait Backend {
    /// A new page for small blocks, or null when memory is exhausted.
    fn page(&mut self) -> *mut u8;
    /// Records that `page` holds blocks of class `class` (1-based).
    fn set_class(&mut self, page: *mut u8, class: u8);
    /// The class of the page holding `addr`, 0 for none.
    fn class_of(&self, addr: *mut u8) -> u8;
    /// A block of `size` bytes aligned to `align` (a power of two, at least [`GRAIN`]) from
    /// the general allocator, or null.
    fn large(&mut self, size: usize, align: usize) -> *mut u8;
    /// Returns a block [`Backend::large`] gave, of `size` bytes aligned to `align`.
    ///
    /// # Safety
    ///
    /// `block` came from `large(size, align)` and is not used again.
    unsafe fn free_large(&mut self, block: *mut u8, size: usize, align: usize);
}

/// The allocator (see the module documentation).
#[derive(Debug)]
pub struct Heap<B> {
    /// Per class, the first free block; each free block holds the next one's address.
    free: [*mut u8; CLASSES],
    /// Per class, the next unused block of its current page and how many bytes of the page
    /// are left from there (a count, not an end address: a page may end at the top of the
    /// address space).
    bump: [(usize, usize); CLASSES],
    backend: B,
}

/// The class (1-based) of a request of `size` bytes, if small.
#[inline(always)]
fn small_class(size: usize, align: usize) -> Option<usize> {
    (size <= MAX_SMALL && align <= GRAIN).then(|| size.max(1).div_ceil(GRAIN))
}

impl<B: Backend> Heap<B> {
    /// An empty heap over `backend`.
    pub const fn new(backend: B) -> Heap<B> {
        Heap {
            free: [ptr::null_mut(); CLASSES],
            bump: [(0, 0); CLASSES],
            backend,
        }
    }

    /// `size` bytes aligned to `align` (a power of two), or null.
    ///
    /// # Safety
    ///
    /// `align` is a power of two.
    #[inline]
    pub unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        match small_class(size, align) {
            Some(class) => self.alloc_small(class),
            None => self.alloc_large(size, align),
        }
    }

    #[inline(always)]
    fn alloc_small(&mut self, class: usize) -> *mut u8 {
        let i = class - 1;
        let head = self.free[i];
        if !head.is_null() {
            // SAFETY: a free block holds the address of the next one in its first word.
            self.free[i] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let (next, left) = self.bump[i];
        let size = class * GRAIN;
        if size <= left {
            self.bump[i] = (next.wrapping_add(size), left - size);
            return next as *mut u8;
        }
        self.new_page(class)
    }

    /// Starts a new page for `class` and takes its first block.
    #[cold]
    fn new_page(&mut self, class: usize) -> *mut u8 {
        let page = self.backend.page();
        if page.is_null() {
            return page;
        }
        self.backend.set_class(page, class as u8);
        let size = class * GRAIN;
        // No block may end at the very top of the address space (one past its end would be
        // address 0): the top page keeps its last GRAIN bytes unused.
        let top = (page as usize).wrapping_add(PAGE) == 0;
        let left = PAGE - size - if top { GRAIN } else { 0 };
        self.bump[class - 1] = ((page as usize).wrapping_add(size), left);
        page
    }

    #[cold]
    fn alloc_large(&mut self, size: usize, align: usize) -> *mut u8 {
        // The header sits just before the block, so the block starts `align` bytes into what
        // the backend gives (at least GRAIN, which has room for the header).
        let align = align.max(GRAIN);
        let offset = align;
        // At least a byte, so the block lies inside what the backend gave, not at its end.
        let Some(total) = size.max(1).checked_add(offset) else {
            return ptr::null_mut();
        };
        let base = self.backend.large(total, align);
        if base.is_null() {
            return base;
        }
        // SAFETY: `base` has `total` bytes; the block starts `offset` bytes in, and the
        // header's two words end where it starts.
        unsafe {
            let block = base.add(offset);
            block.cast::<usize>().sub(2).write(size);
            block.cast::<usize>().sub(1).write(offset);
            block
        }
    }

    /// The size and offset a large block's header records.
    ///
    /// # Safety
    ///
    /// `block` is a live large block of this heap.
    unsafe fn header(block: *mut u8) -> (usize, usize) {
        // SAFETY: see `alloc_large`.
        unsafe {
            (
                block.cast::<usize>().sub(2).read(),
                block.cast::<usize>().sub(1).read(),
            )
        }
    }

    /// Frees `block` (null is ignored).
    ///
    /// # Safety
    ///
    /// `block` is null or a live block of this heap, not used again.
    #[inline]
    pub unsafe fn free(&mut self, block: *mut u8) {
        if block.is_null() {
            return;
        }
        match self.backend.class_of(block) {
            0 => {
                // SAFETY: not in a page of small blocks, so a large block.
                // Its offset is the alignment it was allocated with (see `alloc_large`).
                unsafe {
                    let (size, offset) = Self::header(block);
                    self.backend
                        .free_large(block.sub(offset), size + offset, offset);
                }
            }
            class => {
                let i = class as usize - 1;
                // SAFETY: a free small block holds the next free one's address.
                unsafe { block.cast::<*mut u8>().write(self.free[i]) };
                self.free[i] = block;
            }
        }
    }

    /// How many bytes `block` can hold.
    ///
    /// # Safety
    ///
    /// `block` is a live block of this heap.
    pub unsafe fn usable_size(&self, block: *mut u8) -> usize {
        match self.backend.class_of(block) {
            // SAFETY: a large block (see `free`).
            0 => unsafe { Self::header(block).0 },
            class => class as usize * GRAIN,
        }
    }

    /// `block` resized to `size` bytes (C's `realloc`: null allocates; on failure null, and
    /// `block` is still valid).
    ///
    /// # Safety
    ///
    /// `block` is null or a live block of this heap.
    pub unsafe fn realloc(&mut self, block: *mut u8, size: usize) -> *mut u8 {
        if block.is_null() {
            // SAFETY: GRAIN is a power of two.
            return unsafe { self.alloc(size, GRAIN) };
        }
        // SAFETY: `block` is live.
        let have = unsafe { self.usable_size(block) };
        if size <= have && (size > MAX_SMALL || have <= MAX_SMALL) {
            // Fits (a small request keeps a large block only if it is small already).
            return block;
        }
        // SAFETY: GRAIN is a power of two; the new block has room for the bytes copied.
        unsafe {
            let new = self.alloc(size, GRAIN);
            if new.is_null() {
                // A large block shrinking to a small size stays where it is if it must.
                return if size <= have { block } else { new };
            }
            ptr::copy_nonoverlapping(block, new, have.min(size));
            self.free(block);
            new
        }
    }
}

/// The heap of the wasm guest, and the C allocation functions over it.
#[cfg(all(target_arch = "wasm32", target_os = "wasi", not(test)))]
pub mod guest {
    use std::cell::UnsafeCell;
    use std::ffi::c_void;

    use super::{Backend, GRAIN, Heap, PAGE};

    /// Pages of small blocks are taken from the memory this many at a time (1 MiB), so the
    /// memory grows in steps of that size rather than a page at a time.
    const PAGES_PER_GROW: usize = 16;
    /// The class of every page of the 4 GiB address space (0: no small blocks).
    const PAGE_COUNT: usize = 1 << (32 - PAGE.trailing_zeros());

    /// Memory straight from `memory.grow`, and large blocks from the `dlmalloc` crate (which
    /// grows the memory for itself too: the two never share a page).
    pub struct WasmBackend {
        /// Pages grown but not handed out yet: the first one's index and how many.
        reserve: (usize, usize),
        large: dlmalloc::Dlmalloc,
    }

    /// The class of every page (all zeros at start: a static of its own, so it takes no
    /// room in the module's data, which `dlmalloc`'s non-zero state would put it in).
    struct Classes(UnsafeCell<[u8; PAGE_COUNT]>);

    // SAFETY: the wasm guest has one thread.
    unsafe impl Sync for Classes {}

    static CLASSES: Classes = Classes(UnsafeCell::new([0; PAGE_COUNT]));

    // SAFETY: pages are fresh from `memory.grow`, PAGE-aligned and each handed out once;
    // the class map covers the whole 32-bit address space, and `dlmalloc` never gets those
    // pages.
    unsafe impl Backend for WasmBackend {
        fn page(&mut self) -> *mut u8 {
            let (next, count) = self.reserve;
            let page = if count > 0 {
                self.reserve = (next + 1, count - 1);
                next
            } else {
                match core::arch::wasm32::memory_grow(0, PAGES_PER_GROW) {
                    // The limit may still allow one page.
                    usize::MAX => match core::arch::wasm32::memory_grow(0, 1) {
                        usize::MAX => return std::ptr::null_mut(),
                        one => one,
                    },
                    first => {
                        self.reserve = (first + 1, PAGES_PER_GROW - 1);
                        first
                    }
                }
            };
            // Page indices are below 2^16, so the address fits in 32 bits.
            (page * PAGE) as *mut u8
        }

        fn set_class(&mut self, page: *mut u8, class: u8) {
            // SAFETY: one thread, and no reference to the map outlives these calls.
            unsafe { (*CLASSES.0.get())[page as usize / PAGE] = class }
        }

        #[inline(always)]
        fn class_of(&self, addr: *mut u8) -> u8 {
            // SAFETY: as in `set_class`.
            unsafe { (*CLASSES.0.get())[addr as usize / PAGE] }
        }

        fn large(&mut self, size: usize, align: usize) -> *mut u8 {
            // SAFETY: `align` is a power of two.
            unsafe { self.large.malloc(size, align) }
        }

        unsafe fn free_large(&mut self, block: *mut u8, _size: usize, _align: usize) {
            // SAFETY: the caller passes back what `large` gave. (The layout-free call makes
            // no size checks, which would panic, and so allocate, inside the heap.)
            unsafe { self.large.c_free(block) }
        }
    }

    impl std::fmt::Debug for WasmBackend {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("WasmBackend")
                .field("reserve", &self.reserve)
                .finish_non_exhaustive()
        }
    }

    struct GuestHeap(UnsafeCell<Heap<WasmBackend>>);

    // SAFETY: the wasm guest has one thread.
    unsafe impl Sync for GuestHeap {}

    static HEAP: GuestHeap = GuestHeap(UnsafeCell::new(Heap::new(WasmBackend {
        reserve: (0, 0),
        large: dlmalloc::Dlmalloc::new(),
    })));

    /// The heap. Calls never nest (the heap calls nothing that allocates), and the guest
    /// has one thread, so the reference is unique while it is used.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    fn heap() -> &'static mut Heap<WasmBackend> {
        // SAFETY: see above.
        unsafe { &mut *HEAP.0.get() }
    }

    /// WASI's `EINVAL` and `ENOMEM`.
    const EINVAL: i32 = 28;
    const ENOMEM: i32 = 48;

    unsafe extern "C" {
        /// wasi-libc's `errno`.
        fn __errno_location() -> *mut i32;
    }

    /// `block`, setting `errno` to `ENOMEM` when it is null (as C's allocation functions do).
    #[inline(always)]
    fn or_enomem(block: *mut u8) -> *mut c_void {
        if block.is_null() {
            // SAFETY: wasi-libc's errno location is always valid.
            unsafe { *__errno_location() = ENOMEM };
        }
        block.cast()
    }

    /// C's `malloc`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        // SAFETY: GRAIN is a power of two.
        or_enomem(unsafe { heap().alloc(size, GRAIN) })
    }

    /// musl's name for `malloc`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_malloc(size: usize) -> *mut c_void {
        // SAFETY: as C's.
        unsafe { malloc(size) }
    }

    /// C's `free`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn free(block: *mut c_void) {
        // SAFETY: as C's.
        unsafe { heap().free(block.cast()) }
    }

    /// musl's name for `free`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_free(block: *mut c_void) {
        // SAFETY: as C's.
        unsafe { free(block) }
    }

    /// C's `calloc`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        let Some(bytes) = count.checked_mul(size) else {
            return or_enomem(std::ptr::null_mut());
        };
        // SAFETY: GRAIN is a power of two; a non-null block has `bytes` bytes.
        unsafe {
            let block = heap().alloc(bytes, GRAIN);
            if !block.is_null() {
                block.write_bytes(0, bytes);
            }
            or_enomem(block)
        }
    }

    /// musl's name for `calloc`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_calloc(count: usize, size: usize) -> *mut c_void {
        // SAFETY: as C's.
        unsafe { calloc(count, size) }
    }

    /// C's `realloc`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn realloc(block: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: as C's.
        or_enomem(unsafe { heap().realloc(block.cast(), size) })
    }

    /// C's `aligned_alloc`.
    ///
    /// # Safety
    ///
    /// As C's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
        if !align.is_power_of_two() {
            // SAFETY: wasi-libc's errno location is always valid.
            unsafe { *__errno_location() = EINVAL };
            return std::ptr::null_mut();
        }
        // SAFETY: `align` is a power of two.
        or_enomem(unsafe { heap().alloc(size, align) })
    }

    /// POSIX's `posix_memalign`.
    ///
    /// # Safety
    ///
    /// As POSIX's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn posix_memalign(
        out: *mut *mut c_void,
        align: usize,
        size: usize,
    ) -> i32 {
        if !align.is_power_of_two() || !align.is_multiple_of(size_of::<usize>()) {
            return EINVAL;
        }
        // SAFETY: `align` is a power of two; `out` is writable, as POSIX requires.
        unsafe {
            let block = heap().alloc(size, align);
            if block.is_null() {
                return ENOMEM;
            }
            out.write(block.cast());
        }
        0
    }

    /// `malloc_usable_size`.
    ///
    /// # Safety
    ///
    /// As glibc's.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn malloc_usable_size(block: *mut c_void) -> usize {
        if block.is_null() {
            return 0;
        }
        // SAFETY: a live block.
        unsafe { heap().usable_size(block.cast()) }
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::{Layout, alloc, dealloc};
    use std::collections::HashMap;

    use super::*;

    /// Pages and large blocks from the system allocator, the classes in a map.
    #[derive(Default)]
    struct TestBackend {
        classes: HashMap<usize, u8>,
        pages: usize,
        large_live: usize,
        page_limit: usize,
    }

    unsafe impl Backend for TestBackend {
        fn page(&mut self) -> *mut u8 {
            if self.pages == self.page_limit {
                return ptr::null_mut();
            }
            self.pages += 1;
            // SAFETY: a non-zero layout. (Leaked: the test ends.)
            unsafe { alloc(Layout::from_size_align(PAGE, PAGE).unwrap()) }
        }
        fn set_class(&mut self, page: *mut u8, class: u8) {
            self.classes.insert(page as usize / PAGE, class);
        }
        fn class_of(&self, addr: *mut u8) -> u8 {
            self.classes
                .get(&(addr as usize / PAGE))
                .copied()
                .unwrap_or(0)
        }
        fn large(&mut self, size: usize, align: usize) -> *mut u8 {
            // More than a test could have: the general allocator says no.
            if size > 1 << 32 {
                return ptr::null_mut();
            }
            self.large_live += 1;
            // SAFETY: a non-zero layout.
            unsafe { alloc(Layout::from_size_align(size, align).unwrap()) }
        }
        unsafe fn free_large(&mut self, block: *mut u8, size: usize, align: usize) {
            self.large_live -= 1;
            // SAFETY: as `large` gave it.
            unsafe { dealloc(block, Layout::from_size_align(size, align).unwrap()) }
        }
    }

    fn heap(page_limit: usize) -> Heap<TestBackend> {
        Heap::new(TestBackend {
            page_limit,
            ..TestBackend::default()
        })
    }

    /// A deterministic pseudo-random sequence (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Random allocations, frees and reallocations of every size class and of large and
    /// over-aligned blocks: each block keeps its contents, is aligned, and overlaps no
    /// other live block.
    #[test]
    fn blocks_keep_their_contents_and_never_overlap() {
        let mut h = heap(usize::MAX);
        let mut rng = Rng(0x9e3779b97f4a7c15);
        // (block, size, fill byte, alignment)
        let mut live: Vec<(*mut u8, usize, u8, usize)> = Vec::new();
        let check = |b: *mut u8, size: usize, fill: u8| {
            let bytes = unsafe { std::slice::from_raw_parts(b, size) };
            assert!(
                bytes.iter().all(|&x| x == fill),
                "contents of {b:?} changed"
            );
        };
        for step in 0..60_000 {
            match rng.next(10) {
                0..=4 => {
                    let size = match rng.next(4) {
                        0 => rng.next(MAX_SMALL + 1),
                        1 => rng.next(64),
                        2 => MAX_SMALL + rng.next(5000),
                        _ => rng.next(100_000),
                    };
                    let align = [1, 4, 8, 16, 32, 4096][rng.next(6)];
                    let b = unsafe { h.alloc(size, align) };
                    assert!(!b.is_null());
                    assert_eq!(b as usize % align.max(GRAIN), 0, "alignment {align}");
                    assert!(unsafe { h.usable_size(b) } >= size);
                    let fill = step as u8;
                    unsafe { b.write_bytes(fill, size) };
                    live.push((b, size, fill, align));
                }
                5..=7 if !live.is_empty() => {
                    let (b, size, fill, _) = live.swap_remove(rng.next(live.len()));
                    check(b, size, fill);
                    unsafe { h.free(b) };
                }
                8 if !live.is_empty() => {
                    let i = rng.next(live.len());
                    let (b, size, fill, _) = live[i];
                    check(b, size, fill);
                    let new_size = match rng.next(3) {
                        0 => rng.next(MAX_SMALL + 1),
                        1 => size / 2,
                        _ => size + rng.next(5000),
                    };
                    let nb = unsafe { h.realloc(b, new_size) };
                    assert!(!nb.is_null());
                    // C's realloc keeps only the natural alignment.
                    assert_eq!(nb as usize % GRAIN, 0);
                    assert!(unsafe { h.usable_size(nb) } >= new_size);
                    check(nb, size.min(new_size), fill);
                    unsafe { nb.write_bytes(fill, new_size) };
                    live[i] = (nb, new_size, fill, GRAIN);
                }
                _ => {}
            }
        }
        // No two live blocks overlap.
        let mut spans: Vec<(usize, usize)> = live
            .iter()
            .map(|&(b, size, ..)| (b as usize, b as usize + size.max(1)))
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "blocks overlap: {w:?}");
        }
        for (b, size, fill, _) in live {
            check(b, size, fill);
            unsafe { h.free(b) };
        }
        assert_eq!(h.backend.large_live, 0, "large blocks leaked");
    }

    /// A freed small block is reused by the next request of its class, and a class takes
    /// pages only as it needs them.
    #[test]
    fn small_blocks_are_reused_within_their_class() {
        let mut h = heap(usize::MAX);
        let a = unsafe { h.alloc(40, 8) };
        unsafe { h.free(a) };
        assert_eq!(unsafe { h.alloc(48, 8) }, a, "same class (48 bytes)");
        let b = unsafe { h.alloc(40, 8) };
        assert_ne!(b, a);
        assert_eq!(unsafe { h.usable_size(b) }, 48);
        // A page of 48-byte blocks holds PAGE / 48 of them before a second page is taken.
        let pages = h.backend.pages;
        for _ in 2..PAGE / 48 {
            unsafe { h.alloc(48, 8) };
        }
        assert_eq!(h.backend.pages, pages);
        unsafe { h.alloc(48, 8) };
        assert_eq!(h.backend.pages, pages + 1);
    }

    /// When memory runs out, allocation answers null, and the heap and its blocks are
    /// still good.
    #[test]
    fn exhaustion_is_null_not_a_crash() {
        let mut h = heap(1);
        let first = unsafe { h.alloc(16, 16) };
        assert!(!first.is_null());
        assert!(
            unsafe { h.alloc(32, 16) }.is_null(),
            "no page left for class 2"
        );
        unsafe { h.free(first) };
        assert_eq!(unsafe { h.alloc(16, 16) }, first);
        unsafe { first.write_bytes(7, 16) };
        assert!(unsafe { h.realloc(first, 200) }.is_null());
        assert!(
            unsafe { std::slice::from_raw_parts(first, 16) }
                .iter()
                .all(|&x| x == 7)
        );
        // A large block shrinking to a small size stays put when no page is left.
        let big = unsafe { h.alloc(1000, 16) };
        assert!(!big.is_null());
        assert_eq!(unsafe { h.realloc(big, 100) }, big);
        unsafe { h.free(big) };
        unsafe { h.free(first) };
        // Sizes no allocator can give.
        assert!(unsafe { h.alloc(usize::MAX, 16) }.is_null());
        assert!(unsafe { h.alloc(isize::MAX as usize, 16) }.is_null());
        assert_eq!(h.backend.large_live, 0);
    }

    /// Zero-size and very over-aligned requests get real, aligned blocks inside what the
    /// general allocator gave, which free takes back.
    #[test]
    fn zero_sizes_and_large_alignments() {
        let mut h = heap(usize::MAX);
        for align in [1, 16, 32, 4096, PAGE, 2 * PAGE] {
            let b = unsafe { h.alloc(0, align) };
            assert!(!b.is_null());
            assert_eq!(b as usize % align.max(GRAIN), 0, "alignment {align}");
            let c = unsafe { h.alloc(0, align) };
            assert_ne!(b, c, "two blocks of size 0 are distinct");
            unsafe {
                h.free(b);
                h.free(c);
            }
        }
        assert_eq!(h.backend.large_live, 0);
    }
}
