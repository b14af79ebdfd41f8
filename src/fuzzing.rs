//! Entry points for the cargo-fuzz targets in `fuzz/`. Not part of the API.
//!
//! Each function must never panic on any input; where a parse succeeds, re-encoding and
//! parsing again must give the same value (round-trip assertions).
#![allow(missing_docs)]

mod files;
mod handles;
mod kerberos;
mod pac;
mod replay;

pub use files::{key_file, seeds as file_seeds, user_file};
pub use handles::{
    MAX_OPS, Op, Program, REACHED_CHECKED, REACHED_DELETE_OLD, REACHED_ESTABLISHED,
    REACHED_IMPORTED, REACHED_RESET, REACHED_SEALED, REACHED_TWINS, handles, handles_replay,
    seeds as handles_seeds,
};
pub use kerberos::{
    krb_acceptor, krb_acceptor_credentials, krb_ap, krb_env, krb_initiator,
    krb_initiator_credentials, krb_initiator_credentials_for, krb_message, krb_pair, krb_world,
    seeds as krb_seeds,
};
pub use pac::{pac, seeds as pac_seeds};
pub use replay::{replay_file, seeds as replay_seeds};

use crate::api::{AcceptorOptions, Credentials, InitiatorOptions, SecurityContext};
use crate::bindings::ChannelBindings;
use crate::crypto::Password;
use crate::crypto::{NtHash, utf16le};
use crate::env::{Environment, FileTime, ManualClock, SeededRandom};
use crate::error::{Error, Result};
use crate::flags::{AscReq, IscReq};
use crate::ntlm::flags::NegotiateFlags as F;
use crate::ntlm::keys::{ResponseKey, mic, nt_proof, ntowfv2, session_base_key};
use crate::ntlm::messages::{
    AV_FLAG_MIC_PRESENT, Authenticate, AuthenticateOut, AvId, AvPairs, Challenge, ClientBlob, Data,
    Negotiate, around_mic, set_mic,
};
use crate::ntlm::users::MemoryUserStore;
use crate::ntlm::{OemCodePage, Part};

const T0: FileTime = FileTime(134_116_992_000_000_000);

fn env(seed: u64) -> Environment {
    Environment::new(SeededRandom::new(seed), ManualClock::new(T0))
}

fn client() -> SecurityContext {
    let creds = Credentials::initiator("alice", "EXAMPLE", Password::new("pw"));
    let options = InitiatorOptions::new()
        .flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::REPLAY_DETECT)
        .target_name("HTTP/server")
        .channel_bindings(ChannelBindings::application(&b"cb"[..]))
        .environment(env(1));
    SecurityContext::initiator(&creds, options).expect("valid options")
}

fn server() -> SecurityContext {
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("pw"));
    let options = AcceptorOptions::new()
        .flags(AscReq::CONFIDENTIALITY | AscReq::REPLAY_DETECT)
        .accepted_target_names(["HTTP/server".to_owned()])
        .channel_bindings(ChannelBindings::application(&b"cb"[..]))
        .environment(env(2));
    SecurityContext::acceptor(&Credentials::acceptor(users), options).expect("valid options")
}

/// curl's NEGOTIATE (curl 7.88, captured): OEM, REQUEST_TARGET, NTLM, ALWAYS_SIGN and
/// extended session security; no Unicode, no 128-bit keys, no key exchange, no VERSION.
pub const CURL_NEGOTIATE: [u8; 32] = [
    b'N', b'T', b'L', b'M', b'S', b'S', b'P', 0, 1, 0, 0, 0, 0x06, 0x82, 0x08, 0x00, // flags
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // empty domain and workstation fields
];

/// An NTLMv2 client other than sspi-emu's own initiator, for tests and fuzzing: it builds an
/// AUTHENTICATE the way curl does (the CHALLENGE's flags echoed, names in the character set
/// the CHALLENGE chose, no VERSION, no session key, no MIC) or, with `mic`, the way Windows
/// does (MsvAvFlags 0x2 and the MIC), with any extra AV pairs (MsvAvSingleHost of any size,
/// unknown ids) in its blob.
pub struct ForeignClient<'a> {
    pub user: &'a str,
    pub domain: &'a str,
    pub password: &'a str,
    pub workstation: &'a str,
    /// The code page of OEM names (used when the CHALLENGE does not choose Unicode).
    pub code_page: OemCodePage,
    /// Announce a MIC (MsvAvFlags 0x2) and send it.
    pub mic: bool,
    /// Pairs added to the blob after the server's (at most three).
    pub extra_av: &'a [(u16, &'a [u8])],
    /// The blob's timestamp (curl uses its own clock).
    pub timestamp: FileTime,
    pub client_challenge: [u8; 8],
}

