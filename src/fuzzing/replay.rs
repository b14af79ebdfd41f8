//! The `replay_file` target: a replay cache file of any content.

use crate::error::Error;
use crate::kerberos::replay::{MAX_FILE_PROBE, MAX_FILE_SLOTS, ReplayCache};

fn replay_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("sspi-emu-fuzz-replay-file-{}", std::process::id()));
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir).expect("a temporary directory");
        dir
    })
}

/// Whether `bytes` is a cache file as the format (`kerberos::replay`) documents it, checked
/// here independently of the parser.
fn well_formed(bytes: &[u8]) -> bool {
    let Some(h) = bytes.get(..64) else { return false };
    let be32 = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let (slots, probe) = (be32(12), be32(16));
    &h[..8] == b"SSPIEMRC"
        && h[8..12] == [0, 1, 0, 32]
        && (1..=MAX_FILE_SLOTS).contains(&slots)
        && (1..=slots.min(MAX_FILE_PROBE)).contains(&probe)
        && h[20..24].iter().chain(&h[56..64]).all(|&b| b == 0)
        && u64::try_from(bytes.len()).ok() == Some(64 + 32 * u64::from(slots))
}

/// `replay_file`: `data` is written as the cache file (mode 600, private directory) and
/// opened. It opens exactly when it is well formed as documented; then tags made from the
/// data are inserted, each either accepted (and then refused as a replay), refused as a
/// replay or as full; the file keeps its length. Never a panic.
pub fn replay_file(data: &[u8]) {
    let path = replay_dir().join("replay");
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    {
        use std::io::Write;
        let mut file = options.open(&path).expect("create the cache file");
        file.write_all(data).expect("write the cache file");
    }
    let opened = ReplayCache::file(&path);
    assert_eq!(opened.is_ok(), well_formed(data), "{opened:?}");
    let Ok(cache) = opened else {
        assert!(matches!(opened, Err(Error::ReplayCacheFile(_))), "{opened:?}");
        return;
    };
    // Tags: from the records themselves (so that some match), and fresh ones.
    let mut tags: Vec<[u8; 32]> = data
        .get(64..)
        .unwrap_or_default()
        .chunks_exact(32)
        .take(8)
        .map(|r| {
            let mut t = [0u8; 32];
            t[..24].copy_from_slice(&r[..24]);
            t
        })
        .collect();
    tags.extend((0u8..8).map(|n| [n.wrapping_add(0xa5); 32]));
    // `now` from the data too, so that some records are live and some expired.
    let now = data.get(88..96).map_or(0, |b| {
        let mut t = [0u8; 8];
        t.copy_from_slice(b);
        i64::from_be_bytes(t)
    });
    for tag in tags {
        match cache.check_and_insert(tag, now, now, 300) {
            Ok(()) => {
                assert_eq!(cache.check_and_insert(tag, now, now, 300), Err(Error::Replay));
            }
            Err(Error::Replay | Error::ReplayCacheFull) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let len = std::fs::metadata(&path).expect("the cache file").len();
    assert_eq!(u64::try_from(data.len()).ok(), Some(len), "the file changed length");
}

/// The seeds of `fuzz/seeds/replay_file`.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let file = |slots: u32, probe: u32, records: &[(u8, i64)]| {
        let mut b = b"SSPIEMRC\0\x01\0\x20".to_vec();
        b.extend(slots.to_be_bytes());
        b.extend(probe.to_be_bytes());
        b.extend([0; 4]);
        b.extend([0x5e; 32]);
        b.extend([0; 8]);
        for i in 0..slots {
            match records.get(usize::try_from(i).unwrap_or(usize::MAX)) {
                Some(&(t, expiry)) => {
                    b.extend([t; 24]);
                    b.extend(expiry.to_be_bytes());
                }
                None => b.extend([0; 32]),
            }
        }
        b
    };
    let live = [(1, 2000), (2, 2000), (3, 2000), (4, 100)];
    let mut bad_magic = file(4, 4, &live);
    bad_magic[0] = b'X';
    vec![
        ("replay_file", "empty-table", file(8, 8, &[])),
        ("replay_file", "live-and-expired", file(4, 4, &live)),
        ("replay_file", "full", file(2, 2, &[(1, i64::MAX), (2, i64::MAX)])),
        ("replay_file", "probe-below-slots", file(6, 2, &live)),
        ("replay_file", "bad-magic", bad_magic),
        ("replay_file", "wrong-length", file(4, 4, &live)[..100].to_vec()),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_and_edges_pass() {
        for (_, _, seed) in super::seeds() {
            super::replay_file(&seed);
        }
        for data in [&b""[..], b"SSPIEMRC", &[0; 64], &[0; 96]] {
            super::replay_file(data);
        }
    }

    /// `fuzz/seeds/replay_file` is what [`super::seeds`] makes.
    #[test]
    fn committed_seeds_are_current() {
        let seeds = super::seeds();
        crate::fuzzing::seeds_are_current(
            seeds.iter().map(|(target, name, seed)| (*target, *name, seed.as_slice())),
        );
    }
}
