//! The acceptor against NTLMv2 clients other than sspi-emu's own initiator, as they are in
//! the wild: curl's authentication-only OEM logon without a MIC, and Windows' AUTHENTICATE
//! with a MIC, a large `MsvAvSingleHost` and AV ids sspi-emu does not know. The clients are
//! [`ForeignClient`]s built from captured curl behaviour; `curl.rs` runs the real curl.

use super::driver::*;
use sspi_emu::ImportOptions;
use sspi_emu::export::{ExportKey, ExportOptions, Protection, SECPKG_CONTEXT_EXPORT_DELETE_OLD};
use sspi_emu::flags::{AscReq, AscRet};
use sspi_emu::fuzzing::{CURL_NEGOTIATE, ForeignClient};
use sspi_emu::ntlm::flags::NegotiateFlags as F;
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::{AcceptorOptions, Credentials, Error, OemCodePage, Password, SecurityContext};

fn acceptor(options: AcceptorOptions) -> SecurityContext {
    SecurityContext::acceptor(&server_creds(), options.environment(env(9).0)).unwrap()
}

/// NEGOTIATE, CHALLENGE, AUTHENTICATE from `client`; the acceptor's verdict on the last.
fn logon(
    client: &ForeignClient<'_>,
    negotiate: &[u8],
    server: &mut SecurityContext,
) -> (Vec<u8>, Vec<u8>, sspi_emu::Result<()>) {
    let challenge = server.step(Some(negotiate)).unwrap().token;
    let authenticate = client.authenticate(negotiate, &challenge).unwrap();
    let verdict = server.step(Some(&authenticate)).map(|step| assert!(step.complete));
    (challenge, authenticate, verdict)
}

fn challenge_flags(challenge: &[u8]) -> F {
    F(u32::from_le_bytes(challenge[20..24].try_into().unwrap()))
}

/// MS-NLMP 3.2.5.1.1: a NEGOTIATE without UNICODE gets an OEM CHALLENGE; curl's logon is
/// authenticated with neither integrity nor confidentiality.
#[test]
fn curl_logon_is_oem_and_authentication_only() {
    let mut server = acceptor(AcceptorOptions::new());
    let (challenge, _, verdict) = logon(&curl_like(), &CURL_NEGOTIATE, &mut server);
    verdict.unwrap();
    let offered = challenge_flags(&challenge);
    assert!(offered.contains(F::OEM) && !offered.contains(F::UNICODE), "{offered:?}");
    assert!(offered.contains(F::TARGET_INFO) && offered.contains(F::EXTENDED_SESSION_SECURITY));
    for f in [F::SIGN, F::SEAL, F::NEGOTIATE_128, F::KEY_EXCH] {
        assert!(!offered.contains(f), "{f:?} granted though curl did not offer it");
    }
    // The TargetName is OEM ("WORKGROUP", one byte a character); the AV pairs stay UTF-16.
    let name_len = usize::from(u16::from_le_bytes([challenge[12], challenge[13]]));
    let name_at =
        usize::try_from(u32::from_le_bytes(challenge[16..20].try_into().unwrap())).unwrap();
    assert_eq!(&challenge[name_at..name_at + name_len], b"WORKGROUP");
    assert_eq!(server.client_name().unwrap(), "EXAMPLE\\alice");
    assert_eq!(server.identity().unwrap().workstation, "WORKSTATION");
    assert_eq!(server.attributes().unwrap(), AscRet::CONNECTION.0);
}

/// Message calls on an authentication-only context answer as Windows does: the dummy
/// signature of MS-NLMP 3.4.4.3 (and only it verifies); no sealing.
#[test]
fn authentication_only_context_signs_with_the_dummy_signature_and_cannot_seal() {
    let mut server = acceptor(AcceptorOptions::new());
    logon(&curl_like(), &CURL_NEGOTIATE, &mut server).2.unwrap();
    let dummy = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(server.sign(b"anything").unwrap(), dummy);
    assert_eq!(server.sign(b"anything else").unwrap(), dummy);
    server.verify(b"whatever", &dummy).unwrap();
    // A real signature (from a peer that believes it signs) is not the dummy.
    let (mut client, _) = established(40);
    let real = client.sign(b"whatever").unwrap();
    assert_eq!(server.verify(b"whatever", &real), Err(Error::MessageAltered));
    assert_eq!(server.verify(b"whatever", &dummy[..15]), Err(Error::MessageAltered));
    let mut data = *b"secret";
    let err = server.seal(&mut data).unwrap_err();
    assert_eq!(
        sspi_emu::SecurityStatus::from(&err),
        sspi_emu::SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION
    );
    assert_eq!(&data, b"secret", "nothing was encrypted");
    assert!(server.unwrap(&[0; 20]).is_err());
}

