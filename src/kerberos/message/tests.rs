//! RFC 4121 token tests. No test vectors are published for RFC 4121 tokens (RFC 4121 has
//! none; MIT's `t_*.c` GSS tests and Samba's torture tests build tokens live), so these
//! check the layout field by field against RFC 4121 section 4.2.6, round trips in both
//! directions, the split form against the contiguous token it is a rotation of, and that
//! every bit of every token form is covered.

use super::*;
use crate::kerberos::crypto::DerivedKeys;
use proptest::prelude::*;

const ETYPES: [EncType; 4] = [
    EncType::AES128_CTS_HMAC_SHA1_96,
    EncType::AES256_CTS_HMAC_SHA1_96,
    EncType::AES128_CTS_HMAC_SHA256_128,
    EncType::AES256_CTS_HMAC_SHA384_192,
];

fn key(etype: EncType) -> Key {
    let len = if etype.0 % 2 == 1 { 16 } else { 32 };
    let bytes: Vec<u8> = (0..len).map(|i| u8::try_from(i * 7 + 3).unwrap()).collect();
    Key::new(etype, &bytes)
}

/// (initiator, acceptor) sharing a key.
fn pair(etype: EncType, subkey: bool) -> (MessageKeys, MessageKeys) {
    let k = key(etype);
    (MessageKeys::new(&k, true, subkey).unwrap(), MessageKeys::new(&k, false, subkey).unwrap())
}

fn ck_len(etype: EncType) -> usize {
    match etype.0 {
        17 | 18 => 12,
        19 => 16,
        _ => 24,
    }
}

const CONF: [u8; 16] = *b"0123456789abcdef";

fn wrap(keys: &MessageKeys, seq: u64, conf: bool, data: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; keys.wrap_len(conf, data.len())];
    let off = keys.wrap_data_offset(conf, data.len());
    buf[off..off + data.len()].copy_from_slice(data);
    keys.wrap_in_place(seq, conf, &CONF[..keys.confounder_len()], &mut buf).unwrap();
    buf
}

fn unwrap(keys: &MessageKeys, token: &[u8]) -> Result<(Unwrapped, Vec<u8>)> {
    let mut buf = token.to_vec();
    let u = keys.unwrap_in_place(&mut buf)?;
    let data = buf[u.data.clone()].to_vec();
    Ok((u, data))
}

