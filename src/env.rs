//! Injected randomness and time.
//!
//! The protocol cores never read the OS random source or the clock directly: they ask an
//! [`Environment`]. The default one uses the operating system; tests use
//! [`Environment::deterministic`] so a run produces byte-exact tokens.

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Windows `FILETIME`: 100-nanosecond intervals since 1601-01-01 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

impl FileTime {
    /// Seconds between 1601-01-01 and 1970-01-01.
    const UNIX_EPOCH_SECONDS: u64 = 11_644_473_600;
    /// The value Windows uses for "never expires" (`0x7FFFFFFFFFFFFFFF`).
    pub const NEVER: FileTime = FileTime(0x7FFF_FFFF_FFFF_FFFF);

    /// Converts a [`SystemTime`]; times before 1601 become 0.
    pub fn from_system_time(t: SystemTime) -> Self {
        let ticks = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (Self::UNIX_EPOCH_SECONDS * 10_000_000).saturating_add(ticks(d)),
            Err(e) => (Self::UNIX_EPOCH_SECONDS * 10_000_000).saturating_sub(ticks(e.duration())),
        };
        FileTime(ticks)
    }

    /// The absolute distance between two times.
    pub fn abs_diff(self, other: FileTime) -> Duration {
        let ticks = self.0.abs_diff(other.0);
        Duration::from_secs(ticks / 10_000_000) + Duration::from_nanos((ticks % 10_000_000) * 100)
    }

    /// This time moved forward by `d` (saturating).
    pub fn plus(self, d: Duration) -> FileTime {
        FileTime(self.0.saturating_add(ticks(d)))
    }
}

/// `d` in 100-nanosecond ticks, saturating: `d.as_nanos() / 100` without a 128-bit division
/// (the system clock is read on every handshake).
fn ticks(d: Duration) -> u64 {
    d.as_secs().saturating_mul(10_000_000).saturating_add(u64::from(d.subsec_nanos() / 100))
}

/// A source of cryptographic randomness.
pub trait RandomSource: Send + Sync {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`Error::RandomSource`] if no randomness can be had.
    fn fill(&self, dest: &mut [u8]) -> Result<()>;

    /// Fills two buffers that are wanted at the same moment (an NTLM client's challenge and
    /// session key). The default is two [`fill`](Self::fill) calls, in order, so a scripted
    /// source sees the same requests either way; [`OsRandom`] fills both from one system call.
    ///
    /// # Errors
    /// [`Error::RandomSource`] if no randomness can be had.
    fn fill_two(&self, first: &mut [u8], second: &mut [u8]) -> Result<()> {
        self.fill(first)?;
        self.fill(second)
    }
}

/// A clock.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> FileTime;
}

/// The operating system's random source (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        getrandom::fill(dest).map_err(|_| Error::RandomSource)
    }

    fn fill_two(&self, first: &mut [u8], second: &mut [u8]) -> Result<()> {
        // One system call instead of two (each costs more than the bytes it returns).
        let mut both = crate::crypto::Secret([0u8; 64]);
        let (a, b) = (first.len(), second.len());
        match both.get_mut(..a + b) {
            Some(buf) => {
                self.fill(buf)?;
                let (x, y) = buf.split_at(a);
                first.copy_from_slice(x);
                second.copy_from_slice(y);
                Ok(())
            }
            None => {
                self.fill(first)?;
                self.fill(second)
            }
        }
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> FileTime {
        FileTime::from_system_time(SystemTime::now())
    }
}

/// A clock that reads a value the test sets. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<Mutex<FileTime>>);

impl ManualClock {
    /// A clock standing at `t`.
    pub fn new(t: FileTime) -> Self {
        Self(Arc::new(Mutex::new(t)))
    }

    /// Sets the time.
    pub fn set(&self, t: FileTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    /// Moves the time forward.
    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t = t.plus(d);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> FileTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Deterministic "randomness" for tests: MD5 in counter mode over a seed. **Not random**:
/// never use it outside tests. Clones share the same counter.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    seed: u64,
    counter: Arc<Mutex<u64>>,
}

impl SeededRandom {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed, counter: Arc::new(Mutex::new(0)) }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        let mut counter = self.counter.lock().unwrap_or_else(|e| e.into_inner());
        for chunk in dest.chunks_mut(16) {
            let block = crate::crypto::md5(&[&self.seed.to_le_bytes(), &counter.to_le_bytes()]);
            *counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

/// Randomness that hands out a scripted list of byte strings, one per request, each of
/// exactly the requested length (for reproducing published vectors). Fails with
/// [`Error::RandomSource`] when the script runs out or a length does not match.
#[derive(Debug, Clone)]
pub struct ScriptedRandom(Arc<Mutex<std::collections::VecDeque<Vec<u8>>>>);

impl ScriptedRandom {
    /// Randomness that returns `outputs` in order.
    pub fn new(outputs: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self(Arc::new(Mutex::new(outputs.into_iter().collect())))
    }
}

impl RandomSource for ScriptedRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match q.pop_front() {
            Some(next) if next.len() == dest.len() => {
                dest.copy_from_slice(&next);
                Ok(())
            }
            _ => Err(Error::RandomSource),
        }
    }
}