/// An acceptor that asks for integrity or confidentiality still refuses curl at NEGOTIATE.
#[test]
fn acceptor_that_requires_message_security_refuses_curl() {
    for flags in [AscReq::INTEGRITY, AscReq::CONFIDENTIALITY] {
        let mut server = acceptor(AcceptorOptions::new().flags(flags));
        let err = server.step(Some(&CURL_NEGOTIATE)).unwrap_err();
        assert!(matches!(err, Error::NotSupported(_)), "{err:?}");
    }
    // A client that signs must still have 128-bit keys.
    let mut signs = CURL_NEGOTIATE;
    signs[12] |= 0x10; // NTLMSSP_NEGOTIATE_SIGN
    let err = acceptor(AcceptorOptions::new()).step(Some(&signs)).unwrap_err();
    assert_eq!(err, Error::NotSupported("40- and 56-bit NTLM keys"));
    // Neither Unicode nor OEM: MS-NLMP 2.2.2.5 makes that SEC_E_INVALID_TOKEN.
    let mut no_charset = CURL_NEGOTIATE;
    no_charset[12] &= !0x02;
    let err = acceptor(AcceptorOptions::new()).step(Some(&no_charset)).unwrap_err();
    assert!(matches!(err, Error::InvalidToken(_)), "{err:?}");
}

/// Wrong password and unknown user are the same `LogonDenied`.
#[test]
fn curl_like_wrong_password_and_unknown_user_are_denied() {
    for client in [
        ForeignClient { password: "wrong", ..curl_like() },
        ForeignClient { user: "mallory", ..curl_like() },
    ] {
        let mut server = acceptor(AcceptorOptions::new());
        assert_eq!(logon(&client, &CURL_NEGOTIATE, &mut server).2, Err(Error::LogonDenied));
    }
}

/// OEM names outside ASCII are read in the configured code page: the same bytes are a
/// different name in another code page, and then the password proof fails.
#[test]
fn oem_names_follow_the_code_page() {
    let mut users = MemoryUserStore::new();
    users.add_password("\u{c9}COLE", "J\u{fc}rgen", &Password::new(PASSWORD));
    let creds = Credentials::acceptor(users);
    let client = ForeignClient {
        user: "J\u{fc}rgen",
        domain: "\u{c9}COLE",
        code_page: OemCodePage::Cp850,
        ..curl_like()
    };
    for (cp, expected) in [
        (OemCodePage::Cp850, Ok(())),
        (OemCodePage::Cp437, Ok(())), // 437 and 850 agree on these two letters
        (OemCodePage::Cp866, Err(Error::LogonDenied)),
    ] {
        let options = AcceptorOptions::new().oem_code_page(cp).environment(env(9).0);
        let mut server = SecurityContext::acceptor(&creds, options).unwrap();
        assert_eq!(logon(&client, &CURL_NEGOTIATE, &mut server).2, expected, "{cp:?}");
        if expected.is_ok() {
            assert_eq!(server.client_name().unwrap(), "\u{c9}COLE\\J\u{fc}rgen");
        }
    }
}

/// The character set is the one the CHALLENGE chose: an AUTHENTICATE that says otherwise is
/// refused before its names are read.
#[test]
fn authenticate_in_the_other_character_set_is_refused() {
    let mut server = acceptor(AcceptorOptions::new());
    let challenge = server.step(Some(&CURL_NEGOTIATE)).unwrap().token;
    let mut authenticate = curl_like().authenticate(&CURL_NEGOTIATE, &challenge).unwrap();
    authenticate[60] |= 0x01; // NTLMSSP_NEGOTIATE_UNICODE
    let err = server.step(Some(&authenticate)).unwrap_err();
    assert!(matches!(err, Error::InvalidToken(_)), "{err:?}");
}