/// The keys of the sender of `keys`'s peer tokens for `usage`-style manual token building.
fn peer_seal(etype: EncType, initiator_sends: bool) -> DerivedKeys {
    let usage =
        if initiator_sends { KeyUsage::KG_INITIATOR_SEAL } else { KeyUsage::KG_ACCEPTOR_SEAL };
    DerivedKeys::new(&key(etype), usage).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Published tokens: gokrb5 `v8/gssapi/wrapToken_test.go` and `MICToken_test.go` (an
/// aes128-cts-hmac-sha1-96 session key; the acceptor's tokens are "what a kerberized server
/// might send", the initiator's the reply gokrb5 makes). Integrity-only Wrap and MIC tokens
/// have no confounder, so ours must match byte for byte.
#[test]
fn gokrb5_published_wrap_and_mic_tokens() {
    let key =
        Key::new(EncType::AES128_CTS_HMAC_SHA1_96, &unhex("14f9bde6b50ec508201a97f74c4e5bd3"));
    let init = MessageKeys::new(&key, true, false).unwrap();
    let acc = MessageKeys::new(&key, false, false).unwrap();
    // Wrap, integrity only, EC 12, from the acceptor: payload 01 01 00 00.
    let mut challenge = unhex("050401ff000c000000000000575e85d601010000853b728d5268525a1386c19f");
    let u = init.unwrap_in_place(&mut challenge).unwrap();
    assert_eq!((u.seq, u.confidential), (0x575e_85d6, false));
    assert_eq!(challenge[u.data], [1, 1, 0, 0]);
    // The initiator's reply, sequence number 0.
    let reply = wrap(&init, 0, false, &[1, 1, 0, 0]);
    assert_eq!(reply, unhex("050400ff000c000000000000000000000101000079a033510b6f127212242b97"));
    assert_eq!(unwrap(&acc, &reply).unwrap().1, [1, 1, 0, 0]);
    // MIC tokens over de ad be ef.
    let payload: [&[u8]; 1] = [&[0xde, 0xad, 0xbe, 0xef]];
    let mic = unhex("040401ffffffffff00000000575e85d6c34d12ba3e5b1b1310cd9cb3");
    assert_eq!(init.verify_mic(&payload[..], &mic).unwrap(), 0x575e_85d6);
    let mut ours = [0u8; 28];
    init.make_mic(0, &payload[..], &mut ours).unwrap();
    assert_eq!(ours[..], unhex("040400ffffffffff00000000000000009649ca09d2f1bc51ff6e5ca3")[..]);
    assert_eq!(acc.verify_mic(&payload[..], &ours).unwrap(), 0);
}

#[test]
fn mic_round_trip_and_layout_rfc4121_4_2_6_1() {
    for etype in ETYPES {
        for subkey in [false, true] {
            let (init, acc) = pair(etype, subkey);
            for (sender, receiver, flags) in [(&init, &acc, 0u8), (&acc, &init, 1u8)] {
                let flags = flags | if subkey { 4 } else { 0 };
                let parts: [&[u8]; 2] = [b"hello ", b"world"];
                let mut tok = vec![0u8; sender.mic_len()];
                assert_eq!(
                    sender.make_mic(0x0102_0304_0506_0708, &parts[..], &mut tok).unwrap(),
                    16 + ck_len(etype)
                );
                assert_eq!(tok[..2], [4, 4]);
                assert_eq!(tok[2], flags);
                assert_eq!(tok[3..8], [0xFF; 5]);
                assert_eq!(tok[8..16], [1, 2, 3, 4, 5, 6, 7, 8]);
                assert_eq!(receiver.verify_mic(&parts[..], &tok).unwrap(), 0x0102_0304_0506_0708);
                // The parts are one message: the split does not matter, the bytes do.
                let joined: [&[u8]; 1] = [b"hello world"];
                assert_eq!(receiver.verify_mic(&joined[..], &tok).unwrap(), 0x0102_0304_0506_0708);
                let other: [&[u8]; 1] = [b"hello world!"];
                assert_eq!(receiver.verify_mic(&other[..], &tok), Err(Error::MessageAltered));
                // Our own token reflected back.
                assert_eq!(sender.verify_mic(&parts[..], &tok), Err(Error::MessageAltered));
            }
        }
    }
}

#[test]
fn mic_checksum_is_rfc3961_get_mic_over_data_then_header() {
    // Independent of the streaming code: the one-shot checksum of the crypto module.
    let etype = EncType::AES256_CTS_HMAC_SHA1_96;
    let (init, _) = pair(etype, false);
    let mut tok = [0u8; 28];
    init.make_mic(5, &[&b"abc"[..]][..], &mut tok).unwrap();
    let mut input = b"abc".to_vec();
    input.extend_from_slice(&tok[..16]);
    let expected =
        crate::kerberos::crypto::make_checksum(&key(etype), KeyUsage::KG_INITIATOR_SIGN, &input)
            .unwrap();
    assert_eq!(tok[16..], expected[..]);
}

#[test]
fn mic_every_bit_flipped_is_refused_and_the_next_token_verifies() {
    for etype in ETYPES {
        let (init, acc) = pair(etype, true);
        let parts: [&[u8]; 1] = [b"message"];
        let mut tok = vec![0u8; init.mic_len()];
        init.make_mic(7, &parts[..], &mut tok).unwrap();
        for bit in 0..tok.len() * 8 {
            let mut bad = tok.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let r = acc.verify_mic(&parts[..], &bad);
            // Flag bits outside 0x01 and 0x04 are reserved and ignored (RFC 4121 4.2.2), but
            // they are under the checksum.
            assert!(
                matches!(r, Err(Error::MessageAltered | Error::InvalidToken(_))),
                "{etype:?} bit {bit}: {r:?}"
            );
        }
        assert_eq!(acc.verify_mic(&parts[..], &tok).unwrap(), 7);
        assert!(matches!(acc.verify_mic(&parts[..], &tok[1..]), Err(Error::InvalidToken(_))));
    }
}

#[test]
fn acceptor_subkey_flag_mismatch_is_refused() {
    let k = key(EncType::AES128_CTS_HMAC_SHA1_96);
    let init = MessageKeys::new(&k, true, true).unwrap();
    let acc = MessageKeys::new(&k, false, false).unwrap();
    let parts: [&[u8]; 1] = [b"m"];
    let mut tok = [0u8; 28];
    init.make_mic(0, &parts[..], &mut tok).unwrap();
    assert_eq!(acc.verify_mic(&parts[..], &tok), Err(Error::MessageAltered));
    let w = wrap(&init, 0, true, b"m");
    assert_eq!(unwrap(&acc, &w).unwrap_err(), Error::MessageAltered);
}

#[test]
fn wrap_round_trip_and_layout_rfc4121_4_2_6_2() {
    for etype in ETYPES {
        let ck = ck_len(etype);
        let (init, acc) = pair(etype, false);
        for (sender, receiver, dir) in [(&init, &acc, 0u8), (&acc, &init, 1u8)] {
            for conf in [true, false] {
                for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100] {
                    let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
                    let tok = wrap(sender, 0x1122_3344_5566_7788, conf, &data);
                    assert_eq!(tok.len(), sender.wrap_len(conf, len));
                    assert_eq!(tok.len(), len + if conf { 48 + ck } else { 16 + ck });
                    assert_eq!(tok[..2], [5, 4]);
                    assert_eq!(tok[2], dir | if conf { 2 } else { 0 });
                    assert_eq!(tok[3], 0xFF);
                    let ec = if conf { 0 } else { u16::try_from(ck).unwrap() };
                    assert_eq!(tok[4..6], ec.to_be_bytes(), "EC");
                    assert_eq!(tok[6..8], [0, 0], "RRC");
                    assert_eq!(tok[8..16], 0x1122_3344_5566_7788u64.to_be_bytes());
                    if !conf {
                        assert_eq!(tok[16..16 + len], data[..], "integrity-only data in clear");
                    }
                    let (u, out) = unwrap(receiver, &tok).unwrap();
                    assert_eq!(out, data);
                    assert_eq!(u.seq, 0x1122_3344_5566_7788);
                    assert_eq!(u.confidential, conf);
                    assert_eq!(
                        unwrap(sender, &tok).unwrap_err(),
                        Error::MessageAltered,
                        "reflected"
                    );
                }
            }
        }
    }
}

#[test]
fn confidential_wrap_is_rfc3961_encryption_of_data_filler_header() {
    // The body is encrypt(Ke(24), conf | data | header') with the crypto module's one-shot
    // encryption: decrypting it with the free function gives data and the header copy.
    let etype = EncType::AES256_CTS_HMAC_SHA384_192;
    let (init, _) = pair(etype, false);
    let tok = wrap(&init, 9, true, b"payload");
    let plain =
        crate::kerberos::crypto::decrypt(&key(etype), KeyUsage::KG_INITIATOR_SEAL, &tok[16..])
            .unwrap();
    assert_eq!(&plain[..7], b"payload");
    assert_eq!(plain[7..], tok[..16], "the header copy (RRC 0) is the last 16 bytes");
}

/// Every bit of `tok` flipped is refused by `check`, and the genuine token still passes.
fn every_bit(tok: &[u8], mut check: impl FnMut(&mut [u8]) -> Result<()>) {
    for bit in 0..tok.len() * 8 {
        let mut bad = tok.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        let r = check(&mut bad);
        assert!(
            matches!(r, Err(Error::MessageAltered | Error::InvalidToken(_))),
            "bit {bit}: {r:?}"
        );
    }
    let mut good = tok.to_vec();
    check(&mut good).unwrap();
}

#[test]
fn wrap_every_bit_flipped_is_refused() {
    for etype in ETYPES {
        let (init, acc) = pair(etype, true);
        for conf in [true, false] {
            let tok = wrap(&init, 3, conf, b"seventeen bytes!!");
            every_bit(&tok, |t| acc.unwrap_in_place(t).map(drop));
        }
    }
}

#[test]
fn failed_unwrap_leaves_no_plaintext() {
    let (init, acc) = pair(EncType::AES128_CTS_HMAC_SHA1_96, false);
    let secret = b"attack at dawn, attack at dawn!!";
    let mut tok = wrap(&init, 0, true, secret);
    let n = tok.len();
    tok[n - 1] ^= 1;
    assert_eq!(acc.unwrap_in_place(&mut tok), Err(Error::MessageAltered));
    assert!(!tok.windows(8).any(|w| w == &secret[..8]));
}

/// A confidential token from the initiator with any EC (zero filler) and RRC.
fn token_with_ec_rrc(etype: EncType, data: &[u8], ec: usize, rrc: usize) -> Vec<u8> {
    let keys = peer_seal(etype, true);
    let h = header(TOK_ID_WRAP, FLAG_SEALED, u16_of(ec).unwrap(), 0, 42);
    let mut body = vec![0u8; keys.overhead() + data.len() + ec + 16];
    body[16..16 + data.len()].copy_from_slice(data);
    body[16 + data.len() + ec..16 + data.len() + ec + 16].copy_from_slice(&h);
    keys.encrypt_in_place(&CONF, &mut body).unwrap();
    let len = body.len();
    body.rotate_right(rrc % len);
    let mut tok =
        header(TOK_ID_WRAP, FLAG_SEALED, u16_of(ec).unwrap(), u16_of(rrc).unwrap(), 42).to_vec();
    tok.extend_from_slice(&body);
    tok
}

#[test]
fn unwrap_takes_any_ec_and_rrc_rfc4121_4_2_4_and_4_2_5() {
    for etype in ETYPES {
        let (_, acc) = pair(etype, false);
        let ck = ck_len(etype);
        for ec in [0usize, 1, 7, 16, 31] {
            for rrc in [0usize, 1, 16, 28, 16 + ck + ec, 60, 1000, 65535] {
                let tok = token_with_ec_rrc(etype, b"some data", ec, rrc);
                let (u, out) =
                    unwrap(&acc, &tok).unwrap_or_else(|e| panic!("ec {ec} rrc {rrc}: {e}"));
                assert_eq!(out, b"some data");
                assert_eq!(u.seq, 42);
            }
        }
        // Integrity-only: EC is the checksum length; RRC rotates data | checksum.
        let (init, acc) = pair(etype, false);
        let tok = wrap(&init, 5, false, b"integrity");
        for rrc in [1usize, 12, ck, 20, 4097] {
            let mut t = tok.clone();
            t[6..8].copy_from_slice(&u16_of(rrc).unwrap().to_be_bytes());
            let len = t.len() - 16;
            t[16..].rotate_right(rrc % len);
            assert_eq!(unwrap(&acc, &t).unwrap().1, b"integrity", "rrc {rrc}");
        }
        // An integrity-only EC other than the checksum length is malformed.
        let mut t = tok.clone();
        t[4..6].copy_from_slice(&0u16.to_be_bytes());
        assert!(matches!(unwrap(&acc, &t), Err(Error::InvalidToken(_))));
    }
}

#[test]
fn unwrap_refuses_an_ec_larger_than_the_token() {
    let etype = EncType::AES128_CTS_HMAC_SHA1_96;
    let (_, acc) = pair(etype, false);
    let mut tok = token_with_ec_rrc(etype, b"x", 0, 0);
    tok[4..6].copy_from_slice(&[0xFF, 0xFF]);
    assert!(matches!(acc.unwrap_in_place(&mut tok), Err(Error::InvalidToken(_))));
    assert!(matches!(acc.unwrap_in_place(&mut [5, 4, 2, 0xFF]), Err(Error::InvalidToken(_))));
    let mut header_only = header(TOK_ID_WRAP, 0, 12, 0, 0);
    assert!(matches!(acc.unwrap_in_place(&mut header_only), Err(Error::InvalidToken(_))));
}

/// Seals `parts` (lengths; `true` = sealed) in the split form; returns (token, parts).
fn seal_split(
    keys: &MessageKeys,
    conf: bool,
    layout: &[(usize, bool)],
    data: &[u8],
) -> (Vec<u8>, Vec<(Vec<u8>, bool)>) {
    let mut bufs: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut at = 0;
    for &(len, sealed) in layout {
        bufs.push((data[at..at + len].to_vec(), sealed));
        at += len;
    }
    let mut token = vec![0u8; keys.seal_token_len(conf) + 5];
    let n = {
        let mut parts: Vec<Part<'_>> = bufs
            .iter_mut()
            .map(|(b, s)| if *s { Part::Seal(b) } else { Part::SignOnly(b) })
            .collect();
        keys.seal_parts(77, conf, &CONF[..keys.confounder_len()], &mut parts[..], &mut token)
            .unwrap()
    };
    token.truncate(n);
    (token, bufs)
}

fn unseal_split(
    keys: &MessageKeys,
    token: &mut [u8],
    bufs: &mut [(Vec<u8>, bool)],
) -> Result<Unsealed> {
    let mut parts: Vec<Part<'_>> =
        bufs.iter_mut().map(|(b, s)| if *s { Part::Seal(b) } else { Part::SignOnly(b) }).collect();
    keys.unseal_parts(token, &mut parts[..])
}

#[test]
fn split_form_layout_windows_encrypt_message() {
    for etype in ETYPES {
        let ck = ck_len(etype);
        let (init, acc) = pair(etype, false);
        let data = b"The quick brown fox jumps over the lazy dog";
        let (tok, bufs) = seal_split(&acc, true, &[(data.len(), true)], data);
        assert_eq!(tok.len(), 48 + ck, "60 bytes for aes-sha1");
        assert_eq!(tok[..4], [5, 4, 3, 0xFF], "Wrap, SentByAcceptor | Sealed");
        assert_eq!(tok[4..6], [0, 0], "EC 0");
        assert_eq!(tok[6..8], u16_of(16 + ck).unwrap().to_be_bytes(), "RRC 28 for aes-sha1");
        assert_eq!(bufs[0].0.len(), data.len());
        assert_ne!(&bufs[0].0[..], &data[..]);
        // The contiguous token is the token buffer followed by the data buffer.
        let mut contiguous = tok.clone();
        contiguous.extend_from_slice(&bufs[0].0);
        let (u, out) = unwrap(&init, &contiguous).unwrap();
        assert_eq!(out, data);
        assert_eq!(u.seq, 77);
        // And it is the wrap_in_place token (same confounder) rotated by RRC.
        let mut flat = wrap(&acc, 77, true, data);
        flat[16..].rotate_right(16 + ck);
        flat[6..8].copy_from_slice(&u16_of(16 + ck).unwrap().to_be_bytes());
        assert_eq!(flat, contiguous);
    }
}

#[test]
fn split_form_unseals_a_rotated_contiguous_token() {
    for etype in ETYPES {
        let ck = ck_len(etype);
        let (init, acc) = pair(etype, false);
        for len in [0usize, 1, 16, 33, 200] {
            let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 256).unwrap()).collect();
            let mut flat = wrap(&init, 12, true, &data);
            flat[16..].rotate_right(16 + ck);
            flat[6..8].copy_from_slice(&u16_of(16 + ck).unwrap().to_be_bytes());
            let (head, tail) = flat.split_at(48 + ck);
            let mut token = head.to_vec();
            let mut bufs = vec![(tail.to_vec(), true)];
            let u = unseal_split(&acc, &mut token, &mut bufs).unwrap();
            assert_eq!(u, Unsealed { seq: 12, confidential: true });
            assert_eq!(bufs[0].0, data);
        }
    }
}

