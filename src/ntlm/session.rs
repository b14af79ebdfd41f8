//! Message security of an established NTLM context: signing and sealing with extended
//! session security (MS-NLMP 3.4.2 - 3.4.4).
//!
//! Each direction has its own signing key, its own RC4 keystream that runs continuously over
//! every message of the connection, and its own sequence number that signing and sealing
//! share. Every call works in place on the caller's buffers and allocates nothing.

use super::flags::NegotiateFlags;
use super::keys::{DirectionKeys, direction_keys};
use crate::crypto::{HmacMd5, Key16, Rc4};
use crate::error::{Error, Result};

/// Size of an NTLM signature (MS-NLMP 2.2.2.9.1).
pub const SIGNATURE_SIZE: usize = 16;

/// The signature of a context that negotiated ALWAYS_SIGN but neither SIGN nor SEAL
/// (MS-NLMP 3.4.4.3): version 1, every other byte zero. It protects nothing.
pub(crate) const DUMMY_SIGNATURE: [u8; SIGNATURE_SIZE] =
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// Checks a signature received on a context that signs with [`DUMMY_SIGNATURE`]: that
/// signature and nothing else (a real one from a peer that thinks it signs is altered).
pub(crate) fn verify_dummy(sig: &[u8]) -> Result<()> {
    if crate::crypto::ct_eq(sig, &DUMMY_SIGNATURE) { Ok(()) } else { Err(Error::MessageAltered) }
}