/// No MIC: accepted by default (as Windows), refused under `require_mic`.
#[test]
fn require_mic_refuses_clients_that_send_none() {
    let mut server = acceptor(AcceptorOptions::new().require_mic(true));
    assert_eq!(
        logon(&curl_like(), &CURL_NEGOTIATE, &mut server).2,
        Err(Error::InvalidToken("the AUTHENTICATE message has no MIC"))
    );
    // The same client with a MIC is fine under the strict policy.
    let mut server = acceptor(AcceptorOptions::new().require_mic(true));
    let with_mic = ForeignClient { mic: true, ..curl_like() };
    logon(&with_mic, &CURL_NEGOTIATE, &mut server).2.unwrap();
}

/// Windows 11 24H2 sends an 80-byte `MsvAvSingleHost` (48 before); MS-NLMP 2.2.2.2 says
/// anything after MachineID is ignored. AV ids sspi-emu does not know are carried too: the
/// logon whose MIC was computed over them verifies under `require_mic`, and a changed byte
/// among them is refused (by NTProofStr, which covers the blob before the MIC is looked at).
#[test]
fn large_single_host_and_unknown_av_ids_are_carried_through_the_mic() {
    let mut single_host = vec![0u8; 80];
    single_host[..4].copy_from_slice(&80u32.to_le_bytes());
    single_host[16..].fill(0xab); // MachineID and the newer trailing bytes
    let extra: [(u16, &[u8]); 3] = [(8, &single_host), (0x00ff, b"future"), (0x7fff, &[])];
    let windows_like = ForeignClient { mic: true, extra_av: &extra, ..curl_like() };
    // Against a Unicode NEGOTIATE (MIC over it) and against curl's.
    for negotiate in [windows_negotiate(), CURL_NEGOTIATE.to_vec()] {
        let mut server = acceptor(AcceptorOptions::new().require_mic(true));
        let (challenge, authenticate, verdict) = logon(&windows_like, &negotiate, &mut server);
        verdict.unwrap();
        // The MIC covers the extra pairs: change one byte of them and the MIC fails.
        let at = find(&authenticate, b"future").unwrap();
        let mut altered = authenticate.clone();
        altered[at] ^= 0x20;
        let mut server = acceptor(AcceptorOptions::new().require_mic(true));
        assert_eq!(server.step(Some(&negotiate)).unwrap().token, challenge);
        // NTProofStr covers the blob first: the proof, not the MIC, is what fails.
        assert_eq!(server.step(Some(&altered)).unwrap_err(), Error::LogonDenied);
    }
}

/// A MIC announced in the blob and then stripped in flight (CVE-2019-1040) is refused
/// whatever the policy: zeroed, cut out of the message, or its announcement cleared.
#[test]
fn mic_announced_then_stripped_is_refused() {
    let windows_like = ForeignClient { mic: true, ..curl_like() };
    let negotiate = windows_negotiate();
    let fresh = || {
        let mut server = acceptor(AcceptorOptions::new());
        let challenge = server.step(Some(&negotiate)).unwrap().token;
        (server, challenge)
    };
    let (mut server, challenge) = fresh();
    let authenticate = windows_like.authenticate(&negotiate, &challenge).unwrap();
    server.step(Some(&authenticate)).unwrap();

    // Zeroed MIC.
    let mut zeroed = authenticate.clone();
    zeroed[72..88].fill(0);
    let (mut server, _) = fresh();
    assert_eq!(server.step(Some(&zeroed)).unwrap_err(), Error::MessageAltered);

    // The MIC field cut out: every payload offset moves 16 bytes down.
    let mut cut = authenticate[..72].to_vec();
    cut.extend_from_slice(&authenticate[88..]);
    for field in 0..6 {
        let at = 12 + 8 * field + 4;
        let offset = u32::from_le_bytes(cut[at..at + 4].try_into().unwrap());
        cut[at..at + 4].copy_from_slice(&(offset - 16).to_le_bytes());
    }
    let (mut server, _) = fresh();
    assert_eq!(
        server.step(Some(&cut)).unwrap_err(),
        Error::InvalidToken("MIC announced but missing")
    );

    // The announcement (MsvAvFlags 0x2) cleared: NTProofStr covers the blob.
    let flags_pair = find(&authenticate, &[6, 0, 4, 0, 2, 0, 0, 0]).unwrap();
    let mut unannounced = cut.clone();
    let at = flags_pair - 16 + 4;
    unannounced[at] = 0;
    let (mut server, _) = fresh();
    assert_eq!(server.step(Some(&unannounced)).unwrap_err(), Error::LogonDenied);
}