#[test]
fn split_form_takes_dce_style_ec_16_rrc_28_rotated_by_44() {
    // MS-KILE 3.4.5.4.1: DCE-style senders set EC (16) and RRC 28 and rotate by RRC + EC;
    // RFC 4121 senders would write RRC 44 for the same bytes. Each unseals in its style.
    for etype in ETYPES {
        let ck = ck_len(etype);
        let data = b"rpc stub data, 29 bytes long!";
        for (dce, rrc_field) in [(true, 16 + ck), (false, 16 + ck + 16)] {
            let (_, mut acc) = pair(etype, false);
            acc.set_dce_style(dce);
            let mut tok = token_with_ec_rrc(etype, data, 16, 16 + ck + 16);
            tok[6..8].copy_from_slice(&u16_of(rrc_field).unwrap().to_be_bytes());
            let (head, tail) = tok.split_at(16 + 16 + ck + 16 + 16);
            let mut token = head.to_vec();
            let mut bufs = vec![(tail.to_vec(), true)];
            let u = unseal_split(&acc, &mut token, &mut bufs).unwrap();
            assert_eq!(u.seq, 42);
            assert_eq!(bufs[0].0, data);
            // The other style's RRC, or any other, is malformed.
            for wrong in [16 + ck + 16 - rrc_field + 16 + ck, 16 + ck + 1] {
                tok[6..8].copy_from_slice(&u16_of(wrong).unwrap().to_be_bytes());
                let (head, tail) = tok.split_at(16 + 16 + ck + 16 + 16);
                let mut bufs = vec![(tail.to_vec(), true)];
                assert!(matches!(
                    unseal_split(&acc, &mut head.to_vec(), &mut bufs),
                    Err(Error::InvalidToken(_))
                ));
            }
        }
    }
}

