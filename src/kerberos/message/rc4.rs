//! rc4-hmac per-message tokens: RFC 4757 section 7 (the RFC 1964 token formats with
//! HMAC-MD5 and RC4), GSS-framed with the Kerberos OID (RFC 1964 section 1.1, RFC 2743
//! section 3.1).
//!
//! ```text
//!  framing   60 <DER length> 06 09 2a 86 48 86 f7 12 01 02 02  (1.2.840.113554.1.2.2)
//!  MIC       01 01 | 11 00 | FF FF FF FF | SND_SEQ(8) | SGN_CKSUM(8)            (24 bytes)
//!  Wrap      02 01 | 11 00 | 10 00 (FF FF: no conf) | FF FF | SND_SEQ(8) | SGN_CKSUM(8)
//!            | Confounder(8) | data | pad                                        (32 + ...)
//! ```
//!
//! - `SGN_CKSUM` = the first 8 bytes of the RFC 4757 checksum `HMAC-MD5(Ksign, MD5(T |
//!   header[0..8] | (confounder |) data (| pad)))`, `T` = 15 for a MIC and 13 for a Wrap
//!   token (key usages 15 and 23, RFC 4757 section 7.3: MIT translates 23 to 13).
//! - `SND_SEQ` = `RC4(Kseq, seq (4 bytes, big-endian) | direction)`, direction `00 00 00 00`
//!   from the initiator and `FF FF FF FF` from the acceptor, `Kseq = HMAC-MD5(HMAC-MD5(K,
//!   00 00 00 00), SGN_CKSUM)`.
//! - A confidential Wrap encrypts `confounder | data | pad` with `RC4(HMAC-MD5(HMAC-MD5(Klocal,
//!   00 00 00 00), seq (4 bytes, big-endian)))`, `Klocal = K XOR F0...`.
//! - The contiguous Wrap token carries one byte of padding (`01`, RC4's "block" is one
//!   byte) and the framing's length covers the data. The split form (`seal_parts`) is the
//!   DCE style of Heimdal's `arcfour.c` and Windows RPC: the framing's length covers only
//!   the 32-byte token (45 bytes with the framing), no padding, the data encrypted in place.
//!
//! Read to understand the details (no code taken): RFC 4757 section 7, Heimdal
//! `lib/gssapi/krb5/arcfour.c` (the DCE-style 45-byte header), MIT
//! `krb5int_arcfour_translate_usage` (usage 23 is 13), impacket `krb5/gssapi.py`
//! (`GSSAPI_RC4`: `GSS_Wrap_LDAP` is the contiguous form with one pad byte that Windows LDAP
//! takes, `GSS_Wrap` the DCE form of RPC).
//!
//! Not done: the non-DCE split form (Windows `EncryptMessage` with a `SECBUFFER_PADDING`
//! buffer, whose framing length covers the data and the pad); `unseal_parts` refuses such a
//! token buffer as malformed.

use super::{MessageKeys, Unsealed, Unwrapped};
use crate::crypto::{HmacMd5, Rc4, Secret, hmac_md5};
use crate::error::{Error, Result};
use crate::kerberos::Key;
use crate::kerberos::crypto::{DerivedKeys, KeyUsage};
use crate::ntlm::{MessageParts, Part};
use zeroize::Zeroize;

/// The DER encoding of the Kerberos mechanism OID 1.2.840.113554.1.2.2.
const KRB5_OID: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// Length of the RFC 1964 MIC token after the framing.
const MIC_INNER: usize = 24;
/// Length of the RFC 1964 Wrap token header (with the confounder) after the framing.
const WRAP_INNER: usize = 32;
/// The framed length of a DCE-style Wrap header: 2 + 11 + 32.
pub(super) const DCE_TOKEN_LEN: usize = 45;
const CONFOUNDER: usize = 8;

/// The rc4-hmac keys beyond the two checksum keys: the keyed HMAC-MD5 states of
/// `HMAC-MD5(K, 0)` (for Kseq) and `HMAC-MD5(Klocal, 0)` (for Kcrypt). Wiped on drop.
#[derive(Clone)]
pub(super) struct Rc4Keys {
    seq: HmacMd5,
    crypt: HmacMd5,
}

impl Rc4Keys {
    pub(super) fn new(key: &Key) -> Result<Self> {
        let k: [u8; 16] = key
            .bytes()
            .try_into()
            .map_err(|_| Error::InvalidParameter("an rc4-hmac key is 16 bytes"))?;
        let mut k = Secret(k);
        let mut local = Secret([0u8; 16]);
        for (l, b) in local.0.iter_mut().zip(k.0.iter()) {
            *l = b ^ 0xF0;
        }
        let mut k5 = Secret(hmac_md5(&k.0, &[&[0u8; 4]]));
        let mut k5l = Secret(hmac_md5(&local.0, &[&[0u8; 4]]));
        let keys = Self { seq: HmacMd5::new(&k5.0), crypt: HmacMd5::new(&k5l.0) };
        k.0.zeroize();
        local.0.zeroize();
        k5.0.zeroize();
        k5l.0.zeroize();
        Ok(keys)
    }

