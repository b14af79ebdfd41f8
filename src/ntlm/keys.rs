//! NTLMv2 computations (MS-NLMP 3.3.2) and session key derivation (3.4.5).

use crate::crypto::{HmacMd5, Key16, NtHash, Rc4, hmac_md5, md5, md5_pair};

/// Uppercases the way Windows does for NTOWFv2 (`RtlUpcaseUnicodeString`): character by
/// character with the simple (one-to-one) mapping, so the length never changes. Characters
/// whose uppercase form is several characters (for example `ß`) stay as they are.
#[cfg(test)]
pub(crate) fn upcase(s: &str) -> String {
    upcase_chars(s).collect()
}

pub(crate) fn upcase_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().map(|c| {
        // Names are nearly always ASCII: skip the Unicode case tables for them.
        if c.is_ascii() {
            return c.to_ascii_uppercase();
        }
        let mut up = c.to_uppercase();
        match (up.next(), up.next()) {
            (Some(u), None) => u,
            _ => c,
        }
    })
}

/// NTOWFv2 (MS-NLMP 3.3.2): `HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom))`. The
/// response key for both the NT and LM responses. The UTF-16 goes straight into the HMAC,
/// a code unit at a time: no copy of the names is made.
pub(crate) fn ntowfv2(nt_hash: &NtHash, user: &str, domain: &str) -> Key16 {
    let mut mac = HmacMd5::new(nt_hash.0.bytes());
    if user.is_ascii() && domain.is_ascii() {
        // The usual case, without the Unicode case tables and UTF-16 encoder.
        let user = user.bytes().map(|b| u16::from(b.to_ascii_uppercase()));
        feed_utf16(&mut mac, user.chain(domain.bytes().map(u16::from)));
    } else {
        let user = upcase_chars(user).flat_map(|c| {
            let mut pair = [0u16; 2];
            let n = c.encode_utf16(&mut pair).len();
            pair.into_iter().take(n)
        });
        feed_utf16(&mut mac, user.chain(domain.encode_utf16()));
    }
    Key16::new(mac.tag())
}

/// [`ntowfv2`] of names that are ASCII, given as the UTF-16LE bytes an AUTHENTICATE message
/// carries. Upper-casing ASCII changes only the low byte of a code unit, and leaves the zero
/// high bytes alone, so the user's bytes are upper-cased as bytes and the domain's go to the
/// HMAC as they are. Callers check that both are ASCII: other names need Unicode case rules.
pub(crate) fn ntowfv2_ascii_utf16(nt_hash: &NtHash, user: &[u8], domain: &[u8]) -> Key16 {
    debug_assert!(
        [user, domain].iter().all(|b| b.len() % 2 == 0)
            && [user, domain]
                .iter()
                .flat_map(|b| b.chunks_exact(2))
                .all(|u| u[0] < 0x80 && u[1] == 0)
    );
    let mut mac = HmacMd5::new(nt_hash.0.bytes());
    let mut buf = [0u8; 64];
    for chunk in user.chunks(buf.len()) {
        if let Some(upper) = buf.get_mut(..chunk.len()) {
            upper.copy_from_slice(chunk);
            upper.make_ascii_uppercase();
            mac.update(upper);
        }
    }
    mac.update(domain);
    Key16::new(mac.tag())
}

/// Feeds UTF-16 code units to `mac` as little-endian bytes, through a small stack buffer so
/// the HMAC sees a few large updates.
fn feed_utf16(mac: &mut HmacMd5, units: impl Iterator<Item = u16>) {
    let mut buf = [0u8; 64];
    let mut len = 0;
    for unit in units {
        if len == buf.len() {
            mac.update(&buf);
            len = 0;
        }
        if let Some(slot) = buf.get_mut(len..len + 2) {
            slot.copy_from_slice(&unit.to_le_bytes());
        }
        len += 2;
    }
    mac.update(buf.get(..len).unwrap_or_default());
}

/// ResponseKeyNT (= ResponseKeyLM) as a keyed HMAC-MD5: every value made from it (NTProofStr,
/// the LMv2 response, SessionBaseKey) clones the keyed state instead of keying again.
pub(crate) struct ResponseKey(HmacMd5);

impl ResponseKey {
    pub(crate) fn new(ntowfv2: &Key16) -> Self {
        Self(HmacMd5::new(ntowfv2.bytes()))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut mac = self.0.clone();
        for p in parts {
            mac.update(p);
        }
        mac.tag()
    }
}

