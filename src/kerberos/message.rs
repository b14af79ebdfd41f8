//! Kerberos per-message tokens of an established context: RFC 4121 section 4.2 (the "CFX"
//! tokens of the AES enctypes 17-20), in the contiguous GSS-API form and in the split form
//! Windows' `EncryptMessage` uses; the RFC 4757 section 7 tokens of rc4-hmac (RFC 1964
//! formats, see the `rc4` submodule's documentation) behind the same calls; and the
//! receive-side sequence window (RFC 4121 section 4.2.2, RFC 2743 section 1.2.3).
//!
//! The caller keeps the sequence numbers: `seq` is the number to send (RFC 4121: 64 bits;
//! rc4-hmac: the low 32 bits are sent), and the number a received token carries is returned
//! for a [`ReceiveWindow`]. rc4-hmac tokens do not cover SND_SEQ with their checksum (RFC
//! 1964 encrypts it instead): only the window notices a changed number there.
//!
//! ```text
//!  MIC (GetMIC, 4.2.6.1)          04 04 | flags | FF FF FF FF FF | SND_SEQ(8) | checksum
//!  Wrap (4.2.6.2)                 05 04 | flags | FF | EC(2) | RRC(2) | SND_SEQ(8) | body
//!    confidential body            E(confounder | data | filler(EC) | header') | HMAC
//!                                 (header' = the header with RRC 0), rotated right by RRC
//!    integrity-only body          data | checksum(data | header with EC and RRC 0),
//!                                 EC = checksum length, rotated right by RRC
//!  flags: 0x01 SentByAcceptor, 0x02 Sealed, 0x04 AcceptorSubkey
//! ```
//!
//! Key usages (RFC 4121 section 2): a MIC is checksummed with usage 25 (initiator sign) or
//! 23 (acceptor sign), a Wrap token is encrypted or checksummed with 24 (initiator seal) or
//! 22 (acceptor seal). [`MessageKeys`] derives the four key sets once.
//!
//! # Errors: malformed or altered
//! A token whose structure is wrong (length, TOK_ID, filler bytes, an EC or RRC that cannot
//! describe the token) is [`Error::InvalidToken`] (MIT: `GSS_S_DEFECTIVE_TOKEN`); anything
//! that needs the key or the context to judge (checksum, HMAC, the SentByAcceptor flag of
//! the wrong direction, an AcceptorSubkey flag other than the context's, an encrypted header
//! copy that differs from the header) is the detail-free [`Error::MessageAltered`] (MIT:
//! `GSS_S_BAD_SIG`).
//!
//! # The split form (Windows `EncryptMessage`)
//! Windows' Kerberos SSP seals a message given as a `SECBUFFER_TOKEN` and `SECBUFFER_DATA`
//! buffers so that the data buffers keep their length and hold the ciphertext of the data in
//! place: the Wrap token with `EC = 0`, `RRC = 16 + checksum length` (28 for aes-sha1: MS-KILE
//! 3.4.5.4.1 "the RRC field is ... 28 if encryption is requested"), so that after the
//! rotation the token is
//!
//! ```text
//!  token buffer: header(16) | E(header')(16) | HMAC(12) | E(confounder)(16)   (60 bytes)
//!  data buffers: E(data), in place
//! ```
//!
//! This is exactly the contiguous token `header | rotate_right(E(conf|data|header') | HMAC,
//! 28)` cut after 60 bytes (the tests rebuild one from the other). DCE-style peers (RPC) send
//! `EC = 16` and, as MS-KILE 3.4.5.4.1 says and MIT's `kg_unseal_iov_token` accepts, still
//! write `RRC = 28` while rotating by `RRC + EC`: [`MessageKeys::set_dce_style`] selects
//! that convention for sending and receiving. Sources read: MS-KILE 3.4.5.4.1; MIT
//! `k5unsealiov.c` (`desired_rrc`: `16 + trailer`, plus EC unless DCE style); Devolutions
//! sspi-rs `src/kerberos/mod.rs` (`RRC = 28`, `SECURITY_TRAILER = 60`, rotation by
//! `RRC + EC`); FreeRDP pull request 8307 (Windows reports `cbSecurityTrailer = 76` while
//! `EncryptMessage` writes 60).
//!
//! Sign-only parts (`SECBUFFER_READONLY_WITH_CHECKSUM`) are covered by the HMAC at their
//! place in the message and not encrypted. For aes-sha1 this is what MS-KILE 3.4.5.4.1
//! specifies ("For encryption, the plaintext-data is the concatenation in order of all the
//! buffers where Conf_req_flag == TRUE. For checksum, the plaintext-data is the
//! concatenation in order of all the input buffers including those that are only marked
//! with sign == TRUE"), and what MIT's IOV code does for `GSS_IOV_BUFFER_TYPE_SIGN_ONLY`:
//! the HMAC input is `confounder | parts in order (plaintext) | filler | header'`. Windows
//! has no aes-sha2 (RFC 8009, encrypt-then-MAC); there the input is MIT's: `IV |
//! E(confounder) | parts in order (ciphertext of sealed parts, sign-only as they are) |
//! E(filler | header')`.
//!
//! Nothing here allocates: every call works in the caller's buffers with a few stack blocks.

