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
//!
//! # The file cache
//!
//! [`ReplayCache::file`] keeps the entries in a file instead, so that several processes (the
//! workers of a pre-fork server, accepting in parallel) share one cache: an authenticator
//! accepted by one process is refused as a replay by every other. Each check-and-insert holds
//! an exclusive advisory lock on the whole file ([`std::fs::File::lock`]: `flock(2)` on Unix,
//! `LockFileEx` on Windows) from the read of the slots to the write of the new record, so two
//! processes (or two caches opened on the same path in one process) can never both accept
//! the same authenticator. The lock is advisory: only processes that use this format through
//! this code are kept in step; do not put the file on a network file system.
//!
//! ## Format (version 1)
//!
//! All integers are big-endian. The file is a 64-byte header followed by `slots` records of
//! 32 bytes, and its length is exactly `64 + 32 * slots`: it is created at that size and never
//! grows or shrinks (at most [`MAX_FILE_SLOTS`] slots, 128 MiB and 64 bytes).
//!
//! | offset | length | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic: ASCII `SSPIEMRC` |
//! | 8 | 2 | format version: 1 |
//! | 10 | 2 | record length: 32 |
//! | 12 | 4 | `slots`: number of records, 1 to [`MAX_FILE_SLOTS`] |
//! | 16 | 4 | `probe`: records searched per tag, 1 to min(`slots`, [`MAX_FILE_PROBE`]) |
//! | 20 | 4 | zero |
//! | 24 | 32 | `seed`: random bytes chosen when the file was created |
//! | 56 | 8 | zero |
//!
//! Record `i` starts at offset `64 + 32 * i`:
//!
//! | offset | length | field |
//! | --- | --- | --- |
//! | 0 | 24 | the first 24 bytes of the tag (the SHA-256 of the authenticator ciphertext) |
//! | 24 | 8 | expiry: signed seconds since the Unix epoch (`ctime + skew`) |
//!
//! A record of 32 zero bytes is empty. A record whose expiry is before `now` has expired.
//! Both are free. The records searched for a tag are the `probe` consecutive records starting
//! at index `h mod (slots - probe + 1)`, where `h` is the first 8 bytes (big-endian) of
//! SHA-256(`seed` || tag): the search never wraps around the end of the table. The seed keeps
//! clients from aiming their authenticators at one window to fill it. A check-and-insert
//! reads the whole window: a live record with the same tag prefix is a replay
//! ([`Error::Replay`]); otherwise the tag is written into the first free record; if none is
//! free, [`Error::ReplayCacheFull`] (fail closed, as for the memory cache). Expired records
//! are so reused in place: nothing is ever deleted or moved.
//!
//! Capacity: a window fills up by chance long before the whole table does. With the default
//! [`DEFAULT_FILE_SLOTS`] (262,144 records, 8 MiB) and [`MAX_FILE_PROBE`] = 64, the first
//! full window came at 59% to 68% load in three runs with random tags (150,000 to 178,000
//! live entries: some 500 authentications per second over a 5-minute skew window); offered
//! as many insertions as it has slots, the table still took 96% of them. A check-and-insert
//! costs about 8 µs against 1.2 µs in memory (release build, Linux, ext4: lock, read of
//! 2 KiB, write of 32 bytes, unlock).
//!
//! ## Safety of the file
//!
//! On Unix the file is created with mode 0600 (through a temporary file linked into place, so
//! no process ever sees it half written). An existing one is refused
//! ([`Error::ReplayCacheFile`]) if it is a symbolic link or not a regular file, if this
//! process's effective user does not own it, if anyone else may read or write it (mode
//! `& 0o077`, as for the export key file; a reader would learn the seed), or if its
//! directory is writable by others without the sticky bit (`/tmp` and `/var/tmp` are fine).
//! A file of the wrong length, magic, version, record length, slot or probe count, or with
//! non-zero reserved bytes is refused too: never a panic, and never a cache that accepts
//! everything. On Windows only the symbolic-link and regular-file checks are made: the
//! directory's ACL is the caller's to keep private. Records are written without `fsync`: the
//! cache survives a crash of the process, not of the machine (nor does MIT's).