impl ForeignClient<'_> {
    /// The AUTHENTICATE answering `challenge`, after `negotiate` (which only the MIC covers).
    pub fn authenticate(&self, negotiate: &[u8], challenge: &[u8]) -> Result<Vec<u8>> {
        let parsed = Challenge::parse(challenge)?;
        // Echo the server's flags (curl does), less a key exchange this client does not do.
        let flags = F(parsed.flags.0 & !F::KEY_EXCH.0);
        let encode = |name: &str| -> Result<Vec<u8>> {
            if flags.contains(F::UNICODE) {
                Ok(utf16le(name))
            } else {
                self.code_page.encode(name).ok_or(Error::InvalidParameter("not in the code page"))
            }
        };
        let (user, domain, workstation) =
            (encode(self.user)?, encode(self.domain)?, encode(self.workstation)?);
        let mut av = AvPairs::parse(parsed.target_info)?;
        av.remove_any(&[AvId::FLAGS]);
        let mic_flag = AV_FLAG_MIC_PRESENT.to_le_bytes();
        if self.mic {
            av.append(AvId::FLAGS, &mic_flag)?;
        }
        for &(id, value) in self.extra_av {
            av.append(AvId(id), value)?;
        }
        let blob = ClientBlob {
            timestamp: self.timestamp.0,
            client_challenge: self.client_challenge,
            av_pairs: av,
        }
        .encode()?;
        let hash = NtHash::from_password(self.password);
        let key = ResponseKey::new(&ntowfv2(&hash, self.user, self.domain));
        let proof = nt_proof(&key, &parsed.server_challenge, &blob);
        let nt_response = [&proof[..], &blob].concat();
        let (mut token, _) = AuthenticateOut {
            lm_response: Data::Bytes(&[0; 24]),
            nt_response: Data::Bytes(&nt_response),
            domain: Data::Bytes(&domain),
            user: Data::Bytes(&user),
            workstation: Data::Bytes(&workstation),
            encrypted_session_key: &[],
            flags,
            version: None,
            mic: self.mic.then_some([0; 16]),
        }
        .encode()?;
        if self.mic {
            // Without KEY_EXCH the exported session key is the session base key.
            let exported = session_base_key(&key, &proof);
            let (before, after) = around_mic(&token)?;
            let code = mic(&exported, negotiate, challenge, before, after);
            set_mic(&mut token, &code)?;
        }
        Ok(token)
    }
}

fn curl_like() -> ForeignClient<'static> {
    ForeignClient {
        user: "alice",
        domain: "EXAMPLE",
        password: "pw",
        workstation: "WORKSTATION",
        code_page: OemCodePage::Cp437,
        mic: false,
        extra_av: &[],
        timestamp: T0,
        client_challenge: [7; 8],
    }
}

/// An acceptor with the defaults (no flags required: curl's authentication-only logon).
fn plain_server() -> SecurityContext {
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("pw"));
    let options = AcceptorOptions::new().environment(env(2));
    SecurityContext::acceptor(&Credentials::acceptor(users), options).expect("valid options")
}

pub fn negotiate(data: &[u8]) {
    if let Ok(m) = Negotiate::parse(data) {
        let again = m.encode().expect("a parsed message encodes");
        assert_eq!(Negotiate::parse(&again).expect("re-parse"), m);
    }
}

pub fn challenge(data: &[u8]) {
    if let Ok(m) = Challenge::parse(data) {
        let again = m.encode().expect("a parsed message encodes");
        assert_eq!(Challenge::parse(&again).expect("re-parse"), m);
    }
    // And the client's whole CHALLENGE path.
    let mut c = client();
    c.step(None).expect("first leg");
    let _ = c.step(Some(data));
}

pub fn authenticate(data: &[u8]) {
    if let Ok(m) = Authenticate::parse(data) {
        let again = m.encode().expect("a parsed message encodes");
        assert_eq!(Authenticate::parse(&again).expect("re-parse"), m);
    }
    if let Ok(blob) = ClientBlob::parse(data) {
        let again = blob.encode().expect("encodes");
        assert_eq!(ClientBlob::parse(&again).expect("re-parse"), blob);
    }
}

