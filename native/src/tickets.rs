//! Snapshot tickets: numbers that name a snapshot being written off the
//! event loop, so that any thread of the process (a piscina worker) can wait
//! for its bytes and summarize them where they are, with no copy through JS.
//!
//! The registry is process-wide (the addon is loaded once per process, by
//! the main thread and every worker). Tickets are not limited in number: as
//! many `stats()` calls as are in flight hold one each, as they would hold
//! their snapshot's bytes. A ticket nobody redeems or releases (a task that
//! never ran) expires `TICKET_TTL` after it was issued: it is dropped at the
//! next registration, redemption or count, and can no longer be redeemed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sealer::Ticket;

/// How long an unredeemed ticket is kept; a process redeems its tickets
/// within seconds.
pub const TICKET_TTL: Duration = Duration::from_secs(300);

struct Registry {
    next: u32,
    /// By number, which grows with time: the oldest first.
    tickets: BTreeMap<u32, (Instant, Arc<Ticket>)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 1,
    tickets: BTreeMap::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers `ticket` and returns its number (never 0); drops the tickets
/// issued more than `TICKET_TTL` ago.
pub fn register(ticket: Arc<Ticket>) -> u32 {
    let now = Instant::now();
    let mut r = registry();
    r.expire(now);
    let id = r.next;
    r.next = r.next.checked_add(1).unwrap_or(1);
    r.tickets.insert(id, (now, ticket));
    id
}

/// Takes ticket `id` out of the registry: None when it is unknown, already
/// taken, released or expired.
pub fn take(id: u32) -> Option<Arc<Ticket>> {
    let mut r = registry();
    r.expire(Instant::now());
    r.tickets.remove(&id).map(|(_, t)| t)
}

/// Tickets registered, not yet taken and not expired.
pub fn outstanding() -> usize {
    let mut r = registry();
    r.expire(Instant::now());
    r.tickets.len()
}

impl Registry {
    /// Drops the tickets issued more than `TICKET_TTL` before `now`.
    fn expire(&mut self, now: Instant) {
        while self
            .tickets
            .first_key_value()
            .is_some_and(|(_, (issued, _))| now.saturating_duration_since(*issued) > TICKET_TTL)
        {
            self.tickets.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_expire_a_ttl_after_they_were_issued() {
        let issued = Instant::now();
        let mut r = Registry {
            next: 3,
            tickets: BTreeMap::new(),
        };
        r.tickets.insert(1, (issued, Arc::default()));
        r.tickets
            .insert(2, (issued + Duration::from_secs(60), Arc::default()));
        r.expire(issued + TICKET_TTL);
        assert_eq!(r.tickets.len(), 2, "not yet: at the TTL itself");
        r.expire(issued + TICKET_TTL + Duration::from_secs(1));
        assert_eq!(r.tickets.keys().copied().collect::<Vec<_>>(), vec![2]);
        r.expire(issued + TICKET_TTL + Duration::from_secs(61));
        assert!(r.tickets.is_empty());
    }
}