use crate::error::{Error, Result};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Default number of live entries: 250,000 authentications within one skew window (~830 per
/// second over 5 minutes) in about 20 MiB.
pub const DEFAULT_CAPACITY: usize = 250_000;

/// The magic bytes that start a replay cache file.
pub const FILE_MAGIC: [u8; 8] = *b"SSPIEMRC";
/// The version of the file format this build reads and writes.
pub const FILE_VERSION: u16 = 1;
/// Length of the file header in bytes.
pub const FILE_HEADER_LEN: usize = 64;
/// Length of one record in bytes.
pub const FILE_RECORD_LEN: usize = 32;
/// Bytes of the tag kept in a record.
const TAG_PREFIX_LEN: usize = 24;
/// Records in a file created by [`ReplayCache::file`]: 8 MiB.
pub const DEFAULT_FILE_SLOTS: u32 = 1 << 18;
/// The most records a file may have: 128 MiB.
pub const MAX_FILE_SLOTS: u32 = 1 << 22;
/// The most records searched for one tag (and the number a new file gets).
pub const MAX_FILE_PROBE: u32 = 64;
const MAX_PROBE: usize = 64;

/// A replay cache, in memory (the default) or in a file shared by processes (see the
/// [module documentation](self)).
pub struct ReplayCache {
    store: Store,
}

enum Store {
    Memory { capacity: usize, inner: Mutex<Entries> },
    File(FileStore),
}

#[derive(Default)]
struct Entries {
    /// tag -> expiry (seconds since the Unix epoch).
    live: HashMap<[u8; 32], i64>,
    /// Insertion order with expiry, for expiring the oldest first.
    order: VecDeque<([u8; 32], i64)>,
}

/// An open cache file (its header checked).
struct FileStore {
    path: PathBuf,
    slots: u32,
    probe: u32,
    seed: [u8; 32],
    /// Held while the file lock is: threads of one process share one file description, on
    /// which `flock` does not exclude them from each other.
    file: Mutex<File>,
}

impl core::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.store {
            Store::Memory { capacity, .. } => f
                .debug_struct("ReplayCache")
                .field("capacity", capacity)
                .field("entries", &self.len())
                .finish(),
            Store::File(s) => f
                .debug_struct("ReplayCache")
                .field("file", &s.path)
                .field("slots", &s.slots)
                .field("probe", &s.probe)
                .finish_non_exhaustive(),
        }
    }
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl ReplayCache {
    /// An in-memory cache of at most `capacity` live entries.
    pub fn new(capacity: usize) -> Self {
        Self { store: Store::Memory { capacity, inner: Mutex::new(Entries::default()) } }
    }

    /// The cache in the file at `path`, shared with every process that opens the same file;
    /// created (with [`DEFAULT_FILE_SLOTS`] records, mode 0600) if it does not exist. The
    /// directory must exist.
    ///
    /// # Errors
    /// [`Error::ReplayCacheFile`] if the file cannot be created or opened, or is refused (see
    /// the [module documentation](self)); [`Error::RandomSource`] if creating it finds no
    /// randomness for its seed.
    pub fn file(path: impl AsRef<Path>) -> Result<Self> {
        Self::file_with_slots(path, DEFAULT_FILE_SLOTS)
    }

    /// As [`ReplayCache::file`], creating a missing file with `slots` records (the search
    /// window is `min(slots, MAX_FILE_PROBE)`). An existing file keeps the size it was
    /// created with, whatever `slots` says: every process sharing it uses its header.
    ///
    /// # Errors
    /// As [`ReplayCache::file`]; [`Error::InvalidParameter`] if `slots` is 0 or above
    /// [`MAX_FILE_SLOTS`].
    pub fn file_with_slots(path: impl AsRef<Path>, slots: u32) -> Result<Self> {
        if !(1..=MAX_FILE_SLOTS).contains(&slots) {
            return Err(Error::InvalidParameter("replay cache slots: 1 to 4,194,304"));
        }
        let path = path.as_ref();
        let fail = |e: std::io::Error| Error::ReplayCacheFile(format!("{}: {e}", path.display()));
        match FileStore::open(path) {
            Ok(store) => return Ok(Self { store: Store::File(store) }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
        FileStore::create(path, slots).map_err(|e| match e {
            CreateError::Io(e) => fail(e),
            CreateError::Other(e) => e,
        })?;
        FileStore::open(path).map(|store| Self { store: Store::File(store) }).map_err(fail)
    }

    /// The path of the file, for a file cache.
    pub fn file_path(&self) -> Option<&Path> {
        match &self.store {
            Store::Memory { .. } => None,
            Store::File(s) => Some(&s.path),
        }
    }

    /// Entries recorded and not yet dropped. For a file cache: the records of the file that
    /// are not empty (expired ones included until reused), read from the file under its lock;
    /// 0 if the file cannot be read.
    pub fn len(&self) -> usize {
        match &self.store {
            Store::Memory { inner, .. } => {
                inner.lock().unwrap_or_else(|e| e.into_inner()).live.len()
            }
            Store::File(s) => s.count().unwrap_or(0),
        }
    }

    /// Whether no entry is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records the authenticator `tag` (time `ctime`) at `now`, keeping it until
    /// `ctime + skew`.
    ///
    /// # Errors
    /// [`Error::Replay`] if it was recorded before and has not expired;
    /// [`Error::ReplayCacheFull`] if `capacity` entries are live (for a file cache: if the
    /// tag's window of records is full of live ones); [`Error::ReplayCacheFile`] if the
    /// cache file cannot be locked, read or written.
    pub fn check_and_insert(&self, tag: [u8; 32], ctime: i64, now: i64, skew: u32) -> Result<()> {
        let expiry = ctime.saturating_add(i64::from(skew));
        match &self.store {
            Store::Memory { capacity, inner } => {
                memory_check_and_insert(*capacity, inner, tag, expiry, now)
            }
            Store::File(s) => s.check_and_insert(&tag, expiry, now),
        }
    }
}

fn memory_check_and_insert(
    capacity: usize,
    inner: &Mutex<Entries>,
    tag: [u8; 32],
    expiry: i64,
    now: i64,
) -> Result<()> {
    let mut e = inner.lock().unwrap_or_else(|e| e.into_inner());
    // Expire from the front while the oldest entries are past their time. Expiry times
    // are not monotonic in insertion order (authenticator clocks differ by up to the
    // skew), so an entry may outlive its time by at most one skew window: harmless.
    while let Some(&(tag_front, old)) = e.order.front() {
        if old >= now {
            break;
        }
        e.order.pop_front();
        if e.live.get(&tag_front) == Some(&old) {
            e.live.remove(&tag_front);
        }
    }
    if let Some(&old) = e.live.get(&tag)
        && old >= now
    {
        return Err(Error::Replay);
    }
    if e.live.len() >= capacity {
        return Err(Error::ReplayCacheFull);
    }
    e.live.insert(tag, expiry);
    e.order.push_back((tag, expiry));
    Ok(())
}

enum CreateError {
    Io(std::io::Error),
    Other(Error),
}

/// What one window search found.
enum Outcome {
    Inserted,
    Replay,
    Full,
}

fn invalid(why: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

fn refuse(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, why)
}

/// The header of a file of `slots` records and `seed`.
fn header(slots: u32, seed: &[u8; 32]) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..8].copy_from_slice(&FILE_MAGIC);
    h[8..10].copy_from_slice(&FILE_VERSION.to_be_bytes());
    h[10..12].copy_from_slice(&32u16.to_be_bytes());
    h[12..16].copy_from_slice(&slots.to_be_bytes());
    h[16..20].copy_from_slice(&slots.min(MAX_FILE_PROBE).to_be_bytes());
    h[24..56].copy_from_slice(seed);
    h
}