    /// `RC4(HMAC-MD5(base, data))`.
    fn cipher(base: &HmacMd5, data: &[u8]) -> Rc4 {
        let mut mac = base.clone();
        mac.update(data);
        let mut k6 = Secret(mac.tag());
        let rc4 = Rc4::new(&k6.0);
        k6.0.zeroize();
        rc4
    }
}

/// The usages of the two checksums (the same in both directions): 15 for a MIC, and for a
/// Wrap token MIT's `KG_USAGE_SIGN` (23), which the RFC 4757 translation makes 13.
fn usages() -> (KeyUsage, KeyUsage) {
    (KeyUsage(15), KeyUsage(23))
}

fn der_len_len(n: usize) -> usize {
    match n {
        0..0x80 => 1,
        0x80..0x100 => 2,
        0x100..0x1_0000 => 3,
        0x1_0000..0x100_0000 => 4,
        _ => 5,
    }
}

/// Length of the framing before an inner token of `inner` bytes.
fn framing_len(inner: usize) -> usize {
    1 + der_len_len(inner + KRB5_OID.len()) + KRB5_OID.len()
}

/// Writes the framing for an inner token of `inner` bytes; returns its length.
fn write_framing(out: &mut [u8], inner: usize) -> Result<usize> {
    let n = framing_len(inner);
    let out = out.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n })?;
    let len = inner + KRB5_OID.len();
    let ll = der_len_len(len);
    out[0] = 0x60;
    if ll == 1 {
        out[1] = u8::try_from(len).map_err(|_| Error::InvalidParameter("length"))?;
    } else {
        let bytes = u32::try_from(len)
            .map_err(|_| Error::InvalidParameter("message too long for a GSS token"))?
            .to_be_bytes();
        out[1] = 0x80 | u8::try_from(ll - 1).map_err(|_| Error::InvalidParameter("length"))?;
        out[2..1 + ll].copy_from_slice(&bytes[4 - (ll - 1)..]);
    }
    out[1 + ll..].copy_from_slice(&KRB5_OID);
    Ok(n)
}

/// Parses the framing: returns where the inner token starts and the length the framing
/// declares for it.
fn parse_framing(token: &[u8]) -> Result<(usize, usize)> {
    let bad = Error::InvalidToken("not a GSS-API Kerberos token (RFC 2743 3.1 framing)");
    if token.first() != Some(&0x60) {
        return Err(bad);
    }
    let first = *token.get(1).ok_or(bad.clone())?;
    let (len, at) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return Err(bad);
        }
        let bytes = token.get(2..2 + n).ok_or(bad.clone())?;
        (bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b)), 2 + n)
    };
    if token.get(at..at + KRB5_OID.len()) != Some(&KRB5_OID[..]) {
        return Err(bad);
    }
    let inner = len.checked_sub(KRB5_OID.len()).ok_or(bad)?;
    Ok((at + KRB5_OID.len(), inner))
}

fn seq32(seq: u64) -> [u8; 4] {
    let [.., a, b, c, d] = seq.to_be_bytes();
    [a, b, c, d]
}

impl MessageKeys {
    fn rc4(&self) -> Result<&Rc4Keys> {
        self.rc4.as_ref().ok_or(Error::InvalidParameter("not an rc4-hmac context"))
    }

    /// Our direction bytes, and the peer's.
    fn direction(&self, ours: bool) -> [u8; 4] {
        if self.initiator == ours { [0; 4] } else { [0xFF; 4] }
    }

    pub(super) fn rc4_mic_len() -> usize {
        framing_len(MIC_INNER) + MIC_INNER
    }

    /// Encrypts SND_SEQ (`snd` = seq | direction) with the key made from the checksum.
    fn seal_seq(&self, cksum: &[u8], snd: &mut [u8]) -> Result<()> {
        Rc4Keys::cipher(&self.rc4()?.seq, cksum).apply(snd);
        Ok(())
    }