pub fn av_pairs(data: &[u8]) {
    if let Ok(av) = AvPairs::parse(data) {
        let again = av.encode().expect("encodes");
        assert_eq!(AvPairs::parse(&again).expect("re-parse"), av);
        let _ = av.timestamp();
        let _ = av.flags();
        // What a client does with its server's list: drop four ids, add its own flags. The
        // size kept as pairs go and come must be the size encoded.
        let mut edited = av;
        edited.remove_any(&[
            AvId::FLAGS,
            AvId::SINGLE_HOST,
            AvId::TARGET_NAME,
            AvId::CHANNEL_BINDINGS,
        ]);
        if edited.append(AvId::FLAGS, &[2, 0, 0, 0]).is_ok() {
            let encoded = edited.encode().expect("encodes");
            assert_eq!(encoded.len(), edited.encoded_len());
            assert_eq!(AvPairs::parse(&encoded).expect("re-parse"), edited);
            assert_eq!(edited.flags().ok(), Some(2));
        }
    }
}

pub fn channel_bindings(data: &[u8]) {
    if let Ok(cb) = ChannelBindings::from_sec_channel_bindings(data) {
        let again = cb.to_sec_channel_bindings().expect("encodes");
        assert_eq!(ChannelBindings::from_sec_channel_bindings(&again).expect("re-parse"), cb);
    }
}

/// The server's accept path. The first byte picks what the rest is: a NEGOTIATE, an
/// AUTHENTICATE answering the server's CHALLENGE (to sspi-emu's client, or to curl's OEM
/// NEGOTIATE), or edits (offset, xor) pairs applied to a valid AUTHENTICATE, sspi-emu's or
/// a curl-like OEM one without a MIC, so the fuzzer reaches the MIC, timestamp, SPN and
/// binding checks and the OEM names.
pub fn accept(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut c = client();
    let mut s = server();
    match mode % 5 {
        0 => {
            let _ = s.step(Some(rest));
        }
        1 => {
            let negotiate = c.step(None).expect("first leg").token;
            s.step(Some(&negotiate)).expect("valid NEGOTIATE");
            let _ = s.step(Some(rest));
        }
        3 => {
            let mut s = plain_server();
            s.step(Some(&CURL_NEGOTIATE)).expect("curl's NEGOTIATE");
            let _ = s.step(Some(rest));
        }
        m => {
            let auth = if m == 2 {
                let negotiate = c.step(None).expect("first leg").token;
                let challenge = s.step(Some(&negotiate)).expect("valid NEGOTIATE").token;
                c.step(Some(&challenge)).expect("valid CHALLENGE").token
            } else {
                s = plain_server();
                let challenge = s.step(Some(&CURL_NEGOTIATE)).expect("curl's NEGOTIATE").token;
                curl_like().authenticate(&CURL_NEGOTIATE, &challenge).expect("curl-like")
            };
            let mut auth = auth;
            let mut edited = false;
            for pair in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
                let n = auth.len() + 1;
                if let Some(b) = auth.get_mut(at % n) {
                    edited |= pair[2] != 0;
                    *b ^= pair[2];
                }
            }
            if rest.len() % 3 == 1 {
                auth.truncate(usize::from(rest[0]) % (auth.len() + 1));
                edited = true;
            }
            let result = s.step(Some(&auth));
            assert!(edited || result.is_ok(), "an untouched AUTHENTICATE must be accepted");
        }
    }
}

/// Message security under a stream of operations: every untampered message must verify,
/// every tampered one must fail without breaking the context.
pub fn session(data: &[u8]) {
    let mut c = client();
    let mut s = server();
    let negotiate = c.step(None).expect("leg 1").token;
    let challenge = s.step(Some(&negotiate)).expect("leg 2").token;
    let auth = c.step(Some(&challenge)).expect("leg 3").token;
    s.step(Some(&auth)).expect("leg 4");
    let mut ops = data;
    while let Some((&op, rest)) = ops.split_first() {
        let len = usize::from(op >> 3) * 7;
        let (payload, rest) = rest.split_at(len.min(rest.len()));
        ops = rest;
        let (from, to) = if op & 1 == 0 { (&mut c, &mut s) } else { (&mut s, &mut c) };
        let tamper = op & 2 != 0 && !payload.is_empty();
        match (op >> 2) & 1 {
            0 => {
                let sig = from.sign(payload).expect("sign");
                if tamper {
                    let mut bad = payload.to_vec();
                    bad[0] ^= 1;
                    assert!(to.verify(&bad, &sig).is_err());
                }
                to.verify(payload, &sig).expect("verify");
            }
            _ => {
                let mut body = payload.to_vec();
                let header = [op; 3];
                let sig = from
                    .seal_parts(&mut [Part::SignOnly(&header), Part::Seal(&mut body)][..])
                    .expect("seal");
                if tamper {
                    body[0] ^= 0x40;
                    let r = to.unseal_parts(
                        &mut [Part::SignOnly(&header), Part::Seal(&mut body)][..],
                        &sig,
                    );
                    assert!(r.is_err());
                    body[0] ^= 0x40;
                }
                to.unseal_parts(&mut [Part::SignOnly(&header), Part::Seal(&mut body)][..], &sig)
                    .expect("unseal");
                assert_eq!(body, payload);
            }
        }
    }
}