/// Checks a header against the file's length: `(slots, probe, seed)`.
fn parse_header(h: &[u8; FILE_HEADER_LEN], file_len: u64) -> std::io::Result<(u32, u32, [u8; 32])> {
    let u16_at = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    if h[..8] != FILE_MAGIC {
        return Err(invalid("not a sspi-emu replay cache file (wrong magic)"));
    }
    if u16_at(8) != FILE_VERSION {
        return Err(invalid("replay cache file of an unknown format version"));
    }
    if usize::from(u16_at(10)) != FILE_RECORD_LEN {
        return Err(invalid("replay cache file with a record length other than 32"));
    }
    let (slots, probe) = (u32_at(12), u32_at(16));
    if !(1..=MAX_FILE_SLOTS).contains(&slots) {
        return Err(invalid("replay cache file with a slot count out of range"));
    }
    if !(1..=slots.min(MAX_FILE_PROBE)).contains(&probe) {
        return Err(invalid("replay cache file with a probe count out of range"));
    }
    if h[20..24].iter().chain(&h[56..]).any(|&b| b != 0) {
        return Err(invalid("replay cache file with non-zero reserved bytes"));
    }
    if file_len != file_len_of(slots) {
        return Err(invalid("replay cache file of the wrong length for its slot count"));
    }
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&h[24..56]);
    Ok((slots, probe, seed))
}

