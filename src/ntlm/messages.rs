//! NTLM wire messages: NEGOTIATE, CHALLENGE, AUTHENTICATE (MS-NLMP 2.2.1), AV pairs
//! (2.2.2.1), VERSION (2.2.2.10) and the NTLMv2 client challenge (2.2.2.7).
//!
//! Parsing borrows from the input and checks every length and offset first; encoding builds
//! the fixed header and the payload it points into.
#![deny(clippy::indexing_slicing)]

use super::flags::NegotiateFlags;
use crate::codec::{Field, PayloadWriter, Reader};
use crate::error::{Error, Result};

/// `NTLMSSP\0`, the first eight bytes of every message.
pub(crate) const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// The largest token sspi-emu accepts. Windows' NTLM `cbMaxToken` is 2888; anything much
/// larger is not an NTLM message.
pub const MAX_TOKEN: usize = 64 * 1024;

const NEGOTIATE_TYPE: u32 = 1;
const CHALLENGE_TYPE: u32 = 2;
const AUTHENTICATE_TYPE: u32 = 3;

fn header(r: &mut Reader<'_>, message_type: u32, what: &'static str) -> Result<()> {
    if r.remaining() > MAX_TOKEN {
        return Err(Error::InvalidToken("token larger than any NTLM message"));
    }
    if r.take(8, what)? != SIGNATURE {
        return Err(Error::InvalidToken("not an NTLMSSP message"));
    }
    if r.u32(what)? != message_type {
        return Err(Error::InvalidToken(what));
    }
    Ok(())
}

/// Where a message's payload starts: the lowest offset of a non-empty field that is in use,
/// or the message's end. The optional VERSION (and MIC) sit in the gap before it.
fn payload_start(msg: &[u8], fields: &[(bool, Field)]) -> usize {
    fields
        .iter()
        .filter(|(used, f)| *used && f.len != 0)
        .map(|(_, f)| usize::try_from(f.offset).unwrap_or(usize::MAX))
        .min()
        .unwrap_or(msg.len())
        .min(msg.len())
}

/// The VERSION structure (MS-NLMP 2.2.2.10): product version and NTLM revision. Informational
/// only; kept as its eight bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub [u8; 8]);

impl Version {
    /// `NTLMSSP_REVISION_W2K3`, the only revision in use.
    pub const REVISION_W2K3: u8 = 0x0F;

    /// A version of `major.minor.build`, NTLM revision 15.
    pub const fn new(major: u8, minor: u8, build: u16) -> Self {
        let b = build.to_le_bytes();
        Version([major, minor, b[0], b[1], 0, 0, 0, Self::REVISION_W2K3])
    }
}

/// The version sspi-emu announces by default: 10.0 build 20348, revision 15.
pub const DEFAULT_VERSION: Version = Version::new(10, 0, 20348);

/// NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Negotiate<'a> {
    pub(crate) flags: NegotiateFlags,
    pub(crate) domain: &'a [u8],
    pub(crate) workstation: &'a [u8],
    pub(crate) version: Option<Version>,
}

impl<'a> Negotiate<'a> {
    const HEADER: usize = 32;

    pub(crate) fn parse(msg: &'a [u8]) -> Result<Self> {
        const WHAT: &str = "malformed NEGOTIATE message";
        let mut r = Reader::new(msg);
        header(&mut r, NEGOTIATE_TYPE, WHAT)?;
        let flags = NegotiateFlags(r.u32(WHAT)?);
        let domain_field = Field::read(&mut r, WHAT)?;
        let workstation_field = Field::read(&mut r, WHAT)?;
        let payload = payload_start(
            msg,
            &[
                (flags.contains(NegotiateFlags::OEM_DOMAIN_SUPPLIED), domain_field),
                (flags.contains(NegotiateFlags::OEM_WORKSTATION_SUPPLIED), workstation_field),
            ],
        );
        let version = if flags.contains(NegotiateFlags::VERSION) && payload >= Self::HEADER + 8 {
            Some(Version(r.array(WHAT)?))
        } else {
            None
        };
        let header_end = msg.len() - r.remaining();
        let domain = if flags.contains(NegotiateFlags::OEM_DOMAIN_SUPPLIED) {
            domain_field.slice(msg, header_end, WHAT)?
        } else {
            &[]
        };
        let workstation = if flags.contains(NegotiateFlags::OEM_WORKSTATION_SUPPLIED) {
            workstation_field.slice(msg, header_end, WHAT)?
        } else {
            &[]
        };
        Ok(Self { flags, domain, workstation, version })
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let header_len = Self::HEADER + if self.version.is_some() { 8 } else { 0 };
        let mut w = PayloadWriter::new(header_len, self.domain.len() + self.workstation.len());
        w.bytes(SIGNATURE);
        w.u32(NEGOTIATE_TYPE);
        w.u32(self.flags.0);
        w.field(self.domain)?;
        w.field(self.workstation)?;
        if let Some(v) = self.version {
            w.bytes(&v.0);
        }
        Ok(w.finish())
    }
}

/// CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge<'a> {
    pub(crate) target_name: &'a [u8],
    pub(crate) flags: NegotiateFlags,
    pub(crate) server_challenge: [u8; 8],
    pub(crate) target_info: &'a [u8],
    pub(crate) version: Option<Version>,
}

impl<'a> Challenge<'a> {
    const HEADER: usize = 48;

