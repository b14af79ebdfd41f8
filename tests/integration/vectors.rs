//! MS-NLMP 4.2.4 (NTLMv2 authentication) reproduced through the public API.

use super::driver::hex;
use sspi_emu::env::{ManualClock, ScriptedRandom};
use sspi_emu::flags::IscReq;
use sspi_emu::ntlm::Version;
use sspi_emu::{Credentials, Environment, FileTime, InitiatorOptions, Password, SecurityContext};

/// MS-NLMP 4.2.4.3: the CHALLENGE_MESSAGE.
const CHALLENGE: &str = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef\
    00000000000000002400240044000000060070170000000f53006500720076006500720002000c0044006f00\
    6d00610069006e0001000c0053006500720076006500720000000000";

/// MS-NLMP 4.2.4.3: the AUTHENTICATE_MESSAGE.
const AUTHENTICATE: &str = "4e544c4d5353500003000000180018006c00000054005400840000000c000c00\
    480000000800080054000000100010005c00000010001000d8000000358288e20501280a0000000f44006f00\
    6d00610069006e00550073006500720043004f004d005000550054004500520086c35097ac9cec102554764a\
    57cccc19aaaaaaaaaaaaaaaa68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000\
    aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c00530065007200760065007200\
    0000000000000000c5dad2544fc9799094ce1ce90bc9d03e";

/// The client of MS-NLMP 4.2.1: User/Domain/Password on workstation COMPUTER (Windows XP's
/// version), ClientChallenge aa..aa, RandomSessionKey 55..55, Time 0.
fn spec_client() -> SecurityContext {
    let random = ScriptedRandom::new([vec![0xaa; 8], vec![0x55; 16]]);
    let env = Environment::new(random, ManualClock::new(FileTime(0)));
    let options = InitiatorOptions::new()
        .flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY)
        .workstation("COMPUTER")
        .version(Some(Version::new(5, 1, 2600)))
        .environment(env);
    SecurityContext::initiator(
        &Credentials::initiator("User", "Domain", Password::new("Password")),
        options,
    )
    .unwrap()
}

#[test]
fn authenticate_message_ms_nlmp_4_2_4_3() {
    let mut client = spec_client();
    client.step(None).unwrap();
    let step = client.step(Some(&hex(CHALLENGE))).unwrap();
    assert!(step.complete);
    assert_eq!(super::driver::to_hex(&step.token), super::driver::to_hex(&hex(AUTHENTICATE)));
    // MS-NLMP 4.2.4.1.2 / 4.2.4.2.3: with KEY_EXCH the exported key is the random one.
    assert_eq!(client.dangerous_session_key().unwrap().dangerous_bytes(), &[0x55; 16]);
    assert_eq!(client.negotiated_flags().unwrap().0, 0xE288_8235);
}

#[test]
fn sealed_message_after_the_spec_handshake_ms_nlmp_4_2_4_4() {
    let mut client = spec_client();
    client.step(None).unwrap();
    client.step(Some(&hex(CHALLENGE))).unwrap();
    let mut data = hex("50006c00610069006e007400650078007400"); // "Plaintext"
    let sig = client.seal(&mut data).unwrap();
    assert_eq!(data, hex("54e50165bf1936dc996020c1811b0f06fb5f"));
    assert_eq!(sig.to_vec(), hex("010000007fb38ec5c55d497600000000"));
}

#[test]
fn every_truncation_of_the_spec_challenge_is_rejected() {
    let challenge = hex(CHALLENGE);
    for cut in 0..challenge.len() {
        let mut client = spec_client();
        client.step(None).unwrap();
        let err = client.step(Some(&challenge[..cut])).unwrap_err();
        assert!(matches!(err, sspi_emu::Error::InvalidToken(_)), "cut at {cut}: {err:?}");
    }
}
