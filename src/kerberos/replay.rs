//! The acceptor's replay cache (RFC 4120 section 3.2.3): an authenticator accepted once is
//! refused the second time, for as long as its time would still pass the skew check.
//!
//! One cache belongs to one acceptor credential and is shared by every context made from it
//! (and by contexts imported with it). Entries are keyed by the SHA-256 of the authenticator's
//! ciphertext, as MIT's file cache has been since 1.18 (a hash of what was on the wire: two
//! distinct authenticators never collide, and the same one replayed always does), and expire
//! `skew` seconds after the authenticator's own time, when the time check refuses it anyway.
//!
//! Memory is bounded: at most `capacity` entries live at once. When the cache is full of
//! entries that have not expired, a new authentication is refused
//! ([`Error::ReplayCacheFull`], `SEC_E_INSUFFICIENT_MEMORY`) rather than an entry dropped early,
//! which would let that authenticator be replayed: the failure is closed, and written in
//! `manual`.

use crate::error::{Error, Result};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Default number of live entries: 250,000 authentications within one skew window (~830 per
/// second over 5 minutes) in about 20 MiB.
pub const DEFAULT_CAPACITY: usize = 250_000;

/// An in-memory replay cache (see the [module documentation](self)).
pub struct ReplayCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// tag -> expiry (seconds since the Unix epoch).
    live: HashMap<[u8; 32], i64>,
    /// Insertion order with expiry, for expiring the oldest first.
    order: VecDeque<([u8; 32], i64)>,
}

impl core::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayCache")
            .field("capacity", &self.capacity)
            .field("entries", &self.len())
            .finish()
    }
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl ReplayCache {
    /// A cache of at most `capacity` live entries.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(Entries::default()) }
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).live.len()
    }

    /// Whether no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records the authenticator `tag` (time `ctime`) at `now`, keeping it until
    /// `ctime + skew`.
    ///
    /// # Errors
    /// [`Error::Replay`] if it was recorded before and has not expired;
    /// [`Error::ReplayCacheFull`] if `capacity` entries are live.
    pub fn check_and_insert(&self, tag: [u8; 32], ctime: i64, now: i64, skew: u32) -> Result<()> {
        let mut e = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Expire from the front while the oldest entries are past their time. Expiry times
        // are not monotonic in insertion order (authenticator clocks differ by up to the
        // skew), so an entry may outlive its time by at most one skew window: harmless.
        while let Some(&(tag_front, expiry)) = e.order.front() {
            if expiry >= now {
                break;
            }
            e.order.pop_front();
            if e.live.get(&tag_front) == Some(&expiry) {
                e.live.remove(&tag_front);
            }
        }
        let expiry = ctime.saturating_add(i64::from(skew));
        if let Some(&old) = e.live.get(&tag)
            && old >= now
        {
            return Err(Error::Replay);
        }
        if e.live.len() >= self.capacity {
            return Err(Error::ReplayCacheFull);
        }
        e.live.insert(tag, expiry);
        e.order.push_back((tag, expiry));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_is_refused_until_it_expires() {
        let c = ReplayCache::new(10);
        c.check_and_insert([1; 32], 1000, 1000, 300).unwrap();
        assert_eq!(c.check_and_insert([1; 32], 1000, 1100, 300), Err(Error::Replay));
        c.check_and_insert([2; 32], 1000, 1100, 300).unwrap();
        // After ctime + skew the entry is gone (and the time check refuses it anyway).
        c.check_and_insert([1; 32], 1000, 1301, 300).unwrap();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_full_cache_refuses_rather_than_forgets() {
        let c = ReplayCache::new(2);
        c.check_and_insert([1; 32], 1000, 1000, 300).unwrap();
        c.check_and_insert([2; 32], 1000, 1000, 300).unwrap();
        assert_eq!(c.check_and_insert([3; 32], 1000, 1000, 300), Err(Error::ReplayCacheFull));
        // Both recorded ones are still refused as replays.
        assert_eq!(c.check_and_insert([1; 32], 1000, 1000, 300), Err(Error::Replay));
        // Once they expire there is room again.
        c.check_and_insert([3; 32], 1400, 1400, 300).unwrap();
        assert_eq!(c.len(), 1);
    }
}
