//! Channel bindings (RFC 2743 section 1.1.6, RFC 5929; MS-NLMP 2.2.2.1 `MsvAvChannelBindings`).
#![deny(clippy::indexing_slicing)]

use crate::codec::Reader;
use crate::error::{Error, Result};

/// Channel-binding data: what ties the authentication to the outer channel (for example
/// `tls-server-end-point:` followed by the hash of the server's certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelBindings {
    /// Initiator address type (0 in practice).
    pub initiator_addrtype: u32,
    /// Initiator address (empty in practice).
    pub initiator_address: Vec<u8>,
    /// Acceptor address type (0 in practice).
    pub acceptor_addrtype: u32,
    /// Acceptor address (empty in practice).
    pub acceptor_address: Vec<u8>,
    /// The application data, e.g. `tls-server-end-point:<hash>`.
    pub application_data: Vec<u8>,
}

impl ChannelBindings {
    /// Bindings with only application data (the usual case).
    pub fn application(data: impl Into<Vec<u8>>) -> Self {
        Self { application_data: data.into(), ..Self::default() }
    }

    /// The MD5 hash of the flattened `gss_channel_bindings_struct` (each address type, then
    /// each value as a 32-bit little-endian length and the bytes), as NTLM carries it in
    /// `MsvAvChannelBindings`.
    pub fn md5(&self) -> Result<[u8; 16]> {
        let len = |v: &[u8]| {
            u32::try_from(v.len())
                .map(u32::to_le_bytes)
                .map_err(|_| Error::InvalidParameter("channel bindings too large"))
        };
        Ok(crate::crypto::md5(&[
            &self.initiator_addrtype.to_le_bytes(),
            &len(&self.initiator_address)?,
            &self.initiator_address,
            &self.acceptor_addrtype.to_le_bytes(),
            &len(&self.acceptor_address)?,
            &self.acceptor_address,
            &len(&self.application_data)?,
            &self.application_data,
        ]))
    }

    /// Parses a Windows `SEC_CHANNEL_BINDINGS` structure (the contents of a
    /// `SECBUFFER_CHANNEL_BINDINGS` buffer): eight 32-bit fields (address type, length and
    /// offset of each part) followed by the data the offsets point to.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] (`SEC_E_INVALID_TOKEN`) if a length or offset points outside
    /// the buffer.
    pub fn from_sec_channel_bindings(buf: &[u8]) -> Result<Self> {
        const WHAT: &str = "malformed SEC_CHANNEL_BINDINGS";
        let mut r = Reader::new(buf);
        let part = |r: &mut Reader<'_>| -> Result<Vec<u8>> {
            let len = usize::try_from(r.u32(WHAT)?).map_err(|_| Error::InvalidToken(WHAT))?;
            let offset = usize::try_from(r.u32(WHAT)?).map_err(|_| Error::InvalidToken(WHAT))?;
            if len == 0 {
                return Ok(Vec::new());
            }
            let end = offset.checked_add(len).ok_or(Error::InvalidToken(WHAT))?;
            Ok(buf.get(offset..end).ok_or(Error::InvalidToken(WHAT))?.to_vec())
        };
        let initiator_addrtype = r.u32(WHAT)?;
        let initiator_address = part(&mut r)?;
        let acceptor_addrtype = r.u32(WHAT)?;
        let acceptor_address = part(&mut r)?;
        let application_data = part(&mut r)?;
        Ok(Self {
            initiator_addrtype,
            initiator_address,
            acceptor_addrtype,
            acceptor_address,
            application_data,
        })
    }

    /// Encodes a `SEC_CHANNEL_BINDINGS` structure with the data after the 32-byte header.
    pub fn to_sec_channel_bindings(&self) -> Result<Vec<u8>> {
        let too_large = || Error::InvalidParameter("channel bindings too large");
        let mut out = Vec::new();
        let mut offset = 32usize;
        let mut push = |out: &mut Vec<u8>, v: &[u8]| -> Result<()> {
            out.extend_from_slice(&u32::try_from(v.len()).map_err(|_| too_large())?.to_le_bytes());
            out.extend_from_slice(&u32::try_from(offset).map_err(|_| too_large())?.to_le_bytes());
            offset += v.len();
            Ok(())
        };
        out.extend_from_slice(&self.initiator_addrtype.to_le_bytes());
        push(&mut out, &self.initiator_address)?;
        out.extend_from_slice(&self.acceptor_addrtype.to_le_bytes());
        push(&mut out, &self.acceptor_address)?;
        push(&mut out, &self.application_data)?;
        out.extend_from_slice(&self.initiator_address);
        out.extend_from_slice(&self.acceptor_address);
        out.extend_from_slice(&self.application_data);
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_flattened_struct() {
        // What gss-ntlmssp hashes: 16 zero bytes, the data length, the data.
        let cb = ChannelBindings::application(&b"tls-server-end-point:abc"[..]);
        let mut flat = vec![0u8; 16];
        flat.extend_from_slice(&24u32.to_le_bytes());
        flat.extend_from_slice(b"tls-server-end-point:abc");
        assert_eq!(cb.md5().unwrap(), crate::crypto::md5(&[&flat]));
    }

    #[test]
    fn sec_channel_bindings_round_trip_and_bounds() {
        let cb = ChannelBindings {
            initiator_addrtype: 2,
            initiator_address: vec![1, 2, 3, 4],
            application_data: b"data".to_vec(),
            ..Default::default()
        };
        let buf = cb.to_sec_channel_bindings().unwrap();
        assert_eq!(ChannelBindings::from_sec_channel_bindings(&buf).unwrap(), cb);
        for cut in 0..buf.len() {
            assert!(ChannelBindings::from_sec_channel_bindings(&buf[..cut]).is_err(), "{cut}");
        }
    }
}

