//! Between picky-krb's ASN.1 types and ours: names, integers, times, flags. Every conversion from
//! the wire is checked (a number that does not fit, a time that is not a time, a name that is
//! not text) and says what was wrong.

use crate::error::{Error, Result};
use crate::kerberos::{NameType, Principal, PrincipalName};
use picky_asn1::bit_string::BitString;
use picky_asn1::date::GeneralizedTime;
use picky_asn1::restricted_string::Ia5String;
use picky_asn1::wrapper::{
    Asn1SequenceOf, BitStringAsn1, ExplicitContextTag0, ExplicitContextTag1, GeneralStringAsn1,
    GeneralizedTimeAsn1, IntegerAsn1,
};
use picky_krb::data_types::{KerberosStringAsn1, PrincipalName as AsnName};

/// A KerberosString (RFC 4120 section 5.2.1). picky-krb holds it as IA5 (7-bit) text, so a
/// name outside ASCII cannot be sent: refused here rather than mangled.
pub(in crate::kerberos) fn kstring(s: &str) -> Result<KerberosStringAsn1> {
    Ia5String::from_string(s.to_owned())
        .map(GeneralStringAsn1::from)
        .map_err(|_| Error::InvalidParameter("a Kerberos name or realm must be ASCII text"))
}

/// Text of a KerberosString from the wire.
pub(in crate::kerberos) fn text(s: &KerberosStringAsn1) -> Result<String> {
    core::str::from_utf8(s.0.as_bytes())
        .map(str::to_owned)
        .map_err(|_| Error::InvalidToken("a Kerberos string is not text"))
}

