//! Bounded reading and writing of little-endian wire messages.
//!
//! Every read checks its length first; nothing indexes a slice unchecked and nothing allocates
//! a length read from the input. Errors are [`Error::InvalidToken`] with a short reason.

use crate::error::{Error, Result};

/// A cursor over an input that can only move forward and never reads past the end.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(Error::InvalidToken(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

/// Builds a message of a fixed-size header followed by a payload that the header's
/// `(length, max length, offset)` fields point into (the layout of every NTLM message).
#[derive(Debug)]
pub(crate) struct PayloadWriter {
    /// The whole message: the header (zeros until written) then the payload. One allocation.
    buf: Vec<u8>,
    /// Where the next header bytes go.
    cursor: usize,
    header_len: usize,
}

impl PayloadWriter {
    /// `header_len` is the full size of the fixed part; payload offsets start there.
    /// `capacity` is the payload size, so that the message is allocated once.
    pub(crate) fn new(header_len: usize, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(header_len + capacity);
        buf.resize(header_len, 0);
        Self { buf, cursor: 0, header_len }
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        let end = self.cursor + bytes.len();
        debug_assert!(end <= self.header_len, "header overflow");
        if let Some(dst) = self.buf.get_mut(self.cursor..end) {
            dst.copy_from_slice(bytes);
        }
        self.cursor = end;
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.bytes(&value.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes(&value.to_le_bytes());
    }

    /// Appends `data` to the payload and writes its field (length, max length, offset) into
    /// the header.
    pub(crate) fn field(&mut self, data: &[u8]) -> Result<()> {
        self.field_with(data.len(), |buf| {
            buf.extend_from_slice(data);
            Ok(())
        })
    }

    /// Like [`Self::field`] for data written by `write`, which must append exactly `len`
    /// bytes: the payload is written straight into the message, with no buffer of its own.
    pub(crate) fn field_with(
        &mut self,
        len: usize,
        write: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let len16 = u16::try_from(len)
            .map_err(|_| Error::InvalidParameter("a message field is longer than 65535 bytes"))?;
        let offset = u32::try_from(self.buf.len())
            .map_err(|_| Error::InvalidParameter("message too large"))?;
        self.u16(len16);
        self.u16(len16);
        self.u32(offset);
        let start = self.buf.len();
        write(&mut self.buf)?;
        debug_assert_eq!(self.buf.len() - start, len, "field length announced wrongly");
        Ok(())
    }

    /// The message. The header must have been written to exactly `header_len`; payload can
    /// still be appended to the returned vector in place.
    pub(crate) fn finish(self) -> Vec<u8> {
        debug_assert_eq!(self.cursor, self.header_len);
        self.buf
    }
}

/// A `(length, max length, offset)` triple pointing into a message's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) len: u16,
    pub(crate) offset: u32,
}

impl Field {
    pub(crate) fn read(r: &mut Reader<'_>, what: &'static str) -> Result<Self> {
        let len = r.u16(what)?;
        let _max_len = r.u16(what)?;
        let offset = r.u32(what)?;
        Ok(Self { len, offset })
    }

    /// The bytes this field points to in `message`, checked to lie after the fixed header
    /// (`header_end`) and inside the message.
    pub(crate) fn slice<'a>(
        self,
        message: &'a [u8],
        header_end: usize,
        what: &'static str,
    ) -> Result<&'a [u8]> {
        if self.len == 0 {
            return Ok(&[]);
        }
        let start = usize::try_from(self.offset).map_err(|_| Error::InvalidToken(what))?;
        let end = start.checked_add(usize::from(self.len)).ok_or(Error::InvalidToken(what))?;
        if start < header_end {
            return Err(Error::InvalidToken(what));
        }
        message.get(start..end).ok_or(Error::InvalidToken(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0201);
        assert_eq!(r.u16("b"), Err(Error::InvalidToken("b")));
        assert_eq!(r.u8("c").unwrap(), 3);
        assert_eq!(r.remaining(), 0);
        assert!(r.take(usize::MAX, "d").is_err());
    }

    #[test]
    fn field_bounds_are_checked() {
        let msg = [0u8; 16];
        let ok = Field { len: 4, offset: 12 };
        assert_eq!(ok.slice(&msg, 8, "f").unwrap().len(), 4);
        assert!(Field { len: 5, offset: 12 }.slice(&msg, 8, "f").is_err());
        assert!(Field { len: 4, offset: 4 }.slice(&msg, 8, "f").is_err(), "inside the header");
        assert!(Field { len: 1, offset: u32::MAX }.slice(&msg, 8, "f").is_err());
        assert!(Field { len: 0, offset: u32::MAX }.slice(&msg, 8, "f").unwrap().is_empty());
    }

    #[test]
    fn payload_writer_points_fields_at_their_data() {
        let mut w = PayloadWriter::new(16, 8);
        w.field(b"abc").unwrap();
        w.field(b"de").unwrap();
        let out = w.finish();
        let mut r = Reader::new(&out);
        let a = Field::read(&mut r, "a").unwrap();
        let b = Field::read(&mut r, "b").unwrap();
        assert_eq!(a.slice(&out, 16, "a").unwrap(), b"abc");
        assert_eq!(b.slice(&out, 16, "b").unwrap(), b"de");
    }
}

