//! Property tests: for every enctype, random keys, usages, confounders and plaintexts,
//! decryption gives back what was encrypted (through every API: the free functions, in
//! place, into caller buffers), any changed bit or other usage is refused, and checksums
//! verify only over what they were made of. String-to-key runs with small iteration counts
//! (the defaults cost too much for many cases in a debug build): a key is the spec's
//! composition of PBKDF2 and the enctype's key derivation, and the count is read as the
//! four big-endian octets of RFC 3962 section 4.
//!
//! The ciphertexts are not a codec in the canonical sense: the same plaintext encrypts to a
//! different ciphertext under every confounder, and decryption checks integrity rather than
//! a layout; so the property is `decrypt(encrypt(p)) == p` and never the other way round.

use super::tests::ALL;
use super::*;
use crate::env::{ScriptedRandom, SeededRandom};
use proptest::collection::vec;
use proptest::prelude::*;

/// A random key of a random implemented enctype.
fn key() -> impl Strategy<Value = Key> {
    (prop::sample::select(&ALL[..]), any::<[u8; 32]>()).prop_map(|(etype, bytes)| {
        let size = profile(etype).unwrap().key_size;
        Key::new(etype, &bytes[..size])
    })
}

fn usage() -> impl Strategy<Value = KeyUsage> {
    prop_oneof![1u32..30, any::<u32>()].prop_map(KeyUsage)
}

/// Whether two usages give the same keys (rc4-hmac numbers some usages alike).
fn same_keys(etype: EncType, a: KeyUsage, b: KeyUsage) -> bool {
    a == b || (etype == EncType::RC4_HMAC && rc4::translate(a) == rc4::translate(b))
}

proptest! {
    #[test]
    fn encryption_round_trips_through_every_api(
        key in key(),
        usage in usage(),
        plain in vec(any::<u8>(), 0..200),
        confounder: [u8; 16],
    ) {
        let keys = DerivedKeys::new(&key, usage).unwrap();
        let confounder = &confounder[..keys.confounder_len()];
        let n = plain.len() + keys.overhead();
        prop_assert_eq!(keys.overhead(), keys.header_len() + keys.trailer_len());

        // Into a caller buffer, and with the free function given the same confounder.
        let mut sealed = vec![0u8; n + 3];
        prop_assert_eq!(keys.encrypt_into(confounder, &plain, &mut sealed).unwrap(), n);
        sealed.truncate(n);
        let random = ScriptedRandom::new([confounder.to_vec()]);
        prop_assert_eq!(&encrypt(&key, usage, &plain, &random).unwrap(), &sealed);
        // In place: the plaintext between the header and the trailer.
        let mut buf = vec![0u8; n];
        buf[keys.header_len()..keys.header_len() + plain.len()].copy_from_slice(&plain);
        keys.encrypt_in_place(confounder, &mut buf).unwrap();
        prop_assert_eq!(&buf, &sealed);

        prop_assert_eq!(decrypt(&key, usage, &sealed).unwrap(), plain.clone());
        prop_assert_eq!(&keys.decrypt_in_place(&mut buf).unwrap()[..], &plain[..]);
        let mut out = vec![0u8; n];
        let len = keys.decrypt_into(&sealed, &mut out).unwrap();
        prop_assert_eq!(&out[..len], &plain[..]);
        prop_assert!(out[len..].iter().all(|&b| b == 0), "work bytes left after the plaintext");
    }

    /// Any changed bit, a cut or an added byte, another usage or another key: refused.
    #[test]
    fn damaged_ciphertexts_are_refused(
        key in key(),
        usage in usage(),
        other_usage in usage(),
        plain in vec(any::<u8>(), 0..64),
        seed: u64,
        at: prop::sample::Index,
        bit in 0u8..8,
    ) {
        let sealed = encrypt(&key, usage, &plain, &SeededRandom::new(seed)).unwrap();
        let mut bad = sealed.clone();
        bad[at.index(sealed.len())] ^= 1 << bit;
        prop_assert_eq!(decrypt(&key, usage, &bad), Err(Error::MessageAltered));
        prop_assert!(decrypt(&key, usage, &sealed[..sealed.len() - 1]).is_err());
        prop_assert!(decrypt(&key, usage, &[&sealed[..], &[0]].concat()).is_err());
        if !same_keys(key.etype(), usage, other_usage) {
            prop_assert_eq!(decrypt(&key, other_usage, &sealed), Err(Error::MessageAltered));
        }
        let mut other = key.bytes().to_vec();
        other[0] ^= 1;
        let other = Key::new(key.etype(), &other);
        prop_assert_eq!(decrypt(&other, usage, &sealed), Err(Error::MessageAltered));
    }

    #[test]
    fn checksums_verify_only_their_data(
        key in key(),
        usage in usage(),
        data in vec(any::<u8>(), 0..100),
        at: prop::sample::Index,
    ) {
        let sum = make_checksum(&key, usage, &data).unwrap();
        let keys = DerivedKeys::new(&key, usage).unwrap();
        prop_assert_eq!(sum.len(), keys.checksum_len());
        prop_assert_eq!(verify_checksum(&key, usage, &data, &sum), Ok(()));
        let mut out = vec![0u8; sum.len() + 1];
        prop_assert_eq!(keys.checksum_into(&data, &mut out).unwrap(), sum.len());
        prop_assert_eq!(&out[..sum.len()], &sum[..]);
        let mut bad = sum.clone();
        bad[at.index(sum.len())] ^= 0x01;
        prop_assert_eq!(verify_checksum(&key, usage, &data, &bad), Err(Error::MessageAltered));
        prop_assert_eq!(
            verify_checksum(&key, usage, &data, &sum[..sum.len() - 1]),
            Err(Error::MessageAltered)
        );
        if !data.is_empty() {
            let mut changed = data.clone();
            changed[at.index(data.len())] ^= 0x80;
            prop_assert_eq!(verify_checksum(&key, usage, &changed, &sum), Err(Error::MessageAltered));
        }
    }

    /// CBC with ciphertext stealing (RFC 3962 section 5): any length of at least a block
    /// decrypts to itself.
    #[test]
    fn cts_round_trips(key in prop_oneof![vec(any::<u8>(), 16), vec(any::<u8>(), 32)], plain in vec(any::<u8>(), 16..300)) {
        let key = aes::AesKey::new(&key).unwrap();
        let mut buf = plain.clone();
        key.cts_encrypt(&mut buf);
        prop_assert_ne!(&buf, &plain);
        key.cts_decrypt(&mut buf);
        prop_assert_eq!(buf, plain);
    }

    /// Parameters that are not four octets, or a count of 0 (2^32) or above 2^24: refused
    /// before any work, for every AES enctype.
    #[test]
    fn bad_string_to_key_parameters_are_refused(
        etype in prop::sample::select(&ALL[..4]),
        params in prop_oneof![
            vec(any::<u8>(), 0..12).prop_filter("not 4 octets", |p| p.len() != 4),
            (MAX_ITERATIONS + 1..=u32::MAX).prop_map(|c| c.to_be_bytes().to_vec()),
            Just(vec![0; 4]),
        ],
    ) {
        prop_assert!(matches!(
            string_to_key(etype, b"password", b"salt", Some(&params)),
            Err(Error::InvalidParameter(_))
        ));
    }
}