    pub(crate) fn parse(msg: &'a [u8]) -> Result<Self> {
        const WHAT: &str = "malformed CHALLENGE message";
        let mut r = Reader::new(msg);
        header(&mut r, CHALLENGE_TYPE, WHAT)?;
        let target_name_field = Field::read(&mut r, WHAT)?;
        let flags = NegotiateFlags(r.u32(WHAT)?);
        let server_challenge = r.array(WHAT)?;
        let _reserved = r.take(8, WHAT)?;
        let target_info_field = Field::read(&mut r, WHAT)?;
        let payload = payload_start(msg, &[(true, target_name_field), (true, target_info_field)]);
        let version = if flags.contains(NegotiateFlags::VERSION) && payload >= Self::HEADER + 8 {
            Some(Version(r.array(WHAT)?))
        } else {
            None
        };
        let header_end = msg.len() - r.remaining();
        Ok(Self {
            target_name: target_name_field.slice(msg, header_end, WHAT)?,
            flags,
            server_challenge,
            target_info: target_info_field.slice(msg, header_end, WHAT)?,
            version,
        })
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        ChallengeOut {
            target_name: Data::Bytes(self.target_name),
            flags: self.flags,
            server_challenge: self.server_challenge,
            target_info: Data::Bytes(self.target_info),
            version: self.version,
        }
        .encode()
    }
}

/// A CHALLENGE_MESSAGE to send, its payload written straight into the message.
pub(crate) struct ChallengeOut<'a> {
    pub(crate) target_name: Data<'a>,
    pub(crate) flags: NegotiateFlags,
    pub(crate) server_challenge: [u8; 8],
    pub(crate) target_info: Data<'a>,
    pub(crate) version: Option<Version>,
}

impl ChallengeOut<'_> {
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let header_len = Challenge::HEADER + if self.version.is_some() { 8 } else { 0 };
        let (name_len, info_len) = (self.target_name.len(), self.target_info.len());
        let mut w = PayloadWriter::new(header_len, name_len + info_len);
        w.bytes(SIGNATURE);
        w.u32(CHALLENGE_TYPE);
        w.field_with(name_len, |out| self.target_name.write(out))?;
        w.u32(self.flags.0);
        w.bytes(&self.server_challenge);
        w.bytes(&[0; 8]);
        w.field_with(info_len, |out| self.target_info.write(out))?;
        if let Some(v) = self.version {
            w.bytes(&v.0);
        }
        Ok(w.finish())
    }
}

/// The content of a payload field, written straight into the message being encoded, so a
/// message is built in one buffer with no intermediate copy of its parts.
#[derive(Clone, Copy)]
pub(crate) enum Data<'a> {
    /// Bytes as they are.
    Bytes(&'a [u8]),
    /// Byte strings one after another.
    Parts(&'a [&'a [u8]]),
    /// A string, written as UTF-16LE.
    Utf16(&'a str),
    /// An NTLMv2 response: a zeroed NTProofStr, then the client blob (`temp`). The proof
    /// covers the bytes after it, so it is filled in once the message is encoded.
    NtResponse(&'a ClientBlob<'a>),
}

impl Data<'_> {
    fn len(&self) -> usize {
        match self {
            Data::Bytes(bytes) => bytes.len(),
            Data::Parts(parts) => parts.iter().map(|p| p.len()).sum(),
            Data::Utf16(text) if text.is_ascii() => 2 * text.len(),
            Data::Utf16(text) => 2 * text.encode_utf16().count(),
            Data::NtResponse(blob) => 16 + blob.encoded_len(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Data::Bytes(bytes) => out.extend_from_slice(bytes),
            Data::Parts(parts) => parts.iter().for_each(|p| out.extend_from_slice(p)),
            Data::Utf16(text) if text.is_ascii() => {
                // Zero-extend in place: one resize, then a loop the compiler can vectorise.
                let start = out.len();
                out.resize(start + 2 * text.len(), 0);
                let units = out.get_mut(start..).unwrap_or_default().chunks_exact_mut(2);
                for (unit, byte) in units.zip(text.bytes()) {
                    if let Some(low) = unit.first_mut() {
                        *low = byte;
                    }
                }
            }
            Data::Utf16(text) => {
                for unit in text.encode_utf16() {
                    out.extend_from_slice(&unit.to_le_bytes());
                }
            }
            Data::NtResponse(blob) => {
                out.extend_from_slice(&[0; 16]);
                blob.encode_into(out)?;
            }
        }
        Ok(())
    }
}

/// Where the MIC sits in an AUTHENTICATE_MESSAGE that carries one (after the 64-byte fixed
/// part and the 8-byte VERSION).
pub(crate) const MIC_OFFSET: usize = 72;
const MIC_END: usize = MIC_OFFSET + 16;

/// AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authenticate<'a> {
    pub(crate) lm_response: &'a [u8],
    pub(crate) nt_response: &'a [u8],
    /// UTF-16LE.
    pub(crate) domain: &'a [u8],
    /// UTF-16LE.
    pub(crate) user: &'a [u8],
    /// UTF-16LE.
    pub(crate) workstation: &'a [u8],
    pub(crate) encrypted_session_key: &'a [u8],
    pub(crate) flags: NegotiateFlags,
    pub(crate) version: Option<Version>,
    /// The 16 bytes at offset 72 when the payload starts at or after 88. Whether they are a
    /// MIC is said by the MsvAvFlags of the NTLMv2 response.
    pub(crate) mic: Option<[u8; 16]>,
}

impl<'a> Authenticate<'a> {
    const HEADER: usize = 64;

    pub(crate) fn parse(msg: &'a [u8]) -> Result<Self> {
        const WHAT: &str = "malformed AUTHENTICATE message";
        let mut r = Reader::new(msg);
        header(&mut r, AUTHENTICATE_TYPE, WHAT)?;
        let fields: [Field; 6] = [
            Field::read(&mut r, WHAT)?,
            Field::read(&mut r, WHAT)?,
            Field::read(&mut r, WHAT)?,
            Field::read(&mut r, WHAT)?,
            Field::read(&mut r, WHAT)?,
            Field::read(&mut r, WHAT)?,
        ];
        let flags = NegotiateFlags(r.u32(WHAT)?);
        // The fixed part ends where the payload starts: at the lowest offset of a non-empty
        // field (VERSION and MIC are present only if there is room for them).
        let payload_start = fields
            .iter()
            .filter(|f| f.len != 0)
            .map(|f| usize::try_from(f.offset).unwrap_or(usize::MAX))
            .min()
            .unwrap_or(msg.len())
            .min(msg.len());
        if payload_start < Self::HEADER {
            return Err(Error::InvalidToken(WHAT));
        }
        let version =
            if payload_start >= MIC_OFFSET { Some(Version(r.array(WHAT)?)) } else { None };
        let mic = if payload_start >= MIC_END { Some(r.array(WHAT)?) } else { None };
        let header_end = msg.len() - r.remaining();
        let [lm, nt, domain, user, workstation, key] = fields;
        Ok(Self {
            lm_response: lm.slice(msg, header_end, WHAT)?,
            nt_response: nt.slice(msg, header_end, WHAT)?,
            domain: domain.slice(msg, header_end, WHAT)?,
            user: user.slice(msg, header_end, WHAT)?,
            workstation: workstation.slice(msg, header_end, WHAT)?,
            encrypted_session_key: key.slice(msg, header_end, WHAT)?,
            flags,
            version,
            mic,
        })
    }