/// Import: the first byte picks raw blob bytes (header checks, key id, AEAD), or arbitrary
/// state bytes inside a valid unprotected envelope (the postcard decoder and the checks that
/// rebuild a context). Whatever imports must work and export again.
pub fn import(data: &[u8]) {
    use crate::api::ImportOptions;
    use crate::export::{ExportOptions, PackageId, Protection, pack_body};
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("pw"));
    let unprotected = Protection::DangerousUnprotected;
    let options = ImportOptions::new()
        .protection(unprotected.clone())
        .credentials(Credentials::acceptor(users))
        .environment(env(3));
    let blob = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let body = crate::crypto::SecretBytes(rest.to_vec());
        let exp = ExportOptions::new().protection(unprotected.clone());
        // Bit 1 of the mode picks the format version the state is read as.
        let version = if mode & 2 == 0 { 1 } else { 2 };
        match pack_body(PackageId::Ntlm, version, body, &exp) {
            Ok(p) => p.as_bytes().to_vec(),
            Err(_) => return,
        }
    };
    let Ok(mut ctx) = SecurityContext::import(&blob, &options) else { return };
    let again = ctx
        .export(0, &ExportOptions::new().protection(unprotected))
        .expect("an imported context exports again");
    SecurityContext::import(again.packed.as_bytes(), &options).expect("and imports again");
    let _ = ctx.sign(b"message");
    let mut data = *b"sealed";
    let _ = ctx.seal(&mut data);
    let _ = ctx.step(Some(rest));
    let _ = ctx.step(None);
}

// ---------------------------------------------------------------------------------------------
// Kerberos: the KDC reply handlers (src/kerberos/kdc.rs).

/// Real MIT KDC replies to seeded requests made at [`KDC_CAPTURE_TIME`] (see
/// src/kerberos/kdc/tests.rs); the states below are those requests, so these replies pass
/// every check and the fuzzer starts from the success path.
const KDC_CAPTURE_TIME: u64 = 1_796_472_985;
const KDC_AS_REP: &[u8] = include_bytes!("kerberos/kdc/testdata/as_rep.der");
const KDC_PREAUTH_REQUIRED: &[u8] = include_bytes!("kerberos/kdc/testdata/preauth_required.der");

fn kdc_env(seed: u64) -> Environment {
    Environment::deterministic(seed, FileTime((KDC_CAPTURE_TIME + 11_644_473_600) * 10_000_000))
}

/// The AES-256 key of `name`@EXAMPLE.TEST with the fixtures' password (PBKDF2 once).
fn kdc_user_key(name: &str) -> crate::kerberos::Key {
    use crate::kerberos::{EncType, crypto};
    let salt = format!("EXAMPLE.TEST{name}");
    crypto::string_to_key(EncType::AES256_CTS_HMAC_SHA1_96, b"Passw0rd!", salt.as_bytes(), None)
        .expect("aes256 is implemented")
}

fn kdc_as_state(name: &str, seed: u64) -> crate::kerberos::kdc::AsAwaitingReply {
    use crate::kerberos::kdc::{AsExchange, ClientKey, ClientSecret, RequestOptions};
    use crate::kerberos::{NameType, Principal};
    static KEYS: std::sync::OnceLock<(crate::kerberos::Key, crate::kerberos::Key)> =
        std::sync::OnceLock::new();
    let (alice, bob) = KEYS.get_or_init(|| (kdc_user_key("alice"), kdc_user_key("bob")));
    let key = if name == "alice" { alice } else { bob };
    let client = Principal::new(NameType::PRINCIPAL, &[name], "EXAMPLE.TEST");
    let secret = ClientSecret::Keys(vec![ClientKey { kvno: 1, key: key.clone() }]);
    AsExchange::start(&client, secret, &RequestOptions::default(), &kdc_env(seed))
        .expect("valid request")
        .0
}