#[test]
fn split_form_dce_style_sends_ec_16_and_a_76_byte_token() {
    for etype in ETYPES {
        let ck = ck_len(etype);
        let (mut init, mut acc) = pair(etype, false);
        init.set_dce_style(true);
        acc.set_dce_style(true);
        assert_eq!(init.seal_token_len(true), 64 + ck, "76 for aes-sha1");
        let data = b"stub data of an RPC request, sealed in place";
        let (tok, bufs) = seal_split(&init, true, &[(10, true), (data.len() - 10, true)], data);
        assert_eq!(tok.len(), 64 + ck);
        assert_eq!(tok[4..6], [0, 16], "EC 16");
        assert_eq!(tok[6..8], u16_of(16 + ck).unwrap().to_be_bytes(), "RRC 28, not 44");
        let mut b = bufs.clone();
        unseal_split(&acc, &mut tok.clone(), &mut b).unwrap();
        assert_eq!(b.iter().flat_map(|(x, _)| x.clone()).collect::<Vec<_>>(), data);
        // It is the contiguous token with 16 bytes of filler rotated by RRC + EC: with the
        // RRC field set to 44 (what RFC 4121 would write), unwrap_in_place reads it.
        let mut contiguous = tok.clone();
        contiguous[6..8].copy_from_slice(&u16_of(16 + ck + 16).unwrap().to_be_bytes());
        for (x, _) in &bufs {
            contiguous.extend_from_slice(x);
        }
        assert_eq!(unwrap(&acc, &contiguous).unwrap().1, data);
        every_bit(&tok, |t| unseal_split(&acc, t, &mut bufs.clone()).map(drop));
    }
}

#[test]
fn split_form_across_buffers_matches_one_buffer() {
    // The cipher stream spans the sealed parts: any split gives the same bytes as one buffer.
    for etype in ETYPES {
        let (init, acc) = pair(etype, false);
        let data: Vec<u8> = (0..100u8).collect();
        let (tok1, one) = seal_split(&init, true, &[(100, true)], &data);
        for layout in [
            &[(1, true), (99, true)][..],
            &[(15, true), (2, true), (83, true)],
            &[(0, true), (50, true), (0, true), (50, true)],
            &[(33, true), (33, true), (34, true)],
            &[(3, true), (3, true), (3, true), (3, true), (3, true), (85, true)],
        ] {
            let (tok, mut bufs) = seal_split(&init, true, layout, &data);
            assert_eq!(tok, tok1, "{layout:?}");
            let joined: Vec<u8> = bufs.iter().flat_map(|(b, _)| b.clone()).collect();
            assert_eq!(joined, one[0].0, "{layout:?}");
            let mut t = tok.clone();
            unseal_split(&acc, &mut t, &mut bufs).unwrap();
            let joined: Vec<u8> = bufs.iter().flat_map(|(b, _)| b.clone()).collect();
            assert_eq!(joined, data);
        }
    }
}