    /// Encodes the message. With `mic` set, the 16 bytes are written at offset 72 (callers
    /// encode with a zero MIC, compute it, then patch it in with [`set_mic`]).
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let out = AuthenticateOut {
            lm_response: Data::Bytes(self.lm_response),
            nt_response: Data::Bytes(self.nt_response),
            domain: Data::Bytes(self.domain),
            user: Data::Bytes(self.user),
            workstation: Data::Bytes(self.workstation),
            encrypted_session_key: self.encrypted_session_key,
            flags: self.flags,
            version: self.version,
            mic: self.mic,
        };
        Ok(out.encode()?.0)
    }
}

/// An AUTHENTICATE_MESSAGE to send, its payload written straight into the message.
pub(crate) struct AuthenticateOut<'a> {
    pub(crate) lm_response: Data<'a>,
    pub(crate) nt_response: Data<'a>,
    pub(crate) domain: Data<'a>,
    pub(crate) user: Data<'a>,
    pub(crate) workstation: Data<'a>,
    pub(crate) encrypted_session_key: &'a [u8],
    pub(crate) flags: NegotiateFlags,
    pub(crate) version: Option<Version>,
    pub(crate) mic: Option<[u8; 16]>,
}

impl AuthenticateOut<'_> {
    /// The message, and where each payload field starts in it, in header order: LM
    /// response, NT response, domain, user, workstation, encrypted session key.
    pub(crate) fn encode(&self) -> Result<(Vec<u8>, [usize; 6])> {
        let header_len = match (self.version, self.mic) {
            (_, Some(_)) => MIC_END,
            (Some(_), None) => MIC_OFFSET,
            (None, None) => Authenticate::HEADER,
        };
        let key = Data::Bytes(self.encrypted_session_key);
        // Header order is fixed; the payload order follows Windows (domain, user,
        // workstation, LM, NT, key), which is what MS-NLMP 4.2.4.3 shows.
        let header =
            [self.lm_response, self.nt_response, self.domain, self.user, self.workstation, key];
        let payload =
            [self.domain, self.user, self.workstation, self.lm_response, self.nt_response, key];
        let lens = header.map(|d| d.len());
        let [lm, nt, d, u, ws, k] = lens;
        let offsets = {
            let d_at = header_len;
            let u_at = d_at + d;
            let ws_at = u_at + u;
            let lm_at = ws_at + ws;
            let nt_at = lm_at + lm;
            [lm_at, nt_at, d_at, u_at, ws_at, nt_at + nt]
        };
        let mut w = PayloadWriter::new(header_len, lens.iter().sum());
        w.bytes(SIGNATURE);
        w.u32(AUTHENTICATE_TYPE);
        for (len, offset) in lens.into_iter().zip(offsets) {
            let len = u16::try_from(len).map_err(|_| {
                Error::InvalidParameter("a message field is longer than 65535 bytes")
            })?;
            let offset =
                u32::try_from(offset).map_err(|_| Error::InvalidParameter("message too large"))?;
            w.u16(len);
            w.u16(len);
            w.u32(offset);
        }
        w.u32(self.flags.0);
        if let Some(v) = self.version {
            w.bytes(&v.0);
        } else if self.mic.is_some() {
            w.bytes(&[0; 8]);
        }
        if let Some(mic) = self.mic {
            w.bytes(&mic);
        }
        let mut out = w.finish();
        for data in payload {
            data.write(&mut out)?;
        }
        let [.., key_at] = offsets;
        debug_assert_eq!(out.len(), key_at + k);
        Ok((out, offsets))
    }
}

/// Writes `mic` into an encoded AUTHENTICATE_MESSAGE that has room for it.
pub(crate) fn set_mic(message: &mut [u8], mic: &[u8; 16]) -> Result<()> {
    message
        .get_mut(MIC_OFFSET..MIC_END)
        .ok_or(Error::InvalidToken("AUTHENTICATE message has no room for a MIC"))?
        .copy_from_slice(mic);
    Ok(())
}

/// The three parts of an AUTHENTICATE_MESSAGE around its MIC: the MIC is computed over
/// `before || 0^16 || after` (MS-NLMP 3.1.5.1.2).
pub(crate) fn around_mic(message: &[u8]) -> Result<(&[u8], &[u8])> {
    const WHAT: &str = "AUTHENTICATE message too short for a MIC";
    let before = message.get(..MIC_OFFSET).ok_or(Error::InvalidToken(WHAT))?;
    let after = message.get(MIC_END..).ok_or(Error::InvalidToken(WHAT))?;
    Ok((before, after))
}

/// An AV_PAIR identifier (MS-NLMP 2.2.2.1). Unknown ids survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AvId(pub(crate) u16);