/// An INTEGER that must fit in an `i32` (Int32 of RFC 4120 section 5.2.4).
pub(in crate::kerberos) fn int32(i: &IntegerAsn1) -> Result<i32> {
    let bytes = i.0.as_slice();
    if bytes.is_empty() || bytes.len() > 4 {
        return Err(Error::InvalidToken("an INTEGER does not fit in 32 bits"));
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut value: i64 = if negative { -1 } else { 0 };
    for b in bytes {
        value = (value << 8) | i64::from(*b);
    }
    i32::try_from(value).map_err(|_| Error::InvalidToken("an INTEGER does not fit in 32 bits"))
}

/// An INTEGER from an `i32` (minimal two's complement).
pub(in crate::kerberos) fn int(value: i32) -> IntegerAsn1 {
    let bytes = value.to_be_bytes();
    // Drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < 3 {
        let (Some(&b), Some(&next)) = (bytes.get(start), bytes.get(start + 1)) else { break };
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    IntegerAsn1(bytes.get(start..).unwrap_or(&bytes).to_vec())
}

/// A PrincipalName on the wire.
pub(in crate::kerberos) fn asn_name(name: &PrincipalName) -> Result<AsnName> {
    let parts = name.components.iter().map(|c| kstring(c)).collect::<Result<Vec<_>>>()?;
    Ok(AsnName {
        name_type: ExplicitContextTag0::from(int(name.name_type.0)),
        name_string: ExplicitContextTag1::from(Asn1SequenceOf::from(parts)),
    })
}

/// Our PrincipalName from the wire.
pub(in crate::kerberos) fn name(asn: &AsnName) -> Result<PrincipalName> {
    let components = asn.name_string.0.0.iter().map(text).collect::<Result<Vec<_>>>()?;
    if components.is_empty() {
        return Err(Error::InvalidToken("a principal name has no components"));
    }
    Ok(PrincipalName { name_type: NameType(int32(&asn.name_type.0)?), components })
}

/// A principal from a realm and a name on the wire.
pub(in crate::kerberos) fn principal(
    realm: &KerberosStringAsn1,
    asn: &AsnName,
) -> Result<Principal> {
    Ok(Principal { name: name(asn)?, realm: text(realm)? })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// A KerberosTime (GeneralizedTime, UTC, whole seconds: RFC 4120 section 5.2.3) from seconds
/// since the Unix epoch. Times past 9999 are clamped to 9999-12-31 23:59:59.
pub(in crate::kerberos) fn ktime(unix: i64) -> GeneralizedTimeAsn1 {
    let unix = unix.clamp(0, 253_402_300_799);
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let n = |v: i64| u8::try_from(v).unwrap_or(0);
    let date =
        GeneralizedTime::new(u16::try_from(y).unwrap_or(1970), n(m), n(d), n(h), n(min), n(s))
            .or_else(|| GeneralizedTime::new(1970, 1, 1, 0, 0, 0));
    match date {
        Some(date) => GeneralizedTimeAsn1::from(date),
        None => unreachable_time(),
    }
}

#[cold]
fn unreachable_time() -> GeneralizedTimeAsn1 {
    // 1970-01-01 00:00:00 is always a valid date; this is never reached.
    GeneralizedTimeAsn1::from(GeneralizedTime::new(2000, 1, 1, 0, 0, 0).unwrap_or_else(|| {
        GeneralizedTime::new(1970, 1, 1, 0, 0, 0).expect("a constant valid date")
    }))
}

/// Seconds since the Unix epoch of a KerberosTime, as a ccache holds them (32 bits): times
/// before 1970 are refused, times after 2106 ("never", as some KDCs write it) become the
/// largest value.
pub(in crate::kerberos) fn unix_time(t: &GeneralizedTimeAsn1) -> Result<u32> {
    let d = &t.0;
    let (month, day) = (i64::from(d.month()), i64::from(d.day()));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(Error::InvalidToken("a KerberosTime is not a date"));
    }
    let days = days_from_civil(i64::from(d.year()), month, day);
    let secs = days * 86_400
        + i64::from(d.hour()) * 3600
        + i64::from(d.minute()) * 60
        + i64::from(d.second());
    if secs < 0 {
        return Err(Error::InvalidToken("a KerberosTime is before 1970"));
    }
    Ok(u32::try_from(secs).unwrap_or(u32::MAX))
}

/// A 32-bit KerberosFlags value (bit 0 is the most significant, RFC 4120 section 5.2.8).
pub(in crate::kerberos) fn flags(bits: u32) -> BitStringAsn1 {
    BitStringAsn1::from(BitString::with_bytes(bits.to_be_bytes().to_vec()))
}

/// The first 32 bits of a KerberosFlags value (missing bits are 0).
pub(in crate::kerberos) fn flags_value(bits: &BitStringAsn1) -> u32 {
    let mut out = [0u8; 4];
    for (o, b) in out.iter_mut().zip(bits.0.payload_view()) {
        *o = *b;
    }
    u32::from_be_bytes(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_round_trip() {
        // X.690 section 8.3.2: no leading 0x00 or 0xff byte that only repeats the sign.
        assert_eq!(int(0).0, [0]);
        assert_eq!(int(127).0, [0x7f]);
        assert_eq!(int(128).0, [0, 0x80]);
        assert_eq!(int(-1).0, [0xff]);
        assert_eq!(int(-129).0, [0xff, 0x7f]);
        assert_eq!(int(0x7fff_ffff).0, [0x7f, 0xff, 0xff, 0xff]);
        for v in [0, 1, -1, 127, 128, -128, -129, 65_535, i32::MAX, i32::MIN] {
            assert_eq!(int32(&int(v)).unwrap(), v);
        }
        assert!(int32(&IntegerAsn1(vec![1, 0, 0, 0, 0])).is_err());
        assert!(int32(&IntegerAsn1(vec![])).is_err());
    }

    #[test]
    fn times_round_trip() {
        for t in [0u32, 951_782_400, 1_700_000_000, 4_102_444_800, u32::MAX] {
            assert_eq!(unix_time(&ktime(i64::from(t))).unwrap(), t);
        }
        let never =
            GeneralizedTimeAsn1::from(GeneralizedTime::new(9999, 12, 31, 23, 59, 59).unwrap());
        assert_eq!(unix_time(&never).unwrap(), u32::MAX);
        let old =
            GeneralizedTimeAsn1::from(GeneralizedTime::new(1969, 12, 31, 23, 59, 59).unwrap());
        assert!(unix_time(&old).is_err());
        // 2000-02-29 00:00:00 UTC (a leap day) is 951782400.
        let d = ktime(951_782_400);
        assert_eq!((d.0.year(), d.0.month(), d.0.day()), (2000, 2, 29));
    }

    #[test]
    fn flags_are_msb_first() {
        // RFC 4120 section 5.4.1: forwardable is bit 1.
        let f = flags(0x4000_0000);
        assert!(f.0.is_set(1));
        assert_eq!(flags_value(&f), 0x4000_0000);
    }
}

/// Property tests of the conversions. Which directions are canonical:
/// - INTEGER: [`int`] writes the minimal two's complement (X.690 section 8.3.2), so
///   `int(int32(b)) == b` for every minimal `b`; [`int32`] is lenient and also reads a
///   non-minimal one (a leading byte that only repeats the sign), which then comes back
///   shorter. Accepting it is harmless: the number is the same.
/// - KerberosTime: [`ktime`] and [`unix_time`] are inverse over the 32-bit range of a
///   ccache (1970 to 2106-02-07T06:28:15Z); past it `unix_time` saturates ("never"), and
///   `ktime` clamps to 0000..9999 years.
/// - KerberosFlags: [`flags`] writes the 32 bits as four octets; [`flags_value`] reads the
///   first 32 bits of any length of bit string (missing bits are 0, more are ignored), so
///   only a four-octet string is canonical.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn minimal(b: &[u8]) -> bool {
        match b {
            [] => false,
            [_] => true,
            [first, second, ..] => {
                !((*first == 0 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0))
            }
        }
    }

    fn days_in_month(y: i64, m: i64) -> i64 {
        match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    fn date() -> impl Strategy<Value = (i64, i64, i64)> {
        (-4000i64..12_000, 1i64..=12)
            .prop_flat_map(|(y, m)| (Just(y), Just(m), 1..=days_in_month(y, m)))
    }

    proptest! {
        #[test]
        fn integers_round_trip_minimally(v: i32) {
            let asn = int(v);
            prop_assert!(minimal(&asn.0) && asn.0.len() <= 4, "{:02x?}", asn.0);
            prop_assert_eq!(int32(&asn).unwrap(), v);
        }

        #[test]
        fn integer_octets_read_as_two_s_complement(b in vec(any::<u8>(), 0..7)) {
            match int32(&IntegerAsn1(b.clone())) {
                Ok(v) => {
                    prop_assert!((1..=4).contains(&b.len()));
                    let mut wide = [if b[0] & 0x80 != 0 { 0xff } else { 0 }; 4];
                    wide[4 - b.len()..].copy_from_slice(&b);
                    prop_assert_eq!(v, i32::from_be_bytes(wide));
                    let again = int(v).0;
                    if minimal(&b) {
                        prop_assert_eq!(again, b);
                    } else {
                        prop_assert!(again.len() < b.len());
                    }
                }
                Err(_) => prop_assert!(b.is_empty() || b.len() > 4),
            }
        }

        #[test]
        fn times_round_trip(t: u32) {
            let asn = ktime(i64::from(t));
            prop_assert_eq!(unix_time(&asn).unwrap(), t);
        }

        /// Every date of the ccache's range converts to seconds and back to itself.
        #[test]
        fn dates_round_trip(
            (y, m, d) in date(),
            h in 0u8..24,
            min in 0u8..60,
            s in 0u8..60,
        ) {
            prop_assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
            let Ok(year) = u16::try_from(y) else { return Ok(()) };
            let n = |v: i64| u8::try_from(v).unwrap();
            let g = GeneralizedTimeAsn1::from(
                GeneralizedTime::new(year, n(m), n(d), h, min, s).unwrap(),
            );
            let secs = days_from_civil(y, m, d) * 86_400
                + i64::from(h) * 3600 + i64::from(min) * 60 + i64::from(s);
            match unix_time(&g) {
                Ok(t) if secs <= i64::from(u32::MAX) => {
                    prop_assert_eq!(i64::from(t), secs);
                    let back = ktime(i64::from(t)).0;
                    prop_assert_eq!(
                        (back.year(), back.month(), back.day(), back.hour(), back.minute(), back.second()),
                        (year, n(m), n(d), h, min, s)
                    );
                }
                Ok(t) => prop_assert_eq!(t, u32::MAX, "after 2106: never"),
                Err(_) => prop_assert!(secs < 0, "refused a date after 1970"),
            }
        }

        #[test]
        fn day_numbers_round_trip(z in -3_000_000i64..3_000_000) {
            let (y, m, d) = civil_from_days(z);
            prop_assert!((1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d));
            prop_assert_eq!(days_from_civil(y, m, d), z);
        }

        /// Names: sent and read back as they were; a name outside ASCII (which a
        /// KerberosString cannot carry in picky-krb's IA5 form) is refused, not mangled.
        #[test]
        fn names_round_trip(
            t: i32,
            components in vec(prop_oneof![4 => "[\\x00-\\x7f]{0,12}", 1 => ".{1,6}"], 1..5),
        ) {
            let n = PrincipalName { name_type: NameType(t), components };
            match asn_name(&n) {
                Ok(asn) => {
                    prop_assert!(n.components.iter().all(|c| c.is_ascii()));
                    prop_assert_eq!(name(&asn).unwrap(), n);
                }
                Err(e) => {
                    prop_assert!(n.components.iter().any(|c| !c.is_ascii()));
                    prop_assert!(matches!(e, Error::InvalidParameter(_)));
                }
            }
        }

        #[test]
        fn flags_round_trip(bits: u32) {
            let asn = flags(bits);
            prop_assert_eq!(asn.0.payload_view(), &bits.to_be_bytes()[..]);
            prop_assert_eq!(flags_value(&asn), bits);
        }

        /// A bit string of any length: its first 32 bits (zeros for missing ones).
        #[test]
        fn any_bit_string_gives_its_first_32_bits(octets in vec(any::<u8>(), 0..9)) {
            let value = flags_value(&BitStringAsn1::from(BitString::with_bytes(octets.clone())));
            let mut first = [0u8; 4];
            for (o, b) in first.iter_mut().zip(&octets) {
                *o = *b;
            }
            prop_assert_eq!(value, u32::from_be_bytes(first));
            if octets.len() == 4 {
                let again = flags(value);
                prop_assert_eq!(again.0.payload_view(), &octets[..]);
            }
        }
    }
}