/// Flags changed in flight on an authentication-only context (no MIC covers them): every
/// single-bit change of the AUTHENTICATE either fails, or logs the same user on with no
/// message security the CHALLENGE did not grant (here: none at all).
#[test]
fn flags_changed_in_flight_on_an_authentication_only_context() {
    let mut server = acceptor(AcceptorOptions::new());
    let challenge = server.step(Some(&CURL_NEGOTIATE)).unwrap().token;
    let authenticate = curl_like().authenticate(&CURL_NEGOTIATE, &challenge).unwrap();
    let security = F::SIGN.0 | F::SEAL.0 | F::KEY_EXCH.0 | F::NEGOTIATE_128.0 | F::NEGOTIATE_56.0;
    let mut accepted = 0;
    for bit in 0..authenticate.len() * 8 {
        let mut altered = authenticate.clone();
        altered[bit / 8] ^= 1 << (bit % 8);
        let mut server = acceptor(AcceptorOptions::new());
        assert_eq!(server.step(Some(&CURL_NEGOTIATE)).unwrap().token, challenge);
        if server.step(Some(&altered)).is_err() {
            continue;
        }
        accepted += 1;
        let who = server.identity().unwrap();
        // NTOWFv2 hashes the user name uppercased: a changed case is the same user.
        assert!(who.user.eq_ignore_ascii_case(USER) && who.domain == DOMAIN, "bit {bit}");
        assert_eq!(server.negotiated_flags().unwrap().0 & security, 0, "bit {bit}");
        assert_eq!(server.attributes().unwrap(), AscRet::CONNECTION.0, "bit {bit}");
        // The dummy signature, or none if ALWAYS_SIGN was flipped off: never a real one.
        match server.sign(b"m") {
            Ok(signature) => {
                assert_eq!(signature, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            }
            Err(e) => assert_eq!(e, Error::NotSupported("integrity was not negotiated")),
        }
    }
    // What no check covers on such a logon (LM response, workstation, informational flags)
    // is expected to go through: the test must have seen some, or it proves nothing.
    assert!(accepted > 0);
}

/// The options travel with a half-done acceptor: a blob carrying them is format version 2,
/// and the imported acceptor still requires a MIC and still reads code page 850.
#[test]
fn exported_acceptor_keeps_its_mic_policy_and_code_page() {
    let key = Protection::Key(ExportKey::from_bytes([3; 32]));
    let mut users = MemoryUserStore::new();
    users.add_password(DOMAIN, "J\u{fc}rgen", &Password::new(PASSWORD));
    let creds = Credentials::acceptor(users);
    let client =
        ForeignClient { user: "J\u{fc}rgen", code_page: OemCodePage::Cp850, ..curl_like() };
    for (require_mic, cp, version) in [
        (false, OemCodePage::Cp437, 1u8),
        (true, OemCodePage::Cp437, 2),
        (false, OemCodePage::Cp866, 2),
    ] {
        let options =
            AcceptorOptions::new().require_mic(require_mic).oem_code_page(cp).environment(env(9).0);
        let mut server = SecurityContext::acceptor(&creds, options).unwrap();
        let challenge = server.step(Some(&CURL_NEGOTIATE)).unwrap().token;
        let exported = server
            .export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &ExportOptions::new().protection(key.clone()))
            .unwrap();
        assert_eq!(exported.packed.as_bytes()[8], version, "oldest format that holds it");
        let import = ImportOptions::new()
            .protection(key.clone())
            .credentials(creds.clone())
            .environment(env(9).0);
        let mut worker = SecurityContext::import(exported.packed.as_bytes(), &import).unwrap();
        let authenticate = client.authenticate(&CURL_NEGOTIATE, &challenge).unwrap();
        let verdict = worker.step(Some(&authenticate)).map(|_| ());
        let expected = match (require_mic, cp) {
            (true, _) => Err(Error::InvalidToken("the AUTHENTICATE message has no MIC")),
            (false, OemCodePage::Cp866) => Err(Error::LogonDenied),
            _ => Ok(()),
        };
        assert_eq!(verdict, expected, "require_mic {require_mic}, {cp:?}");
    }
}