/// NTProofStr = `HMAC_MD5(ResponseKeyNT, ServerChallenge || temp)`.
pub(crate) fn nt_proof(key: &ResponseKey, server_challenge: &[u8; 8], temp: &[u8]) -> [u8; 16] {
    key.mac(&[server_challenge, temp])
}

/// The LMv2 response: `HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) ||
/// ClientChallenge`.
pub(crate) fn lmv2_response(
    key: &ResponseKey,
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> [u8; 24] {
    let mut out = [0u8; 24];
    let (mac, chal) = out.split_at_mut(16);
    mac.copy_from_slice(&key.mac(&[server_challenge, client_challenge]));
    chal.copy_from_slice(client_challenge);
    out
}

/// SessionBaseKey = `HMAC_MD5(ResponseKeyNT, NTProofStr)`; for NTLMv2 it is also the
/// KeyExchangeKey (MS-NLMP 3.4.5.1).
pub(crate) fn session_base_key(key: &ResponseKey, nt_proof: &[u8; 16]) -> Key16 {
    Key16::new(key.mac(&[nt_proof]))
}

/// `RC4K(KeyExchangeKey, key)`: encrypts (or decrypts) the random session key.
pub(crate) fn rc4k(key_exchange_key: &Key16, key: &[u8; 16]) -> Key16 {
    let mut out = Key16::new(*key);
    Rc4::new(key_exchange_key.bytes()).apply(&mut out.0);
    out
}

/// The MIC: `HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE)` with the
/// MIC field of the AUTHENTICATE_MESSAGE zeroed (MS-NLMP 3.1.5.1.2), given as the parts
/// around that field.
pub(crate) fn mic(
    exported_session_key: &Key16,
    negotiate: &[u8],
    challenge: &[u8],
    authenticate_before_mic: &[u8],
    authenticate_after_mic: &[u8],
) -> [u8; 16] {
    hmac_md5(
        exported_session_key.bytes(),
        &[negotiate, challenge, authenticate_before_mic, &[0; 16], authenticate_after_mic],
    )
}

const CLIENT_SIGNING: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGNING: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEALING: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEALING: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// The signing and sealing keys of one direction.
pub(crate) struct DirectionKeys {
    pub(crate) sign: Key16,
    pub(crate) seal: Key16,
}

/// SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3) with extended session security and 128-bit
/// keys, for (client-to-server, server-to-client): two pairs of MD5s, each pair computed
/// side by side.
pub(crate) fn direction_keys(exported_session_key: &Key16) -> (DirectionKeys, DirectionKeys) {
    let k: &[u8] = exported_session_key.bytes();
    // 16 + 59 bytes each, which `md5_pair` always takes; the fallback is never used.
    let pair = |a: &[u8], b: &[u8]| {
        md5_pair([&[k, a], &[k, b]]).unwrap_or_else(|| [md5(&[k, a]), md5(&[k, b])])
    };
    let [client_sign, server_sign] = pair(CLIENT_SIGNING, SERVER_SIGNING);
    let [client_seal, server_seal] = pair(CLIENT_SEALING, SERVER_SEALING);
    (
        DirectionKeys { sign: Key16::new(client_sign), seal: Key16::new(client_seal) },
        DirectionKeys { sign: Key16::new(server_sign), seal: Key16::new(server_seal) },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::utf16le;
    use crate::ntlm::messages::{AvPairs, ClientBlob};

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    // MS-NLMP 4.2.1 common values.
    pub(crate) const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    pub(crate) const CLIENT_CHALLENGE: [u8; 8] = [0xaa; 8];
    pub(crate) const RANDOM_SESSION_KEY: [u8; 16] = [0x55; 16];
    /// MS-NLMP 4.2.4: NbDomainName "Domain", NbComputerName "Server", EOL.
    pub(crate) const TARGET_INFO: &str =
        concat!("02000c0044006f006d00610069006e0001000c00530065007200760065007200", "00000000");

    fn key() -> Key16 {
        ntowfv2(&NtHash::from_password("Password"), "User", "Domain")
    }

    fn response_key() -> ResponseKey {
        ResponseKey::new(&key())
    }

    fn temp() -> Vec<u8> {
        let info = hex(TARGET_INFO);
        ClientBlob {
            timestamp: 0,
            client_challenge: CLIENT_CHALLENGE,
            av_pairs: AvPairs::parse(&info).unwrap(),
        }
        .encode()
        .unwrap()
    }

    #[test]
    fn ntowfv2_ms_nlmp_4_2_4_1_1() {
        assert_eq!(key().bytes()[..], hex("0c868a403bfd7a93a3001ef22ef02e3f"));
    }

    #[test]
    fn temp_ms_nlmp_4_2_4_1_3() {
        let mut expected = hex("01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000");
        expected.extend(hex(TARGET_INFO));
        expected.extend([0; 4]);
        assert_eq!(temp(), expected);
    }

    #[test]
    fn lmv2_ms_nlmp_4_2_4_2_1() {
        let lm = lmv2_response(&response_key(), &SERVER_CHALLENGE, &CLIENT_CHALLENGE);
        assert_eq!(lm[..], hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn ntproofstr_session_base_key_ms_nlmp_4_2_4_2_2_and_4_2_4_1_2() {
        let proof = nt_proof(&response_key(), &SERVER_CHALLENGE, &temp());
        assert_eq!(proof[..], hex("68cd0ab851e51c96aabc927bebef6a1c"));
        let base = session_base_key(&response_key(), &proof);
        assert_eq!(base.bytes()[..], hex("8de40ccadbc14a82f15cb0ad0de95ca3"));
    }

    #[test]
    fn encrypted_session_key_ms_nlmp_4_2_4_2_3() {
        let proof = nt_proof(&response_key(), &SERVER_CHALLENGE, &temp());
        let base = session_base_key(&response_key(), &proof);
        let encrypted = rc4k(&base, &RANDOM_SESSION_KEY);
        assert_eq!(encrypted.bytes()[..], hex("c5dad2544fc9799094ce1ce90bc9d03e"));
        assert_eq!(rc4k(&base, encrypted.bytes()).bytes(), &RANDOM_SESSION_KEY);
    }

    #[test]
    fn sign_and_seal_keys_ms_nlmp_4_2_4_4() {
        let (c2s, _) = direction_keys(&Key16::new(RANDOM_SESSION_KEY));
        assert_eq!(c2s.seal.bytes()[..], hex("59f600973cc4960a25480a7c196e4c58"));
        assert_eq!(c2s.sign.bytes()[..], hex("4788dc861b4782f35d43fd98fe1a2d39"));
    }

    #[test]
    fn ntowfv2_of_long_and_non_bmp_names_matches_the_definition() {
        // Longer than the 64-byte staging buffer, with a character outside the BMP.
        let user = "üser-𝔘-".repeat(9);
        let domain = "Dömain".repeat(7);
        let hash = NtHash::from_password("pw");
        let mut who = crate::crypto::utf16le(&upcase(&user));
        who.extend(crate::crypto::utf16le(&domain));
        let expected = hmac_md5(hash.0.bytes(), &[&who]);
        assert_eq!(ntowfv2(&hash, &user, &domain).bytes(), &expected);
        assert_eq!(ntowfv2(&hash, "", "").bytes(), &hmac_md5(hash.0.bytes(), &[]));
        // The ASCII path, also across the buffer boundary, and mixed (one side not ASCII).
        for (user, domain) in
            [("user.name-01", "EXAMPLE"), (&*"abc".repeat(30), "Dom"), ("plain", "Dömain")]
        {
            let mut who = crate::crypto::utf16le(&upcase(user));
            who.extend(crate::crypto::utf16le(domain));
            let expected = hmac_md5(hash.0.bytes(), &[&who]);
            assert_eq!(ntowfv2(&hash, user, domain).bytes(), &expected, "{user} {domain}");
        }
    }

    #[test]
    fn ntowfv2_of_ascii_utf16_as_received_matches_the_definition() {
        // Every ASCII character, lower and upper case and the bytes around the letters, and
        // user names across the 64-byte staging buffer (32 characters) at and around its size.
        let hash = NtHash::from_password("pw");
        let all_ascii: String = (0u8..0x80).map(char::from).collect();
        let users = [String::new(), "a".into(), "x".repeat(31), "y".repeat(32), "z".repeat(33)];
        for user in users.iter().map(String::as_str).chain([all_ascii.as_str(), "user@Example"]) {
            for domain in ["", "EXAMPLE", "mixed.Case", all_ascii.as_str()] {
                let (user16, domain16) = (utf16le(user), utf16le(domain));
                assert_eq!(
                    ntowfv2_ascii_utf16(&hash, &user16, &domain16).bytes(),
                    ntowfv2(&hash, user, domain).bytes(),
                    "{user:?} {domain:?}"
                );
            }
        }
    }

    #[test]
    fn upcase_keeps_length() {
        assert_eq!(upcase("user"), "USER");
        assert_eq!(upcase("a-z_09@{~"), "A-Z_09@{~");
        assert_eq!(upcase("ümlaut"), "ÜMLAUT");
        assert_eq!(upcase("straße"), "STRAßE");
        assert_eq!(upcase("ǆ"), "Ǆ");
    }
}