mod rc4;
#[cfg(test)]
mod tests;

use super::crypto::segmented::{Segment, Segments};
use super::crypto::{DerivedKeys, KeyUsage};
use super::{EncType, Key};
use crate::error::{Error, Result};
use crate::ntlm::{MessageParts, Part};
use core::fmt;
use core::ops::Range;
use zeroize::Zeroize;

/// TOK_ID of a MIC token (RFC 4121 section 4.2.6.1).
pub const TOK_ID_MIC: [u8; 2] = [0x04, 0x04];
/// TOK_ID of a Wrap token (RFC 4121 section 4.2.6.2).
pub const TOK_ID_WRAP: [u8; 2] = [0x05, 0x04];
/// Flag: the sender is the context acceptor (RFC 4121 section 4.2.2).
pub const FLAG_SENT_BY_ACCEPTOR: u8 = 0x01;
/// Flag: the Wrap token is encrypted.
pub const FLAG_SEALED: u8 = 0x02;
/// Flag: the acceptor's subkey protects the token.
pub const FLAG_ACCEPTOR_SUBKEY: u8 = 0x04;
/// Length of the token header.
pub const HEADER_LEN: usize = 16;
/// Length of the confounder of the AES enctypes.
pub const CONFOUNDER_LEN: usize = 16;

/// The keys of an established context for RFC 4121 tokens, derived once (never per message):
/// sign and seal keys for each direction. Wiped on drop (through [`DerivedKeys`]); `Debug`
/// shows no key material.
#[derive(Clone)]
pub struct MessageKeys {
    initiator: bool,
    acceptor_subkey: bool,
    send_sign: DerivedKeys,
    send_seal: DerivedKeys,
    recv_sign: DerivedKeys,
    recv_seal: DerivedKeys,
    /// rc4-hmac only: the sequence-number and encryption key bases (the four key sets above
    /// are then the MIC and Wrap checksum keys, the same both ways).
    rc4: Option<rc4::Rc4Keys>,
    /// See [`set_dce_style`](Self::set_dce_style).
    dce_style: bool,
}

impl fmt::Debug for MessageKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageKeys")
            .field("etype", &self.etype())
            .field("initiator", &self.initiator)
            .field("acceptor_subkey", &self.acceptor_subkey)
            .field("dce_style", &self.dce_style)
            .finish_non_exhaustive()
    }
}

/// What [`MessageKeys::unwrap_in_place`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwrapped {
    /// The sender's sequence number (SND_SEQ).
    pub seq: u64,
    /// Whether the token was encrypted (the Sealed flag).
    pub confidential: bool,
    /// Where the plaintext is in the buffer.
    pub data: Range<usize>,
}

/// What [`MessageKeys::unseal_parts`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsealed {
    /// The sender's sequence number (SND_SEQ).
    pub seq: u64,
    /// Whether the message was encrypted (the Sealed flag).
    pub confidential: bool,
}

/// A parsed Wrap token header.
struct WrapHeader {
    raw: [u8; HEADER_LEN],
    confidential: bool,
    ec: usize,
    rrc: usize,
    seq: u64,
}

/// The 16-byte header of a token.
fn header(tok_id: [u8; 2], flags: u8, ec: u16, rrc: u16, seq: u64) -> [u8; HEADER_LEN] {
    let mut h = [0xFFu8; HEADER_LEN];
    h[..2].copy_from_slice(&tok_id);
    h[2] = flags;
    if tok_id == TOK_ID_WRAP {
        h[4..6].copy_from_slice(&ec.to_be_bytes());
        h[6..8].copy_from_slice(&rrc.to_be_bytes());
    }
    h[8..].copy_from_slice(&seq.to_be_bytes());
    h
}

/// `h` with the EC and RRC fields zeroed: what an integrity-only Wrap checksum covers (RFC
/// 4121 section 4.2.4).
fn zero_ec_rrc(mut h: [u8; HEADER_LEN]) -> [u8; HEADER_LEN] {
    h[4..8].fill(0);
    h
}

fn u16_of(n: usize) -> Result<u16> {
    u16::try_from(n).map_err(|_| Error::InvalidParameter("EC or RRC above 65535"))
}

/// The message parts of the split form as cipher segments: the confounder (in the token
/// buffer), the parts, then the filler and encrypted header (in the token buffer).
struct SealSegments<'a, P: ?Sized> {
    head: &'a mut [u8],
    parts: &'a mut P,
    tail: &'a mut [u8],
}

impl<P: MessageParts + ?Sized> Segments for SealSegments<'_, P> {
    fn visit(&mut self, f: &mut dyn FnMut(Segment<'_>)) {
        f(Segment::Cipher(self.head));
        self.parts.for_each_part(|p| match p {
            Part::Seal(d) => f(Segment::Cipher(d)),
            Part::SignOnly(d) => f(Segment::SignOnly(d)),
        });
        f(Segment::Cipher(self.tail));
    }
}