/// A NEGOTIATE as Windows sends it: Unicode and OEM offered, 128-bit, key exchange, VERSION.
fn windows_negotiate() -> Vec<u8> {
    hex("4e544c4d5353500001000000978208e2000000000000000000000000000000000a0063450000000f")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The initiator offers only Unicode, but a server that answers OEM (MS-NLMP 3.1.5.1.2:
/// the names go in the character set the server chose) gets OEM names in the initiator's
/// code page. Our acceptor answers OEM only to a NEGOTIATE without Unicode, so the test
/// clears UNICODE in flight: the MIC then catches the changed NEGOTIATE, but only after the
/// acceptor has read the OEM names and checked the password proof with them (a wrong code
/// page on the acceptor is `LogonDenied`, the right one gets as far as the MIC).
#[test]
fn initiator_answers_an_oem_challenge() {
    let to_oem = |i: usize, t: &mut Vec<u8>| {
        if i == 0 {
            t[12] = (t[12] & !0x01) | 0x02; // UNICODE off, OEM on
        }
    };
    let mut users = MemoryUserStore::new();
    users.add_password("\u{c9}COLE", "J\u{fc}rgen", &Password::new(PASSWORD));
    let server_creds = Credentials::acceptor(users);
    let client_creds = Credentials::initiator("J\u{fc}rgen", "\u{c9}COLE", Password::new(PASSWORD));
    let pair = |client_cp, server_cp| {
        let options = client_options(1).oem_code_page(client_cp).workstation("P\u{c7}");
        let server = server_options(2).oem_code_page(server_cp).environment(env(2).0);
        (
            SecurityContext::initiator(&client_creds, options).unwrap(),
            SecurityContext::acceptor(&server_creds, server).unwrap(),
        )
    };

    let (mut c, mut s) = pair(OemCodePage::Cp850, OemCodePage::Cp850);
    let mut sent = Vec::new();
    let result = handshake_with(&mut c, &mut s, |i, t| {
        to_oem(i, t);
        if i == 2 {
            sent = t.clone();
        }
    });
    assert_eq!(result.unwrap_err(), Error::MessageAltered, "proof passed, MIC caught it");
    let flags = F(u32::from_le_bytes(sent[60..64].try_into().unwrap()));
    assert!(flags.contains(F::OEM) && !flags.contains(F::UNICODE), "{flags:?}");
    assert!(find(&sent, b"J\x81rgen").is_some(), "user name in code page 850");
    assert!(find(&sent, b"\x90COLE").is_some(), "domain name in code page 850");
    assert!(find(&sent, b"P\x80").is_some(), "workstation in code page 850");

    // The acceptor reading the same bytes in code page 866 hashes another name.
    let (mut c, mut s) = pair(OemCodePage::Cp850, OemCodePage::Cp866);
    assert_eq!(handshake_with(&mut c, &mut s, to_oem).unwrap_err(), Error::LogonDenied);

    // A name the code page cannot write is refused before anything is sent.
    let (mut c, mut s) = pair(OemCodePage::Cp866, OemCodePage::Cp850);
    let err = handshake_with(&mut c, &mut s, to_oem).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter(_)), "{err:?}");
}

/// A client without a MIC must hand back the CHALLENGE's timestamp: a curl-like client that
/// never saw it (hidden in flight) is refused, and one that adds ALWAYS_SIGN the CHALLENGE
/// did not grant is too.
#[test]
fn mic_less_clients_are_held_to_the_challenge() {
    let mut server = acceptor(AcceptorOptions::new());
    let challenge = server.step(Some(&CURL_NEGOTIATE)).unwrap().token;
    let mut hidden = challenge.clone();
    let at = find(&hidden, &[7, 0, 8, 0]).unwrap();
    hidden[at] = 0x7f;
    let authenticate = curl_like().authenticate(&CURL_NEGOTIATE, &hidden).unwrap();
    assert_eq!(server.step(Some(&authenticate)).unwrap_err(), Error::MessageAltered);

    let mut without_always_sign = CURL_NEGOTIATE;
    without_always_sign[13] &= !0x80; // NTLMSSP_NEGOTIATE_ALWAYS_SIGN
    let mut server = acceptor(AcceptorOptions::new());
    let challenge = server.step(Some(&without_always_sign)).unwrap().token;
    let mut authenticate = curl_like().authenticate(&without_always_sign, &challenge).unwrap();
    authenticate[61] |= 0x80;
    let err = server.step(Some(&authenticate)).unwrap_err();
    assert_eq!(err, Error::InvalidToken("AUTHENTICATE sets security flags the CHALLENGE did not"));
}
