//! The GSS-API framing of the Kerberos handshake tokens (RFC 2743 section 3.1, RFC 4121 section
//! 4.1) and the authenticator checksum that carries the GSS flags and channel bindings (RFC 4121
//! section 4.1.1).
//!
//! ```text
//! InitialContextToken  60 <len> 06 09 2a 86 48 86 f7 12 01 02 02  TOK_ID(2)  <Kerberos message>
//!     TOK_ID 01 00: KRB_AP_REQ   02 00: KRB_AP_REP   03 00: KRB_ERROR
//! ```
//! Windows' Kerberos SSP frames its AP-REQ and AP-REP exactly so (what `InitializeSecurityContext`
//! returns is this whole token), and so do MIT and Heimdal.
//!
//! Hand-written: picky-krb has a `KrbMessage` wrapper, but its reader accepts any mechanism
//! OID and lax lengths; the framing is a dozen bytes whose every rule is checked here.
#![deny(clippy::indexing_slicing)]

use crate::codec::Reader;
use crate::error::{Error, Result};

/// DER of the krb5 mechanism OID 1.2.840.113554.1.2.2 (RFC 1964 section 1), tag and length
/// included.
pub const KRB5_OID_DER: [u8; 11] =
    [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// The largest handshake token read (a ticket with a large PAC stays far below; Windows'
/// `cbMaxToken` for Kerberos is 48,000).
pub const MAX_TOKEN_LEN: usize = 65_535;

/// TOK_ID of an AP-REQ (RFC 4121 section 4.1).
pub const TOK_AP_REQ: [u8; 2] = [0x01, 0x00];
/// TOK_ID of an AP-REP.
pub const TOK_AP_REP: [u8; 2] = [0x02, 0x00];
/// TOK_ID of a KRB-ERROR.
pub const TOK_ERROR: [u8; 2] = [0x03, 0x00];

/// Frames `message` as an InitialContextToken with `tok_id`.
///
/// # Errors
/// [`Error::InvalidParameter`] for a message longer than [`MAX_TOKEN_LEN`].
pub fn frame(tok_id: [u8; 2], message: &[u8]) -> Result<Vec<u8>> {
    let inner = KRB5_OID_DER.len() + 2 + message.len();
    if inner > MAX_TOKEN_LEN {
        return Err(Error::InvalidParameter("Kerberos token too long"));
    }
    let mut out = Vec::with_capacity(inner + 4);
    out.push(0x60);
    // DER definite length, minimal.
    if inner < 0x80 {
        out.push(u8::try_from(inner).map_err(|_| Error::InvalidParameter("length"))?);
    } else if inner < 0x100 {
        out.extend_from_slice(&[
            0x81,
            u8::try_from(inner).map_err(|_| Error::InvalidParameter("length"))?,
        ]);
    } else {
        let [hi, lo] =
            u16::try_from(inner).map_err(|_| Error::InvalidParameter("length"))?.to_be_bytes();
        out.extend_from_slice(&[0x82, hi, lo]);
    }
    out.extend_from_slice(&KRB5_OID_DER);
    out.extend_from_slice(&tok_id);
    out.extend_from_slice(message);
    Ok(out)
}

/// Reads an InitialContextToken: checks the framing and the krb5 OID; returns the TOK_ID and
/// the Kerberos message. The whole input must be the token (no trailing bytes).
///
/// # Errors
/// [`Error::InvalidToken`] for anything else.
pub fn unframe(token: &[u8]) -> Result<([u8; 2], &[u8])> {
    if token.len() > MAX_TOKEN_LEN + 16 {
        return Err(Error::InvalidToken("Kerberos token too long"));
    }
    let mut r = Reader::new(token);
    if r.u8("GSS token")? != 0x60 {
        return Err(Error::InvalidToken("not a GSS-API InitialContextToken"));
    }
    let first = r.u8("GSS token length")?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81 => {
            let b = r.u8("GSS token length")?;
            if b < 0x80 {
                return Err(Error::InvalidToken("GSS token: non-minimal length"));
            }
            usize::from(b)
        }
        0x82 => {
            let [hi, lo] = r.array::<2>("GSS token length")?;
            if hi == 0 {
                return Err(Error::InvalidToken("GSS token: non-minimal length"));
            }
            usize::from(u16::from_be_bytes([hi, lo]))
        }
        _ => return Err(Error::InvalidToken("GSS token: unsupported length")),
    };
    if r.remaining() != len {
        return Err(Error::InvalidToken("GSS token: length does not match the token"));
    }
    if r.take(KRB5_OID_DER.len(), "GSS mechanism")? != KRB5_OID_DER {
        return Err(Error::InvalidToken("GSS token: not the Kerberos 5 mechanism"));
    }
    let tok_id = r.array::<2>("GSS TOK_ID")?;
    Ok((tok_id, r.rest()))
}