#[test]
fn split_form_sign_only_parts_are_covered_not_encrypted() {
    for etype in ETYPES {
        let (init, acc) = pair(etype, false);
        let data = b"RPC-HEADER.....stub data to seal!!..trailer..";
        let layout = [(15, false), (20, true), (data.len() - 35, false)];
        let (tok, bufs) = seal_split(&init, true, &layout, data);
        assert_eq!(bufs[0].0, &data[..15]);
        assert_ne!(bufs[1].0, &data[15..35]);
        assert_eq!(bufs[2].0, &data[35..]);
        // The ciphertext does not depend on the sign-only parts...
        let (tok_plain, sealed_only) = seal_split(&init, true, &[(20, true)], &data[15..35]);
        assert_eq!(sealed_only[0].0, bufs[1].0);
        // ...but the HMAC does (for aes-sha1 over the plaintext, for aes-sha2 over IV and
        // the ciphertext with the sign-only bytes among it).
        assert_ne!(tok_plain, tok);
        let mut ok = bufs.clone();
        unseal_split(&acc, &mut tok.clone(), &mut ok).unwrap();
        assert_eq!(ok[1].0, &data[15..35]);
        for i in [0usize, 2] {
            let mut bad = bufs.clone();
            bad[i].0[3] ^= 0x20;
            assert_eq!(unseal_split(&acc, &mut tok.clone(), &mut bad), Err(Error::MessageAltered));
        }
        // Dropping a sign-only part is detected too.
        let mut dropped = vec![bufs[1].clone(), bufs[2].clone()];
        assert_eq!(unseal_split(&acc, &mut tok.clone(), &mut dropped), Err(Error::MessageAltered));
    }
}

#[test]
fn split_form_every_bit_flipped_is_refused() {
    for etype in [EncType::AES128_CTS_HMAC_SHA1_96, EncType::AES256_CTS_HMAC_SHA384_192] {
        let (init, acc) = pair(etype, false);
        let data = b"0123456789abcdefghijklmnopqrstu";
        for conf in [true, false] {
            let layout = [(5, false), (10, true), (16, true)];
            let (tok, bufs) = seal_split(&init, conf, &layout, data);
            // Bits of the token buffer.
            every_bit(&tok, |t| unseal_split(&acc, t, &mut bufs.clone()).map(drop));
            // Bits of the data buffers.
            let flat: Vec<u8> = bufs.iter().flat_map(|(b, _)| b.clone()).collect();
            every_bit(&flat, |f| {
                let mut b = bufs.clone();
                let mut at = 0;
                for (buf, _) in &mut b {
                    let n = buf.len();
                    buf.copy_from_slice(&f[at..at + n]);
                    at += n;
                }
                unseal_split(&acc, &mut tok.clone(), &mut b).map(drop)
            });
            let mut b = bufs.clone();
            unseal_split(&acc, &mut tok.clone(), &mut b).unwrap();
            let joined: Vec<u8> = b.iter().flat_map(|(x, _)| x.clone()).collect();
            assert_eq!(joined, data);
        }
    }
}

#[test]
fn split_form_failure_wipes_the_unverified_plaintext() {
    let (init, acc) = pair(EncType::AES256_CTS_HMAC_SHA1_96, false);
    let data = b"a secret that must not leak out of a failed unseal";
    let (mut tok, mut bufs) = seal_split(&init, true, &[(20, true), (data.len() - 20, true)], data);
    let last = tok.len() - 1;
    tok[last] ^= 1; // the confounder's ciphertext: the HMAC fails after decryption
    assert_eq!(unseal_split(&acc, &mut tok, &mut bufs), Err(Error::MessageAltered));
    assert!(bufs.iter().all(|(b, _)| b.iter().all(|&x| x == 0)));
}

#[test]
fn split_form_integrity_only_layout() {
    for etype in ETYPES {
        let ck = ck_len(etype);
        let (init, acc) = pair(etype, true);
        let data = b"not secret, only signed";
        let (tok, bufs) = seal_split(&init, false, &[(10, true), (13, false)], data);
        assert_eq!(tok.len(), 16 + ck);
        assert_eq!(tok[..4], [5, 4, 4, 0xFF]);
        assert_eq!(tok[4..6], u16_of(ck).unwrap().to_be_bytes(), "EC");
        assert_eq!(tok[6..8], u16_of(ck).unwrap().to_be_bytes(), "RRC");
        assert_eq!(bufs[0].0, &data[..10]);
        // token | data is the contiguous integrity-only token rotated by RRC.
        let mut contiguous = tok.clone();
        contiguous.extend_from_slice(data);
        assert_eq!(unwrap(&acc, &contiguous).unwrap().1, data);
        let mut b = bufs.clone();
        assert_eq!(
            unseal_split(&acc, &mut tok.clone(), &mut b).unwrap(),
            Unsealed { seq: 77, confidential: false }
        );
    }
}

#[test]
fn split_form_refuses_too_many_straddling_blocks_before_touching_anything() {
    let (init, _) = pair(EncType::AES128_CTS_HMAC_SHA1_96, false);
    let data = vec![7u8; 40 * 17];
    let layout: Vec<(usize, bool)> = (0..40).map(|_| (17, true)).collect();
    let mut bufs: Vec<Vec<u8>> = layout.iter().map(|_| vec![7u8; 17]).collect();
    let mut parts: Vec<Part<'_>> = bufs.iter_mut().map(|b| Part::Seal(b)).collect();
    let mut token = [0u8; 60];
    assert!(matches!(
        init.seal_parts(0, true, &CONF, &mut parts[..], &mut token),
        Err(Error::NotSupported(_))
    ));
    drop(parts);
    assert!(bufs.iter().flatten().all(|&b| b == 7));
    assert_eq!(data.len(), 680);
}

#[test]
fn sizes() {
    let (mut k, _) = pair(EncType::AES256_CTS_HMAC_SHA1_96, false);
    assert_eq!((k.mic_len(), k.seal_token_len(true), k.security_trailer_len()), (28, 60, 76));
    k.set_dce_style(true);
    assert_eq!((k.seal_token_len(true), k.seal_token_len(false)), (76, 28));
    assert_eq!(k.max_signature_len(), 28);
    let (k, _) = pair(EncType::AES256_CTS_HMAC_SHA384_192, false);
    assert_eq!((k.mic_len(), k.seal_token_len(true)), (40, 72));
}

#[test]
fn debug_is_redacted_and_bad_keys_are_refused() {
    let k = Key::new(EncType::RC4_HMAC, &[1; 15]);
    assert!(matches!(MessageKeys::new(&k, true, false), Err(Error::InvalidParameter(_))));
    let k = Key::new(EncType(3), &[1; 8]);
    assert!(matches!(MessageKeys::new(&k, true, false), Err(Error::NotSupported(_))));
    let (init, _) = pair(EncType::AES128_CTS_HMAC_SHA1_96, false);
    let dbg = format!("{init:?}");
    assert!(dbg.contains("aes128") && !dbg.contains("03, 0a"), "{dbg}");
}