/// `64 + 32 * slots`.
fn file_len_of(slots: u32) -> u64 {
    // FILE_HEADER_LEN and FILE_RECORD_LEN are small constants; no overflow below 2^59.
    64 + 32 * u64::from(slots)
}

impl FileStore {
    /// Opens and checks an existing file. `NotFound` if there is none.
    fn open(path: &Path) -> std::io::Result<Self> {
        let before = std::fs::symlink_metadata(path)?;
        if before.file_type().is_symlink() {
            return Err(refuse("a replay cache file may not be a symbolic link".into()));
        }
        if !before.is_file() {
            return Err(invalid("a replay cache file is a regular file"));
        }
        #[cfg(unix)]
        check_directory(path)?;
        let mut file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(invalid("a replay cache file is a regular file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // The file opened is the one checked above, not a link swapped in meanwhile.
            if (meta.dev(), meta.ino()) != (before.dev(), before.ino()) {
                return Err(refuse("the replay cache file was replaced while being opened".into()));
            }
            let me = rustix::process::geteuid().as_raw();
            if meta.uid() != me {
                return Err(refuse(format!(
                    "owned by user {}, not by this process's user {me}",
                    meta.uid()
                )));
            }
            let mode = meta.mode();
            if mode & 0o077 != 0 {
                return Err(refuse(format!(
                    "permissions {:o} let others use it; it must be 600",
                    mode & 0o777
                )));
            }
        }
        let mut h = [0u8; FILE_HEADER_LEN];
        file.read_exact(&mut h).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                invalid("replay cache file shorter than its header")
            } else {
                e
            }
        })?;
        let (slots, probe, seed) = parse_header(&h, meta.len())?;
        Ok(Self { path: path.to_owned(), slots, probe, seed, file: Mutex::new(file) })
    }

    /// Creates the file with `slots` empty records, unless one appears meanwhile (then that
    /// one is kept).
    fn create(path: &Path, slots: u32) -> core::result::Result<(), CreateError> {
        let env = crate::env::Environment::system();
        let seed: [u8; 32] = env.random().map_err(CreateError::Other)?;
        let unique: [u8; 8] = env.random().map_err(CreateError::Other)?;
        let unique: String = unique.iter().map(|b| format!("{b:02x}")).collect();
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(format!(".tmp.{}.{unique}", std::process::id()));
        let tmp = path.with_file_name(name);
        let written = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            file.write_all(&header(slots, &seed))?;
            file.set_len(file_len_of(slots))?;
            file.sync_all()
        })();
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(CreateError::Io(e)),
        }
    }

    /// Byte offset of the first record of `tag`'s window.
    fn window_offset(&self, tag: &[u8; 32]) -> u64 {
        use sha2::Digest;
        let mut d = sha2::Sha256::new();
        d.update(self.seed);
        d.update(tag);
        let digest = d.finalize();
        let mut h = [0u8; 8];
        h.copy_from_slice(&digest[..8]);
        let starts = u64::from(self.slots - self.probe + 1);
        let index = u64::from_be_bytes(h) % starts;
        64 + 32 * index
    }

    fn check_and_insert(&self, tag: &[u8; 32], expiry: i64, now: i64) -> Result<()> {
        let fail = |what: &str, e: std::io::Error| {
            Error::ReplayCacheFile(format!("{}: {what}: {e}", self.path.display()))
        };
        let file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.lock().map_err(|e| fail("cannot lock", e))?;
        let outcome = self.search_and_insert(&file, tag, expiry, now);
        let unlocked = file.unlock();
        let outcome = outcome.map_err(|e| fail("cannot use", e))?;
        unlocked.map_err(|e| fail("cannot unlock", e))?;
        match outcome {
            Outcome::Inserted => Ok(()),
            Outcome::Replay => Err(Error::Replay),
            Outcome::Full => Err(Error::ReplayCacheFull),
        }
    }

    /// The search of the window, with the file locked.
    fn search_and_insert(
        &self,
        mut file: &File,
        tag: &[u8; 32],
        expiry: i64,
        now: i64,
    ) -> std::io::Result<Outcome> {
        let offset = self.window_offset(tag);
        let mut window = [0u8; FILE_RECORD_LEN * MAX_PROBE];
        let probe = usize::try_from(self.probe).map_err(|_| invalid("probe count"))?;
        let window =
            window.get_mut(..probe * FILE_RECORD_LEN).ok_or_else(|| invalid("probe count"))?;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(window)?;
        let mut free = None;
        for (i, record) in window.chunks_exact(FILE_RECORD_LEN).enumerate() {
            let (prefix, time) = record.split_at(TAG_PREFIX_LEN);
            let mut t = [0u8; 8];
            t.copy_from_slice(time);
            let old = i64::from_be_bytes(t);
            let empty = record.iter().all(|&b| b == 0);
            if !empty && old >= now && prefix == &tag[..TAG_PREFIX_LEN] {
                return Ok(Outcome::Replay);
            }
            if free.is_none() && (empty || old < now) {
                free = Some(i);
            }
        }
        let Some(i) = free else { return Ok(Outcome::Full) };
        let mut record = [0u8; FILE_RECORD_LEN];
        record[..TAG_PREFIX_LEN].copy_from_slice(&tag[..TAG_PREFIX_LEN]);
        record[TAG_PREFIX_LEN..].copy_from_slice(&expiry.to_be_bytes());
        // i < probe <= 64: the cast cannot truncate.
        file.seek(SeekFrom::Start(offset + 32 * u64::try_from(i).unwrap_or(0)))?;
        file.write_all(&record)?;
        Ok(Outcome::Inserted)
    }

    /// Records that are not empty.
    fn count(&self) -> std::io::Result<usize> {
        let guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut file: &File = &guard;
        file.lock()?;
        let counted = (|| {
            file.seek(SeekFrom::Start(64))?;
            let mut reader = std::io::BufReader::new(file);
            let mut record = [0u8; FILE_RECORD_LEN];
            let mut n = 0;
            for _ in 0..self.slots {
                reader.read_exact(&mut record)?;
                n += usize::from(record.iter().any(|&b| b != 0));
            }
            Ok(n)
        })();
        file.unlock()?;
        counted
    }
}