/// Property tests: `SEC_CHANNEL_BINDINGS` round trips. The structure is not canonical (the
/// offsets may point anywhere in the buffer, the parts in any order, with gaps or shared
/// bytes, and an empty part's offset is ignored), so `encode(decode(b)) == b` holds only for
/// the layout the encoder writes: the three parts in order after the 32-byte header.
#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn bindings() -> impl Strategy<Value = ChannelBindings> {
        (any::<u32>(), vec(any::<u8>(), 0..24), any::<u32>(), vec(any::<u8>(), 0..24))
            .prop_flat_map(|(it, ia, at, aa)| {
                vec(any::<u8>(), 0..80).prop_map(move |data| ChannelBindings {
                    initiator_addrtype: it,
                    initiator_address: ia.clone(),
                    acceptor_addrtype: at,
                    acceptor_address: aa.clone(),
                    application_data: data,
                })
            })
    }

    proptest! {
        #[test]
        fn sec_channel_bindings_round_trip(cb in bindings()) {
            let bytes = cb.to_sec_channel_bindings().unwrap();
            let back = ChannelBindings::from_sec_channel_bindings(&bytes).unwrap();
            prop_assert_eq!(&back, &cb);
            prop_assert_eq!(back.to_sec_channel_bindings().unwrap(), bytes);
            prop_assert_eq!(back.md5().unwrap(), cb.md5().unwrap());
        }

        /// Any layout (the parts somewhere in a buffer of random bytes, in any order) parses
        /// to the parts, and re-encodes to the canonical layout.
        #[test]
        fn any_layout_parses_to_its_parts(
            cb in bindings(),
            filler in vec(any::<u8>(), 0..200),
            at in vec(0usize..200, 3),
        ) {
            let parts = [&cb.initiator_address, &cb.acceptor_address, &cb.application_data];
            let mut buf = vec![0u8; 32];
            buf.extend_from_slice(&filler);
            let mut fields = Vec::new();
            for (part, at) in parts.iter().zip(&at) {
                let offset = 32 + at % (filler.len() + 1);
                if buf.len() < offset + part.len() {
                    buf.resize(offset + part.len(), 0xee);
                }
                buf[offset..offset + part.len()].copy_from_slice(part);
                fields.push((u32::try_from(part.len()).unwrap(), u32::try_from(offset).unwrap()));
            }
            // Later parts may overwrite earlier ones: the parts are what the buffer now holds.
            let expect = |(len, offset): (u32, u32)| {
                let (len, offset) = (usize::try_from(len).unwrap(), usize::try_from(offset).unwrap());
                buf[offset..offset + len].to_vec()
            };
            let mut header = Vec::new();
            header.extend_from_slice(&cb.initiator_addrtype.to_le_bytes());
            header.extend_from_slice(&fields[0].0.to_le_bytes());
            header.extend_from_slice(&fields[0].1.to_le_bytes());
            header.extend_from_slice(&cb.acceptor_addrtype.to_le_bytes());
            for (len, offset) in &fields[1..] {
                header.extend_from_slice(&len.to_le_bytes());
                header.extend_from_slice(&offset.to_le_bytes());
            }
            let want = ChannelBindings {
                initiator_address: expect(fields[0]),
                acceptor_address: expect(fields[1]),
                application_data: expect(fields[2]),
                ..cb.clone()
            };
            buf[..32].copy_from_slice(&header);
            let parsed = ChannelBindings::from_sec_channel_bindings(&buf).unwrap();
            prop_assert_eq!(&parsed, &want);
            let canonical = parsed.to_sec_channel_bindings().unwrap();
            prop_assert_eq!(ChannelBindings::from_sec_channel_bindings(&canonical).unwrap(), want);
        }

        /// Arbitrary bytes: an error or bindings whose parts lie inside the input.
        #[test]
        fn arbitrary_bytes_never_panic(buf in vec(any::<u8>(), 0..64)) {
            if let Ok(cb) = ChannelBindings::from_sec_channel_bindings(&buf) {
                let again = cb.to_sec_channel_bindings().unwrap();
                prop_assert_eq!(ChannelBindings::from_sec_channel_bindings(&again).unwrap(), cb);
            }
        }
    }
}