/// Where a context gets its randomness and time.
#[derive(Clone)]
pub struct Environment(Sources);

/// The system's sources are named rather than held behind `Arc`s: making, cloning and
/// dropping the environment of a context (several times per handshake) then touches no
/// reference count, and its calls are direct.
#[derive(Clone)]
enum Sources {
    System,
    Custom { random: Arc<dyn RandomSource>, clock: Arc<dyn Clock> },
}

impl Environment {
    /// The operating system's random source and clock. (Cloning it allocates nothing and
    /// touches no reference count.)
    pub fn system() -> Self {
        Self(Sources::System)
    }

    /// Any random source and clock.
    pub fn new(random: impl RandomSource + 'static, clock: impl Clock + 'static) -> Self {
        Self(Sources::Custom { random: Arc::new(random), clock: Arc::new(clock) })
    }

    /// Seeded randomness and a clock fixed at `time` (tests only).
    pub fn deterministic(seed: u64, time: FileTime) -> Self {
        Self::new(SeededRandom::new(seed), ManualClock::new(time))
    }

    pub(crate) fn random<const N: usize>(&self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        match &self.0 {
            Sources::System => OsRandom.fill(&mut out)?,
            Sources::Custom { random, .. } => random.fill(&mut out)?,
        }
        Ok(out)
    }

    pub(crate) fn random_two<const A: usize, const B: usize>(&self) -> Result<([u8; A], [u8; B])> {
        let (mut a, mut b) = ([0u8; A], [0u8; B]);
        match &self.0 {
            Sources::System => OsRandom.fill_two(&mut a, &mut b)?,
            Sources::Custom { random, .. } => random.fill_two(&mut a, &mut b)?,
        }
        Ok((a, b))
    }

    pub(crate) fn now(&self) -> FileTime {
        match &self.0 {
            Sources::System => SystemClock.now(),
            Sources::Custom { clock, .. } => clock.now(),
        }
    }
}

impl Default for Environment {
    fn default() -> Self {
        Self::system()
    }
}

impl core::fmt::Debug for Environment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Environment")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nanoseconds_over_100_saturating() {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(99),
            Duration::from_nanos(100),
            Duration::new(1, 999_999_999),
            Duration::new(1_700_000_000, 123_456_789),
            Duration::new(u64::MAX / 10_000_000, 999_999_999),
            Duration::new(u64::MAX / 10_000_000 + 1, 0),
            Duration::MAX,
        ] {
            let expected = u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX);
            assert_eq!(ticks(d), expected, "{d:?}");
        }
    }

    #[test]
    fn filetime_of_unix_epoch() {
        assert_eq!(FileTime::from_system_time(UNIX_EPOCH).0, 116_444_736_000_000_000);
        let t = FileTime(1_000);
        assert_eq!(t.plus(Duration::from_micros(1)).0, 1_010);
        assert_eq!(FileTime(0).abs_diff(FileTime(25_000_000)), Duration::from_millis(2500));
    }

    #[test]
    fn seeded_random_is_repeatable_and_seed_dependent() {
        let (mut a, mut b, mut c) = ([0u8; 20], [0u8; 20], [0u8; 20]);
        SeededRandom::new(1).fill(&mut a).unwrap();
        SeededRandom::new(1).fill(&mut b).unwrap();
        SeededRandom::new(2).fill(&mut c).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn scripted_random_checks_lengths() {
        let r = ScriptedRandom::new([vec![1, 2], vec![3]]);
        let mut two = [0u8; 2];
        r.fill(&mut two).unwrap();
        assert_eq!(two, [1, 2]);
        assert_eq!(r.fill(&mut two), Err(Error::RandomSource));
    }

    #[test]
    fn fill_two_keeps_the_requests_of_scripted_sources() {
        // The default makes the two requests in order, so published vectors still line up.
        let r = ScriptedRandom::new([vec![1; 8], vec![2; 16]]);
        let (mut a, mut b) = ([0u8; 8], [0u8; 16]);
        r.fill_two(&mut a, &mut b).unwrap();
        assert_eq!((a, b), ([1; 8], [2; 16]));
        let r = ScriptedRandom::new([vec![1; 24]]);
        assert_eq!(r.fill_two(&mut a, &mut b), Err(Error::RandomSource));
    }

    #[test]
    fn os_fill_two_fills_both() {
        // One request split in two: both parts random (all-zero 8 bytes: chance 2^-64), and
        // different from each other; an oversized pair falls back to two requests.
        let (mut a, mut b) = ([0u8; 8], [0u8; 16]);
        OsRandom.fill_two(&mut a, &mut b).unwrap();
        assert_ne!(a, [0; 8]);
        assert_ne!(b[..8], [0; 8]);
        assert_ne!(a, b[..8]);
        let (mut big, mut small) = ([0u8; 60], [0u8; 8]);
        OsRandom.fill_two(&mut big, &mut small).unwrap();
        assert_ne!(big[52..], [0; 8]);
        assert_ne!(small, [0; 8]);
    }
}
