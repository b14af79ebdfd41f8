//! Kerberos crypto benchmarks (src/kerberos/crypto): sspi-emu next to the raw-primitive
//! "floor" in the same criterion groups, so every ratio comes from one run on one machine.
//!
//! - `string_to_key/<etype>`: one string-to-key at the enctype's default iteration count
//!   (4096 PBKDF2-HMAC-SHA1 for aes-sha1, 32768 PBKDF2-HMAC-SHA256/384 for aes-sha2, the NT
//!   hash for rc4-hmac), and `pbkdf2_floor/<etype>`: the bare `pbkdf2` call with the same
//!   hash and count (the AES and RC4 string-to-keys add one derivation or nothing).
//! - `seal_open/<etype>/<size>`: one message encrypted and decrypted, 64 B, 1 KiB and 16 KiB,
//!   with a [`DerivedKeys`] made in advance (what a security context holds), into reused
//!   buffers. `sspi-emu` is `encrypt_into` then `decrypt_in_place`; `floor` is the same
//!   cryptography written directly on RustCrypto with keys and keyed HMAC states prepared in
//!   advance: for AES, CBC encryption (the `cbc` crate) of confounder + message rounded up to
//!   whole blocks, the HMAC (SHA-1 over confounder + message, or SHA-256/384 over IV +
//!   ciphertext), then CBC decryption and the HMAC again; for rc4-hmac, HMAC-MD5 of the
//!   message, HMAC-MD5 keying of K3, RC4 key schedule and keystream, twice (sspi-emu's
//!   primitives `HmacMd5` and `Rc4`: there is no RustCrypto RC4 whose state is reusable).
//!   The confounder is fixed (no random source in the timed loop).
//!
//! Before the groups, heap allocations per message ([`allocations`]) and paired ratios (sspi-emu / floor from interleaved batches, see
//! [`paired_ratios`]) are printed to stderr.
//!
//! Run: `cargo bench --bench kerberos` (quick look: `-- --warm-up-time 1 --measurement-time 2`).

// `unsafe` is needed only to implement `GlobalAlloc` (the counting allocator below), which
// forwards every call to the system allocator unchanged; the library forbids unsafe code.
#![allow(unsafe_code)]

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use aes::{Aes128, Aes256, Block};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sspi_emu::kerberos::crypto::{DerivedKeys, KeyUsage, string_to_key};
use sspi_emu::kerberos::{EncType, Key};
use sspi_emu::primitives::{HmacMd5, Rc4};
use std::hint::black_box;

const ETYPES: [(EncType, &str); 5] = [
    (EncType::AES128_CTS_HMAC_SHA1_96, "aes128-sha1"),
    (EncType::AES256_CTS_HMAC_SHA1_96, "aes256-sha1"),
    (EncType::AES128_CTS_HMAC_SHA256_128, "aes128-sha256"),
    (EncType::AES256_CTS_HMAC_SHA384_192, "aes256-sha384"),
    (EncType::RC4_HMAC, "rc4-hmac"),
];

const SIZES: [usize; 3] = [64, 1024, 16384];

// ---- counting allocator ----

