//! A small strict DER reader: the outer framing of KDC messages, checked by us before any of it
//! reaches the ASN.1 crate, and the raw bytes of elements we must keep byte for byte (the
//! ticket: re-encoding it could change what the service decrypts).

use crate::error::{Error, Result};

/// One DER element: its identifier octet, and the content octets.
#[derive(Clone, Copy, Debug)]
pub(in crate::kerberos) struct Tlv<'a> {
    pub(in crate::kerberos) tag: u8,
    pub(in crate::kerberos) content: &'a [u8],
    /// The whole element (identifier, length and content).
    pub(in crate::kerberos) raw: &'a [u8],
}

/// Reads the element at the start of `input`; returns it and what follows. DER only: one
/// identifier octet (tag numbers below 31, all Kerberos needs), definite minimal lengths.
pub(in crate::kerberos) fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first().ok_or(Error::InvalidToken("DER: empty element"))?;
    if tag & 0x1f == 0x1f {
        return Err(Error::InvalidToken("DER: multi-byte tag"));
    }
    let (&first, rest) = rest.split_first().ok_or(Error::InvalidToken("DER: no length"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 {
            return Err(Error::InvalidToken("DER: indefinite length"));
        }
        if n > 4 {
            return Err(Error::InvalidToken("DER: length too long"));
        }
        let (bytes, rest) =
            rest.split_at_checked(n).ok_or(Error::InvalidToken("DER: truncated length"))?;
        if bytes.first() == Some(&0) {
            return Err(Error::InvalidToken("DER: non-minimal length"));
        }
        let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if len < 0x80 {
            return Err(Error::InvalidToken("DER: non-minimal length"));
        }
        (len, rest)
    };
    let header = input.len() - rest.len();
    let (content, after) =
        rest.split_at_checked(len).ok_or(Error::InvalidToken("DER: truncated element"))?;
    let raw = input.get(..header + len).ok_or(Error::InvalidToken("DER: truncated element"))?;
    Ok((Tlv { tag, content, raw }, after))
}

/// Reads exactly one element filling `input` (no trailing bytes).
pub(in crate::kerberos) fn read_only(input: &[u8]) -> Result<Tlv<'_>> {
    let (tlv, rest) = read_tlv(input)?;
    if !rest.is_empty() {
        return Err(Error::InvalidToken("DER: trailing bytes after the message"));
    }
    Ok(tlv)
}

/// `[APPLICATION n] SEQUENCE { [i] ... }` (a constructed application element around a
/// SEQUENCE): the raw bytes of the element with context tag `[wanted]`'s content, if present.
pub(in crate::kerberos) fn field_of_application(
    message: &[u8],
    application: u8,
    wanted: u8,
) -> Result<Option<&[u8]>> {
    let outer = read_only(message)?;
    if outer.tag != 0x60 | application {
        return Err(Error::InvalidToken("DER: unexpected message tag"));
    }
    let seq = read_only(outer.content)?;
    if seq.tag != 0x30 {
        return Err(Error::InvalidToken("DER: expected a SEQUENCE"));
    }
    let mut rest = seq.content;
    while !rest.is_empty() {
        let (field, after) = read_tlv(rest)?;
        if field.tag == 0xa0 | wanted {
            return Ok(Some(read_only(field.content)?.raw));
        }
        rest = after;
    }
    Ok(None)
}

/// The deepest nesting [`check_tree`] follows (Kerberos messages nest about 10 deep).
pub(in crate::kerberos) const MAX_DEPTH: usize = 32;

