//! The OEM character set of NTLM messages.
//!
//! MS-NLMP 2.2 lets a client that does not offer `NTLMSSP_NEGOTIATE_UNICODE` exchange its
//! names in the "OEM character set" instead (MS-NLMP 3.2.5.1.1: the acceptor then answers
//! with `NTLM_NEGOTIATE_OEM` and OEM strings, and the AUTHENTICATE carries OEM names).
//! curl does this. The OEM code page is a per-machine Windows setting (the console code
//! page: 437 on US-English systems, 850 on most Western European ones); the specification
//! names none. sspi-emu uses 437 unless told otherwise ([`OemCodePage`]).
//!
//! Only single-byte code pages are offered: each is ASCII in its lower half and a table of
//! 128 characters in its upper half, taken from the code page's published mapping to
//! Unicode (the same mapping Windows' `MultiByteToWideChar` applies). Decoding never fails:
//! every byte is a character. Encoding fails for a character the code page does not have.
//! (Hand-written because no maintained crate offers these four tables without pulling in
//! every multi-byte encoding of the web; the tables are data, checked against their
//! round trip in the tests below.)

/// An OEM code page, for NTLM clients that do not use Unicode (curl, for one).
///
/// The default is 437, the OEM code page of US-English Windows. Pick the one of the
/// Windows machines your clients come from, for user names outside ASCII; for ASCII names
/// every choice is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OemCodePage {
    /// Code page 437: US English (the default).
    #[default]
    Cp437,
    /// Code page 850: Western European.
    Cp850,
    /// Code page 852: Central European.
    Cp852,
    /// Code page 866: Cyrillic (Russian).
    Cp866,
}

impl OemCodePage {
    /// The Windows code page number (437, 850, 852, 866).
    pub const fn number(self) -> u16 {
        match self {
            Self::Cp437 => 437,
            Self::Cp850 => 850,
            Self::Cp852 => 852,
            Self::Cp866 => 866,
        }
    }

    /// The code page with this Windows number, if sspi-emu has it.
    pub const fn from_number(number: u16) -> Option<Self> {
        match number {
            437 => Some(Self::Cp437),
            850 => Some(Self::Cp850),
            852 => Some(Self::Cp852),
            866 => Some(Self::Cp866),
            _ => None,
        }
    }

    fn upper_half(self) -> &'static [char; 128] {
        match self {
            Self::Cp437 => &CP437,
            Self::Cp850 => &CP850,
            Self::Cp852 => &CP852,
            Self::Cp866 => &CP866,
        }
    }

    /// Appends the characters of `bytes` to `out`.
    pub(crate) fn decode_into(self, bytes: &[u8], out: &mut String) {
        let upper = self.upper_half();
        out.reserve(bytes.len());
        for &b in bytes {
            match upper.get(usize::from(b.wrapping_sub(0x80))) {
                Some(&c) if b >= 0x80 => out.push(c),
                _ => out.push(char::from(b)),
            }
        }
    }

    /// The byte that stands for `c`, if the code page has it.
    fn byte_of(self, c: char) -> Option<u8> {
        if c.is_ascii() {
            return u8::try_from(c).ok();
        }
        let at = self.upper_half().iter().position(|&u| u == c)?;
        u8::try_from(at + 0x80).ok()
    }

    /// `text` in this code page; `None` if a character is not in it.
    pub(crate) fn encode(self, text: &str) -> Option<Vec<u8>> {
        text.chars().map(|c| self.byte_of(c)).collect()
    }

    /// `text` in this code page, a character it lacks written as `?` (as Windows'
    /// `WideCharToMultiByte` does with its default character).
    pub(crate) fn encode_lossy(self, text: &str) -> Vec<u8> {
        text.chars().map(|c| self.byte_of(c).unwrap_or(b'?')).collect()
    }
}