impl MessageKeys {
    /// The keys of a context. `key` is the context key (the acceptor's subkey if the acceptor
    /// sent one, else the initiator's subkey, else the ticket session key); `initiator` says
    /// which side we are; `acceptor_subkey` whether the AcceptorSubkey flag (0x04) goes into
    /// the tokens (and must be in the peer's). For rc4-hmac (RFC 1964 tokens have no flags)
    /// `acceptor_subkey` has no effect. Not DCE style until
    /// [`set_dce_style`](Self::set_dce_style).
    ///
    /// # Errors
    /// [`Error::NotSupported`] for rc4-hmac (RFC 4757 tokens are not implemented yet) and
    /// enctypes not implemented; [`Error::InvalidParameter`] for a key of the wrong length.
    pub fn new(key: &Key, initiator: bool, acceptor_subkey: bool) -> Result<Self> {
        if key.etype() == EncType::RC4_HMAC {
            let (mic, wrap) = rc4::checksum_keys(key)?;
            return Ok(Self {
                initiator,
                acceptor_subkey,
                send_sign: mic.clone(),
                recv_sign: mic,
                send_seal: wrap.clone(),
                recv_seal: wrap,
                rc4: Some(rc4::Rc4Keys::new(key)?),
                dce_style: false,
            });
        }
        let (send_sign, send_seal, recv_sign, recv_seal) = if initiator {
            (
                KeyUsage::KG_INITIATOR_SIGN,
                KeyUsage::KG_INITIATOR_SEAL,
                KeyUsage::KG_ACCEPTOR_SIGN,
                KeyUsage::KG_ACCEPTOR_SEAL,
            )
        } else {
            (
                KeyUsage::KG_ACCEPTOR_SIGN,
                KeyUsage::KG_ACCEPTOR_SEAL,
                KeyUsage::KG_INITIATOR_SIGN,
                KeyUsage::KG_INITIATOR_SEAL,
            )
        };
        Ok(Self {
            initiator,
            acceptor_subkey,
            send_sign: DerivedKeys::new(key, send_sign)?,
            send_seal: DerivedKeys::new(key, send_seal)?,
            recv_sign: DerivedKeys::new(key, recv_sign)?,
            recv_seal: DerivedKeys::new(key, recv_seal)?,
            rc4: None,
            dce_style: false,
        })
    }

    /// Seals in DCE style (`ISC_REQ_USE_DCE_STYLE`, RPC): [`seal_parts`](Self::seal_parts)
    /// then writes `EC = 16` (one block of filler, MS-KILE 3.4.5.4.1: "the sender should set
    /// extra count (EC) to 1 block - 16 bytes"; sspi-rs and go-msrpc see Windows RPC do it,
    /// while CredSSP and NegotiateStream get `EC = 0`), `RRC = 28` and rotates by `RRC + EC`:
    /// a 76-byte token buffer for aes-sha1. [`unseal_parts`](Self::unseal_parts) then expects
    /// `RRC = 16 + checksum length` whatever the EC (MIT's rule for DCE style), and `RRC = EC
    /// + 16 + checksum length` otherwise (the two agree when EC is 0).
    pub fn set_dce_style(&mut self, dce_style: bool) {
        self.dce_style = dce_style;
    }

    /// The EC of a confidential split-form token we send.
    fn dce_ec(&self) -> usize {
        if self.dce_style { 16 } else { 0 }
    }

    /// The encryption type.
    pub fn etype(&self) -> EncType {
        self.send_sign.etype()
    }

    fn cksum(&self) -> usize {
        self.send_sign.checksum_len()
    }

    /// Length of a MIC token: 16 + the checksum length (28, 32 or 40); 37 for rc4-hmac (the
    /// GSS framing and the 24-byte RFC 1964 token).
    pub fn mic_len(&self) -> usize {
        if self.rc4.is_some() {
            return Self::rc4_mic_len();
        }
        HEADER_LEN + self.cksum()
    }

    /// Length of the confounder `wrap_in_place` and `seal_parts` take: 16 (AES), 8 (rc4-hmac,
    /// also for integrity-only tokens, which carry it in clear).
    pub fn confounder_len(&self) -> usize {
        if self.rc4.is_some() { 8 } else { CONFOUNDER_LEN }
    }

    /// The flags of our tokens (without Sealed).
    fn our_flags(&self) -> u8 {
        let mut f = 0;
        if !self.initiator {
            f |= FLAG_SENT_BY_ACCEPTOR;
        }
        if self.acceptor_subkey {
            f |= FLAG_ACCEPTOR_SUBKEY;
        }
        f
    }