/// `data[0] % 4` picks the state the rest is the reply to: 0, the first AS-REQ of alice; 1,
/// bob's AS-REQ with pre-authentication (after the captured PREAUTH_REQUIRED); 2, alice's
/// TGS-REQ for HTTP/web.example.test with the TGT from the captured AS-REP; 3, a KRB-ERROR on
/// its own (and the bytes as a `kdc =` entry for [`crate::kerberos::transport::parse_kdc`]). Whatever the bytes, an `Ok` or an `Err`, never a panic; a credential that comes
/// out names the client the state asked for (or the exchange asked for canonicalization).
pub fn kdc_reply(data: &[u8]) {
    use crate::kerberos::kdc::{AsExchange, AsProgress, RequestOptions, TgsExchange};
    use crate::kerberos::kdc::{is_response_too_big, parse_krb_error};
    use crate::kerberos::{NameType, Principal};
    let Some((&mode, reply)) = data.split_first() else { return };
    match mode % 4 {
        0 => {
            if let Ok(AsProgress::Done(c)) = kdc_as_state("alice", 1).handle_reply(reply) {
                assert_eq!(c.client.name.components, ["alice"]);
            }
        }
        1 => {
            let Ok(AsProgress::Send(state, _)) =
                kdc_as_state("bob", 2).handle_reply(KDC_PREAUTH_REQUIRED)
            else {
                panic!("the captured PREAUTH_REQUIRED leads to a second request");
            };
            if let Ok(AsProgress::Done(c)) = state.handle_reply(reply) {
                assert_eq!(c.client.name.components, ["bob"]);
            }
        }
        2 => {
            static TGT: std::sync::OnceLock<crate::kerberos::Credential> =
                std::sync::OnceLock::new();
            let tgt = TGT.get_or_init(|| match kdc_as_state("alice", 1).handle_reply(KDC_AS_REP) {
                Ok(AsProgress::Done(c)) => *c,
                _ => panic!("the captured AS-REP gives the TGT"),
            });
            // The environment where the capture's was: one nonce drawn by the AS-REQ.
            let env = kdc_env(1);
            let alice = Principal::new(NameType::PRINCIPAL, &["alice"], "EXAMPLE.TEST");
            let options = RequestOptions::default();
            let _ = AsExchange::start(
                &alice,
                crate::kerberos::kdc::ClientSecret::Keys(Vec::new()),
                &options,
                &env,
            );
            let web =
                Principal::new(NameType::SRV_HST, &["HTTP", "web.example.test"], "EXAMPLE.TEST");
            let (state, _) = TgsExchange::start(tgt, &web, &options, &env).expect("valid request");
            if let Ok(c) = state.handle_reply(reply) {
                // The client is compared as `check_client` and MIT compare principals: realm
                // and components, not the name type (which the reply carries in the clear).
                assert_eq!(
                    (&c.client.realm, &c.client.name.components),
                    (&alice.realm, &alice.name.components)
                );
                assert_eq!(c.server.name.components, ["HTTP", "web.example.test"]);
            }
        }
        _ => {
            // The same bytes as a krb5.conf `kdc =` entry, for the transport's parser.
            if let Ok(entry) = core::str::from_utf8(reply)
                && let Ok(kdc) = crate::kerberos::transport::parse_kdc(entry)
            {
                assert!(!kdc.host.is_empty() && kdc.port != 0);
            }
            let parsed = parse_krb_error(reply);
            assert_eq!(
                is_response_too_big(reply),
                matches!(parsed, Ok(Some(ref e)) if e.code == crate::kerberos::kdc::KRB_ERR_RESPONSE_TOO_BIG)
            );
        }
    }
}

// Kerberos files: keytab, credential cache, krb5.conf
// ---------------------------------------------------------------------------------------------