/// Bytes 0x80..=0xFF of code page 437.
const CP437: [char; 128] = [
    '\u{00c7}', '\u{00fc}', '\u{00e9}', '\u{00e2}', '\u{00e4}', '\u{00e0}', '\u{00e5}', '\u{00e7}',
    '\u{00ea}', '\u{00eb}', '\u{00e8}', '\u{00ef}', '\u{00ee}', '\u{00ec}', '\u{00c4}', '\u{00c5}',
    '\u{00c9}', '\u{00e6}', '\u{00c6}', '\u{00f4}', '\u{00f6}', '\u{00f2}', '\u{00fb}', '\u{00f9}',
    '\u{00ff}', '\u{00d6}', '\u{00dc}', '\u{00a2}', '\u{00a3}', '\u{00a5}', '\u{20a7}', '\u{0192}',
    '\u{00e1}', '\u{00ed}', '\u{00f3}', '\u{00fa}', '\u{00f1}', '\u{00d1}', '\u{00aa}', '\u{00ba}',
    '\u{00bf}', '\u{2310}', '\u{00ac}', '\u{00bd}', '\u{00bc}', '\u{00a1}', '\u{00ab}', '\u{00bb}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{2561}', '\u{2562}', '\u{2556}',
    '\u{2555}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{255c}', '\u{255b}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{255e}', '\u{255f}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{2567}',
    '\u{2568}', '\u{2564}', '\u{2565}', '\u{2559}', '\u{2558}', '\u{2552}', '\u{2553}', '\u{256b}',
    '\u{256a}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{258c}', '\u{2590}', '\u{2580}',
    '\u{03b1}', '\u{00df}', '\u{0393}', '\u{03c0}', '\u{03a3}', '\u{03c3}', '\u{00b5}', '\u{03c4}',
    '\u{03a6}', '\u{0398}', '\u{03a9}', '\u{03b4}', '\u{221e}', '\u{03c6}', '\u{03b5}', '\u{2229}',
    '\u{2261}', '\u{00b1}', '\u{2265}', '\u{2264}', '\u{2320}', '\u{2321}', '\u{00f7}', '\u{2248}',
    '\u{00b0}', '\u{2219}', '\u{00b7}', '\u{221a}', '\u{207f}', '\u{00b2}', '\u{25a0}', '\u{00a0}',
];
/// Bytes 0x80..=0xFF of code page 850.
const CP850: [char; 128] = [
    '\u{00c7}', '\u{00fc}', '\u{00e9}', '\u{00e2}', '\u{00e4}', '\u{00e0}', '\u{00e5}', '\u{00e7}',
    '\u{00ea}', '\u{00eb}', '\u{00e8}', '\u{00ef}', '\u{00ee}', '\u{00ec}', '\u{00c4}', '\u{00c5}',
    '\u{00c9}', '\u{00e6}', '\u{00c6}', '\u{00f4}', '\u{00f6}', '\u{00f2}', '\u{00fb}', '\u{00f9}',
    '\u{00ff}', '\u{00d6}', '\u{00dc}', '\u{00f8}', '\u{00a3}', '\u{00d8}', '\u{00d7}', '\u{0192}',
    '\u{00e1}', '\u{00ed}', '\u{00f3}', '\u{00fa}', '\u{00f1}', '\u{00d1}', '\u{00aa}', '\u{00ba}',
    '\u{00bf}', '\u{00ae}', '\u{00ac}', '\u{00bd}', '\u{00bc}', '\u{00a1}', '\u{00ab}', '\u{00bb}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{00c1}', '\u{00c2}', '\u{00c0}',
    '\u{00a9}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{00a2}', '\u{00a5}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{00e3}', '\u{00c3}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{00a4}',
    '\u{00f0}', '\u{00d0}', '\u{00ca}', '\u{00cb}', '\u{00c8}', '\u{0131}', '\u{00cd}', '\u{00ce}',
    '\u{00cf}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{00a6}', '\u{00cc}', '\u{2580}',
    '\u{00d3}', '\u{00df}', '\u{00d4}', '\u{00d2}', '\u{00f5}', '\u{00d5}', '\u{00b5}', '\u{00fe}',
    '\u{00de}', '\u{00da}', '\u{00db}', '\u{00d9}', '\u{00fd}', '\u{00dd}', '\u{00af}', '\u{00b4}',
    '\u{00ad}', '\u{00b1}', '\u{2017}', '\u{00be}', '\u{00b6}', '\u{00a7}', '\u{00f7}', '\u{00b8}',
    '\u{00b0}', '\u{00a8}', '\u{00b7}', '\u{00b9}', '\u{00b3}', '\u{00b2}', '\u{25a0}', '\u{00a0}',
];
/// Bytes 0x80..=0xFF of code page 852.
const CP852: [char; 128] = [
    '\u{00c7}', '\u{00fc}', '\u{00e9}', '\u{00e2}', '\u{00e4}', '\u{016f}', '\u{0107}', '\u{00e7}',
    '\u{0142}', '\u{00eb}', '\u{0150}', '\u{0151}', '\u{00ee}', '\u{0179}', '\u{00c4}', '\u{0106}',
    '\u{00c9}', '\u{0139}', '\u{013a}', '\u{00f4}', '\u{00f6}', '\u{013d}', '\u{013e}', '\u{015a}',
    '\u{015b}', '\u{00d6}', '\u{00dc}', '\u{0164}', '\u{0165}', '\u{0141}', '\u{00d7}', '\u{010d}',
    '\u{00e1}', '\u{00ed}', '\u{00f3}', '\u{00fa}', '\u{0104}', '\u{0105}', '\u{017d}', '\u{017e}',
    '\u{0118}', '\u{0119}', '\u{00ac}', '\u{017a}', '\u{010c}', '\u{015f}', '\u{00ab}', '\u{00bb}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{00c1}', '\u{00c2}', '\u{011a}',
    '\u{015e}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{017b}', '\u{017c}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{0102}', '\u{0103}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{00a4}',
    '\u{0111}', '\u{0110}', '\u{010e}', '\u{00cb}', '\u{010f}', '\u{0147}', '\u{00cd}', '\u{00ce}',
    '\u{011b}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{0162}', '\u{016e}', '\u{2580}',
    '\u{00d3}', '\u{00df}', '\u{00d4}', '\u{0143}', '\u{0144}', '\u{0148}', '\u{0160}', '\u{0161}',
    '\u{0154}', '\u{00da}', '\u{0155}', '\u{0170}', '\u{00fd}', '\u{00dd}', '\u{0163}', '\u{00b4}',
    '\u{00ad}', '\u{02dd}', '\u{02db}', '\u{02c7}', '\u{02d8}', '\u{00a7}', '\u{00f7}', '\u{00b8}',
    '\u{00b0}', '\u{00a8}', '\u{02d9}', '\u{0171}', '\u{0158}', '\u{0159}', '\u{25a0}', '\u{00a0}',
];
/// Bytes 0x80..=0xFF of code page 866.
const CP866: [char; 128] = [
    '\u{0410}', '\u{0411}', '\u{0412}', '\u{0413}', '\u{0414}', '\u{0415}', '\u{0416}', '\u{0417}',
    '\u{0418}', '\u{0419}', '\u{041a}', '\u{041b}', '\u{041c}', '\u{041d}', '\u{041e}', '\u{041f}',
    '\u{0420}', '\u{0421}', '\u{0422}', '\u{0423}', '\u{0424}', '\u{0425}', '\u{0426}', '\u{0427}',
    '\u{0428}', '\u{0429}', '\u{042a}', '\u{042b}', '\u{042c}', '\u{042d}', '\u{042e}', '\u{042f}',
    '\u{0430}', '\u{0431}', '\u{0432}', '\u{0433}', '\u{0434}', '\u{0435}', '\u{0436}', '\u{0437}',
    '\u{0438}', '\u{0439}', '\u{043a}', '\u{043b}', '\u{043c}', '\u{043d}', '\u{043e}', '\u{043f}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{2561}', '\u{2562}', '\u{2556}',
    '\u{2555}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{255c}', '\u{255b}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{255e}', '\u{255f}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{2567}',
    '\u{2568}', '\u{2564}', '\u{2565}', '\u{2559}', '\u{2558}', '\u{2552}', '\u{2553}', '\u{256b}',
    '\u{256a}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{258c}', '\u{2590}', '\u{2580}',
    '\u{0440}', '\u{0441}', '\u{0442}', '\u{0443}', '\u{0444}', '\u{0445}', '\u{0446}', '\u{0447}',
    '\u{0448}', '\u{0449}', '\u{044a}', '\u{044b}', '\u{044c}', '\u{044d}', '\u{044e}', '\u{044f}',
    '\u{0401}', '\u{0451}', '\u{0404}', '\u{0454}', '\u{0407}', '\u{0457}', '\u{040e}', '\u{045e}',
    '\u{00b0}', '\u{2219}', '\u{00b7}', '\u{221a}', '\u{2116}', '\u{00a4}', '\u{25a0}', '\u{00a0}',
];