#[test]
fn buffer_errors() {
    let (init, _) = pair(EncType::AES128_CTS_HMAC_SHA1_96, false);
    let mut small = [0u8; 27];
    assert_eq!(
        init.make_mic(0, &[&b""[..]][..], &mut small),
        Err(Error::BufferTooSmall { needed: 28 })
    );
    let mut buf = [0u8; 59];
    assert!(matches!(
        init.wrap_in_place(0, true, &CONF, &mut buf),
        Err(Error::InvalidParameter(_))
    ));
    let mut buf = [0u8; 60];
    assert!(matches!(
        init.wrap_in_place(0, true, &CONF[..8], &mut buf),
        Err(Error::InvalidParameter(_))
    ));
    let mut token = [0u8; 59];
    let mut d = *b"x";
    assert_eq!(
        init.seal_parts(0, true, &CONF, &mut [Part::Seal(&mut d)][..], &mut token),
        Err(Error::BufferTooSmall { needed: 60 })
    );
}

#[test]
fn receive_window_mit_g_seqstate() {
    // Both flags: in order, gap, reordered, duplicate, too old.
    let mut w = ReceiveWindow::new(1000, true, true, true);
    assert_eq!(w.check(1000), SeqStatus::InOrder);
    assert_eq!(w.check(1001), SeqStatus::InOrder);
    assert_eq!(w.check(1001), SeqStatus::Duplicate);
    assert_eq!(w.check(1004), SeqStatus::Gap);
    assert_eq!(w.check(1002), SeqStatus::Unseq);
    assert_eq!(w.check(1002), SeqStatus::Duplicate);
    assert_eq!(w.check(1003), SeqStatus::Unseq);
    assert_eq!(w.check(1005), SeqStatus::InOrder);
    assert_eq!(w.check(1005 + 100), SeqStatus::Gap);
    assert_eq!(w.check(1005), SeqStatus::Unseq, "beyond the window");
    assert_eq!(w.check(999), SeqStatus::Unseq, "before the first");
    assert_eq!(w.expected(), 1106);
    // Replay only: reordering is fine, duplicates are not, the too-old are old.
    let mut w = ReceiveWindow::new(0, true, false, true);
    assert_eq!(w.check(3), SeqStatus::InOrder);
    assert_eq!(w.check(1), SeqStatus::InOrder);
    assert_eq!(w.check(1), SeqStatus::Duplicate);
    assert_eq!(w.check(200), SeqStatus::InOrder);
    assert_eq!(w.check(3), SeqStatus::Old);
    // Sequence only: a duplicate is out of sequence.
    let mut w = ReceiveWindow::new(0, false, true, true);
    assert_eq!(w.check(0), SeqStatus::InOrder);
    assert_eq!(w.check(0), SeqStatus::Unseq);
    // Neither: anything goes.
    let mut w = ReceiveWindow::new(0, false, false, true);
    assert_eq!(w.check(0), SeqStatus::InOrder);
    assert_eq!(w.check(0), SeqStatus::InOrder);
    // Wrap-around: 64-bit and 32-bit.
    let mut w = ReceiveWindow::new(u64::MAX, true, true, true);
    assert_eq!(w.check(u64::MAX), SeqStatus::InOrder);
    assert_eq!(w.check(0), SeqStatus::InOrder);
    let mut w = ReceiveWindow::new(u64::from(u32::MAX), true, true, false);
    assert_eq!(w.check(u64::from(u32::MAX)), SeqStatus::InOrder);
    assert_eq!(w.check(0), SeqStatus::InOrder);
    assert_eq!(w.expected(), 1);
}

#[test]
fn receive_window_accept_maps_to_out_of_sequence() {
    let mut w = ReceiveWindow::new(5, true, true, true);
    w.accept(5).unwrap();
    assert_eq!(w.accept(5), Err(Error::OutOfSequence { expected: 6, found: 5 }));
    assert_eq!(
        w.accept(0x1_0000_0009),
        Err(Error::OutOfSequence { expected: 6, found: 9 }),
        "low 32 bits"
    );
    assert_eq!(
        crate::status::SecurityStatus::from(&Error::OutOfSequence { expected: 0, found: 0 }),
        crate::status::SecurityStatus::SEC_E_OUT_OF_SEQUENCE
    );
}

#[test]
fn receive_window_serializes() {
    let mut w = ReceiveWindow::new(10, true, true, true);
    w.check(10);
    w.check(12);
    let bytes = postcard::to_allocvec(&w).unwrap();
    let mut back: ReceiveWindow = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, w);
    assert_eq!(back.check(11), SeqStatus::Unseq);
    assert_eq!(back.check(12), SeqStatus::Duplicate);
}

fn etype_strategy() -> impl Strategy<Value = EncType> {
    let mut all = ETYPES.to_vec();
    all.push(EncType::RC4_HMAC);
    prop::sample::select(all)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn wrap_round_trip(etype in etype_strategy(), conf: bool, data in prop::collection::vec(any::<u8>(), 0..2048), rrc in 0usize..4096) {
        let (init, acc) = pair(etype, false);
        let tok = wrap(&init, 1, conf, &data);
        prop_assert_eq!(&unwrap(&acc, &tok).unwrap().1, &data);
        if etype == EncType::RC4_HMAC {
            return Ok(());
        }
        // The same token rotated by any RRC.
        let mut t = tok.clone();
        t[6..8].copy_from_slice(&u16_of(rrc).unwrap().to_be_bytes());
        let len = t.len() - 16;
        t[16..].rotate_right(rrc % len);
        prop_assert_eq!(&unwrap(&acc, &t).unwrap().1, &data);
    }

    #[test]
    fn split_round_trip(
        etype in etype_strategy(),
        conf: bool,
        data in prop::collection::vec(any::<u8>(), 0..2048),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        sign_only in prop::collection::vec(any::<bool>(), 4),
    ) {
        let (init, acc) = pair(etype, true);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        let layout: Vec<(usize, bool)> = points
            .windows(2)
            .enumerate()
            .map(|(i, w)| (w[1] - w[0], !sign_only[i]))
            .collect();
        let (tok, mut bufs) = seal_split(&acc, conf, &layout, &data);
        // The sealed parts, joined after the token, are the contiguous token.
        if conf && layout.iter().all(|&(_, s)| s) && etype != EncType::RC4_HMAC {
            let mut contiguous = tok.clone();
            for (b, _) in &bufs {
                contiguous.extend_from_slice(b);
            }
            prop_assert_eq!(&unwrap(&init, &contiguous).unwrap().1, &data);
        }
        let u = unseal_split(&init, &mut tok.clone(), &mut bufs).unwrap();
        prop_assert_eq!(u, Unsealed { seq: 77, confidential: conf });
        let joined: Vec<u8> = bufs.iter().flat_map(|(b, _)| b.clone()).collect();
        prop_assert_eq!(joined, data);
    }
}