/// Property tests: what is written reads back, field by field; a cut input fails cleanly at
/// the field it cuts. The reader is canonical for what it reads (fixed-size little-endian
/// integers, exact byte counts), so the bytes read are exactly the bytes written.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq)]
    enum Item {
        U8(u8),
        U16(u16),
        U32(u32),
        U64(u64),
        Bytes(Vec<u8>),
        Array([u8; 3]),
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            any::<u8>().prop_map(Item::U8),
            any::<u16>().prop_map(Item::U16),
            any::<u32>().prop_map(Item::U32),
            any::<u64>().prop_map(Item::U64),
            vec(any::<u8>(), 0..20).prop_map(Item::Bytes),
            any::<[u8; 3]>().prop_map(Item::Array),
        ]
    }

    fn write(items: &[Item]) -> Vec<u8> {
        let mut out = Vec::new();
        for item in items {
            match item {
                Item::U8(v) => out.push(*v),
                Item::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
                Item::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
                Item::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
                Item::Bytes(v) => out.extend_from_slice(v),
                Item::Array(v) => out.extend_from_slice(v),
            }
        }
        out
    }

    /// Reads `like`'s shape from `r`.
    fn read(r: &mut Reader<'_>, like: &Item) -> Result<Item> {
        Ok(match like {
            Item::U8(_) => Item::U8(r.u8("u8")?),
            Item::U16(_) => Item::U16(r.u16("u16")?),
            Item::U32(_) => Item::U32(r.u32("u32")?),
            Item::U64(_) => Item::U64(r.u64("u64")?),
            Item::Bytes(v) => Item::Bytes(r.take(v.len(), "bytes")?.to_vec()),
            Item::Array(_) => Item::Array(r.array("array")?),
        })
    }

    proptest! {
        #[test]
        fn reader_reads_what_was_written(items in vec(item(), 0..12), cut: prop::sample::Index) {
            let bytes = write(&items);
            let mut r = Reader::new(&bytes);
            for item in &items {
                prop_assert_eq!(&read(&mut r, item).unwrap(), item);
            }
            prop_assert_eq!(r.remaining(), 0);
            prop_assert!(r.rest().is_empty());

            // Cut short: every field that fits reads as written, the first that does not
            // is an error, and the reader never moves past the end.
            let cut = cut.index(bytes.len() + 1);
            let mut r = Reader::new(&bytes[..cut]);
            let mut at = 0;
            for item in &items {
                let len = write(core::slice::from_ref(item)).len();
                match read(&mut r, item) {
                    Ok(got) => {
                        prop_assert!(at + len <= cut);
                        prop_assert_eq!(&got, item);
                        at += len;
                    }
                    Err(e) => {
                        prop_assert!(at + len > cut);
                        prop_assert!(matches!(e, Error::InvalidToken(_)));
                        prop_assert_eq!(r.remaining(), cut - at, "a failed read moved");
                        break;
                    }
                }
            }
        }

        /// Fields written by a [`PayloadWriter`] point at their data, after the header.
        #[test]
        fn payload_writer_fields_read_back(
            prefix in vec(any::<u8>(), 0..8),
            fields in vec(vec(any::<u8>(), 0..40), 0..6),
        ) {
            let header_len = prefix.len() + 8 * fields.len();
            let mut w = PayloadWriter::new(header_len, 0);
            w.bytes(&prefix);
            for f in &fields {
                w.field(f).unwrap();
            }
            let out = w.finish();
            prop_assert_eq!(out.len(), header_len + fields.iter().map(Vec::len).sum::<usize>());
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.take(prefix.len(), "prefix").unwrap(), &prefix[..]);
            for f in &fields {
                let field = Field::read(&mut r, "field").unwrap();
                prop_assert_eq!(usize::from(field.len), f.len());
                prop_assert_eq!(field.slice(&out, header_len, "field").unwrap(), &f[..]);
            }
        }

        /// [`Field::slice`] gives exactly the bytes in range after the header, and an error
        /// (never a panic) otherwise.
        #[test]
        fn field_slice_is_bounded(
            message in vec(any::<u8>(), 0..64),
            len: u16,
            offset: u32,
            header_end in 0usize..80,
        ) {
            let field = Field { len: len % 80, offset: offset % 96 };
            let start = usize::try_from(field.offset).unwrap();
            let end = start + usize::from(field.len);
            match field.slice(&message, header_end, "f") {
                Ok(s) if field.len == 0 => prop_assert!(s.is_empty()),
                Ok(s) => {
                    prop_assert!(start >= header_end && end <= message.len());
                    prop_assert_eq!(s, &message[start..end]);
                }
                Err(_) => prop_assert!(start < header_end || end > message.len()),
            }
        }
    }
}