    /// Decrypts SND_SEQ and checks the peer's direction bytes; returns the number.
    fn open_seq(&self, cksum: &[u8], snd: &[u8]) -> Result<u64> {
        let mut plain = [0u8; 8];
        plain.copy_from_slice(snd);
        self.seal_seq(cksum, &mut plain)?;
        if plain[4..] != self.direction(false) {
            return Err(Error::MessageAltered);
        }
        Ok(u64::from(u32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]])))
    }

    pub(super) fn rc4_make_mic<P: MessageParts + ?Sized>(
        &self,
        seq: u64,
        parts: &P,
        out: &mut [u8],
    ) -> Result<usize> {
        let n = Self::rc4_mic_len();
        let out = out.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n })?;
        let at = write_framing(out, MIC_INNER)?;
        let t = &mut out[at..];
        t[..8].copy_from_slice(&[0x01, 0x01, 0x11, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]);
        let mut mac = self.send_sign.checksum_stream();
        mac.update(&t[..8]);
        parts.for_each_signed(|p| mac.update(p));
        let (head, cksum) = t.split_at_mut(16);
        mac.finish_into(cksum)?;
        head[8..12].copy_from_slice(&seq32(seq));
        head[12..16].copy_from_slice(&self.direction(true));
        self.seal_seq(cksum, &mut head[8..16])?;
        Ok(n)
    }

    pub(super) fn rc4_verify_mic<P: MessageParts + ?Sized>(
        &self,
        parts: &P,
        token: &[u8],
    ) -> Result<u64> {
        let (at, inner) = parse_framing(token)?;
        let t = token.get(at..).unwrap_or_default();
        if inner != MIC_INNER || t.len() != MIC_INNER {
            return Err(Error::InvalidToken("rc4-hmac MIC token of the wrong length"));
        }
        if t[..8] != [0x01, 0x01, 0x11, 0x00, 0xFF, 0xFF, 0xFF, 0xFF] {
            return Err(Error::InvalidToken("not an rc4-hmac MIC token (RFC 4757 7.2)"));
        }
        let mut mac = self.recv_sign.checksum_stream();
        mac.update(&t[..8]);
        parts.for_each_signed(|p| mac.update(p));
        if !mac.verify(&t[16..24]) {
            return Err(Error::MessageAltered);
        }
        self.open_seq(&t[16..24], &t[8..16])
    }

    /// Contiguous Wrap token: framing | 32-byte header | data | one pad byte.
    pub(super) fn rc4_wrap_data_offset(data_len: usize) -> usize {
        let inner = WRAP_INNER + data_len + 1;
        framing_len(inner) + WRAP_INNER
    }

    pub(super) fn rc4_wrap_in_place(
        &self,
        seq: u64,
        confidential: bool,
        confounder: &[u8],
        buf: &mut [u8],
    ) -> Result<()> {
        if confounder.len() != CONFOUNDER {
            return Err(Error::InvalidParameter("an rc4-hmac confounder is 8 bytes"));
        }
        // buf = framing | header | data | pad: the data length from the total, for each
        // possible size of the DER length.
        let data_len = (1..=5usize)
            .filter_map(|ll| {
                let inner = buf.len().checked_sub(1 + ll + KRB5_OID.len())?;
                let l = inner.checked_sub(WRAP_INNER + 1)?;
                (der_len_len(inner + KRB5_OID.len()) == ll).then_some(l)
            })
            .next()
            .ok_or(Error::InvalidParameter("wrap buffer shorter than the token's room"))?;
        let at = write_framing(buf, WRAP_INNER + data_len + 1)?;
        let t = &mut buf[at..];
        let last = t.len() - 1;
        t[last] = 1;
        self.rc4_seal_body(seq, confidential, confounder, t, &mut [Part::Seal(&mut [])][..])
    }

    /// Fills the 32-byte header at the front of `t` and protects `t[32..]` followed by the
    /// parts (the contiguous form has its data in `t`, the split form in the parts).
    fn rc4_seal_body<P: MessageParts + ?Sized>(
        &self,
        seq: u64,
        confidential: bool,
        confounder: &[u8],
        t: &mut [u8],
        parts: &mut P,
    ) -> Result<()> {
        let (head, body) = t.split_at_mut(WRAP_INNER);
        let seal_alg = if confidential { [0x10, 0x00] } else { [0xFF, 0xFF] };
        head[..8].copy_from_slice(&[0x02, 0x01, 0x11, 0x00, seal_alg[0], seal_alg[1], 0xFF, 0xFF]);
        head[24..32].copy_from_slice(confounder);
        let mut mac = self.send_seal.checksum_stream();
        mac.update(&head[..8]);
        mac.update(&head[24..32]);
        mac.update(body);
        parts.for_each_signed(|p| mac.update(p));
        mac.finish_into(&mut head[16..24])?;
        let s = seq32(seq);
        if confidential {
            let mut rc4 = Rc4Keys::cipher(&self.rc4()?.crypt, &s);
            rc4.apply(&mut head[24..32]);
            rc4.apply(body);
            parts.for_each_part(|p| {
                if let Part::Seal(d) = p {
                    rc4.apply(d);
                }
            });
        }
        head[8..12].copy_from_slice(&s);
        head[12..16].copy_from_slice(&self.direction(true));
        let (seq_field, cksum) = head[8..24].split_at_mut(8);
        self.seal_seq(cksum, seq_field)
    }

    /// Checks the 32-byte header, decrypts `t[32..]` and the parts, verifies the checksum.
    fn rc4_open_body<P: MessageParts + ?Sized>(
        &self,
        t: &mut [u8],
        parts: &mut P,
    ) -> Result<(u64, bool)> {
        let (head, body) = t.split_at_mut(WRAP_INNER);
        if head[..4] != [0x02, 0x01, 0x11, 0x00] || head[6..8] != [0xFF, 0xFF] {
            return Err(Error::InvalidToken("not an rc4-hmac Wrap token (RFC 4757 7.3)"));
        }
        let confidential = match [head[4], head[5]] {
            [0x10, 0x00] => true,
            [0xFF, 0xFF] => false,
            _ => return Err(Error::InvalidToken("rc4-hmac Wrap token with an unknown SEAL_ALG")),
        };
        let mut cksum = [0u8; 8];
        cksum.copy_from_slice(&head[16..24]);
        let seq = self.open_seq(&cksum, &head[8..16])?;
        if confidential {
            let mut rc4 = Rc4Keys::cipher(&self.rc4()?.crypt, &seq32(seq));
            rc4.apply(&mut head[24..32]);
            rc4.apply(body);
            parts.for_each_part(|p| {
                if let Part::Seal(d) = p {
                    rc4.apply(d);
                }
            });
        }
        let mut mac = self.recv_seal.checksum_stream();
        mac.update(&head[..8]);
        mac.update(&head[24..32]);
        mac.update(body);
        parts.for_each_signed(|p| mac.update(p));
        if !mac.verify(&cksum) {
            if confidential {
                head[24..32].zeroize();
                body.zeroize();
                parts.for_each_part(|p| {
                    if let Part::Seal(d) = p {
                        d.zeroize();
                    }
                });
            }
            return Err(Error::MessageAltered);
        }
        Ok((seq, confidential))
    }

    pub(super) fn rc4_unwrap_in_place(&self, buf: &mut [u8]) -> Result<Unwrapped> {
        let (at, inner) = parse_framing(buf)?;
        let t = buf.get_mut(at..).unwrap_or_default();
        if inner != t.len() || t.len() < WRAP_INNER + 1 {
            return Err(Error::InvalidToken("rc4-hmac Wrap token of the wrong length"));
        }
        let (seq, confidential) = self.rc4_open_body(t, &mut [Part::Seal(&mut [])][..])?;
        // RFC 1964 padding: 1 to 8 bytes, each the pad length.
        let pad = usize::from(t[t.len() - 1]);
        let body = t.len() - WRAP_INNER;
        if pad == 0
            || pad > 8
            || pad > body
            || t[t.len() - pad..].iter().any(|&b| usize::from(b) != pad)
        {
            t.zeroize();
            return Err(Error::InvalidToken("rc4-hmac Wrap token with bad padding"));
        }
        let start = at + WRAP_INNER;
        Ok(Unwrapped { seq, confidential, data: start..start + body - pad })
    }

    pub(super) fn rc4_seal_parts<P: MessageParts + ?Sized>(
        &self,
        seq: u64,
        confidential: bool,
        confounder: &[u8],
        parts: &mut P,
        token: &mut [u8],
    ) -> Result<usize> {
        if confounder.len() != CONFOUNDER {
            return Err(Error::InvalidParameter("an rc4-hmac confounder is 8 bytes"));
        }
        let token = token
            .get_mut(..DCE_TOKEN_LEN)
            .ok_or(Error::BufferTooSmall { needed: DCE_TOKEN_LEN })?;
        let at = write_framing(token, WRAP_INNER)?;
        self.rc4_seal_body(seq, confidential, confounder, &mut token[at..], parts)?;
        Ok(DCE_TOKEN_LEN)
    }

    pub(super) fn rc4_unseal_parts<P: MessageParts + ?Sized>(
        &self,
        token: &mut [u8],
        parts: &mut P,
    ) -> Result<Unsealed> {
        let (at, inner) = parse_framing(token)?;
        if inner != WRAP_INNER || token.len() != at + WRAP_INNER {
            return Err(Error::InvalidToken(
                "rc4-hmac Wrap token buffer is not the 45-byte DCE-style header",
            ));
        }
        let (seq, confidential) = self.rc4_open_body(&mut token[at..], parts)?;
        Ok(Unsealed { seq, confidential })
    }
}

/// The two checksum key sets of an rc4-hmac context (the same both ways).
pub(super) fn checksum_keys(key: &Key) -> Result<(DerivedKeys, DerivedKeys)> {
    let (mic, wrap) = usages();
    Ok((DerivedKeys::new(key, mic)?, DerivedKeys::new(key, wrap)?))
}