impl AvId {
    /// `MsvAvEOL`.
    pub(crate) const EOL: AvId = AvId(0);
    /// `MsvAvNbComputerName`.
    pub(crate) const NB_COMPUTER_NAME: AvId = AvId(1);
    /// `MsvAvNbDomainName`.
    pub(crate) const NB_DOMAIN_NAME: AvId = AvId(2);
    /// `MsvAvDnsComputerName`.
    pub(crate) const DNS_COMPUTER_NAME: AvId = AvId(3);
    /// `MsvAvDnsDomainName`.
    pub(crate) const DNS_DOMAIN_NAME: AvId = AvId(4);
    /// `MsvAvFlags`.
    pub(crate) const FLAGS: AvId = AvId(6);
    /// `MsvAvTimestamp`.
    pub(crate) const TIMESTAMP: AvId = AvId(7);
    /// `MsvAvTargetName`.
    pub(crate) const TARGET_NAME: AvId = AvId(9);
    /// `MsvAvSingleHost`.
    pub(crate) const SINGLE_HOST: AvId = AvId(8);
    /// `MsvAvChannelBindings`.
    pub(crate) const CHANNEL_BINDINGS: AvId = AvId(10);
}

/// `MsvAvFlags` bit: the client provides a MIC (MS-NLMP 2.2.2.1).
pub(crate) const AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// The most AV pairs a list may hold. MS-NLMP defines 10 ids; real lists carry fewer than 12.
const MAX_AV_PAIRS: usize = 16;
/// The most pairs a list may have added to it ([`AvPairs::set`]); a client adds three.
const MAX_ADDED: usize = 4;

/// An AV_PAIR list (MS-NLMP 2.2.2.1). The terminating `MsvAvEOL` is implied.
///
/// A parsed list is kept as the bytes it was parsed from, checked once (every length in
/// range, `MsvAvEOL` present, no id twice, at most 16 pairs); lookups walk those bytes again.
/// A list being built (a client's, from its server's) is that, less the ids removed from it,
/// plus up to four pairs added. So the list is small and copying it is cheap, which matters
/// because it travels inside parsed messages, and nothing of it is allocated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AvPairs<'a> {
    /// Encoded pairs, without the `MsvAvEOL`.
    parsed: &'a [u8],
    /// Positions (0..16) of the pairs of `parsed` left out.
    removed: u16,
    added: [(AvId, &'a [u8]); MAX_ADDED],
    added_len: usize,
    /// How many pairs the list holds, and their encoded size without the `MsvAvEOL`: kept up
    /// to date as pairs are removed and added, so that neither the size of a message nor
    /// the room for one more pair takes a walk over the list.
    count: usize,
    size: usize,
}

impl Default for AvPairs<'_> {
    fn default() -> Self {
        Self {
            parsed: &[],
            removed: 0,
            added: [(AvId::EOL, &[]); MAX_ADDED],
            added_len: 0,
            count: 0,
            size: 0,
        }
    }
}

impl PartialEq for AvPairs<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for AvPairs<'_> {}

/// Walks encoded pairs that were checked when parsed.
struct Walk<'a>(&'a [u8]);

impl<'a> Iterator for Walk<'a> {
    type Item = (AvId, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let mut r = Reader::new(self.0);
        let id = AvId(r.u16("").ok()?);
        let len = r.u16("").ok()?;
        let value = r.take(usize::from(len), "").ok()?;
        self.0 = r.rest();
        Some((id, value))
    }
}

impl<'a> AvPairs<'a> {
    fn added(&self) -> &[(AvId, &'a [u8])] {
        self.added.get(..self.added_len).unwrap_or_default()
    }

    /// The parsed pairs still in the list.
    fn kept(&self) -> impl Iterator<Item = (AvId, &'a [u8])> + '_ {
        let removed = self.removed;
        // A parsed list has at most 16 pairs, one bit each.
        Walk(self.parsed)
            .take(MAX_AV_PAIRS)
            .enumerate()
            .filter(move |(n, _)| removed & (1 << n) == 0)
            .map(|(_, pair)| pair)
    }

    /// The pairs in order: the parsed ones still in the list, then the added ones.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (AvId, &'a [u8])> + '_ {
        self.kept().chain(self.added().iter().copied())
    }

    /// Removes `id` if present.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, id: AvId) {
        self.remove_any(&[id]);
    }

    /// Removes every pair whose id is one of `ids`, in one walk over the list.
    pub(crate) fn remove_any(&mut self, ids: &[AvId]) {
        // A parsed list has at most 16 pairs (so every position has a bit) and each id once.
        for (n, (seen, value)) in Walk(self.parsed).take(MAX_AV_PAIRS).enumerate() {
            let bit = 1 << n;
            if self.removed & bit == 0 && ids.contains(&seen) {
                self.removed |= bit;
                self.count -= 1;
                self.size -= 4 + value.len();
            }
        }
        let mut kept = 0;
        for n in 0..self.added_len {
            if let Some(&pair) = self.added.get(n) {
                if ids.contains(&pair.0) {
                    self.count -= 1;
                    self.size -= 4 + pair.1.len();
                } else {
                    if let Some(slot) = self.added.get_mut(kept) {
                        *slot = pair;
                    }
                    kept += 1;
                }
            }
        }
        self.added_len = kept;
    }

    /// Parses a list that must end with `MsvAvEOL`; bytes after the EOL are ignored (an
    /// NTLMv2 response is followed by padding). An id may not appear twice, and a list has
    /// at most 16 pairs (which keeps the repeat check cheap on hostile input).
    pub(crate) fn parse(input: &'a [u8]) -> Result<Self> {
        const WHAT: &str = "malformed AV_PAIR list";
        let mut r = Reader::new(input);
        let mut seen = [AvId::EOL; MAX_AV_PAIRS];
        let mut count = 0;
        loop {
            let start = input.len() - r.remaining();
            let id = AvId(r.u16(WHAT)?);
            let len = r.u16(WHAT)?;
            r.take(usize::from(len), WHAT)?;
            if id == AvId::EOL {
                let parsed = input.get(..start).ok_or(Error::InvalidToken(WHAT))?;
                return Ok(Self { parsed, count, size: parsed.len(), ..Self::default() });
            }
            let earlier = seen.get(..count).unwrap_or_default();
            if earlier.contains(&id) {
                return Err(Error::InvalidToken("AV_PAIR list repeats an id"));
            }
            *seen.get_mut(count).ok_or(Error::InvalidToken("too many AV_PAIRs"))? = id;
            count += 1;
        }
    }