    /// Checks a peer token's flags: sent by the other side, with our AcceptorSubkey flag.
    /// Other bits are ignored (RFC 4121 section 4.2.2).
    fn check_flags(&self, flags: u8) -> Result<()> {
        let from_acceptor = flags & FLAG_SENT_BY_ACCEPTOR != 0;
        let subkey = flags & FLAG_ACCEPTOR_SUBKEY != 0;
        if from_acceptor != self.initiator || subkey != self.acceptor_subkey {
            return Err(Error::MessageAltered);
        }
        Ok(())
    }

    /// Makes a MIC token (RFC 4121 section 4.2.6.1) over `parts` into `out` (at least
    /// [`mic_len`](Self::mic_len) bytes); returns its length. The checksum covers the parts
    /// in order, then the 16-byte header. (rc4-hmac: the GSS-framed RFC 4757 section 7.2
    /// token, whose checksum covers the first 8 header bytes, then the parts.)
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is too short.
    pub fn make_mic<P: MessageParts + ?Sized>(
        &self,
        seq: u64,
        parts: &P,
        out: &mut [u8],
    ) -> Result<usize> {
        if self.rc4.is_some() {
            return self.rc4_make_mic(seq, parts, out);
        }
        let n = self.mic_len();
        let out = out.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n })?;
        let h = header(TOK_ID_MIC, self.our_flags(), 0, 0, seq);
        let mut mac = self.send_sign.checksum_stream();
        parts.for_each_signed(|p| mac.update(p));
        mac.update(&h);
        let (head, sum) = out.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&h);
        mac.finish_into(sum)?;
        Ok(n)
    }

    /// Verifies the peer's MIC token over `parts`; returns its sequence number (check it with
    /// a [`ReceiveWindow`]).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for a token of the wrong length, TOK_ID or filler;
    /// [`Error::MessageAltered`] for a token of the wrong direction or AcceptorSubkey flag, or
    /// whose checksum does not verify.
    pub fn verify_mic<P: MessageParts + ?Sized>(&self, parts: &P, token: &[u8]) -> Result<u64> {
        if self.rc4.is_some() {
            return self.rc4_verify_mic(parts, token);
        }
        if token.len() != self.mic_len() {
            return Err(Error::InvalidToken("Kerberos MIC token of the wrong length"));
        }
        let (h, sum) = token.split_at(HEADER_LEN);
        if h[..2] != TOK_ID_MIC || h[3..8] != [0xFF; 5] {
            return Err(Error::InvalidToken("not a Kerberos MIC token (RFC 4121 4.2.6.1)"));
        }
        self.check_flags(h[2])?;
        let mut mac = self.recv_sign.checksum_stream();
        parts.for_each_signed(|p| mac.update(p));
        mac.update(h);
        if !mac.verify(sum) {
            return Err(Error::MessageAltered);
        }
        Ok(seq_of(h))
    }

    /// Length of a contiguous Wrap token of `data_len` bytes of data as
    /// [`wrap_in_place`](Self::wrap_in_place) makes it: `data_len + 60` (aes-sha1) confidential,
    /// `data_len + 28` integrity-only (16 more for aes128-sha256, 28 more for aes256-sha384
    /// confidential; 4 and 12 more integrity-only).
    /// rc4-hmac: the GSS framing (whose length grows with the data), 32 bytes of header and
    /// confounder, the data and one byte of padding.
    pub fn wrap_len(&self, confidential: bool, data_len: usize) -> usize {
        data_len
            + self.wrap_data_offset(confidential, data_len)
            + self.wrap_trailer_len(confidential)
    }

    /// Where the data goes in [`wrap_in_place`](Self::wrap_in_place)'s buffer: 32 (header and
    /// confounder) confidential, 16 (header) integrity-only; for rc4-hmac the framing and the
    /// 32-byte header, which depends on `data_len` (the DER length of the framing).
    pub fn wrap_data_offset(&self, confidential: bool, data_len: usize) -> usize {
        if self.rc4.is_some() {
            return Self::rc4_wrap_data_offset(data_len);
        }
        if confidential { HEADER_LEN + CONFOUNDER_LEN } else { HEADER_LEN }
    }

    /// Bytes after the data in [`wrap_in_place`](Self::wrap_in_place)'s buffer: the encrypted
    /// header copy and the HMAC confidential, the checksum integrity-only; the pad byte for
    /// rc4-hmac.
    pub fn wrap_trailer_len(&self, confidential: bool) -> usize {
        if self.rc4.is_some() {
            return 1;
        }
        if confidential { HEADER_LEN + self.cksum() } else { self.cksum() }
    }

    /// Makes a contiguous Wrap token (RFC 4121 section 4.2.6.2) in place, with `EC = 0`
    /// (confidential; RFC 4121 allows it for AES, whose CTS needs no padding, and MIT and
    /// Windows send it) or `EC` = the checksum length (integrity-only), and `RRC = 0`.
    ///
    /// Buffer convention: `buf` is [`wrap_data_offset`](Self::wrap_data_offset) bytes of room
    /// (header, confounder), the data, then [`wrap_trailer_len`](Self::wrap_trailer_len)
    /// bytes of room; on return it is the token (`buf.len() == wrap_len(confidential,
    /// data_len)`). `confounder` is 16 random bytes when confidential, ignored otherwise.
    ///
    /// rc4-hmac (RFC 4757 section 7.3): the room before the data is the GSS framing and the
    /// 32-byte token header, the room after it the pad byte; `confounder` is 8 random bytes,
    /// confidential or not (an integrity-only token carries it in clear).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a buffer shorter than the room or a confounder of the
    /// wrong length.
    pub fn wrap_in_place(
        &self,
        seq: u64,
        confidential: bool,
        confounder: &[u8],
        buf: &mut [u8],
    ) -> Result<()> {
        if self.rc4.is_some() {
            return self.rc4_wrap_in_place(seq, confidential, confounder, buf);
        }
        let room = self.wrap_len(confidential, 0);
        let data_len = buf
            .len()
            .checked_sub(room)
            .ok_or(Error::InvalidParameter("wrap buffer shorter than the token's room"))?;
        let ck = self.cksum();
        if confidential {
            let h = header(TOK_ID_WRAP, self.our_flags() | FLAG_SEALED, 0, 0, seq);
            let copy_at = HEADER_LEN + CONFOUNDER_LEN + data_len;
            buf[..HEADER_LEN].copy_from_slice(&h);
            buf[copy_at..copy_at + HEADER_LEN].copy_from_slice(&h);
            self.send_seal.encrypt_in_place(confounder, &mut buf[HEADER_LEN..])
        } else {
            let h = header(TOK_ID_WRAP, self.our_flags(), u16_of(ck)?, 0, seq);
            buf[..HEADER_LEN].copy_from_slice(&h);
            let (data, sum) = buf[HEADER_LEN..].split_at_mut(data_len);
            let mut mac = self.send_seal.checksum_stream();
            mac.update(data);
            mac.update(&zero_ec_rrc(h));
            mac.finish_into(sum)
        }
    }

    fn parse_wrap_header(&self, token: &[u8]) -> Result<WrapHeader> {
        let raw: [u8; HEADER_LEN] = token
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(Error::InvalidToken("Kerberos Wrap token shorter than its header"))?;
        if raw[..2] != TOK_ID_WRAP || raw[3] != 0xFF {
            return Err(Error::InvalidToken("not a Kerberos Wrap token (RFC 4121 4.2.6.2)"));
        }
        self.check_flags(raw[2])?;
        Ok(WrapHeader {
            raw,
            confidential: raw[2] & FLAG_SEALED != 0,
            ec: usize::from(u16::from_be_bytes([raw[4], raw[5]])),
            rrc: usize::from(u16::from_be_bytes([raw[6], raw[7]])),
            seq: seq_of(&raw),
        })
    }

    /// Checks the decrypted header copy against the token's header: every field but RRC (the
    /// copy has RRC 0; MIT compares the same fields).
    fn check_header_copy(h: &WrapHeader, copy: &[u8]) -> Result<()> {
        let same = copy.len() == HEADER_LEN && copy[..6] == h.raw[..6] && copy[8..] == h.raw[8..];
        if same { Ok(()) } else { Err(Error::MessageAltered) }
    }

    /// Unwraps any valid contiguous Wrap token from the peer in place: confidential or not,
    /// any EC (filler) for confidential tokens, any RRC (the body is rotated back left by RRC,
    /// RFC 4121 section 4.2.5). Returns the sequence number, the Sealed flag, and where the
    /// plaintext now is in `buf`. On an integrity failure no unverified plaintext is left in
    /// `buf` (it may hold the rotated ciphertext or zeros). rc4-hmac: a GSS-framed RFC 4757
    /// section 7.3 token whose framing covers the data, with 1 to 8 bytes of RFC 1964
    /// padding (the sequence number is 32 bits).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for a malformed token (short, TOK_ID, filler, an EC that does
    /// not fit, an integrity-only EC other than the checksum length);
    /// [`Error::MessageAltered`] for a wrong direction or AcceptorSubkey flag, a failed HMAC
    /// or checksum, or a header copy that does not match.
    pub fn unwrap_in_place(&self, buf: &mut [u8]) -> Result<Unwrapped> {
        if self.rc4.is_some() {
            return self.rc4_unwrap_in_place(buf);
        }
        let h = self.parse_wrap_header(buf)?;
        let ck = self.cksum();
        let body = &mut buf[HEADER_LEN..];
        if body.is_empty() {
            return Err(Error::InvalidToken("Kerberos Wrap token without a body"));
        }
        let rot = h.rrc % body.len();
        body.rotate_left(rot);
        if h.confidential {
            let min = self.recv_seal.overhead() + h.ec + HEADER_LEN;
            if body.len() < min {
                return Err(Error::InvalidToken("Kerberos Wrap token shorter than its EC"));
            }
            let plain = self.recv_seal.decrypt_in_place(body)?;
            let data_len = plain.len() - h.ec - HEADER_LEN;
            if let Err(e) = Self::check_header_copy(&h, &plain[data_len + h.ec..]) {
                plain.zeroize();
                return Err(e);
            }
            let start = HEADER_LEN + CONFOUNDER_LEN;
            Ok(Unwrapped { seq: h.seq, confidential: true, data: start..start + data_len })
        } else {
            if h.ec != ck {
                return Err(Error::InvalidToken(
                    "integrity-only Kerberos Wrap token whose EC is not the checksum length",
                ));
            }
            let data_len = body
                .len()
                .checked_sub(ck)
                .ok_or(Error::InvalidToken("Kerberos Wrap token shorter than its checksum"))?;
            let (data, sum) = body.split_at(data_len);
            let mut mac = self.recv_seal.checksum_stream();
            mac.update(data);
            mac.update(&zero_ec_rrc(h.raw));
            if !mac.verify(sum) {
                return Err(Error::MessageAltered);
            }
            Ok(Unwrapped {
                seq: h.seq,
                confidential: false,
                data: HEADER_LEN..HEADER_LEN + data_len,
            })
        }
    }

    /// Length of the token buffer [`seal_parts`](Self::seal_parts) writes: 60 (aes-sha1), 64
    /// (aes128-sha256), 72 (aes256-sha384) confidential, 16 more in DCE style;
    /// [`mic_len`](Self::mic_len) integrity-only; 45 for rc4-hmac.
    pub fn seal_token_len(&self, confidential: bool) -> usize {
        if self.rc4.is_some() {
            return rc4::DCE_TOKEN_LEN;
        }
        if confidential {
            HEADER_LEN + self.dce_ec() + HEADER_LEN + self.cksum() + CONFOUNDER_LEN
        } else {
            self.mic_len()
        }
    }

    /// `SecPkgContext_Sizes.cbSecurityTrailer`: what Windows reports for aes-sha1, 76
    /// (FreeRDP pull request 8307: "it would report cbSecurityTrailer = 76, when the actual
    /// signature size is 60"), i.e. the 60 bytes `EncryptMessage` writes plus one block for a
    /// DCE-style EC of 16. Windows has no aes-sha2; the same rule gives 80 and 88.
    pub fn security_trailer_len(&self) -> usize {
        if self.rc4.is_some() {
            return rc4::DCE_TOKEN_LEN;
        }
        self.seal_token_len(true) + 16
    }

    /// `SecPkgContext_Sizes.cbMaxSignature`: the MIC token length (28 for aes-sha1). Not
    /// checked against a Windows machine: the length `MakeSignature` writes for AES.
    pub fn max_signature_len(&self) -> usize {
        self.mic_len()
    }

    /// Seals a message in the split form of Windows' `EncryptMessage` (see the module docs):
    /// the [`Part::Seal`] parts are encrypted in place (confidential) as one cipher stream
    /// across their boundaries, [`Part::SignOnly`] parts only covered by the HMAC, and the
    /// token buffer gets the header, the encrypted header copy, the HMAC and the encrypted
    /// confounder: [`seal_token_len`](Self::seal_token_len) bytes, returned. Integrity-only
    /// (Windows' `SECQOP_WRAP_NO_ENCRYPT`): every part stays as it is, `EC = RRC =` the
    /// checksum length and the token is the header and the checksum.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `token` is too short; [`Error::InvalidParameter`] for a
    /// confounder that is not 16 bytes (confidential); [`Error::NotSupported`] if the parts
    /// break more than 16 AES blocks (nothing is written then).
    pub fn seal_parts<P: MessageParts + ?Sized>(
        &self,
        seq: u64,
        confidential: bool,
        confounder: &[u8],
        parts: &mut P,
        token: &mut [u8],
    ) -> Result<usize> {
        if self.rc4.is_some() {
            return self.rc4_seal_parts(seq, confidential, confounder, parts, token);
        }
        let ck = self.cksum();
        let n = self.seal_token_len(confidential);
        let token = token.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n })?;
        if confidential {
            if confounder.len() != CONFOUNDER_LEN {
                return Err(Error::InvalidParameter("confounder length"));
            }
            // MS-KILE 3.4.5.4.1: RRC counts the header copy and the HMAC, the rotation is by
            // RRC + EC (EC is 0 unless DCE style, where it is one block of zeros).
            let ec = self.dce_ec();
            let rrc = u16_of(HEADER_LEN + ck)?;
            let flags = self.our_flags() | FLAG_SEALED;
            let copy = header(TOK_ID_WRAP, flags, u16_of(ec)?, 0, seq);
            let (h, rest) = token.split_at_mut(HEADER_LEN);
            let (tail, rest) = rest.split_at_mut(ec + HEADER_LEN);
            let (mac, head) = rest.split_at_mut(ck);
            let (filler, copy_at) = tail.split_at_mut(ec);
            filler.fill(0);
            copy_at.copy_from_slice(&copy);
            head.copy_from_slice(confounder);
            let mut segs = SealSegments { head, parts, tail };
            if let Err(e) = self.send_seal.encrypt_segments(&mut segs, mac) {
                segs.head.zeroize();
                return Err(e);
            }
            h.copy_from_slice(&header(TOK_ID_WRAP, flags, u16_of(ec)?, rrc, seq));
        } else {
            let h = header(TOK_ID_WRAP, self.our_flags(), u16_of(ck)?, u16_of(ck)?, seq);
            let mut mac = self.send_seal.checksum_stream();
            parts.for_each_signed(|p| mac.update(p));
            mac.update(&zero_ec_rrc(h));
            let (head, sum) = token.split_at_mut(HEADER_LEN);
            head.copy_from_slice(&h);
            mac.finish_into(sum)?;
        }
        Ok(n)
    }

    /// Unseals a message in the split form (see [`seal_parts`](Self::seal_parts) and the
    /// module docs): the token buffer is decrypted in place too. Takes `EC` 0 or any filler
    /// length, with `RRC = EC + 16 + checksum length` (RFC 4121), or in DCE style (see
    /// [`set_dce_style`](Self::set_dce_style)) `16 + checksum length` with the rotation by
    /// `RRC + EC` (MS-KILE 3.4.5.4.1); the
    /// token buffer must be exactly the rotated-away bytes plus header and confounder. On
    /// failure no unverified plaintext is left in the parts (aes-sha1: they are wiped;
    /// aes-sha2: nothing is decrypted before the HMAC verifies). rc4-hmac: the 45-byte
    /// DCE-style token buffer only (framing over the 32-byte header, no padding).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for a malformed token; [`Error::MessageAltered`] for an
    /// integrity failure; [`Error::NotSupported`] as [`seal_parts`](Self::seal_parts).
    pub fn unseal_parts<P: MessageParts + ?Sized>(
        &self,
        token: &mut [u8],
        parts: &mut P,
    ) -> Result<Unsealed> {
        if self.rc4.is_some() {
            return self.rc4_unseal_parts(token, parts);
        }
        let h = self.parse_wrap_header(token)?;
        let ck = self.cksum();
        if h.confidential {
            let rotated = HEADER_LEN + ck + h.ec;
            if token.len() != HEADER_LEN + rotated + CONFOUNDER_LEN {
                return Err(Error::InvalidToken(
                    "Kerberos Wrap token buffer of the wrong length for its EC",
                ));
            }
            // The RRC convention of the context's style, as MIT's `kg_unseal_iov_token`: the
            // other would name the same rotation (RRC is outside the HMAC), and one spelling
            // per token keeps every bit of it meaningful.
            let expected_rrc = if self.dce_style { rotated - h.ec } else { rotated };
            if h.rrc != expected_rrc {
                return Err(Error::InvalidToken(
                    "Kerberos Wrap token whose RRC does not match its buffers",
                ));
            }
            let (_, rest) = token.split_at_mut(HEADER_LEN);
            let (tail, rest) = rest.split_at_mut(h.ec + HEADER_LEN);
            let (mac, head) = rest.split_at_mut(ck);
            let mut segs = SealSegments { head, parts, tail };
            self.recv_seal.decrypt_segments(&mut segs, mac)?;
            let copy = segs.tail.get(h.ec..).unwrap_or_default();
            if let Err(e) = Self::check_header_copy(&h, copy) {
                segs.visit(&mut |s| {
                    if let Segment::Cipher(d) = s {
                        d.zeroize();
                    }
                });
                return Err(e);
            }
        } else {
            if h.ec != ck || h.rrc != ck {
                return Err(Error::InvalidToken(
                    "integrity-only Kerberos Wrap token whose EC or RRC is not the checksum length",
                ));
            }
            if token.len() != HEADER_LEN + ck {
                return Err(Error::InvalidToken("Kerberos Wrap token buffer of the wrong length"));
            }
            let mut mac = self.recv_seal.checksum_stream();
            parts.for_each_signed(|p| mac.update(p));
            mac.update(&zero_ec_rrc(h.raw));
            if !mac.verify(&token[HEADER_LEN..]) {
                return Err(Error::MessageAltered);
            }
        }
        Ok(Unsealed { seq: h.seq, confidential: h.confidential })
    }
}