#[cfg(test)]
mod tests {
    use super::OemCodePage;

    const ALL: [OemCodePage; 4] =
        [OemCodePage::Cp437, OemCodePage::Cp850, OemCodePage::Cp852, OemCodePage::Cp866];

    #[test]
    fn every_byte_decodes_and_encodes_back() {
        for cp in ALL {
            let bytes: Vec<u8> = (0..=255).collect();
            let mut text = String::new();
            cp.decode_into(&bytes, &mut text);
            assert_eq!(text.chars().count(), 256, "{cp:?}: one character per byte");
            assert_eq!(cp.encode(&text).as_deref(), Some(&bytes[..]), "{cp:?}");
            assert_eq!(OemCodePage::from_number(cp.number()), Some(cp));
        }
        assert_eq!(OemCodePage::from_number(1252), None);
    }

    #[test]
    fn known_characters_sit_where_the_code_pages_put_them() {
        // Spot checks against the published tables (e.g. Unicode's VENDORS/MICSFT/PC).
        let cases = [
            (OemCodePage::Cp437, 0x81, '\u{fc}'),  // u with diaeresis
            (OemCodePage::Cp437, 0xe1, '\u{df}'),  // sharp s
            (OemCodePage::Cp850, 0x9d, '\u{d8}'),  // O with stroke (437 has the yen sign)
            (OemCodePage::Cp852, 0x88, '\u{142}'), // l with stroke
            (OemCodePage::Cp866, 0x80, '\u{410}'), // Cyrillic A
        ];
        for (cp, byte, c) in cases {
            let mut text = String::new();
            cp.decode_into(&[byte], &mut text);
            assert_eq!(text, c.to_string(), "{cp:?} {byte:#x}");
        }
        assert_eq!(OemCodePage::Cp437.encode("J\u{fc}rgen").unwrap(), b"J\x81rgen");
    }

