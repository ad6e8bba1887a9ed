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
//!
//! Numbers are u32 (never 0): after u32::MAX they start again at 1, skipping
//! the numbers of outstanding tickets, so a number names one ticket while it
//! is outstanding. A number redeemed, released or expired is unknown (a clear
//! error) until 2^32 - 1 more tickets have been issued.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sealer::Ticket;

/// How long an unredeemed ticket is kept; a process redeems its tickets
/// within seconds.
pub const TICKET_TTL: Duration = Duration::from_secs(300);

struct Registry {
    next: u32,
    /// By number, with the time each was issued.
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
    registry().register(Instant::now(), ticket)
}

/// Takes ticket `id` out of the registry: None when it is unknown, already
/// taken, released or expired.
pub fn take(id: u32) -> Option<Arc<Ticket>> {
    registry().take(Instant::now(), id)
}

/// Tickets registered, not yet taken and not expired.
pub fn outstanding() -> usize {
    let mut r = registry();
    r.expire(Instant::now());
    r.tickets.len()
}

impl Registry {
    fn register(&mut self, now: Instant, ticket: Arc<Ticket>) -> u32 {
        self.expire(now);
        // past u32::MAX numbers start again at 1, skipping those outstanding
        // (there are far fewer than 2^32: each holds a snapshot)
        let mut id = self.next;
        while id == 0 || self.tickets.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next = id.wrapping_add(1);
        self.tickets.insert(id, (now, ticket));
        id
    }

    fn take(&mut self, now: Instant, id: u32) -> Option<Arc<Ticket>> {
        self.expire(now);
        self.tickets.remove(&id).map(|(_, t)| t)
    }

    /// Drops the tickets issued more than `TICKET_TTL` before `now`
    /// (all of them: numbers follow the order of issue only until they wrap).
    fn expire(&mut self, now: Instant) {
        self.tickets
            .retain(|_, (issued, _)| now.saturating_duration_since(*issued) <= TICKET_TTL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past u32::MAX the numbers start again at 1, skipping those still
    /// outstanding: ticket 1, issued 4 billion tickets ago and not yet
    /// redeemed, stays its own (it was replaced by the new ticket 1, whose
    /// bytes its holder then got), and expiry still finds the old tickets.
    #[test]
    fn numbers_wrap_without_replacing_an_outstanding_ticket() {
        let start = Instant::now();
        let mut r = Registry {
            next: u32::MAX - 1,
            tickets: BTreeMap::new(),
        };
        let old: Vec<Arc<Ticket>> = (0..3).map(|_| Arc::default()).collect();
        r.tickets.insert(1, (start, Arc::clone(&old[0])));
        r.tickets.insert(3, (start, Arc::clone(&old[1])));
        r.tickets.insert(u32::MAX - 5, (start, Arc::clone(&old[2])));
        let later = start + Duration::from_secs(10);
        let new: Vec<Arc<Ticket>> = (0..4).map(|_| Arc::default()).collect();
        let ids: Vec<u32> = new
            .iter()
            .map(|t| r.register(later, Arc::clone(t)))
            .collect();
        assert_eq!(ids, vec![u32::MAX - 1, u32::MAX, 2, 4]);
        for (id, t) in [(1, &old[0]), (3, &old[1]), (u32::MAX - 5, &old[2])] {
            assert!(Arc::ptr_eq(&r.take(later, id).unwrap(), t), "ticket {id}");
        }
        for (id, t) in ids.iter().zip(&new) {
            assert!(Arc::ptr_eq(&r.take(later, *id).unwrap(), t), "ticket {id}");
        }
        assert!(r.take(later, 1).is_none(), "redeemed");
        // tickets issued before the wrap expire though newer ones have
        // lower numbers
        r.tickets.insert(u32::MAX - 2, (start, Arc::default()));
        let fresh = r.register(later, Arc::default());
        assert_eq!(fresh, 5);
        r.expire(start + TICKET_TTL + Duration::from_secs(1));
        assert_eq!(r.tickets.keys().copied().collect::<Vec<_>>(), vec![5]);
    }

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