proptest! {
    // PBKDF2 in a debug build: a few cases, small counts.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn string_to_key_is_the_spec_composition(
        etype in prop::sample::select(&ALL[..4]),
        password in vec(any::<u8>(), 0..24),
        salt in vec(any::<u8>(), 0..24),
        // At least 2: read in the wrong byte order, any of these counts is above 2^24 and
        // refused at once (1 would be exactly 2^24: a test that hangs instead of failing).
        count in 2u32..7,
        usage in usage(),
        plain in vec(any::<u8>(), 0..32),
    ) {
        let p = profile(etype).unwrap();
        let key = string_to_key(etype, &password, &salt, Some(&count.to_be_bytes())).unwrap();
        let mut tkey = vec![0u8; p.key_size];
        let mut want = vec![0u8; p.key_size];
        match p.hash {
            // RFC 3962 section 4.
            Some(Hash::Sha1) | None => {
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&password, &salt, count, &mut tkey);
                aes::dk(&tkey, b"kerberos", &mut want).unwrap();
            }
            // RFC 8009 section 4: the salt is prefixed with the enctype's name and a zero.
            Some(hash) => {
                let saltp = [etype.name().unwrap().as_bytes(), &[0], &salt].concat();
                match hash {
                    Hash::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&password, &saltp, count, &mut tkey),
                    _ => pbkdf2::pbkdf2_hmac::<sha2::Sha384>(&password, &saltp, count, &mut tkey),
                }
                aes::kdf_hmac_sha2(hash, &tkey, b"kerberos", &mut want).unwrap();
            }
        }
        prop_assert!(key.ct_eq(&Key::new(etype, &want)));
        // And the key works.
        let sealed = encrypt(&key, usage, &plain, &SeededRandom::new(u64::from(count))).unwrap();
        prop_assert_eq!(decrypt(&key, usage, &sealed).unwrap(), plain);
    }

    /// rc4-hmac: the key is the NT hash of the (UTF-8) password; salt and parameters play no
    /// part.
    #[test]
    fn rc4_string_to_key_is_the_nt_hash(password in ".{0,20}", salt in vec(any::<u8>(), 0..8)) {
        let key = string_to_key(EncType::RC4_HMAC, password.as_bytes(), &salt, Some(&salt)).unwrap();
        let nt = crate::crypto::NtHash::from_password(&password);
        prop_assert!(key.ct_eq(&Key::new(EncType::RC4_HMAC, nt.0.bytes())));
    }
}