/// Checks that `input` is exactly one DER element whose every constructed element (tag bit
/// 0x20) is exactly filled by its children, recursively: what picky-krb's reader does not
/// check (it reads an explicit tag's content without holding it to its length). Primitive
/// contents are not looked into.
pub(in crate::kerberos) fn check_tree(input: &[u8]) -> Result<()> {
    fn walk(element: Tlv<'_>, depth: usize) -> Result<()> {
        if element.tag & 0x20 == 0 {
            return Ok(());
        }
        if depth >= MAX_DEPTH {
            return Err(Error::InvalidToken("DER: nested too deep"));
        }
        let mut rest = element.content;
        while !rest.is_empty() {
            let (child, after) = read_tlv(rest)?;
            walk(child, depth + 1)?;
            rest = after;
        }
        Ok(())
    }
    walk(read_only(input)?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_checked_all_the_way_down() {
        // [APPLICATION 1] SEQUENCE { [0] INTEGER 5 }
        assert!(check_tree(&[0x61, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x05]).is_ok());
        // [0] claims 2 bytes and holds a 3-byte INTEGER: refused (picky-krb accepts it).
        assert!(check_tree(&[0x61, 0x07, 0x30, 0x05, 0xa0, 0x02, 0x02, 0x01, 0x05]).is_err());
        // A constructed element with trailing garbage inside.
        assert!(check_tree(&[0x30, 0x04, 0x02, 0x01, 0x05, 0xff]).is_err());
        // Too deep.
        let mut deep = vec![0x04, 0x00];
        for _ in 0..=MAX_DEPTH {
            let mut outer = vec![0x30, u8::try_from(deep.len()).unwrap()];
            outer.extend_from_slice(&deep);
            deep = outer;
        }
        assert!(check_tree(&deep).is_err());
    }

    #[test]
    fn lengths_are_strict() {
        assert!(read_only(&[0x04, 0x01, 0xaa]).is_ok());
        // X.690 section 10.1: the definite form, minimal octets.
        assert!(read_only(&[0x04, 0x81, 0x01, 0xaa]).is_err());
        assert!(read_only(&[0x04, 0x80, 0xaa, 0, 0]).is_err());
        assert!(read_only(&[0x04, 0x82, 0x00, 0x81]).is_err());
        assert!(read_only(&[0x04, 0x02, 0xaa]).is_err());
        assert!(read_only(&[0x04, 0x01, 0xaa, 0x00]).is_err());
        assert!(read_only(&[0x1f, 0x01, 0xaa]).is_err());
        assert!(read_only(&[0x04, 0x85, 1, 1, 1, 1, 1]).is_err());
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        assert_eq!(read_only(&long).unwrap().content.len(), 0x80);
    }

    #[test]
    fn fields_of_an_application_element() {
        // [APPLICATION 1] SEQUENCE { [0] INTEGER 5, [2] OCTET STRING 'a' }
        let msg = [0x61, 0x0a, 0x30, 0x08, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa2, 0x01, 0x04];
        assert!(field_of_application(&msg, 1, 2).is_err(), "[2] holds a truncated element");
        let msg =
            [0x61, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa2, 0x03, 0x04, 0x01, 0x61];
        assert_eq!(field_of_application(&msg, 1, 0).unwrap(), Some(&[2u8, 1, 5][..]));
        assert_eq!(field_of_application(&msg, 1, 2).unwrap(), Some(&[4u8, 1, 0x61][..]));
        assert_eq!(field_of_application(&msg, 1, 1).unwrap(), None);
        assert!(field_of_application(&msg, 2, 0).is_err());
    }
}

/// Property tests. The reader takes DER only (X.690 section 10.1: definite, minimal
/// lengths), so it is canonical: an element it accepts is exactly the minimal encoding of
/// its tag and content, and every other length form is refused.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// The DER encoding of one element (minimal length).
    fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(u8::try_from(len).unwrap());
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap());
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    fn tag() -> impl Strategy<Value = u8> {
        any::<u8>().prop_filter("one-octet tag", |t| t & 0x1f != 0x1f)
    }

    /// Contents of lengths that take each length form: short, one, two and three octets.
    fn content() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            vec(any::<u8>(), 0..0x80),
            (0x80usize..0x300, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
            (0x1_0000usize..0x1_0100, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        ]
    }

    proptest! {
        #[test]
        fn elements_read_back(tag in tag(), content in content(), after in vec(any::<u8>(), 0..8)) {
            let element = encode(tag, &content);
            let input = [&element[..], &after].concat();
            let (tlv, rest) = read_tlv(&input).unwrap();
            prop_assert_eq!(tlv.tag, tag);
            prop_assert_eq!(tlv.content, &content[..]);
            prop_assert_eq!(tlv.raw, &element[..]);
            prop_assert_eq!(rest, &after[..]);
            prop_assert_eq!(read_only(&input).is_ok(), after.is_empty());
        }

        /// Any length form (short, long with 0 to 5 octets, leading zeros, a long form for a
        /// short length): accepted exactly when it is the minimal one and the content is all
        /// there; then the element is the canonical encoding of what was read.
        #[test]
        fn only_minimal_lengths_are_read(
            tag: u8,
            len in prop_oneof![0usize..0x100, 0x100usize..0x1_0000],
            short_form: bool,
            octets in 0usize..6,
            missing in prop_oneof![3 => Just(0usize), 1 => 1usize..4],
        ) {
            let (mut input, declared, form_ok) = if short_form && len < 0x80 {
                (vec![tag, u8::try_from(len).unwrap()], len, true)
            } else {
                // The last `octets` octets of the length, big-endian (a cut if too few).
                let be = u64::try_from(len).unwrap().to_be_bytes();
                let field = &be[be.len() - octets..];
                let declared = field.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                let ok = (1..=4).contains(&octets) && field[0] != 0 && declared >= 0x80;
                let mut input = vec![tag, 0x80 | u8::try_from(octets).unwrap()];
                input.extend_from_slice(field);
                (input, declared, ok)
            };
            input.resize(input.len() + declared.saturating_sub(missing), 0xab);
            let complete = missing == 0 || declared == 0;
            let tag_ok = tag & 0x1f != 0x1f;
            match read_tlv(&input) {
                Ok((tlv, rest)) => {
                    prop_assert!(tag_ok && form_ok && complete, "accepted {:02x?}", &input[..input.len().min(8)]);
                    prop_assert_eq!(tlv.raw, &encode(tlv.tag, tlv.content)[..]);
                    prop_assert_eq!(tlv.content.len(), declared);
                    prop_assert!(rest.is_empty());
                }
                Err(e) => {
                    prop_assert!(matches!(e, Error::InvalidToken(_)));
                    prop_assert!(!(tag_ok && form_ok && complete), "refused a minimal element");
                }
            }
        }

        /// `[APPLICATION n] SEQUENCE { [i] element ... }`: the element of the field asked
        /// for, byte for byte, or none.
        #[test]
        fn fields_of_an_application_element_are_found(
            application in 0u8..31,
            fields in proptest::collection::btree_map(0u8..31, (tag(), vec(any::<u8>(), 0..40)), 0..6),
            wanted in 0u8..31,
        ) {
            let mut seq = Vec::new();
            for (i, (tag, content)) in &fields {
                seq.extend(encode(0xa0 | i, &encode(*tag, content)));
            }
            let message = encode(0x60 | application, &encode(0x30, &seq));
            let found = field_of_application(&message, application, wanted).unwrap();
            let expected = fields.get(&wanted).map(|(tag, content)| encode(*tag, content));
            prop_assert_eq!(found.map(<[u8]>::to_vec), expected);
            prop_assert!(field_of_application(&message, (application + 1) % 31, wanted).is_err());
        }
    }
}