    pub(crate) fn get(&self, id: AvId) -> Option<&'a [u8]> {
        self.iter().find(|(i, _)| *i == id).map(|(_, v)| v)
    }

    pub(crate) fn timestamp(&self) -> Result<Option<u64>> {
        self.fixed::<8>(AvId::TIMESTAMP).map(|v| v.map(u64::from_le_bytes))
    }

    pub(crate) fn flags(&self) -> Result<u32> {
        Ok(self.fixed::<4>(AvId::FLAGS)?.map(u32::from_le_bytes).unwrap_or(0))
    }

    pub(crate) fn fixed<const N: usize>(&self, id: AvId) -> Result<Option<[u8; N]>> {
        match self.get(id) {
            None => Ok(None),
            Some(v) => v
                .try_into()
                .map(Some)
                .map_err(|_| Error::InvalidToken("AV_PAIR value has the wrong length")),
        }
    }

    /// Sets `id` to `value`: an earlier value is removed and the pair goes to the end.
    #[cfg(test)]
    pub(crate) fn set(&mut self, id: AvId, value: &'a [u8]) -> Result<()> {
        self.remove(id);
        self.append(id, value)
    }

    /// Adds a pair at the end, for an `id` the list does not hold (one just removed).
    pub(crate) fn append(&mut self, id: AvId, value: &'a [u8]) -> Result<()> {
        debug_assert!(self.get(id).is_none(), "append of an id the list holds");
        if self.count >= MAX_AV_PAIRS {
            return Err(Error::InvalidToken("too many AV_PAIRs"));
        }
        let slot = self
            .added
            .get_mut(self.added_len)
            .ok_or(Error::InvalidParameter("too many AV_PAIRs added to a list"))?;
        *slot = (id, value);
        self.added_len += 1;
        self.count += 1;
        self.size += 4 + value.len();
        Ok(())
    }

    /// The encoded size, EOL included.
    pub(crate) fn encoded_len(&self) -> usize {
        self.size + 4
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded list, EOL included, to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        if self.removed == 0 {
            out.extend_from_slice(self.parsed);
        } else {
            for (id, value) in self.kept() {
                write_av_pair(out, id, value)?;
            }
        }
        for &(id, value) in self.added() {
            write_av_pair(out, id, value)?;
        }
        out.extend_from_slice(&[0; 4]);
        Ok(())
    }
}