/// GSS flags of the authenticator checksum (RFC 4121 section 4.1.1.1; RFC 4757 section 7.1 and
/// MS-KILE 3.2.5.2 for the Microsoft ones).
pub mod flags {
    /// GSS_C_DELEG_FLAG: a KRB-CRED with the initiator's TGT follows.
    pub const DELEG: u32 = 1;
    /// GSS_C_MUTUAL_FLAG.
    pub const MUTUAL: u32 = 2;
    /// GSS_C_REPLAY_FLAG.
    pub const REPLAY: u32 = 4;
    /// GSS_C_SEQUENCE_FLAG.
    pub const SEQUENCE: u32 = 8;
    /// GSS_C_CONF_FLAG.
    pub const CONF: u32 = 16;
    /// GSS_C_INTEG_FLAG.
    pub const INTEG: u32 = 32;
    /// GSS_C_DCE_STYLE (MS-KILE 3.2.5.2).
    pub const DCE_STYLE: u32 = 0x1000;
    /// GSS_C_IDENTIFY_FLAG.
    pub const IDENTIFY: u32 = 0x2000;
    /// GSS_C_EXTENDED_ERROR_FLAG.
    pub const EXTENDED_ERROR: u32 = 0x4000;
}

/// The checksum type of the GSS authenticator checksum (RFC 4121 section 4.1.1).
pub const CKSUMTYPE_GSSAPI: i32 = 0x8003;

/// The contents of the 0x8003 authenticator checksum (RFC 4121 section 4.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatorChecksum {
    /// `Bnd`: MD5 of the channel bindings, or zeros when there are none.
    pub bindings: [u8; 16],
    /// The GSS flags.
    pub flags: u32,
    /// `Deleg`: a KRB-CRED (present only with [`flags::DELEG`]).
    pub delegation: Option<Vec<u8>>,
}