/// A keytab: parse, write, parse again: the same entries; writing again gives the same bytes.
pub fn keytab(data: &[u8]) {
    use crate::kerberos::keytab::Keytab;
    let Ok(kt) = Keytab::parse(data) else { return };
    let bytes = kt.to_bytes().expect("a parsed keytab writes");
    let again = Keytab::parse(&bytes).expect("a written keytab parses");
    assert_eq!(again.entries.len(), kt.entries.len());
    for (a, b) in kt.entries.iter().zip(&again.entries) {
        assert_eq!(a.principal, b.principal);
        assert_eq!((a.timestamp, a.kvno), (b.timestamp, b.kvno));
        assert!(a.key.ct_eq(&b.key));
    }
    assert_eq!(again.to_bytes().expect("writes again"), bytes);
    if let Some(first) = kt.entries.first() {
        let found = kt.find(&first.principal, None, None).expect("the first entry's principal");
        assert!(found.kvno >= first.kvno);
        assert!(kt.find(&first.principal, Some(first.kvno), Some(first.key.etype())).is_some());
    }
}

fn same_credential(a: &crate::kerberos::Credential, b: &crate::kerberos::Credential) -> bool {
    a.client == b.client
        && a.server == b.server
        && a.session_key.ct_eq(&b.session_key)
        && (a.auth_time, a.start_time, a.end_time, a.renew_till)
            == (b.auth_time, b.start_time, b.end_time, b.renew_till)
        && a.is_skey == b.is_skey
        && a.ticket_flags == b.ticket_flags
        && a.addresses == b.addresses
        && a.auth_data == b.auth_data
        && a.ticket == b.ticket
        && a.second_ticket == b.second_ticket
}

/// A credential cache: parse, write (versions 1 and 2 as version 4), parse again: the same
/// cache; writing again gives the same bytes. Also the lookups.
pub fn ccache(data: &[u8]) {
    use crate::kerberos::ccache::{CcacheVersion, CredentialCache};
    let Ok(mut cc) = CredentialCache::parse(data) else { return };
    if matches!(cc.version, CcacheVersion::V1 | CcacheVersion::V2) {
        cc.version = CcacheVersion::V4;
    }
    let bytes = cc.to_bytes().expect("a parsed cache writes");
    let again = CredentialCache::parse(&bytes).expect("a written cache parses");
    assert_eq!(again.version, cc.version);
    assert_eq!(again.kdc_time_offset, cc.kdc_time_offset);
    assert_eq!(again.other_header_fields, cc.other_header_fields);
    assert_eq!(again.default_principal, cc.default_principal);
    assert_eq!(again.credentials.len(), cc.credentials.len());
    for (a, b) in cc.credentials.iter().zip(&again.credentials) {
        assert!(same_credential(a, b));
    }
    assert_eq!(again.to_bytes().expect("writes again"), bytes);
    let realm = cc.default_principal.realm.clone();
    let _ = cc.tgt(&realm, 0);
    if let Some(c) = cc.credentials.first() {
        let _ = cc.find_ticket(&c.client, &c.server, c.end_time.saturating_sub(1));
    }
    let _ = cc.config("fast_avail", None);
}

/// krb5.conf text (includes not followed): parse, and ask what the KDC exchange asks.
pub fn krb5_conf(data: &[u8]) {
    use crate::kerberos::config::Krb5Config;
    let Ok(text) = core::str::from_utf8(data) else { return };
    let Ok(conf) = Krb5Config::parse_no_includes(text, "fuzz.conf") else { return };
    let realm = conf.default_realm().unwrap_or("EXAMPLE.TEST").to_owned();
    let _ = conf.kdcs(&realm);
    for host in ["web.example.test", "a.b.c.d", "example.test.", "127.0.0.1", "", "."] {
        let _ = conf.realm_for_host(host);
    }
    let _ = (conf.udp_preference_limit(), conf.clockskew(), conf.rdns());
    let _ = (conf.permitted_enctypes(), conf.default_tkt_enctypes(), conf.default_tgs_enctypes());
    let _ = conf.values(&["realms", &realm, "admin_server"]);
    // Parsing is deterministic.
    let again = Krb5Config::parse_no_includes(text, "fuzz.conf").expect("parses twice");
    assert_eq!(format!("{again:?}"), format!("{conf:?}"));
}

// ---- Kerberos crypto (src/kerberos/crypto) ----

/// The usages the `krb_decrypt` target picks from (RFC 4120 section 7.5.1, RFC 4121).
const KRB_USAGES: [u32; 11] = [2, 1, 3, 8, 9, 11, 12, 22, 23, 24, 25];