/// Appends one AV_PAIR (id, length, value) to `out`.
pub(crate) fn write_av_pair(out: &mut Vec<u8>, id: AvId, value: &[u8]) -> Result<()> {
    let len = u16::try_from(value.len())
        .map_err(|_| Error::InvalidParameter("AV_PAIR value longer than 65535 bytes"))?;
    out.extend_from_slice(&id.0.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// The NTLMv2 client challenge, `temp` of MS-NLMP 3.3.2 (structure in 2.2.2.7): what follows
/// the 16-byte NTProofStr in an NTLMv2 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientBlob<'a> {
    pub(crate) timestamp: u64,
    pub(crate) client_challenge: [u8; 8],
    pub(crate) av_pairs: AvPairs<'a>,
}

impl<'a> ClientBlob<'a> {
    /// Bytes before the AV pairs.
    pub(crate) const FIXED: usize = 28;

    pub(crate) fn parse(blob: &'a [u8]) -> Result<Self> {
        const WHAT: &str = "malformed NTLMv2 client challenge";
        let mut r = Reader::new(blob);
        if r.u8(WHAT)? != 1 || r.u8(WHAT)? != 1 {
            return Err(Error::InvalidToken("unknown NTLMv2 response version"));
        }
        let _reserved = r.take(6, WHAT)?;
        let timestamp = r.u64(WHAT)?;
        let client_challenge = r.array(WHAT)?;
        let _reserved = r.take(4, WHAT)?;
        let av_pairs = AvPairs::parse(r.rest())?;
        Ok(Self { timestamp, client_challenge, av_pairs })
    }

    /// `temp`: RespType, HiRespType, Z(6), Time, ClientChallenge, Z(4), AV pairs, Z(4).
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    pub(crate) fn encoded_len(&self) -> usize {
        Self::FIXED + self.av_pairs.encoded_len() + 4
    }

    /// Appends `temp` to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.client_challenge);
        out.extend_from_slice(&[0; 4]);
        self.av_pairs.encode_into(out)?;
        out.extend_from_slice(&[0; 4]);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ntlm::keys::tests::{SERVER_CHALLENGE, TARGET_INFO, hex};

    /// MS-NLMP 4.2.4.3.
    const CHALLENGE: &str = concat!(
        "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef",
        "00000000000000002400240044000000060070170000000f5300650072007600",
        "6500720002000c0044006f006d00610069006e0001000c005300650072007600",
        "6500720000000000"
    );

    #[test]
    fn challenge_ms_nlmp_4_2_4_3_parses_and_encodes_identically() {
        let bytes = hex(CHALLENGE);
        let c = Challenge::parse(&bytes).unwrap();
        assert_eq!(c.flags, NegotiateFlags(0xE28A_8233));
        assert_eq!(c.server_challenge, SERVER_CHALLENGE);
        assert_eq!(c.target_name, &crate::crypto::utf16le("Server")[..]);
        assert_eq!(c.target_info, &hex(TARGET_INFO)[..]);
        assert_eq!(c.version, Some(Version(hex("060070170000000f").try_into().unwrap())));
        assert_eq!(c.encode().unwrap(), bytes);
    }

    #[test]
    fn authenticate_round_trips_with_and_without_mic() {
        for mic in [None, Some([7u8; 16])] {
            let msg = Authenticate {
                lm_response: &[1; 24],
                nt_response: &[2; 60],
                domain: b"D\0",
                user: b"U\0",
                workstation: b"",
                encrypted_session_key: &[3; 16],
                flags: NegotiateFlags(0xE288_8235),
                version: Some(DEFAULT_VERSION),
                mic,
            };
            let bytes = msg.encode().unwrap();
            assert_eq!(Authenticate::parse(&bytes).unwrap(), msg);
        }
    }

    #[test]
    fn negotiate_round_trips_and_rejects_bad_headers() {
        let msg = Negotiate {
            flags: NegotiateFlags(0xE208_8235),
            domain: &[],
            workstation: &[],
            version: Some(DEFAULT_VERSION),
        };
        let bytes = msg.encode().unwrap();
        assert_eq!(bytes.len(), 40);
        assert_eq!(Negotiate::parse(&bytes).unwrap(), msg);
        let mut wrong_type = bytes.clone();
        wrong_type[8] = 2;
        assert!(Negotiate::parse(&wrong_type).is_err());
        let mut wrong_sig = bytes.clone();
        wrong_sig[0] = b'X';
        assert!(Negotiate::parse(&wrong_sig).is_err());
        assert!(Negotiate::parse(&vec![0; MAX_TOKEN + 1]).is_err());
    }

    #[test]
    fn av_pairs_built_from_a_parsed_list_encode_in_order() {
        // NbDomainName "A", NbComputerName "B", MsvAvFlags 0, EOL, then padding.
        let server = hex("0200020041000100020042000600040000000000000000000000");
        let mut av = AvPairs::parse(&server).unwrap();
        assert_eq!(av.encoded_len(), 24);
        assert_eq!(av.encode().unwrap(), server[..24]);
        // What a client does: drop the server's flags, add its own and a target name.
        av.remove(AvId::FLAGS);
        av.set(AvId::FLAGS, &[2, 0, 0, 0]).unwrap();
        av.set(AvId::TARGET_NAME, b"T\0").unwrap();
        let expected = hex("020002004100010002004200060004000200000009000200540000000000");
        assert_eq!(av.encoded_len(), expected.len());
        assert_eq!(av.encode().unwrap(), expected);
        assert_eq!(AvPairs::parse(&expected).unwrap(), av);
        assert_eq!(av.flags().unwrap(), 2);
        // Setting an id again replaces it, at the end.
        av.set(AvId::NB_DOMAIN_NAME, b"C\0").unwrap();
        let ids: Vec<u16> = av.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, [1, 6, 9, 2]);
        assert_eq!(av.get(AvId::NB_DOMAIN_NAME), Some(&b"C\0"[..]));
        // Any id can be replaced, not only those MS-NLMP defines.
        let unknown = hex("200001004100000000");
        let mut av = AvPairs::parse(&unknown).unwrap();
        av.set(AvId(0x20), b"B").unwrap();
        assert_eq!(av.encode().unwrap(), hex("200001004200000000"));
        assert_eq!(av.get(AvId(0x20)), Some(&b"B"[..]));
        // At most four pairs can be added to a list.
        let mut full = AvPairs::default();
        for id in 1..=4 {
            full.set(AvId(id), b"x").unwrap();
        }
        assert!(full.set(AvId(5), b"x").is_err(), "more added pairs than room");
    }

    #[test]
    fn av_pairs_hold_at_most_sixteen() {
        let mut list = Vec::new();
        for id in 100..117u16 {
            list.extend_from_slice(&id.to_le_bytes());
            list.extend_from_slice(&[0, 0]);
        }
        list.extend_from_slice(&[0; 4]);
        assert!(AvPairs::parse(&list).is_err(), "17 pairs");
        assert_eq!(AvPairs::parse(&list[4..]).unwrap().iter().count(), 16);
    }

    #[test]
    fn av_pairs_reject_repeats_and_missing_eol() {
        let two = hex("01000200410002000200420000000000");
        assert_eq!(AvPairs::parse(&two).unwrap().get(AvId::NB_DOMAIN_NAME), Some(&b"B\0"[..]));
        assert!(AvPairs::parse(&hex("01000200410001000200420000000000")).is_err(), "repeat");
        assert!(AvPairs::parse(&hex("01000200410000000000")).is_ok());
        assert!(AvPairs::parse(&hex("010002004100")).is_err(), "no EOL");
        assert!(AvPairs::parse(&hex("01000300410000000000")).is_err(), "length past the end");
    }
}

