//! Snapshot tickets: numbers that name a snapshot being written off the
//! event loop, so that any thread of the process (a piscina worker) can wait
//! for its bytes and summarize them where they are, with no copy through JS.
//!
//! The registry is process-wide (the addon is loaded once per process, by
//! the main thread and every worker). It holds at most `MAX_OUTSTANDING`
//! tickets: past that the oldest is dropped, so that tickets nobody redeems
//! (a worker pool that went away) cannot pile up.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::sealer::Ticket;

/// Tickets kept at most; a process redeems its tickets within seconds.
pub const MAX_OUTSTANDING: usize = 256;

#[derive(Default)]
struct Registry {
    next: u32,
    tickets: BTreeMap<u32, Arc<Ticket>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 1,
    tickets: BTreeMap::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers `ticket` and returns its number (never 0).
pub fn register(ticket: Arc<Ticket>) -> u32 {
    let mut r = registry();
    let id = r.next;
    r.next = r.next.checked_add(1).unwrap_or(1);
    r.tickets.insert(id, ticket);
    while r.tickets.len() > MAX_OUTSTANDING {
        r.tickets.pop_first();
    }
    id
}

/// Takes ticket `id` out of the registry: None when it is unknown, already
/// taken, released or dropped as too old.
pub fn take(id: u32) -> Option<Arc<Ticket>> {
    registry().tickets.remove(&id)
}

/// Tickets registered and not yet taken.
pub fn outstanding() -> usize {
    registry().tickets.len()
}