/// One part of a message for the multi-buffer calls: sealed (encrypted in place and covered
/// by the signature) or only signed (covered by the signature, left as is).
#[derive(Debug)]
pub enum Part<'a> {
    /// Encrypted in place (or decrypted, when unsealing) and signed.
    Seal(&'a mut [u8]),
    /// Signed only (SSPI's `SECBUFFER_READONLY_WITH_CHECKSUM`).
    SignOnly(&'a [u8]),
}

/// A message made of parts, visited in order. Implemented for slices of [`Part`], for
/// slices of byte slices (sign and verify only), and for SSPI buffer lists, so that no call
/// needs to allocate.
pub trait MessageParts {
    /// Calls `f` with every part that the signature covers, in order.
    fn for_each_signed(&self, f: impl FnMut(&[u8]));
    /// Calls `f` with every part, writable ones as [`Part::Seal`].
    fn for_each_part(&mut self, f: impl FnMut(Part<'_>));
}

impl MessageParts for [Part<'_>] {
    fn for_each_signed(&self, mut f: impl FnMut(&[u8])) {
        for part in self {
            match part {
                Part::Seal(data) => f(data),
                Part::SignOnly(data) => f(data),
            }
        }
    }

    fn for_each_part(&mut self, mut f: impl FnMut(Part<'_>)) {
        for part in self {
            match part {
                Part::Seal(data) => f(Part::Seal(data)),
                Part::SignOnly(data) => f(Part::SignOnly(data)),
            }
        }
    }
}

impl MessageParts for [&[u8]] {
    fn for_each_signed(&self, mut f: impl FnMut(&[u8])) {
        for part in self {
            f(part);
        }
    }

    fn for_each_part(&mut self, mut f: impl FnMut(Part<'_>)) {
        for part in self.iter() {
            f(Part::SignOnly(part));
        }
    }
}

fn truncate(mac: HmacMd5) -> [u8; 8] {
    let full = mac.tag();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

/// The state of one direction.
#[derive(Clone)]
pub(crate) struct Direction {
    /// The signing key, kept to export the context.
    pub(crate) sign_key: Key16,
    /// HMAC-MD5 keyed with the signing key; cloned per message so the key schedule is paid
    /// once per context, not once per message.
    mac: HmacMd5,
    pub(crate) rc4: Rc4,
    pub(crate) seq: u32,
}

impl Direction {
    #[inline(always)]
    fn new(keys: &DirectionKeys) -> Self {
        // Each field is made where it lives (the RC4 state is 258 bytes): no move through
        // `resume`'s arguments.
        Self {
            sign_key: keys.sign.clone(),
            mac: HmacMd5::new(keys.sign.bytes()),
            rc4: Rc4::new(keys.seal.bytes()),
            seq: 0,
        }
    }

    /// A direction part way through its life (an imported context). The key is taken by
    /// reference and copied once, into its field: a `Key16` passed by value was built in a
    /// temporary inside the destination (the boxed context) and moved, and the stale copy
    /// stayed there, unwiped, until the allocation was freed (`tests/wiped.rs` saw it).
    #[inline(always)]
    pub(crate) fn resume(sign_key: &[u8; 16], rc4: Rc4, seq: u32) -> Self {
        Self { sign_key: Key16::new(*sign_key), mac: HmacMd5::new(sign_key), rc4, seq }
    }
}

/// The message-security state of an established context.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) flags: NegotiateFlags,
    pub(crate) send: Direction,
    pub(crate) recv: Direction,
    /// Report a wrong sequence number as `OutOfSequence` rather than `MessageAltered`.
    pub(crate) detect_sequence: bool,
    pub(crate) exported_session_key: Key16,
}

impl Session {
    /// The session of a handshake just completed. One out-of-line copy for both roles: it
    /// holds two HMAC key schedules and two RC4 ones, and each role's step would otherwise
    /// carry its own copy into the instruction cache.
    #[inline(never)]
    pub(crate) fn new(
        exported_session_key: Key16,
        flags: NegotiateFlags,
        is_client: bool,
        detect_sequence: bool,
    ) -> Self {
        let (c2s, s2c) = direction_keys(&exported_session_key);
        let (send, recv) = if is_client { (&c2s, &s2c) } else { (&s2c, &c2s) };
        Self {
            flags,
            send: Direction::new(send),
            recv: Direction::new(recv),
            detect_sequence,
            exported_session_key,
        }
    }

    fn key_exch(&self) -> bool {
        self.flags.contains(NegotiateFlags::KEY_EXCH)
    }

    /// Finishes a signature over `checksum` with the send direction's keystream
    /// (MS-NLMP 3.4.4.2) and advances the sequence number.
    fn finish_signature(&mut self, mut checksum: [u8; 8]) -> [u8; SIGNATURE_SIZE] {
        if self.key_exch() {
            self.send.rc4.apply(&mut checksum);
        }
        let mut sig = [0u8; SIGNATURE_SIZE];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&self.send.seq.to_le_bytes());
        self.send.seq = self.send.seq.wrapping_add(1);
        sig
    }

    /// Checks a received signature's version and sequence number, before any crypto.
    fn check_header(&self, sig: &[u8]) -> Result<[u8; 8]> {
        let sig: &[u8; SIGNATURE_SIZE] = sig.try_into().map_err(|_| Error::MessageAltered)?;
        let (version, rest) = sig.split_at(4);
        let (checksum, seq) = rest.split_at(8);
        if version != 1u32.to_le_bytes() {
            return Err(Error::MessageAltered);
        }
        let found = u32::from_le_bytes(seq.try_into().map_err(|_| Error::MessageAltered)?);
        if found != self.recv.seq {
            return Err(if self.detect_sequence {
                Error::OutOfSequence { expected: self.recv.seq, found }
            } else {
                Error::MessageAltered
            });
        }
        checksum.try_into().map_err(|_| Error::MessageAltered)
    }

    /// Decrypts the received checksum and compares it with `expected` in constant time. On
    /// failure the receive keystream is rewound by `rewind` + 8 bytes.
    fn check_checksum(&mut self, mut received: [u8; 8], expected: [u8; 8]) -> bool {
        if self.key_exch() {
            self.recv.rc4.apply(&mut received);
        }
        let ok = crate::crypto::ct_eq_words(&received, &expected);
        if !ok && self.key_exch() {
            self.recv.rc4.rewind(8);
        }
        ok
    }

    /// Signs a message made of `parts` (MS-NLMP 3.4.4.2).
    pub(crate) fn sign<P: MessageParts + ?Sized>(&mut self, parts: &P) -> [u8; SIGNATURE_SIZE] {
        let mut mac = self.send.mac.clone();
        mac.update(&self.send.seq.to_le_bytes());
        parts.for_each_signed(|p| mac.update(p));
        self.finish_signature(truncate(mac))
    }

    /// Verifies a signature over `parts`. A failure leaves the context as it was.
    pub(crate) fn verify<P: MessageParts + ?Sized>(&mut self, parts: &P, sig: &[u8]) -> Result<()> {
        let received = self.check_header(sig)?;
        let mut mac = self.recv.mac.clone();
        mac.update(&self.recv.seq.to_le_bytes());
        parts.for_each_signed(|p| mac.update(p));
        if !self.check_checksum(received, truncate(mac)) {
            return Err(Error::MessageAltered);
        }
        self.recv.seq = self.recv.seq.wrapping_add(1);
        Ok(())
    }

    /// Seals `parts` in place (MS-NLMP 3.4.3): the signature covers the plaintext of every
    /// part, the data is encrypted with the send keystream, then the checksum continues the
    /// same keystream.
    pub(crate) fn seal<P: MessageParts + ?Sized>(&mut self, parts: &mut P) -> [u8; SIGNATURE_SIZE] {
        let mut mac = self.send.mac.clone();
        mac.update(&self.send.seq.to_le_bytes());
        let rc4 = &mut self.send.rc4;
        parts.for_each_part(|part| match part {
            Part::Seal(data) => {
                mac.update(data);
                rc4.apply(data);
            }
            Part::SignOnly(data) => mac.update(data),
        });
        self.finish_signature(truncate(mac))
    }

    /// Unseals `parts` in place and verifies the signature. On failure the parts hold their
    /// ciphertext again and the context is as it was, ready for the next valid message.
    pub(crate) fn unseal<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        sig: &[u8],
    ) -> Result<()> {
        let received = self.check_header(sig)?;
        let mut mac = self.recv.mac.clone();
        mac.update(&self.recv.seq.to_le_bytes());
        let mut sealed_len = 0usize;
        let rc4 = &mut self.recv.rc4;
        parts.for_each_part(|part| match part {
            Part::Seal(data) => {
                rc4.apply(data);
                mac.update(data);
                sealed_len += data.len();
            }
            Part::SignOnly(data) => mac.update(data),
        });
        if !self.check_checksum(received, truncate(mac)) {
            // Put the ciphertext back and the keystream where it was.
            let rc4 = &mut self.recv.rc4;
            rc4.rewind(sealed_len);
            parts.for_each_part(|part| {
                if let Part::Seal(data) = part {
                    rc4.apply(data);
                }
            });
            rc4.rewind(sealed_len);
            return Err(Error::MessageAltered);
        }
        self.recv.seq = self.recv.seq.wrapping_add(1);
        Ok(())
    }

    /// The next sequence numbers (send, receive).
    pub(crate) fn sequence_numbers(&self) -> (u32, u32) {
        (self.send.seq, self.recv.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntlm::keys::tests::{RANDOM_SESSION_KEY, hex};

    fn pair() -> (Session, Session) {
        let flags = NegotiateFlags(0xE288_8235);
        let key = Key16::new(RANDOM_SESSION_KEY);
        (Session::new(key.clone(), flags, true, true), Session::new(key, flags, false, true))
    }

    #[test]
    fn sealed_message_ms_nlmp_4_2_4_4() {
        let (mut client, _) = pair();
        let mut data = hex("50006c00610069006e007400650078007400"); // "Plaintext"
        let sig = client.seal(&mut [Part::Seal(&mut data)][..]);
        assert_eq!(data, hex("54e50165bf1936dc996020c1811b0f06fb5f"));
        assert_eq!(sig[..], hex("010000007fb38ec5c55d497600000000"));
    }

    #[test]
    fn server_seal_round_trip_and_a_failure_leaves_the_stream_usable() {
        let (mut client, mut server) = pair();
        let mut data = *b"hello";
        let sig = server.seal(&mut [Part::Seal(&mut data)][..]);
        let mut tampered = data;
        tampered[0] ^= 1;
        assert_eq!(
            client.unseal(&mut [Part::Seal(&mut tampered)][..], &sig),
            Err(Error::MessageAltered)
        );
        let mut expected = data;
        expected[0] ^= 1;
        assert_eq!(tampered, expected, "the ciphertext is restored after a failure");
        client.unseal(&mut [Part::Seal(&mut data)][..], &sig).unwrap();
        assert_eq!(&data, b"hello");
    }

    #[test]
    fn replays_and_skips_are_out_of_sequence() {
        let (mut client, mut server) = pair();
        let s0 = client.sign(&[&b"one"[..]][..]);
        let s1 = client.sign(&[&b"two"[..]][..]);
        assert_eq!(
            server.verify(&[&b"two"[..]][..], &s1),
            Err(Error::OutOfSequence { expected: 0, found: 1 })
        );
        server.verify(&[&b"one"[..]][..], &s0).unwrap();
        assert_eq!(
            server.verify(&[&b"one"[..]][..], &s0),
            Err(Error::OutOfSequence { expected: 1, found: 0 })
        );
        assert_eq!(server.verify(&[&b"tw0"[..]][..], &s1), Err(Error::MessageAltered));
        server.verify(&[&b"two"[..]][..], &s1).unwrap();
        assert_eq!(server.sequence_numbers(), (0, 2));
    }
}