fn seq_of(h: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[8..16]);
    u64::from_be_bytes(b)
}

/// What a [`ReceiveWindow`] says of a sequence number (RFC 2743 section 1.2.3, the
/// supplementary status bits of GSS-API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqStatus {
    /// The next expected number (or no checking asked for).
    InOrder,
    /// Seen before (`GSS_S_DUPLICATE_TOKEN`).
    Duplicate,
    /// Too old to tell whether it was seen (`GSS_S_OLD_TOKEN`).
    Old,
    /// Later than expected: tokens were skipped (`GSS_S_GAP_TOKEN`).
    Gap,
    /// Earlier than the latest seen but not seen before (`GSS_S_UNSEQ_TOKEN`).
    Unseq,
}

/// Width of the replay window, as MIT's `g_seqstate.c`.
pub const WINDOW: u64 = 64;

/// Receive-side sequence checking (RFC 4121 section 4.2.2, RFC 2743 section 1.2.3), MIT's
/// `g_seqstate` algorithm: the numbers are taken relative to the first one expected, the
/// latest [`WINDOW`] are remembered in a bitmap. Plain data, serialized with the context.
///
/// Call [`check`](Self::check) only with the sequence number of a token that verified.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiveWindow {
    /// The first sequence number expected (the peer's initial sequence number).
    base: u64,
    /// One more than the highest relative number seen.
    next: u64,
    /// Bit `i` set: relative number `next - 1 - i` was seen.
    seen: u64,
    /// Replay detection asked for (ISC_REQ_REPLAY_DETECT / GSS_C_REPLAY_FLAG).
    replay: bool,
    /// Sequence detection asked for (ISC_REQ_SEQUENCE_DETECT / GSS_C_SEQUENCE_FLAG).
    sequence: bool,
    /// 64-bit numbers (RFC 4121); 32-bit for RFC 1964 tokens.
    wide: bool,
}