/// Property tests: every message decodes to what was encoded; a parsed message encodes to
/// bytes that parse to it again.
///
/// The messages are not canonical, so `encode(parse(b)) == b` holds only for bytes `encode`
/// wrote: a parser takes any payload layout (fields in any order, gaps, `MaximumLength`
/// unlike `Length`), ignores the reserved bytes and a field its flag says is unused, and an
/// AV_PAIR list ends at its `MsvAvEOL` whatever follows it (and whatever the EOL's length).
/// For arbitrary layouts the property is `parse(encode(parse(b))) == parse(b)`.
#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 0..=max)
    }

    /// An optional VERSION, present only if `flags` announce one: a CHALLENGE or NEGOTIATE
    /// parser reads the VERSION only when `NTLMSSP_NEGOTIATE_VERSION` is set (MS-NLMP
    /// 2.2.1.1, 2.2.1.2), so a VERSION without the flag is not part of the message.
    fn version_for(flags: u32) -> BoxedStrategy<Option<Version>> {
        if NegotiateFlags(flags).contains(NegotiateFlags::VERSION) {
            proptest::option::of(any::<[u8; 8]>().prop_map(Version)).boxed()
        } else {
            Just(None).boxed()
        }
    }

    /// A field given only when its flag is set (NEGOTIATE's OEM domain and workstation).
    fn field_for(flags: u32, flag: NegotiateFlags) -> BoxedStrategy<Vec<u8>> {
        if NegotiateFlags(flags).contains(flag) { bytes(40).boxed() } else { Just(vec![]).boxed() }
    }

    fn negotiate_parts() -> impl Strategy<Value = (u32, Vec<u8>, Vec<u8>, Option<Version>)> {
        any::<u32>().prop_flat_map(|flags| {
            (
                Just(flags),
                field_for(flags, NegotiateFlags::OEM_DOMAIN_SUPPLIED),
                field_for(flags, NegotiateFlags::OEM_WORKSTATION_SUPPLIED),
                version_for(flags),
            )
        })
    }

    fn challenge_parts() -> impl Strategy<Value = (Vec<u8>, u32, [u8; 8], Vec<u8>, Option<Version>)>
    {
        any::<u32>().prop_flat_map(|flags| {
            (bytes(40), Just(flags), any::<[u8; 8]>(), bytes(200), version_for(flags))
        })
    }

    /// An AUTHENTICATE's optional parts: a MIC only with a VERSION, because the MIC sits
    /// after the VERSION's place (MS-NLMP 2.2.1.3) and a message with room for a MIC has a
    /// VERSION (zeros when the encoder had none).
    fn version_and_mic() -> impl Strategy<Value = (Option<Version>, Option<[u8; 16]>)> {
        prop_oneof![
            Just((None, None)),
            any::<[u8; 8]>().prop_map(|v| (Some(Version(v)), None)),
            (any::<[u8; 8]>(), any::<[u8; 16]>()).prop_map(|(v, m)| (Some(Version(v)), Some(m))),
        ]
    }

    /// Distinct AV ids other than `MsvAvEOL`, with values.
    fn av_list(max: usize) -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
        proptest::collection::btree_map(1..=u16::MAX, bytes(24), 0..=max)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>())
            .prop_shuffle()
    }

    fn encode_list(pairs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (id, value) in pairs {
            write_av_pair(&mut out, AvId(*id), value).unwrap();
        }
        out.extend_from_slice(&[0; 4]);
        out
    }

    fn pairs_of(av: &AvPairs<'_>) -> Vec<(u16, Vec<u8>)> {
        av.iter().map(|(id, v)| (id.0, v.to_vec())).collect()
    }

    /// A message of type `message_type` laid out loosely: `n_fields` (length, max length,
    /// offset) triples pointing anywhere into a payload of random bytes (so in any order, with
    /// gaps, overlapping, into the header or out of range), `before` and `after` random
    /// bytes of header around them (flags, challenge, VERSION, MIC), maybe cut short.
    fn loose_message(
        message_type: u32,
        before: usize,
        n_fields: usize,
        after: usize,
    ) -> impl Strategy<Value = Vec<u8>> {
        let header = 12 + before + 8 * n_fields + after;
        (
            bytes(before).prop_map(move |mut b| {
                b.resize(before, 0);
                b
            }),
            vec((prop_oneof![Just(0u16), 0u16..32], any::<u16>(), 0usize..96), n_fields),
            bytes(after + 24),
            vec(any::<u8>(), 64..=120),
        )
            .prop_map(move |(head, fields, tail, payload)| {
                let mut msg = SIGNATURE.to_vec();
                msg.extend_from_slice(&message_type.to_le_bytes());
                let mut fields = fields.into_iter();
                let mut head = head.into_iter();
                // NEGOTIATE: flags, then the fields; CHALLENGE: a field, then the rest.
                let field_at = |msg: &mut Vec<u8>, (len, max, off): (u16, u16, usize)| {
                    msg.extend_from_slice(&len.to_le_bytes());
                    msg.extend_from_slice(&max.to_le_bytes());
                    msg.extend_from_slice(&u32::try_from(header - 24 + off).unwrap().to_le_bytes());
                };
                if message_type == CHALLENGE_TYPE {
                    field_at(&mut msg, fields.next().unwrap());
                    msg.extend(head.by_ref());
                    field_at(&mut msg, fields.next().unwrap());
                } else {
                    msg.extend(head.by_ref());
                    fields.for_each(|f| field_at(&mut msg, f));
                }
                msg.extend(tail);
                msg.extend(payload);
                msg
            })
    }

    proptest! {
        #[test]
        fn negotiate_round_trips((flags, domain, workstation, version) in negotiate_parts()) {
            let msg = Negotiate {
                flags: NegotiateFlags(flags),
                domain: &domain,
                workstation: &workstation,
                version,
            };
            let bytes = msg.encode().unwrap();
            let parsed = Negotiate::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &msg);
            // The encoder's bytes are canonical: parsed, they encode to themselves.
            prop_assert_eq!(parsed.encode().unwrap(), bytes);
        }

        #[test]
        fn challenge_round_trips(
            (target_name, flags, server_challenge, target_info, version) in challenge_parts()
        ) {
            let msg = Challenge {
                target_name: &target_name,
                flags: NegotiateFlags(flags),
                server_challenge,
                target_info: &target_info,
                version,
            };
            let bytes = msg.encode().unwrap();
            let parsed = Challenge::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &msg);
            // The encoder's bytes are canonical: parsed, they encode to themselves.
            prop_assert_eq!(parsed.encode().unwrap(), bytes);
        }

        #[test]
        fn authenticate_round_trips(
            fields in vec(bytes(80), 6),
            flags: u32,
            (version, mic) in version_and_mic(),
        ) {
            let msg = Authenticate {
                lm_response: &fields[0],
                nt_response: &fields[1],
                domain: &fields[2],
                user: &fields[3],
                workstation: &fields[4],
                encrypted_session_key: &fields[5],
                flags: NegotiateFlags(flags),
                version,
                mic,
            };
            let bytes = msg.encode().unwrap();
            let parsed = Authenticate::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &msg);
            // The encoder's bytes are canonical: parsed, they encode to themselves.
            prop_assert_eq!(parsed.encode().unwrap(), bytes);
        }

        /// What a client sends: names written as UTF-16LE straight into the message (the
        /// ASCII fast path and the general one), the offsets it reports, and the MIC patched
        /// in afterwards, which [`around_mic`] cuts out again.
        #[test]
        fn authenticate_out_writes_utf16_names_and_the_mic(
            user in ".{0,12}",
            domain in "[a-zA-Z0-9.-]{0,16}",
            workstation in any::<String>(),
            lm in bytes(24),
            key in bytes(16),
            mic: [u8; 16],
        ) {
            let out = AuthenticateOut {
                lm_response: Data::Bytes(&lm),
                nt_response: Data::Parts(&[b"nt", &key]),
                domain: Data::Utf16(&domain),
                user: Data::Utf16(&user),
                workstation: Data::Utf16(&workstation),
                encrypted_session_key: &key,
                flags: NegotiateFlags(0xE288_8235),
                version: Some(DEFAULT_VERSION),
                mic: Some([0; 16]),
            };
            let (mut bytes, offsets) = out.encode().unwrap();
            set_mic(&mut bytes, &mic).unwrap();
            let parsed = Authenticate::parse(&bytes).unwrap();
            let utf16 = crate::crypto::utf16le;
            prop_assert_eq!(parsed.user, &utf16(&user)[..]);
            prop_assert_eq!(parsed.domain, &utf16(&domain)[..]);
            prop_assert_eq!(parsed.workstation, &utf16(&workstation)[..]);
            prop_assert_eq!(parsed.lm_response, &lm[..]);
            prop_assert_eq!(parsed.nt_response, &[&b"nt"[..], &key].concat()[..]);
            prop_assert_eq!(parsed.encrypted_session_key, &key[..]);
            prop_assert_eq!(parsed.mic, Some(mic));
            let fields = [
                parsed.lm_response,
                parsed.nt_response,
                parsed.domain,
                parsed.user,
                parsed.workstation,
                parsed.encrypted_session_key,
            ];
            for (field, at) in fields.into_iter().zip(offsets) {
                prop_assert_eq!(&bytes[at..at + field.len()], field);
            }
            let (before, after) = around_mic(&bytes).unwrap();
            prop_assert_eq!([before, &mic[..], after].concat(), bytes.clone());
        }

        /// Whatever layout a peer chose, a parsed message encodes to one that parses to it.
        #[test]
        fn loosely_laid_out_negotiate_reencodes(msg in loose_message(NEGOTIATE_TYPE, 4, 2, 8)) {
            if let Ok(m) = Negotiate::parse(&msg) {
                let again = m.encode().unwrap();
                prop_assert_eq!(Negotiate::parse(&again).unwrap(), m);
            }
        }

        #[test]
        fn loosely_laid_out_challenge_reencodes(msg in loose_message(CHALLENGE_TYPE, 20, 2, 8)) {
            if let Ok(m) = Challenge::parse(&msg) {
                let again = m.encode().unwrap();
                prop_assert_eq!(Challenge::parse(&again).unwrap(), m);
            }
        }

        #[test]
        fn loosely_laid_out_authenticate_reencodes(
            msg in loose_message(AUTHENTICATE_TYPE, 0, 6, 28),
        ) {
            if let Ok(m) = Authenticate::parse(&msg) {
                let again = m.encode().unwrap();
                prop_assert_eq!(Authenticate::parse(&again).unwrap(), m);
            }
        }

        /// AV_PAIR lists: parsed as written, and, being canonical when they end with a
        /// zero-length EOL and nothing after it, encoded back to the same bytes.
        #[test]
        fn av_pairs_round_trip(pairs in av_list(16), padding in bytes(8)) {
            let encoded = encode_list(&pairs);
            let mut padded = encoded.clone();
            padded.extend_from_slice(&padding);
            let av = AvPairs::parse(&padded).unwrap();
            prop_assert_eq!(pairs_of(&av), pairs);
            prop_assert_eq!(av.encoded_len(), encoded.len());
            prop_assert_eq!(av.encode().unwrap(), encoded);
        }

        /// What a client does with its server's list: remove some ids, append its own. The
        /// size kept along the way is the size encoded, and the list parses back in order:
        /// the kept pairs, then the appended ones.
        #[test]
        fn edited_av_pairs_round_trip(
            pairs in av_list(12),
            remove in vec(any::<prop::sample::Index>(), 0..6),
            added in av_list(4),
        ) {
            let encoded = encode_list(&pairs);
            let mut av = AvPairs::parse(&encoded).unwrap();
            let mut ids: Vec<AvId> =
                remove.iter().filter(|_| !pairs.is_empty()).map(|i| AvId(pairs[i.index(pairs.len())].0)).collect();
            // The added ids go too (a client removes an id before it appends it).
            ids.extend(added.iter().map(|(id, _)| AvId(*id)));
            av.remove_any(&ids);
            let mut model: Vec<(u16, Vec<u8>)> =
                pairs.iter().filter(|(id, _)| !ids.contains(&AvId(*id))).cloned().collect();
            for (id, value) in &added {
                if model.len() < MAX_AV_PAIRS {
                    av.append(AvId(*id), value).unwrap();
                    model.push((*id, value.clone()));
                } else {
                    prop_assert!(av.append(AvId(*id), value).is_err());
                }
            }
            let bytes = av.encode().unwrap();
            prop_assert_eq!(bytes.len(), av.encoded_len());
            prop_assert_eq!(bytes.clone(), encode_list(&model));
            prop_assert_eq!(pairs_of(&AvPairs::parse(&bytes).unwrap()), model);
        }

        #[test]
        fn client_blob_round_trips(
            timestamp: u64,
            client_challenge: [u8; 8],
            pairs in av_list(16),
        ) {
            let list = encode_list(&pairs);
            let blob = ClientBlob {
                timestamp,
                client_challenge,
                av_pairs: AvPairs::parse(&list).unwrap(),
            };
            let bytes = blob.encode().unwrap();
            prop_assert_eq!(bytes.len(), blob.encoded_len());
            let parsed = ClientBlob::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &blob);
            prop_assert_eq!(pairs_of(&parsed.av_pairs), pairs);
            // And the bytes `encode` wrote are the canonical ones: parsed, they encode again to
            // themselves.
            prop_assert_eq!(parsed.encode().unwrap(), bytes);
        }
    }
}