// rc4-hmac (RFC 4757 section 7, RFC 1964 token formats).

const RC4_KEY: [u8; 16] = *b"rc4-hmac key 16b";

fn rc4_pair() -> (MessageKeys, MessageKeys) {
    let k = Key::new(EncType::RC4_HMAC, &RC4_KEY);
    (MessageKeys::new(&k, true, false).unwrap(), MessageKeys::new(&k, false, false).unwrap())
}

const KRB5_FRAMING_OID: [u8; 11] =
    [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// `HMAC-MD5(Ksign, MD5(T | data))[..8]` and the decrypted SND_SEQ, computed here from the
/// RFC 4757 section 7 formulas with the crate's primitives only.
fn rc4_reference(t: u32, data: &[&[u8]], snd_seq: &[u8]) -> ([u8; 8], [u8; 8]) {
    use crate::crypto::{Rc4, hmac_md5, md5};
    let ksign = hmac_md5(&RC4_KEY, &[b"signaturekey\0"]);
    let mut input: Vec<&[u8]> = Vec::new();
    let tb = t.to_le_bytes();
    input.push(&tb);
    input.extend_from_slice(data);
    let full = hmac_md5(&ksign, &[&md5(&input)]);
    let mut cksum = [0u8; 8];
    cksum.copy_from_slice(&full[..8]);
    let kseq = hmac_md5(&hmac_md5(&RC4_KEY, &[&[0u8; 4]]), &[&cksum]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(snd_seq);
    Rc4::new(&kseq).apply(&mut seq);
    (cksum, seq)
}

#[test]
fn rc4_mic_layout_rfc4757_7_2() {
    let (init, acc) = rc4_pair();
    assert_eq!(init.mic_len(), 37);
    let parts: [&[u8]; 2] = [b"hello ", b"world"];
    let mut tok = [0u8; 37];
    assert_eq!(init.make_mic(0x0102_0304, &parts[..], &mut tok).unwrap(), 37);
    assert_eq!(tok[..2], [0x60, 35], "GSS framing, length 11 + 24");
    assert_eq!(tok[2..13], KRB5_FRAMING_OID);
    let t = &tok[13..];
    assert_eq!(t[..8], [0x01, 0x01, 0x11, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]);
    let (cksum, seq) = rc4_reference(15, &[&t[..8], b"hello world"], &t[8..16]);
    assert_eq!(t[16..24], cksum, "SGN_CKSUM: T = 15");
    assert_eq!(seq, [1, 2, 3, 4, 0, 0, 0, 0], "SND_SEQ: big-endian, initiator direction 0");
    assert_eq!(acc.verify_mic(&parts[..], &tok).unwrap(), 0x0102_0304);
    assert_eq!(init.verify_mic(&parts[..], &tok), Err(Error::MessageAltered), "reflected");
    // From the acceptor: direction FF FF FF FF.
    acc.make_mic(9, &parts[..], &mut tok).unwrap();
    let t = &tok[13..];
    let (_, seq) = rc4_reference(15, &[&t[..8], b"hello world"], &t[8..16]);
    assert_eq!(seq, [0, 0, 0, 9, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(init.verify_mic(&parts[..], &tok).unwrap(), 9);
    // RFC 1964 puts SND_SEQ outside the checksum (it is encrypted with a key made from the
    // checksum, so a flipped bit of it flips the same bit of the number): the receive
    // window, not the checksum, refuses those. `same_seq` stands in for it.
    every_bit(&tok, |t| init.verify_mic(&parts[..], t).and_then(|s| same_seq(s, 9)));
}

/// What a receive window would say of a token whose SND_SEQ was altered.
fn same_seq(found: u64, expected: u64) -> Result<()> {
    if found == expected { Ok(()) } else { Err(Error::MessageAltered) }
}

#[test]
fn rc4_wrap_layout_rfc4757_7_3_and_round_trip() {
    let (init, acc) = rc4_pair();
    let conf8 = [0xC0u8; 8];
    for conf in [true, false] {
        for len in [0usize, 1, 7, 8, 79, 80, 81, 200, 300, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 253).unwrap()).collect();
            let n = init.wrap_len(conf, len);
            let off = init.wrap_data_offset(conf, len);
            let mut buf = vec![0u8; n];
            buf[off..off + len].copy_from_slice(&data);
            init.wrap_in_place(5, conf, &conf8, &mut buf).unwrap();
            assert_eq!(buf[0], 0x60);
            let at = off - 32;
            assert_eq!(buf[at - 11..at], KRB5_FRAMING_OID);
            let t = &buf[at..];
            let seal_alg = if conf { [0x10, 0x00] } else { [0xFF, 0xFF] };
            assert_eq!(t[..8], [0x02, 0x01, 0x11, 0x00, seal_alg[0], seal_alg[1], 0xFF, 0xFF]);
            if !conf {
                assert_eq!(t[24..32], conf8, "confounder in clear");
                assert_eq!(t[32..32 + len], data[..]);
                assert_eq!(t[32 + len], 1, "one byte of padding");
                let (cksum, seq) = rc4_reference(13, &[&t[..8], &conf8, &data, &[1]], &t[8..16]);
                assert_eq!(t[16..24], cksum, "SGN_CKSUM: T = 13");
                assert_eq!(seq, [0, 0, 0, 5, 0, 0, 0, 0]);
            } else {
                assert_ne!(t[24..32], conf8);
            }
            let mut b = buf.clone();
            let u = acc.unwrap_in_place(&mut b).unwrap();
            assert_eq!(b[u.data.clone()], data[..]);
            assert_eq!((u.seq, u.confidential), (5, conf));
            let mut b = buf.clone();
            assert_eq!(init.unwrap_in_place(&mut b), Err(Error::MessageAltered), "reflected");
        }
    }
}

#[test]
fn rc4_confidential_wrap_encrypts_with_kcrypt_from_klocal_and_seq() {
    use crate::crypto::{Rc4, hmac_md5};
    let (init, _) = rc4_pair();
    let data = b"sealed with rc4";
    let mut buf = vec![0u8; init.wrap_len(true, data.len())];
    let off = init.wrap_data_offset(true, data.len());
    buf[off..off + data.len()].copy_from_slice(data);
    init.wrap_in_place(0x0A0B_0C0D, true, &[7; 8], &mut buf).unwrap();
    let mut klocal = RC4_KEY;
    klocal.iter_mut().for_each(|b| *b ^= 0xF0);
    let kcrypt = hmac_md5(&hmac_md5(&klocal, &[&[0u8; 4]]), &[&[0x0A, 0x0B, 0x0C, 0x0D]]);
    let mut body = buf[off - 8..].to_vec();
    Rc4::new(&kcrypt).apply(&mut body);
    assert_eq!(body[..8], [7; 8]);
    assert_eq!(&body[8..8 + data.len()], data);
    assert_eq!(body[8 + data.len()], 1);
}

#[test]
fn rc4_wrap_every_bit_flipped_is_refused() {
    let (init, acc) = rc4_pair();
    for conf in [true, false] {
        let data = b"twenty bytes of data";
        let mut buf = vec![0u8; init.wrap_len(conf, data.len())];
        let off = init.wrap_data_offset(conf, data.len());
        buf[off..off + data.len()].copy_from_slice(data);
        init.wrap_in_place(1, conf, &[3; 8], &mut buf).unwrap();
        every_bit(&buf, |t| acc.unwrap_in_place(t).and_then(|u| same_seq(u.seq, 1)));
    }
}

#[test]
fn rc4_split_form_dce_style() {
    let (init, acc) = rc4_pair();
    for conf in [true, false] {
        let data = b"RPC header|stub data to protect|trailer";
        let layout = [(10, false), (21, true), (data.len() - 31, false)];
        let mut bufs: Vec<(Vec<u8>, bool)> = Vec::new();
        let mut at = 0;
        for &(len, sealed) in &layout {
            bufs.push((data[at..at + len].to_vec(), sealed));
            at += len;
        }
        let mut token = [0u8; 50];
        let n = {
            let mut parts: Vec<Part<'_>> = bufs
                .iter_mut()
                .map(|(b, s)| if *s { Part::Seal(b) } else { Part::SignOnly(b) })
                .collect();
            acc.seal_parts(3, conf, &[1; 8], &mut parts[..], &mut token).unwrap()
        };
        assert_eq!(n, 45);
        assert_eq!(acc.seal_token_len(conf), 45);
        assert_eq!(token[..2], [0x60, 43], "the framing covers only the 32-byte header");
        assert_eq!(bufs[0].0, &data[..10]);
        assert_eq!(bufs[1].0 == data[10..31], !conf);
        let tok = token[..45].to_vec();
        every_bit(&tok, |t| {
            unseal_split(&init, t, &mut bufs.clone()).and_then(|u| same_seq(u.seq, 3))
        });
        let mut b = bufs.clone();
        let u = unseal_split(&init, &mut tok.clone(), &mut b).unwrap();
        assert_eq!(u, Unsealed { seq: 3, confidential: conf });
        let joined: Vec<u8> = b.iter().flat_map(|(x, _)| x.clone()).collect();
        assert_eq!(joined, data);
        let mut b = bufs.clone();
        b[2].0[0] ^= 1;
        assert_eq!(unseal_split(&init, &mut tok.clone(), &mut b), Err(Error::MessageAltered));
        if conf {
            assert!(b[1].0.iter().all(|&x| x == 0), "unverified plaintext wiped");
        }
    }
}

#[test]
fn rc4_sizes_and_window() {
    let (init, _) = rc4_pair();
    assert_eq!(
        (init.mic_len(), init.max_signature_len(), init.security_trailer_len()),
        (37, 37, 45)
    );
    assert_eq!(init.confounder_len(), 8);
    // RFC 1964 sequence numbers are 32 bits: the window wraps there.
    let mut w = ReceiveWindow::new(u64::from(u32::MAX) - 1, true, true, false);
    assert_eq!(w.check(u64::from(u32::MAX) - 1), SeqStatus::InOrder);
    assert_eq!(w.check(u64::from(u32::MAX)), SeqStatus::InOrder);
    assert_eq!(w.check(0), SeqStatus::InOrder);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes, and valid tokens with arbitrary header fields and lengths, never make
    /// a receiving call panic or succeed.
    #[test]
    fn hostile_tokens_are_refused_without_panic(
        etype in etype_strategy(),
        dce: bool,
        junk in prop::collection::vec(any::<u8>(), 0..200),
        head in prop::collection::vec(any::<u8>(), 0..16),
        cut in 0usize..200,
    ) {
        let (init, mut acc) = pair(etype, false);
        acc.set_dce_style(dce);
        let mut t = junk.clone();
        prop_assert!(acc.unwrap_in_place(&mut t).is_err());
        let mut t = junk.clone();
        let mut d = junk.clone();
        prop_assert!(acc.unseal_parts(&mut t, &mut [Part::Seal(&mut d)][..]).is_err());
        prop_assert!(acc.verify_mic(&[&junk[..]][..], &junk).is_err());
        // A genuine token with its first bytes replaced and cut short.
        for conf in [true, false] {
            let mut tok = wrap(&init, 1, conf, &junk);
            let n = head.len().min(tok.len());
            tok[..n].copy_from_slice(&head[..n]);
            tok.truncate(cut.min(tok.len()));
            if tok.len() < init.wrap_len(conf, junk.len()) {
                prop_assert!(acc.unwrap_in_place(&mut tok).is_err());
            } else {
                let _ = acc.unwrap_in_place(&mut tok);
            }
            let (mut st, mut bufs) = seal_split(&init, conf, &[(junk.len(), true)], &junk);
            let n = head.len().min(st.len());
            st[..n].copy_from_slice(&head[..n]);
            st.truncate(cut.min(st.len()));
            let _ = unseal_split(&acc, &mut st, &mut bufs);
        }
    }
}