/// Counts allocations (and their bytes) while [`counting::measure`] runs; otherwise one
/// relaxed load per call.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

    pub(crate) struct Counting;

    static ON: AtomicBool = AtomicBool::new(false);
    static ALLOCS: AtomicUsize = AtomicUsize::new(0);
    static BYTES: AtomicUsize = AtomicUsize::new(0);

    fn count(size: usize) {
        if ON.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(size, Relaxed);
        }
    }

    // SAFETY: every call is forwarded unchanged to `System`; the bookkeeping touches only
    // atomics and never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: same contract as ours.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: same contract as ours.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count(new_size);
            // SAFETY: same contract as ours.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// (allocations, bytes) made by `f`.
    pub(crate) fn measure(f: impl FnOnce()) -> (usize, usize) {
        ALLOCS.store(0, Relaxed);
        BYTES.store(0, Relaxed);
        ON.store(true, Relaxed);
        f();
        ON.store(false, Relaxed);
        (ALLOCS.load(Relaxed), BYTES.load(Relaxed))
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// Prints (stderr) the heap allocations of one message: `DerivedKeys` encrypt_into +
/// decrypt_in_place (the context path: none expected), and the free `decrypt` of a
/// ciphertext (one allocation of the ciphertext's length expected), per enctype at 1 KiB.
fn allocations(_: &mut Criterion) {
    use sspi_emu::env::SeededRandom;
    use sspi_emu::kerberos::crypto::{decrypt, encrypt};
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    eprintln!("heap allocations per 1 KiB message (count, bytes)");
    let usage = KeyUsage::KG_ACCEPTOR_SEAL;
    let random = SeededRandom::new(5);
    for (etype, name) in ETYPES {
        let key = sspi_emu::kerberos::crypto::random_key(etype, &random).unwrap();
        let keys = DerivedKeys::new(&key, usage).unwrap();
        let plain = vec![1u8; 1024];
        let conf = vec![2u8; keys.confounder_len()];
        let mut out = vec![0u8; 1024 + keys.overhead()];
        let ctx = counting::measure(|| {
            let n = keys.encrypt_into(&conf, &plain, &mut out).unwrap();
            black_box(keys.decrypt_in_place(&mut out[..n]).unwrap());
        });
        let cipher = encrypt(&key, usage, &plain, &random).unwrap();
        let free = counting::measure(|| drop(black_box(decrypt(&key, usage, &cipher).unwrap())));
        let mut altered = cipher.clone();
        altered[0] ^= 1;
        let bad = counting::measure(|| drop(black_box(decrypt(&key, usage, &altered))));
        assert!(bad.1 <= altered.len(), "{name}: a refused decryption allocated {bad:?}");
        eprintln!(
            "  {name:>14}: DerivedKeys seal+open {ctx:?}; decrypt() {free:?}, refused \
             decrypt() {bad:?}, for {} B of ciphertext",
            cipher.len()
        );
    }
}

fn string_to_keys(c: &mut Criterion) {
    let mut g = c.benchmark_group("string_to_key");
    g.sample_size(10);
    let salt = b"EXAMPLE.TESTalice";
    for (etype, name) in ETYPES {
        g.bench_function(BenchmarkId::new("sspi-emu", name), |b| {
            b.iter(|| string_to_key(etype, black_box(b"Correct horse 1"), salt, None).unwrap())
        });
        let mut out = [0u8; 32];
        match etype {
            EncType::AES128_CTS_HMAC_SHA1_96 | EncType::AES256_CTS_HMAC_SHA1_96 => {
                let n = if etype == EncType::AES128_CTS_HMAC_SHA1_96 { 16 } else { 32 };
                g.bench_function(BenchmarkId::new("pbkdf2_floor", name), |b| {
                    b.iter(|| {
                        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(
                            b"Correct horse 1",
                            salt,
                            4096,
                            &mut out[..n],
                        )
                    })
                });
            }
            EncType::AES128_CTS_HMAC_SHA256_128 => {
                g.bench_function(BenchmarkId::new("pbkdf2_floor", name), |b| {
                    b.iter(|| {
                        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                            b"Correct horse 1",
                            salt,
                            32768,
                            &mut out[..16],
                        )
                    })
                });
            }
            EncType::AES256_CTS_HMAC_SHA384_192 => {
                g.bench_function(BenchmarkId::new("pbkdf2_floor", name), |b| {
                    b.iter(|| {
                        pbkdf2::pbkdf2_hmac::<sha2::Sha384>(
                            b"Correct horse 1",
                            salt,
                            32768,
                            &mut out,
                        )
                    })
                });
            }
            _ => {}
        }
    }
    g.finish();
}

/// A CBC cipher of either size.
enum Cbc {
    A128(Aes128),
    A256(Aes256),
}

impl Cbc {
    fn encrypt(&self, blocks: &mut [Block]) {
        let iv = Block::default();
        match self {
            Cbc::A128(k) => cbc::Encryptor::inner_iv_init(k.clone(), &iv).encrypt_blocks(blocks),
            Cbc::A256(k) => cbc::Encryptor::inner_iv_init(k.clone(), &iv).encrypt_blocks(blocks),
        }
    }

    fn decrypt(&self, blocks: &mut [Block]) {
        let iv = Block::default();
        match self {
            Cbc::A128(k) => cbc::Decryptor::inner_iv_init(k.clone(), &iv).decrypt_blocks(blocks),
            Cbc::A256(k) => cbc::Decryptor::inner_iv_init(k.clone(), &iv).decrypt_blocks(blocks),
        }
    }
}

/// The keyed HMAC of the floor.
#[derive(Clone)]
enum FloorMac {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
}

impl FloorMac {
    fn tag(&self, parts: &[&[u8]]) -> u8 {
        match self.clone() {
            FloorMac::Sha1(mut m) => {
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes()[0]
            }
            FloorMac::Sha256(mut m) => {
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes()[0]
            }
            FloorMac::Sha384(mut m) => {
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes()[0]
            }
        }
    }
}

/// One message size of one enctype: sspi-emu's seal+open and the floor's, as closures, so
/// criterion and the paired-ratio report run the same code.
struct Case {
    etype: &'static str,
    size: usize,
    emu: Box<dyn FnMut()>,
    floor: Box<dyn FnMut()>,
}