    #[test]
    fn characters_outside_the_code_page_are_refused_or_replaced() {
        assert_eq!(OemCodePage::Cp437.encode("\u{410}"), None);
        assert_eq!(OemCodePage::Cp866.encode("\u{fc}"), None);
        assert_eq!(OemCodePage::Cp437.encode_lossy("A\u{1f600}B\u{410}"), b"A?B?");
        assert_eq!(OemCodePage::Cp437.encode("plain ASCII").unwrap(), b"plain ASCII");
    }
}

/// Property tests. Each code page maps its 256 bytes to 256 distinct characters, so the
/// encoding is canonical both ways: any bytes decode and encode back to themselves, and any
/// text of the code page's characters encodes and decodes back to itself.
#[cfg(test)]
mod proptests {
    use super::OemCodePage;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn code_page() -> impl Strategy<Value = OemCodePage> {
        prop_oneof![
            Just(OemCodePage::Cp437),
            Just(OemCodePage::Cp850),
            Just(OemCodePage::Cp852),
            Just(OemCodePage::Cp866),
        ]
    }

    /// Text of `cp`'s characters only (the upper halves are where the tables differ).
    fn text_of(cp: OemCodePage) -> impl Strategy<Value = String> {
        let chars: Vec<char> =
            (0..=127u8).map(char::from).chain(cp.upper_half().iter().copied()).collect();
        vec(proptest::sample::select(chars), 0..40).prop_map(|c| c.into_iter().collect())
    }

    proptest! {
        #[test]
        fn any_bytes_decode_and_encode_back(cp in code_page(), bytes in vec(any::<u8>(), 0..64)) {
            let mut text = String::from("kept: ");
            cp.decode_into(&bytes, &mut text);
            let decoded = text.strip_prefix("kept: ").unwrap();
            prop_assert_eq!(decoded.chars().count(), bytes.len());
            prop_assert_eq!(cp.encode(decoded), Some(bytes.clone()));
            prop_assert_eq!(cp.encode_lossy(decoded), bytes);
        }

        #[test]
        fn code_page_text_encodes_and_decodes_back(
            (cp, text) in code_page().prop_flat_map(|cp| (Just(cp), text_of(cp))),
        ) {
            let bytes = cp.encode(&text).unwrap();
            prop_assert_eq!(bytes.len(), text.chars().count());
            let mut back = String::new();
            cp.decode_into(&bytes, &mut back);
            prop_assert_eq!(back, text);
        }

        /// A character outside the code page: `encode` refuses the text, `encode_lossy` writes
        /// `?` in its place and keeps the rest.
        #[test]
        fn other_characters_are_refused_or_replaced(cp in code_page(), text in ".{0,12}") {
            let known = |c: char| cp.byte_of(c).is_some();
            match cp.encode(&text) {
                Some(bytes) => {
                    prop_assert!(text.chars().all(known));
                    prop_assert_eq!(cp.encode_lossy(&text), bytes);
                }
                None => {
                    prop_assert!(!text.chars().all(known));
                    let lossy = cp.encode_lossy(&text);
                    prop_assert_eq!(lossy.len(), text.chars().count());
                    for (c, b) in text.chars().zip(lossy) {
                        prop_assert_eq!(b, cp.byte_of(c).unwrap_or(b'?'));
                    }
                }
            }
        }
    }
}