impl AuthenticatorChecksum {
    /// Encodes the checksum field.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a KRB-CRED longer than 65,535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(24 + self.delegation.as_ref().map_or(0, |d| d.len() + 4));
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&self.bindings);
        match &self.delegation {
            Some(cred) => {
                let len = u16::try_from(cred.len())
                    .map_err(|_| Error::InvalidParameter("KRB-CRED too long to delegate"))?;
                out.extend_from_slice(&(self.flags | flags::DELEG).to_le_bytes());
                out.extend_from_slice(&1u16.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(cred);
            }
            None => out.extend_from_slice(&(self.flags & !flags::DELEG).to_le_bytes()),
        }
        Ok(out)
    }

    /// Decodes the checksum field. Extensions after the delegation (RFC 4121 section
    /// 4.1.1.2: `Exts`) are ignored, as MIT ignores the ones it does not know.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if `Lgth` is not 16, the field is shorter than 24 bytes, or the
    /// delegation is truncated or not option 1.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if r.u32("GSS checksum Lgth")? != 16 {
            return Err(Error::InvalidToken("GSS checksum: Lgth is not 16"));
        }
        let bindings = r.array::<16>("GSS checksum Bnd")?;
        let flags = r.u32("GSS checksum flags")?;
        let delegation = if flags & flags::DELEG != 0 {
            if r.u16("GSS checksum DlgOpt")? != 1 {
                return Err(Error::InvalidToken("GSS checksum: DlgOpt is not 1"));
            }
            let len = r.u16("GSS checksum Dlgth")?;
            Some(r.take(usize::from(len), "GSS checksum Deleg")?.to_vec())
        } else {
            None
        };
        Ok(Self { bindings, flags, delegation })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn frame_and_unframe_round_trip_at_every_length_form() {
        for n in [0usize, 100, 116, 117, 200, 243, 244, 1000, 40_000] {
            let message = vec![0xa5; n];
            let token = frame(TOK_AP_REQ, &message).unwrap();
            let (id, back) = unframe(&token).unwrap();
            assert_eq!(id, TOK_AP_REQ);
            assert_eq!(back, &message[..]);
        }
    }

    #[test]
    fn framing_matches_rfc_2743_3_1() {
        // RFC 2743 3.1: [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID, innerToken }.
        let token = frame(TOK_AP_REP, &[0x6f, 0x00]).unwrap();
        assert_eq!(
            token,
            [
                0x60, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02,
                0x00, 0x6f, 0x00
            ]
        );
    }

    #[test]
    fn unframe_refuses_bad_framing() {
        let good = frame(TOK_AP_REQ, &[1, 2, 3]).unwrap();
        for i in 0..good.len() {
            // Every byte of the framing matters (the message bytes are opaque here).
            if i >= good.len() - 3 - 2 {
                continue;
            }
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            assert!(unframe(&bad).is_err(), "byte {i}");
        }
        let mut long = good.clone();
        long.push(0);
        assert!(unframe(&long).is_err());
        assert!(unframe(&good[..good.len() - 1]).is_err());
        assert!(unframe(&[]).is_err());
        // Non-minimal length.
        let mut nonmin = vec![0x60, 0x81, 0x0e];
        nonmin.extend_from_slice(&good[2..]);
        assert!(unframe(&nonmin).is_err());
    }

    #[test]
    fn checksum_layout_is_rfc_4121_4_1_1() {
        let c = AuthenticatorChecksum {
            bindings: [7; 16],
            flags: flags::MUTUAL | flags::INTEG,
            delegation: None,
        };
        let bytes = c.encode().unwrap();
        assert_eq!(bytes.len(), 24);
        assert_eq!(bytes[..4], [16, 0, 0, 0]);
        assert_eq!(bytes[4..20], [7; 16]);
        assert_eq!(bytes[20..24], [0x22, 0, 0, 0]);
        assert_eq!(AuthenticatorChecksum::decode(&bytes).unwrap(), c);

        let d = AuthenticatorChecksum { delegation: Some(vec![0x76, 1, 2]), ..c };
        let bytes = d.encode().unwrap();
        assert_eq!(bytes[20..24], [0x23, 0, 0, 0]);
        assert_eq!(bytes[24..28], [1, 0, 3, 0]);
        let back = AuthenticatorChecksum::decode(&bytes).unwrap();
        assert_eq!(back.delegation.as_deref(), Some(&[0x76, 1, 2][..]));
        assert_eq!(back.flags, d.flags | flags::DELEG);
        // Truncated delegation, wrong Lgth, short field: refused.
        assert!(AuthenticatorChecksum::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut wrong = bytes.clone();
        wrong[0] = 17;
        assert!(AuthenticatorChecksum::decode(&wrong).is_err());
        assert!(AuthenticatorChecksum::decode(&bytes[..23]).is_err());
        // Extensions after the fields are ignored.
        let mut ext = c.encode().unwrap();
        ext.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(AuthenticatorChecksum::decode(&ext).unwrap(), c);
    }
}