fn cases() -> Vec<Case> {
    let usage = KeyUsage::KG_INITIATOR_SEAL;
    let mut cases = Vec::new();
    for (etype, name) in ETYPES {
        let key_len = if matches!(
            etype,
            EncType::AES256_CTS_HMAC_SHA1_96 | EncType::AES256_CTS_HMAC_SHA384_192
        ) {
            32
        } else {
            16
        };
        for size in SIZES {
            let key = Key::new(etype, &vec![0x42; key_len]);
            let keys = DerivedKeys::new(&key, usage).unwrap();
            let confounder = vec![7u8; keys.confounder_len()];
            let plain = vec![0x5au8; size];
            let mut out = vec![0u8; size + keys.overhead()];
            let emu = Box::new(move || {
                let n = keys.encrypt_into(&confounder, black_box(&plain), &mut out).unwrap();
                let p = keys.decrypt_in_place(&mut out[..n]).unwrap();
                black_box(p[0]);
            });
            let floor: Box<dyn FnMut()> = if etype == EncType::RC4_HMAC {
                let k1 = HmacMd5::new(&[0x11; 16]);
                let mut data = vec![0u8; size + 8];
                Box::new(move || {
                    for _ in 0..2 {
                        let mut m = k1.clone();
                        m.update(black_box(&data));
                        let sum = m.tag();
                        let mut m3 = k1.clone();
                        m3.update(&sum);
                        Rc4::new(&m3.tag()).apply(&mut data);
                    }
                    black_box(data[0]);
                })
            } else {
                let cbc = if key_len == 16 {
                    Cbc::A128(Aes128::new(&[1; 16].into()))
                } else {
                    Cbc::A256(Aes256::new(&[1; 32].into()))
                };
                let mac = match etype {
                    EncType::AES128_CTS_HMAC_SHA256_128 => {
                        FloorMac::Sha256(KeyInit::new_from_slice(&[2; 16]).unwrap())
                    }
                    EncType::AES256_CTS_HMAC_SHA384_192 => {
                        FloorMac::Sha384(KeyInit::new_from_slice(&[2; 24]).unwrap())
                    }
                    _ => FloorMac::Sha1(KeyInit::new_from_slice(&vec![2; key_len]).unwrap()),
                };
                let sha2 = matches!(
                    etype,
                    EncType::AES128_CTS_HMAC_SHA256_128 | EncType::AES256_CTS_HMAC_SHA384_192
                );
                // Confounder + message, rounded up to whole blocks.
                let mut blocks = vec![Block::default(); (16 + size).div_ceil(16)];
                let iv = [0u8; 16];
                let len = 16 + size;
                Box::new(move || {
                    let mut t = 0u8;
                    if sha2 {
                        cbc.encrypt(&mut blocks);
                        t ^= mac.tag(&[&iv, &Block::slice_as_flattened(&blocks)[..len]]);
                        t ^= mac.tag(&[&iv, &Block::slice_as_flattened(&blocks)[..len]]);
                        cbc.decrypt(&mut blocks);
                    } else {
                        t ^= mac.tag(&[&Block::slice_as_flattened(&blocks)[..len]]);
                        cbc.encrypt(&mut blocks);
                        cbc.decrypt(&mut blocks);
                        t ^= mac.tag(&[&Block::slice_as_flattened(&blocks)[..len]]);
                    }
                    black_box(t);
                })
            };
            cases.push(Case { etype: name, size, emu, floor });
        }
    }
    cases
}

fn seal_open(c: &mut Criterion) {
    let mut cases = cases();
    for chunk in cases.chunk_by_mut(|a, b| a.etype == b.etype) {
        let mut g = c.benchmark_group(format!("seal_open/{}", chunk[0].etype));
        for case in chunk.iter_mut() {
            g.throughput(Throughput::Bytes(case.size as u64));
            g.bench_function(BenchmarkId::new("sspi-emu", case.size), |b| b.iter(&mut case.emu));
            g.bench_function(BenchmarkId::new("floor", case.size), |b| b.iter(&mut case.floor));
        }
        g.finish();
    }
}

/// Prints (stderr) sspi-emu / floor for each case as the median of 101 rounds, each the
/// time of a batch of sspi-emu over the time of a batch of the floor run right after (or
/// before: the order alternates). Criterion measures its benchmarks one after another, and
/// on a shared machine the speed drifts between them; interleaved batches do not drift.
/// Skipped under `--profile-time`.
fn paired_ratios(_: &mut Criterion) {
    use std::time::Instant;
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    eprintln!("paired ratios sspi-emu / floor (median of 101 interleaved batches)");
    for mut case in cases() {
        let batch = (65536 / (case.size + 64)).clamp(4, 256);
        let time = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed().as_secs_f64()
        };
        for _ in 0..batch {
            (case.emu)();
            (case.floor)();
        }
        let mut ratios: Vec<f64> = (0..101)
            .map(|r| {
                if r % 2 == 0 {
                    let e = time(&mut case.emu);
                    e / time(&mut case.floor)
                } else {
                    let f = time(&mut case.floor);
                    time(&mut case.emu) / f
                }
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        eprintln!("  {:>14} {:>6} B: {:.2}", case.etype, case.size, ratios[ratios.len() / 2]);
    }
}

criterion_group!(benches, allocations, paired_ratios, string_to_keys, seal_open);
criterion_main!(benches);
