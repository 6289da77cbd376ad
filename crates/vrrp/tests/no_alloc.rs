//! A master's periodic advert allocates nothing (issue 13: "no allocation on that path"): with
//! the adverts encoded once (`adverts.rs`) and the caller's action buffer re-used
//! (`Instance::handle_into`, as vrrpd's advert pacer does), a master settled at its interval
//! feeds `Input::Timer` a thousand times without one heap allocation on this thread. Counted by
//! a global allocator that counts this thread's allocations only while asked to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use common::{master, v3_cfg};
use vrrp::{Action, Input};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    if COUNTING.with(Cell::get) {
        COUNT.with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every call is passed on to the system allocator unchanged; counting touches only
// const-initialised thread-locals (no allocation, no re-entry).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations on this thread while `f` runs.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn a_settled_masters_advert_timer_allocates_nothing() {
    // The charm's default: v3, 100 ms ceiling, adaptive down to 30 ms.
    let mut cfg = v3_cfg();
    cfg.adaptive_floor = Some(Duration::from_millis(30));
    let (mut i, _) = master(cfg, std::time::Instant::now());
    let mut out: Vec<Action> = Vec::with_capacity(16);
    // On time every time: the interval steps down to its floor (and announces each step).
    let fire = |i: &mut vrrp::Instance, out: &mut Vec<Action>| {
        let t = i.poll_timeout().expect("a master's timer");
        out.clear();
        i.handle_into(t, Input::Timer, out);
    };
    for _ in 0..2_000 {
        fire(&mut i, &mut out);
    }
    assert_eq!(i.status().advert.interval_ms, 30, "settled at the floor");
    let mut sends = 0;
    let n = allocations(|| {
        for _ in 0..1_000 {
            fire(&mut i, &mut out);
            sends += out
                .iter()
                .filter(|a| matches!(a, Action::Send { .. }))
                .count();
        }
    });
    assert_eq!(sends, 1_000, "one advert per timer");
    assert_eq!(n, 0, "allocations in 1,000 advert timers");
    // The handle() convenience allocates its Vec: the counter does count.
    let t = i.poll_timeout().expect("timer");
    assert!(allocations(|| drop(i.handle(t, Input::Timer))) > 0);
}
