//! Allocation counts of the Kerberos message-token calls (`kerberos::message`), as
//! `tests/allocations.rs` does for the NTLM ones: a global allocator is process-wide, so
//! this is its own test binary.
//!
//! `unsafe` is needed only to implement `GlobalAlloc`, which forwards to the system
//! allocator; the library itself forbids unsafe code.
#![allow(unsafe_code)]

use sspi_emu::kerberos::message::MessageKeys;
use sspi_emu::kerberos::{EncType, Key};
use sspi_emu::ntlm::Part;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNT: Cell<Option<usize>> = const { Cell::new(None) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.with(|c| c.set(c.get().map(|n| n + 1)));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.with(|c| c.set(c.get().map(|n| n + 1)));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(Some(0)));
    f();
    COUNT.with(|c| c.replace(None)).unwrap_or(0)
}

#[test]
fn kerberos_message_calls_allocate_nothing() {
    for (etype, key_len) in [
        (EncType::AES256_CTS_HMAC_SHA1_96, 32),
        (EncType::AES256_CTS_HMAC_SHA384_192, 32),
        (EncType::RC4_HMAC, 16),
    ] {
        let key = Key::new(etype, &[9; 32][..key_len]);
        let init = MessageKeys::new(&key, true, true).unwrap();
        let acc = MessageKeys::new(&key, false, true).unwrap();
        let conf = &[5u8; 16][..init.confounder_len()];
        let mut mic = [0u8; 64];
        let mut wrap = [0u8; 100 + 72];
        let mut token = [0u8; 72];
        let (mut a, mut b, header) = ([1u8; 37], [2u8; 50], [3u8; 13]);
        let n = allocations(|| {
            for seq in 0..10u64 {
                let parts: [&[u8]; 2] = [&a, &b];
                let len = init.make_mic(seq, &parts[..], &mut mic).unwrap();
                assert_eq!(acc.verify_mic(&parts[..], &mic[..len]).unwrap(), seq);
                for confidential in [true, false] {
                    let w = &mut wrap[..init.wrap_len(confidential, 100)];
                    init.wrap_in_place(seq, confidential, conf, w).unwrap();
                    assert_eq!(acc.unwrap_in_place(w).unwrap().seq, seq);
                    let t = {
                        let mut parts =
                            [Part::SignOnly(&header), Part::Seal(&mut a), Part::Seal(&mut b)];
                        init.seal_parts(seq, confidential, conf, &mut parts[..], &mut token)
                            .unwrap()
                    };
                    let mut parts =
                        [Part::SignOnly(&header), Part::Seal(&mut a), Part::Seal(&mut b)];
                    assert_eq!(acc.unseal_parts(&mut token[..t], &mut parts[..]).unwrap().seq, seq);
                }
            }
        });
        assert_eq!(n, 0, "allocations in 10 rounds of Kerberos message calls ({etype:?})");
        assert!(a.iter().all(|&x| x == 1) && b.iter().all(|&x| x == 2));
    }
}