impl ReceiveWindow {
    /// A window expecting `initial` first (the peer's initial sequence number from the
    /// authenticator or AP-REP), with the context's replay and sequence flags. `wide`: 64-bit
    /// numbers (RFC 4121); 32-bit wrap-around otherwise (RFC 1964).
    pub fn new(initial: u64, replay: bool, sequence: bool, wide: bool) -> Self {
        Self { base: initial, next: 0, seen: 0, replay, sequence, wide }
    }

    fn mask(&self) -> u64 {
        if self.wide { u64::MAX } else { u64::from(u32::MAX) }
    }

    /// The next sequence number expected.
    pub fn expected(&self) -> u64 {
        self.base.wrapping_add(self.next) & self.mask()
    }

    /// Records `seq` and says how it relates to the ones before (MIT's `g_seqstate_check`).
    /// With neither flag everything is [`SeqStatus::InOrder`]; without the sequence flag,
    /// gaps and reordering are not reported; without the replay flag, duplicates are not
    /// (reported as [`SeqStatus::Unseq`] if sequence detection is on).
    pub fn check(&mut self, seq: u64) -> SeqStatus {
        if !self.replay && !self.sequence {
            return SeqStatus::InOrder;
        }
        let mask = self.mask();
        let rel = seq.wrapping_sub(self.base) & mask;
        // A number at or after `next` (modulo, within half the space) is new.
        let ahead = rel.wrapping_sub(self.next) & mask;
        if ahead <= mask / 2 {
            let offset = ahead;
            self.seen = if offset >= WINDOW - 1 { 1 } else { (self.seen << (offset + 1)) | 1 };
            self.next = rel.wrapping_add(1) & mask;
            return if offset > 0 && self.sequence { SeqStatus::Gap } else { SeqStatus::InOrder };
        }
        let behind = self.next.wrapping_sub(rel) & mask; // >= 1
        if behind > WINDOW {
            return if self.sequence { SeqStatus::Unseq } else { SeqStatus::Old };
        }
        let bit = 1u64 << (behind - 1);
        if self.seen & bit != 0 {
            return if self.replay { SeqStatus::Duplicate } else { SeqStatus::Unseq };
        }
        self.seen |= bit;
        if self.sequence { SeqStatus::Unseq } else { SeqStatus::InOrder }
    }