/// The fixed keys of the `krb_decrypt` target, one per enctype: the usage-2 keys of MIT's
/// `t_decrypt.c`, so MIT's usage-2 ciphertexts are valid inputs (the seeds hold them).
fn krb_fixed_keys() -> &'static [crate::kerberos::Key; 5] {
    use crate::kerberos::{EncType, Key};
    static KEYS: std::sync::OnceLock<[Key; 5]> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .filter_map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
                .collect()
        };
        [
            Key::new(EncType::AES128_CTS_HMAC_SHA1_96, &hex("9062430c8cda3388922e6d6a509f5b7a")),
            Key::new(
                EncType::AES256_CTS_HMAC_SHA1_96,
                &hex("b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7"),
            ),
            Key::new(EncType::AES128_CTS_HMAC_SHA256_128, &hex("3705d96080c17728a0e800eab6e0d23c")),
            Key::new(
                EncType::AES256_CTS_HMAC_SHA384_192,
                &hex("6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52"),
            ),
            Key::new(EncType::RC4_HMAC, &hex("3e40ab6093695281b3ac1a9304224d98")),
        ]
    })
}

/// The key and usage a `krb_decrypt` selector byte picks: enctype `selector % 5`, usage
/// `KRB_USAGES[(selector / 5) % 11]` (selectors 0..5 are usage 2).
pub fn krb_selector(
    selector: u8,
) -> (&'static crate::kerberos::Key, crate::kerberos::crypto::KeyUsage) {
    let keys = krb_fixed_keys();
    let key = &keys[usize::from(selector) % keys.len()];
    let usage = KRB_USAGES[(usize::from(selector) / keys.len()) % KRB_USAGES.len()];
    (key, crate::kerberos::crypto::KeyUsage(usage))
}

/// `krb_decrypt`: the first byte picks an enctype and usage ([`krb_selector`]), the rest is
/// decrypted as a ciphertext (never panics; a success has the plaintext length the overhead
/// says, and the in-place and buffer APIs agree with the free function), then encrypted as
/// a plaintext and decrypted again (must give it back), and checksummed (must verify, and
/// not verify with its first byte changed).
pub fn krb_decrypt(data: &[u8]) {
    use crate::kerberos::crypto::{DerivedKeys, decrypt, encrypt, make_checksum, verify_checksum};
    let Some((&selector, rest)) = data.split_first() else { return };
    let (key, usage) = krb_selector(selector);
    let keys = DerivedKeys::new(key, usage).expect("fixed keys have the right length");

    let result = decrypt(key, usage, rest);
    let mut buf = rest.to_vec();
    let in_place = keys.decrypt_in_place(&mut buf).map(|p| p.to_vec());
    let mut out = vec![0u8; rest.len()];
    let into = keys.decrypt_into(rest, &mut out).map(|n| out[..n].to_vec());
    assert_eq!(result, in_place);
    assert_eq!(result, into);
    match &result {
        Ok(plain) => assert_eq!(plain.len() + keys.overhead(), rest.len()),
        Err(Error::InvalidToken(_)) => assert!(rest.len() < keys.overhead()),
        Err(e) => assert_eq!(*e, Error::MessageAltered),
    }

    let random = SeededRandom::new(u64::from(selector));
    let sealed = encrypt(key, usage, rest, &random).expect("encryption of any plaintext");
    assert_eq!(sealed.len(), rest.len() + keys.overhead());
    assert_eq!(decrypt(key, usage, &sealed).expect("own ciphertext"), rest);

    let sum = make_checksum(key, usage, rest).expect("checksum");
    verify_checksum(key, usage, rest, &sum).expect("own checksum");
    let mut bad = sum.clone();
    if let Some(b) = bad.first_mut() {
        *b ^= 0x80;
    }
    assert_eq!(verify_checksum(key, usage, rest, &bad), Err(Error::MessageAltered));
}