/// Refuses a file whose directory others may write without the sticky bit (they could
/// replace the file).
#[cfg(unix)]
fn check_directory(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(refuse(format!(
            "its directory {} is writable by others and not sticky ({:o})",
            dir.display(),
            mode & 0o7777
        )));
    }
    Ok(())
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

#[cfg(test)]
mod file_tests {
    use super::*;

    /// A fresh private directory under the temporary directory, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Self {
            let unique: [u8; 8] = crate::env::Environment::system().random().unwrap();
            let hex: String = unique.iter().map(|b| format!("{b:02x}")).collect();
            let dir = std::env::temp_dir().join(format!("sspi-emu-rcache-{name}-{hex}"));
            let mut b = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(&dir).unwrap();
            Self(dir)
        }

        fn file(&self) -> PathBuf {
            self.0.join("replay")
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tag(n: u32) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(n.to_be_bytes()).into()
    }

    fn refused(r: Result<ReplayCache>, what: &str) {
        match r {
            Err(Error::ReplayCacheFile(text)) => assert!(text.contains(what), "{text}"),
            other => panic!("expected a refusal naming {what:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_replay_is_refused_until_it_expires_and_across_opens() {
        let d = Dir::new("replay");
        let c = ReplayCache::file_with_slots(d.file(), 128).unwrap();
        c.check_and_insert(tag(1), 1000, 1000, 300).unwrap();
        assert_eq!(c.check_and_insert(tag(1), 1000, 1100, 300), Err(Error::Replay));
        // A second cache on the same file (another process, another credential) sees it.
        let other = ReplayCache::file(d.file()).unwrap();
        assert_eq!(other.check_and_insert(tag(1), 1000, 1200, 300), Err(Error::Replay));
        other.check_and_insert(tag(2), 1000, 1200, 300).unwrap();
        assert_eq!(c.check_and_insert(tag(2), 1000, 1200, 300), Err(Error::Replay));
        assert_eq!(c.len(), 2);
        // Still live at ctime + skew, gone after.
        assert_eq!(c.check_and_insert(tag(1), 1000, 1300, 300), Err(Error::Replay));
        c.check_and_insert(tag(1), 1000, 1301, 300).unwrap();
        // The existing file kept its own size: 128 records.
        assert_eq!(std::fs::metadata(d.file()).unwrap().len(), 64 + 32 * 128);
    }

    #[test]
    fn a_full_window_refuses_and_expired_records_are_reused() {
        let d = Dir::new("full");
        // Four records, all in the one window.
        let c = ReplayCache::file_with_slots(d.file(), 4).unwrap();
        for n in 0..4 {
            c.check_and_insert(tag(n), 1000, 1000, 300).unwrap();
        }
        assert_eq!(c.check_and_insert(tag(9), 1000, 1000, 300), Err(Error::ReplayCacheFull));
        // The recorded ones are still replays, not forgotten.
        for n in 0..4 {
            assert_eq!(c.check_and_insert(tag(n), 1000, 1100, 300), Err(Error::Replay));
        }
        // Once they expire their records are reused: the file does not grow.
        for n in 10..14 {
            c.check_and_insert(tag(n), 1400, 1400, 300).unwrap();
        }
        assert_eq!(c.check_and_insert(tag(20), 1400, 1400, 300), Err(Error::ReplayCacheFull));
        assert_eq!(c.len(), 4);
        assert_eq!(std::fs::metadata(d.file()).unwrap().len(), 64 + 32 * 4);
    }

    #[test]
    fn the_file_is_as_documented() {
        let d = Dir::new("format");
        let c = ReplayCache::file_with_slots(d.file(), 100).unwrap();
        let bytes = std::fs::read(d.file()).unwrap();
        assert_eq!(bytes.len(), 64 + 32 * 100);
        assert_eq!(&bytes[..8], b"SSPIEMRC");
        assert_eq!(&bytes[8..10], &[0, 1], "version 1");
        assert_eq!(&bytes[10..12], &[0, 32], "record length");
        assert_eq!(&bytes[12..16], &100u32.to_be_bytes(), "slots");
        assert_eq!(&bytes[16..20], &64u32.to_be_bytes(), "probe");
        assert_eq!(&bytes[20..24], &[0; 4]);
        assert_ne!(&bytes[24..56], &[0; 32], "a random seed");
        assert_eq!(&bytes[56..64], &[0; 8]);
        assert!(bytes[64..].iter().all(|&b| b == 0), "all records empty");
        // One insertion writes one record where the documented hash says.
        let t = tag(7);
        c.check_and_insert(t, 1_700_000_000, 1_700_000_000, 300).unwrap();
        let bytes = std::fs::read(d.file()).unwrap();
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(&bytes[24..56]);
        h.update(t);
        let h = h.finalize();
        let start = u64::from_be_bytes(h[..8].try_into().unwrap()) % (100 - 64 + 1);
        let at = 64 + 32 * usize::try_from(start).unwrap();
        assert_eq!(&bytes[at..at + 24], &t[..24]);
        assert_eq!(&bytes[at + 24..at + 32], &1_700_000_300i64.to_be_bytes());
        let written = bytes[64..].chunks(32).filter(|r| r.iter().any(|&b| b != 0)).count();
        assert_eq!(written, 1);
    }

    #[test]
    fn corrupt_or_foreign_files_are_refused() {
        let d = Dir::new("corrupt");
        ReplayCache::file_with_slots(d.file(), 16).unwrap();
        let good = std::fs::read(d.file()).unwrap();
        type Damage = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: &[(&str, Damage)] = &[
            ("magic", Box::new(|b| b[0] = b'X')),
            ("version", Box::new(|b| b[9] = 2)),
            ("record length", Box::new(|b| b[11] = 16)),
            ("slot count", Box::new(|b| b[12..16].copy_from_slice(&0u32.to_be_bytes()))),
            ("slot count", Box::new(|b| b[12..16].copy_from_slice(&u32::MAX.to_be_bytes()))),
            ("wrong length", Box::new(|b| b[12..16].copy_from_slice(&17u32.to_be_bytes()))),
            ("probe count", Box::new(|b| b[16..20].copy_from_slice(&0u32.to_be_bytes()))),
            ("probe count", Box::new(|b| b[16..20].copy_from_slice(&17u32.to_be_bytes()))),
            ("reserved", Box::new(|b| b[20] = 1)),
            ("reserved", Box::new(|b| b[63] = 1)),
            ("wrong length", Box::new(|b| b.push(0))),
            ("wrong length", Box::new(|b| b.truncate(64 + 32 * 15))),
            ("shorter than its header", Box::new(|b| b.truncate(10))),
            ("shorter than its header", Box::new(Vec::clear)),
        ];
        for (what, damage) in cases {
            let mut bytes = good.clone();
            damage(&mut bytes);
            std::fs::write(d.file(), &bytes).unwrap();
            refused(ReplayCache::file(d.file()), what);
        }
        // A file cut short after it was opened: an error at insertion, not an acceptance.
        std::fs::write(d.file(), &good).unwrap();
        let c = ReplayCache::file(d.file()).unwrap();
        std::fs::OpenOptions::new().write(true).open(d.file()).unwrap().set_len(70).unwrap();
        assert!(matches!(
            c.check_and_insert(tag(1), 1000, 1000, 300),
            Err(Error::ReplayCacheFile(_))
        ));
        // A directory is not a cache file.
        refused(ReplayCache::file(&d.0), "regular file");
        // Nor is a missing directory created.
        assert!(matches!(
            ReplayCache::file(d.0.join("missing").join("replay")),
            Err(Error::ReplayCacheFile(_))
        ));
        assert_eq!(
            ReplayCache::file_with_slots(d.0.join("x"), 0).unwrap_err(),
            Error::InvalidParameter("replay cache slots: 1 to 4,194,304")
        );
        assert!(ReplayCache::file_with_slots(d.0.join("x"), MAX_FILE_SLOTS + 1).is_err());
        assert!(!d.0.join("x").exists());
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_checked() {
        use std::os::unix::fs::PermissionsExt;
        let d = Dir::new("perm");
        let c = ReplayCache::file(d.file()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&d.file()), 0o600);
        drop(c);
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(&d.0).unwrap().count(), 1);
        for bad in [0o620, 0o602, 0o640, 0o604] {
            std::fs::set_permissions(d.file(), std::fs::Permissions::from_mode(bad)).unwrap();
            refused(ReplayCache::file(d.file()), "let others use it");
        }
        std::fs::set_permissions(d.file(), std::fs::Permissions::from_mode(0o600)).unwrap();
        // A symbolic link, even to a good file, is refused.
        let link = d.0.join("link");
        std::os::unix::fs::symlink(d.file(), &link).unwrap();
        refused(ReplayCache::file(&link), "symbolic link");
        // A dangling one is not followed to create a file.
        let dangling = d.0.join("dangling");
        std::os::unix::fs::symlink(d.0.join("target"), &dangling).unwrap();
        refused(ReplayCache::file(&dangling), "symbolic link");
        assert!(!d.0.join("target").exists());
        // A directory others may write (without the sticky bit) is refused; with it, fine.
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o777)).unwrap();
        refused(ReplayCache::file(d.file()), "writable by others");
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
        ReplayCache::file(d.file()).unwrap();
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o700)).unwrap();
    }

    /// Root can hand a file to another user: a file this user does not own is refused.
    #[cfg(unix)]
    #[test]
    fn another_users_file_is_refused() {
        use std::os::unix::fs::MetadataExt;
        if rustix::process::geteuid().as_raw() != 0 {
            return; // Only root can make a file owned by someone else.
        }
        let d = Dir::new("owner");
        ReplayCache::file(d.file()).unwrap();
        std::os::unix::fs::chown(d.file(), Some(65534), None).unwrap();
        assert_eq!(std::fs::metadata(d.file()).unwrap().uid(), 65534);
        refused(ReplayCache::file(d.file()), "owned by user 65534");
    }

    #[test]
    fn threads_sharing_one_cache_accept_each_tag_once() {
        let d = Dir::new("threads");
        let c = std::sync::Arc::new(ReplayCache::file_with_slots(d.file(), 4096).unwrap());
        let wins: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let c = &c;
                    s.spawn(move || {
                        (0..200)
                            .filter(|&n| c.check_and_insert(tag(n), 1000, 1000, 300).is_ok())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(wins.iter().sum::<usize>(), 200, "{wins:?}");
        assert_eq!(c.len(), 200);
    }
}