    /// [`check`](Self::check) as SSPI reports it: anything but [`SeqStatus::InOrder`] is
    /// `SEC_E_OUT_OF_SEQUENCE` ([`Error::OutOfSequence`], with the low 32 bits of the
    /// numbers), as NTLM does. (An SSPI caller cannot receive GSS-API's supplementary
    /// statuses with a message, so a token that is only old or early is refused too.)
    ///
    /// # Errors
    /// [`Error::OutOfSequence`].
    pub fn accept(&mut self, seq: u64) -> Result<()> {
        let expected = self.expected();
        match self.check(seq) {
            SeqStatus::InOrder => Ok(()),
            _ => Err(Error::OutOfSequence { expected: low32(expected), found: low32(seq) }),
        }
    }
}

fn low32(n: u64) -> u32 {
    u32::try_from(n & u64::from(u32::MAX)).unwrap_or(u32::MAX)
}

impl ReceiveWindow {
    /// The window's position `(base, next, seen)`, for export.
    pub fn parts(&self) -> (u64, u64, u64) {
        (self.base, self.next, self.seen)
    }

    /// A window at a position from [`ReceiveWindow::parts`], with the context's flags (as
    /// [`ReceiveWindow::new`]).
    pub fn from_parts(parts: (u64, u64, u64), replay: bool, sequence: bool, wide: bool) -> Self {
        let (base, next, seen) = parts;
        Self { base, next, seen, replay, sequence, wide }
    }
}