/// Writes the `krb_decrypt` seeds (MIT's usage-2 ciphertexts of `t_decrypt.c` for each
/// enctype, and sspi-emu's own encryptions under other usages) into `dir`.
///
/// # Errors
/// An I/O error from writing the files.
pub fn write_krb_decrypt_seeds(dir: &std::path::Path) -> std::io::Result<()> {
    use crate::kerberos::crypto::encrypt;
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
            .collect()
    };
    // MIT t_decrypt.c, the usage-2 rows (selector = enctype index, usage 2).
    let mit = [
        (0u8, "68fb9679601f45c78857b2bf820fd6e53eca8d42fd4b1d7024a09205abb7cd2ec26c355d2f"),
        (1, "09957aa25fcaf88f7b39e4406e633012d5fea21853f6478da7065caef41fd454a40824eec5"),
        (2, "ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718"),
        (
            2,
            "720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bce1e6d072c186b39a413c2f92ca9b8334a287ffcbfc",
        ),
        (3, "41f53fa5bfe7026d91faf9be959195a058707273a96a40f0a01960621ac612748b9bbfbe7eb4ce3c"),
        (
            3,
            "40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62",
        ),
        (4, "0f9ad121d99d4a09448e4f1f718c4f5cbe6096262c66f29df232a87c9f98755d55"),
    ];
    std::fs::create_dir_all(dir)?;
    for (i, (selector, cipher)) in mit.iter().enumerate() {
        let mut seed = vec![*selector];
        seed.extend_from_slice(&hex(cipher));
        std::fs::write(dir.join(format!("mit-t_decrypt-{i}")), seed)?;
    }
    let random = SeededRandom::new(99);
    for selector in [5u8, 11, 17, 23, 29, 36, 42, 48, 54] {
        let (key, usage) = krb_selector(selector);
        let plain = format!("sspi-emu {selector} usage {}", usage.0);
        let Ok(cipher) = encrypt(key, usage, plain.as_bytes(), &random) else { continue };
        let mut seed = vec![selector];
        seed.extend_from_slice(&cipher);
        std::fs::write(dir.join(format!("sspi-emu-{selector}")), seed)?;
    }
    Ok(())
}

/// The number of live credentials and context handles in the `sspi::` table, for tests that
/// own their process (`tests/races.rs`) and fuzz targets: after every handle is deleted, both
/// must be 0.
pub fn live_handles() -> (usize, usize) {
    crate::sspi::live_handles()
}

/// Checks that the seeds committed in `fuzz/seeds/<target>/<name>` are the ones the
/// generators make (a changed generator fails here until they are written again), or writes
/// them when `SSPI_EMU_WRITE_SEEDS` is set: `SSPI_EMU_WRITE_SEEDS=1 cargo test --lib fuzzing`.
#[cfg(test)]
pub(crate) fn seeds_are_current<'a>(seeds: impl IntoIterator<Item = (&'a str, &'a str, &'a [u8])>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let write = std::env::var_os("SSPI_EMU_WRITE_SEEDS").is_some();
    for (target, name, seed) in seeds {
        let path = root.join(target).join(name);
        if write {
            std::fs::create_dir_all(root.join(target)).unwrap();
            std::fs::write(&path, seed).unwrap();
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (write the seeds: SSPI_EMU_WRITE_SEEDS=1 cargo test --lib fuzzing)",
                path.display()
            )
        });
        assert!(
            on_disk == seed,
            "{} is not what its generator makes (SSPI_EMU_WRITE_SEEDS=1 cargo test --lib fuzzing)",
            path.display()
        );
    }
}

#[cfg(test)]
mod krb_tests {
    /// Found by the `kdc_reply` target (built with `-a`) in CI: a genuine TGS-REP whose
    /// clear-text cname says name type 63. The reply is accepted, as MIT accepts it (names
    /// are compared by realm and components); the target had asserted the name type too.
    #[test]
    fn tgs_reply_with_another_client_name_type() {
        let input = include_bytes!("../tests/data/fuzz/kdc_reply-tgs-cname-type-63.bin");
        super::kdc_reply(input);
    }

    #[test]
    fn krb_decrypt_seeds_are_accepted() {
        let dir = std::env::temp_dir().join(format!("krb-seeds-{}", std::process::id()));
        super::write_krb_decrypt_seeds(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let seed = std::fs::read(entry.unwrap().path()).unwrap();
            let (key, usage) = super::krb_selector(seed[0]);
            crate::kerberos::crypto::decrypt(key, usage, &seed[1..]).unwrap();
            super::krb_decrypt(&seed);
        }
        std::fs::remove_dir_all(&dir).unwrap();
        super::krb_decrypt(&[]);
        super::krb_decrypt(&[7]);
        super::krb_decrypt(&[200; 40]);
    }

    /// Regenerates `fuzz/seeds/krb_decrypt`:
    /// `cargo test --lib fuzzing::krb_tests::write_seeds -- --ignored`.
    #[test]
    #[ignore = "writes into the source tree"]
    fn write_seeds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/krb_decrypt");
        super::write_krb_decrypt_seeds(&dir).unwrap();
    }
}
