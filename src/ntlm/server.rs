//! The NTLM acceptor (MS-NLMP 3.2.5).
//!
//! ```text
//!   Initial ──step(NEGOTIATE)──▶ CHALLENGE ──▶ WaitAuthenticate
//!   WaitAuthenticate ──step(AUTHENTICATE)──▶ (no token) ──▶ Established
//!   any error ──▶ Failed (every later step is WrongState)
//! ```
//!
//! The acceptor proves the password itself: it recomputes NTProofStr over the client's NTLMv2
//! blob exactly as received, whether or not a MIC is present, and only then looks at the MIC,
//! the timestamp, the target name and the channel bindings.
//!
//! What it accepts follows Windows for NTLMv2 clients (see the manual's table): names in
//! Unicode or in the OEM code page, as the client offers; authentication-only contexts
//! (neither SIGN nor SEAL) without 128-bit keys; no MIC when the client's blob does not
//! announce one, unless [`ServerConfig::require_mic`]. Never loosened: NTLMv2 only,
//! NTProofStr, the clock window, target names and channel bindings, and a MIC whenever the
//! blob announces one (`MsvAvFlags` bit 0x2, which NTProofStr covers: CVE-2019-1040).

use super::flags::NegotiateFlags as F;
use super::keys::{
    ResponseKey, mic, nt_proof, ntowfv2, ntowfv2_ascii_utf16, rc4k, session_base_key,
};
use super::messages::{
    AV_FLAG_MIC_PRESENT, Authenticate, AvId, AvPairs, Challenge, ChallengeOut, ClientBlob, Data,
    Negotiate, Version, around_mic, write_av_pair,
};
use super::session::Session;
use super::users::UserStore;
use super::{Established, IdentityRef, Names, OemCodePage, Output, push_utf16};
use crate::bindings::ChannelBindings;
use crate::crypto::{Key16, NtHash, ct_eq_words, utf16le};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::flags::{AscReq, AscRet};
use std::sync::Arc;
use std::time::Duration;

/// The names a server announces in its CHALLENGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerNames {
    /// NetBIOS computer name (`MsvAvNbComputerName`).
    pub nb_computer: String,
    /// NetBIOS domain name (`MsvAvNbDomainName`); with a non-empty value the server presents
    /// itself as a domain member (TARGET_TYPE_DOMAIN).
    pub nb_domain: String,
    /// DNS computer name (`MsvAvDnsComputerName`), omitted if empty.
    pub dns_computer: String,
    /// DNS domain name (`MsvAvDnsDomainName`), omitted if empty.
    pub dns_domain: String,
}

impl Default for ServerNames {
    fn default() -> Self {
        Self {
            nb_computer: "SERVER".into(),
            nb_domain: "WORKGROUP".into(),
            dns_computer: String::new(),
            dns_domain: String::new(),
        }
    }
}

/// [`ServerNames`] as every CHALLENGE carries them, encoded once per set of names rather
/// than once per handshake.
pub(crate) struct Announced {
    pub(crate) names: ServerNames,
    /// `MsvAvNbDomainName`, `MsvAvNbComputerName` and the DNS names that are set, as encoded
    /// AV pairs (MS-NLMP 2.2.2.1): the start of every TargetInfo, which goes on with the
    /// timestamp and `MsvAvEOL`.
    av_pairs: Vec<u8>,
    /// Where the UTF-16 NetBIOS domain and computer names are in `av_pairs` (one of them is
    /// the TargetName).
    nb_domain: core::ops::Range<usize>,
    nb_computer: core::ops::Range<usize>,
    /// A name is too long for an AV pair: every CHALLENGE fails.
    too_long: bool,
}

impl Announced {
    pub(crate) fn new(names: ServerNames) -> Self {
        let mut av_pairs = Vec::new();
        let mut ranges = [0..0, 0..0];
        let mut too_long = false;
        // NbDomainName and NbComputerName are mandatory (MS-NLMP 2.2.2.1); DNS names optional.
        let entries = [
            (AvId::NB_DOMAIN_NAME, &names.nb_domain),
            (AvId::NB_COMPUTER_NAME, &names.nb_computer),
            (AvId::DNS_DOMAIN_NAME, &names.dns_domain),
            (AvId::DNS_COMPUTER_NAME, &names.dns_computer),
        ];
        for (n, (id, text)) in entries.into_iter().enumerate() {
            if n >= 2 && text.is_empty() {
                continue;
            }
            let value = utf16le(text);
            if write_av_pair(&mut av_pairs, id, &value).is_err() {
                too_long = true;
                continue;
            }
            if let Some(range) = ranges.get_mut(n) {
                *range = av_pairs.len() - value.len()..av_pairs.len();
            }
        }
        let [nb_domain, nb_computer] = ranges;
        Self { names, av_pairs, nb_domain, nb_computer, too_long }
    }
}

impl core::fmt::Debug for Announced {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.names.fmt(f)
    }
}

/// What an acceptor needs.
#[derive(Clone)]
pub(crate) struct ServerConfig {
    pub(crate) users: Arc<dyn UserStore>,
    pub(crate) names: Arc<Announced>,
    pub(crate) version: Option<Version>,
    pub(crate) requested: AscReq,
    pub(crate) channel_bindings: Option<ChannelBindings>,
    pub(crate) accepted_targets: Vec<String>,
    pub(crate) max_clock_skew: Duration,
    /// Refuse an AUTHENTICATE whose blob does not announce a MIC.
    pub(crate) require_mic: bool,
    /// How OEM names (a client without Unicode) are read and written.
    pub(crate) oem_code_page: OemCodePage,
    pub(crate) env: Environment,
}

/// An acceptor: its configuration and where its handshake stands.
pub(crate) struct Server {
    pub(crate) config: ServerConfig,
    pub(crate) state: ServerState,
}

/// The server's states (see the module docs for the diagram).
pub(crate) enum ServerState {
    Initial,
    WaitAuthenticate(WaitAuthenticate),
    Established(Box<Established>),
    Failed,
}

pub(crate) struct WaitAuthenticate {
    /// The NEGOTIATE and CHALLENGE messages, one after the other, for the MIC.
    pub(crate) transcript: Vec<u8>,
    /// Where the CHALLENGE starts in `transcript`.
    pub(crate) negotiate_len: usize,
    pub(crate) server_challenge: [u8; 8],
    pub(crate) flags: F,
}

/// Flags that make the session key protect messages: with either, 128-bit keys are required.
const PROTECTS_MESSAGES: F = F(F::SIGN.0 | F::SEAL.0);

/// Flags the server may grant if the client offers them.
const GRANTABLE: F = F(F::UNICODE.0
    | F::SIGN.0
    | F::SEAL.0
    | F::NTLM.0
    | F::ALWAYS_SIGN.0
    | F::EXTENDED_SESSION_SECURITY.0
    | F::IDENTIFY.0
    | F::NEGOTIATE_128.0
    | F::KEY_EXCH.0
    | F::NEGOTIATE_56.0);

/// Flags whose meaning is security: the AUTHENTICATE may not set one the CHALLENGE did not.
const SECURITY: F = F(F::SIGN.0
    | F::SEAL.0
    | F::ALWAYS_SIGN.0
    | F::KEY_EXCH.0
    | F::NEGOTIATE_128.0
    | F::NEGOTIATE_56.0
    | F::DATAGRAM.0
    | F::IDENTIFY.0
    | F::LM_KEY.0);

impl Server {
    pub(crate) fn new(config: ServerConfig) -> Result<Self> {
        if config.requested.contains(AscReq::DATAGRAM) {
            return Err(Error::NotSupported("connectionless (datagram) NTLM"));
        }
        Ok(Self { config, state: ServerState::Initial })
    }

    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<Output> {
        let state = core::mem::replace(&mut self.state, ServerState::Failed);
        let config = &self.config;
        let input = match input {
            Some(bytes) if !bytes.is_empty() => bytes,
            _ => return Err(Error::InvalidToken("the acceptor needs a token")),
        };
        let (next, output) = match state {
            ServerState::Initial => challenge(config, input)?,
            ServerState::WaitAuthenticate(wait) => accept(config, wait, input)?,
            ServerState::Established(_) => {
                return Err(Error::WrongState("the context is already established"));
            }
            ServerState::Failed => return Err(Error::WrongState("the handshake failed earlier")),
        };
        self.state = next;
        Ok(output)
    }
}

fn challenge(config: &ServerConfig, negotiate: &[u8]) -> Result<(ServerState, Output)> {
    let parsed = Negotiate::parse(negotiate)?;
    let asked = parsed.flags;
    // MS-NLMP 3.2.5.1.1: Unicode if the client offers it, else OEM.
    let unicode = asked.contains(F::UNICODE);
    if !unicode && !asked.contains(F::OEM) {
        return Err(Error::InvalidToken("the NEGOTIATE offers neither Unicode nor OEM names"));
    }
    if !asked.contains(F::EXTENDED_SESSION_SECURITY) {
        return Err(Error::NotSupported(
            "NTLM without extended session security (LM/NTLMv1 session keys)",
        ));
    }
    // 40- and 56-bit keys would protect messages weakly; a context that protects none
    // (authentication only: neither SIGN nor SEAL) needs no 128-bit keys.
    if asked.intersects(PROTECTS_MESSAGES) && !asked.contains(F::NEGOTIATE_128) {
        return Err(Error::NotSupported("40- and 56-bit NTLM keys"));
    }
    if asked.contains(F::ANONYMOUS) {
        return Err(Error::NotSupported("anonymous NTLM logon"));
    }
    if config.requested.contains(AscReq::CONFIDENTIALITY) && !asked.contains(F::SEAL) {
        return Err(Error::NotSupported("the client did not offer confidentiality"));
    }
    if config.requested.contains(AscReq::INTEGRITY) && !asked.contains(F::SIGN) {
        return Err(Error::NotSupported("the client did not offer integrity"));
    }
    let announced = &*config.names;
    if announced.too_long {
        return Err(Error::InvalidParameter("a server name is too long for an AV_PAIR"));
    }
    let domain_member = !announced.names.nb_domain.is_empty();
    let mut flags = (asked & GRANTABLE) | F::TARGET_INFO;
    flags |= if domain_member { F::TARGET_TYPE_DOMAIN } else { F::TARGET_TYPE_SERVER };
    if asked.contains(F::REQUEST_TARGET) {
        flags |= F::REQUEST_TARGET;
    }
    if config.version.is_some() {
        flags |= F::VERSION;
    }
    if !unicode {
        flags |= F::OEM;
    }
    let target_name = match (asked.contains(F::REQUEST_TARGET), domain_member) {
        (false, _) => None,
        (true, true) => announced.av_pairs.get(announced.nb_domain.clone()),
        (true, false) => announced.av_pairs.get(announced.nb_computer.clone()),
    };
    // An OEM client gets the TargetName in its code page. The AV pairs are always UTF-16
    // (MS-NLMP 2.2.2.1).
    let oem_target_name;
    let target_name = match target_name {
        Some(_) if !unicode => {
            oem_target_name = oem_target_name_of(announced, domain_member, config.oem_code_page);
            Some(&oem_target_name[..])
        }
        other => other,
    };

    // TargetInfo: the names, MsvAvTimestamp, MsvAvEOL.
    let mut timestamp = [0u8; 12];
    timestamp[..2].copy_from_slice(&AvId::TIMESTAMP.0.to_le_bytes());
    timestamp[2..4].copy_from_slice(&8u16.to_le_bytes());
    timestamp[4..].copy_from_slice(&config.env.now().0.to_le_bytes());
    let target_info: [&[u8]; 3] = [&announced.av_pairs, &timestamp, &[0; 4]];

    let server_challenge: [u8; 8] = config.env.random()?;
    let token = ChallengeOut {
        target_name: Data::Bytes(target_name.unwrap_or_default()),
        flags,
        server_challenge,
        target_info: Data::Parts(&target_info),
        version: config.version,
    }
    .encode()?;
    let mut transcript = Vec::with_capacity(negotiate.len() + token.len());
    transcript.extend_from_slice(negotiate);
    transcript.extend_from_slice(&token);
    let wait =
        WaitAuthenticate { transcript, negotiate_len: negotiate.len(), server_challenge, flags };
    Ok((ServerState::WaitAuthenticate(wait), Output { token, complete: false }))
}

/// Whether the client's AV pairs hold the `MsvAvTimestamp` of the CHALLENGE this acceptor
/// sent (`challenge`, as sent). Only a logon without a MIC asks: out of line and cold.
#[cold]
#[inline(never)]
fn echoes_challenge_timestamp(challenge: &[u8], client: &AvPairs<'_>) -> Result<bool> {
    let sent = AvPairs::parse(Challenge::parse(challenge)?.target_info)?.timestamp()?;
    Ok(sent.is_some() && client.timestamp()? == sent)
}

/// The TargetName of an OEM CHALLENGE: the NetBIOS domain (or computer) name in the code
/// page, a character it lacks written `?` (the name is informational). Out of line and cold:
/// the Unicode handshake's code stays as small as it was.
#[cold]
#[inline(never)]
fn oem_target_name_of(announced: &Announced, domain_member: bool, cp: OemCodePage) -> Vec<u8> {
    let names = &announced.names;
    cp.encode_lossy(if domain_member { &names.nb_domain } else { &names.nb_computer })
}

fn utf16_string(bytes: &[u8], what: &'static str) -> Result<String> {
    let mut out = String::with_capacity(bytes.len() / 2);
    push_utf16(&mut out, bytes, what)?;
    Ok(out)
}

fn accept(
    config: &ServerConfig,
    wait: WaitAuthenticate,
    message: &[u8],
) -> Result<(ServerState, Output)> {
    let WaitAuthenticate { transcript, negotiate_len, server_challenge, flags: offered } = wait;
    let (negotiate, challenge) =
        transcript.split_at_checked(negotiate_len).ok_or(Error::WrongState("transcript"))?;
    let auth = Authenticate::parse(message)?;

    // What kind of response is this? Refuse everything but NTLMv2.
    if auth.flags.contains(F::ANONYMOUS) || (auth.nt_response.is_empty() && auth.user.is_empty()) {
        return Err(Error::NotSupported("anonymous NTLM logon"));
    }
    if auth.nt_response.len() == 24 {
        return Err(Error::NotSupported("NTLMv1 responses (broken by offline cracking)"));
    }
    let (proof_received, blob) = match auth.nt_response.split_first_chunk::<16>() {
        Some((proof, blob)) if blob.len() >= ClientBlob::FIXED + 4 => (proof, blob),
        _ => return Err(Error::InvalidToken("NT response too short for NTLMv2")),
    };
    let client = ClientBlob::parse(blob)?;
    let flags = auth.flags;
    // The names are in the character set the CHALLENGE chose.
    let unicode = offered.contains(F::UNICODE);
    if flags.contains(F::UNICODE) != unicode {
        return Err(Error::InvalidToken(
            "the AUTHENTICATE does not use the character set its CHALLENGE chose",
        ));
    }
    if !flags.contains(F::EXTENDED_SESSION_SECURITY) {
        return Err(Error::NotSupported(
            "NTLM without extended session security (LM/NTLMv1 session keys)",
        ));
    }
    if flags.intersects(PROTECTS_MESSAGES) && !flags.contains(F::NEGOTIATE_128) {
        return Err(Error::NotSupported("40- and 56-bit NTLM keys"));
    }
    if (flags & SECURITY & !offered).0 != 0 {
        return Err(Error::InvalidToken("AUTHENTICATE sets security flags the CHALLENGE did not"));
    }
    // What the acceptor asked for must survive to the end, not only into the CHALLENGE.
    if config.requested.contains(AscReq::CONFIDENTIALITY) && !flags.contains(F::SEAL) {
        return Err(Error::NotSupported("the client dropped confidentiality"));
    }
    if config.requested.contains(AscReq::INTEGRITY) && !flags.contains(F::SIGN) {
        return Err(Error::NotSupported("the client dropped integrity"));
    }
    // The client's names, decoded into one allocation.
    let (names, ascii) = if unicode {
        Names::from_utf16([
            (auth.user, "user name is not valid UTF-16"),
            (auth.domain, "domain name is not valid UTF-16"),
            (auth.workstation, "workstation name is not valid UTF-16"),
        ])?
    } else {
        // `ascii` is about the UTF-16 fast path below, which OEM names never take.
        (Names::from_oem([auth.user, auth.domain, auth.workstation], config.oem_code_page), false)
    };
    let IdentityRef { user, domain, .. } = names.as_ref();

    // The proof of the password, over the blob exactly as received.
    // An unknown user takes the same path as a wrong password (with a hash no password
    // has), so the time taken does not tell the two apart.
    let found = config.users.nt_hash(user, domain);
    let known = found.is_some();
    let hash = found.unwrap_or_else(|| NtHash::from_bytes([0; 16]));
    let key = ResponseKey::new(&if ascii {
        // The names as received are already the UTF-16 that NTOWFv2 hashes.
        ntowfv2_ascii_utf16(&hash, auth.user, auth.domain)
    } else {
        ntowfv2(&hash, user, domain)
    });
    let proof = nt_proof(&key, &server_challenge, blob);
    if !(ct_eq_words(&proof, proof_received) & known) {
        return Err(Error::LogonDenied);
    }

    let base = session_base_key(&key, &proof);
    let exported = if flags.contains(F::KEY_EXCH) {
        let encrypted: &[u8; 16] = auth
            .encrypted_session_key
            .try_into()
            .map_err(|_| Error::InvalidToken("KEY_EXCH without a 16-byte session key"))?;
        rc4k(&base, encrypted)
    } else {
        base
    };

    // The MIC binds all three messages. A blob that announces one (MsvAvFlags 0x2) must
    // carry the right one: NTProofStr covers the blob, so the announcement cannot be
    // stripped (CVE-2019-1040). A blob that announces none is a client that sends none
    // (curl; MS-NLMP 3.1.5.1.2 asks for one since this server sends a timestamp, but
    // Windows accepts it), refused under `require_mic`; otherwise its blob must hold the
    // timestamp this CHALLENGE sent. A client that saw it copies it (curl and gss-ntlmssp
    // copy the whole TargetInfo): a blob without it means the timestamp was hidden in flight
    // so that the client would send no MIC, the downgrade that lets an attacker then take
    // SIGN away unseen. Windows does not check this; sspi-emu is stricter.
    let av = &client.av_pairs;
    if av.flags()? & AV_FLAG_MIC_PRESENT != 0 {
        let received_mic = auth.mic.ok_or(Error::InvalidToken("MIC announced but missing"))?;
        let (before, after) = around_mic(message)?;
        let expected_mic = mic(&exported, negotiate, challenge, before, after);
        if !ct_eq_words(&expected_mic, &received_mic) {
            return Err(Error::MessageAltered);
        }
    } else if config.require_mic {
        return Err(Error::InvalidToken("the AUTHENTICATE message has no MIC"));
    } else if !echoes_challenge_timestamp(challenge, av)? {
        return Err(Error::MessageAltered);
    }

    let now = config.env.now();
    if now.abs_diff(crate::env::FileTime(client.timestamp)) > config.max_clock_skew {
        return Err(Error::TimeSkew);
    }
    if !config.accepted_targets.is_empty() {
        let name = av.get(AvId::TARGET_NAME).ok_or(Error::WrongPrincipal)?;
        let name = utf16_string(name, "target name is not valid UTF-16")?;
        if !config.accepted_targets.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            return Err(Error::WrongPrincipal);
        }
    }
    if let Some(bindings) = &config.channel_bindings {
        let expected = bindings.md5()?;
        let got = av.fixed::<16>(AvId::CHANNEL_BINDINGS)?.ok_or(Error::BadBindings)?;
        if !ct_eq_words(&expected, &got) {
            return Err(Error::BadBindings);
        }
    }

    let r = config.requested;
    let mut ret = AscRet::CONNECTION;
    if flags.contains(F::SIGN) {
        ret |= AscRet::INTEGRITY;
        if r.contains(AscReq::REPLAY_DETECT) {
            ret |= AscRet::REPLAY_DETECT;
        }
        if r.contains(AscReq::SEQUENCE_DETECT) {
            ret |= AscRet::SEQUENCE_DETECT;
        }
    }
    if flags.contains(F::SEAL) {
        ret |= AscRet::CONFIDENTIALITY;
    }
    if flags.contains(F::IDENTIFY) {
        ret |= AscRet::IDENTIFY;
    }
    let detect = r.contains(AscReq::REPLAY_DETECT) || r.contains(AscReq::SEQUENCE_DETECT);
    let established = Established {
        session: Session::new(Key16::clone(&exported), flags, false, detect),
        identity: names,
        attributes: ret.0,
        logon_time: now,
    };
    Ok((
        ServerState::Established(Box::new(established)),
        Output { token: Vec::new(), complete: true },
    ))
}

/// The default names, shared: making (or importing) acceptors allocates no copy of them.
pub(crate) fn default_names() -> Arc<Announced> {
    static DEFAULT: std::sync::LazyLock<Arc<Announced>> =
        std::sync::LazyLock::new(|| Arc::new(Announced::new(ServerNames::default())));
    Arc::clone(&DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::{Announced, ServerNames, utf16_string};
    use crate::crypto::utf16le;
    use crate::ntlm::messages::{AvId, AvPairs};

    #[test]
    fn announced_names_are_the_av_pairs_of_ms_nlmp_2_2_2_1() {
        let sets = [
            ServerNames::default(),
            ServerNames {
                nb_computer: "HOST".into(),
                nb_domain: String::new(),
                dns_computer: "host.example.com".into(),
                dns_domain: "example.com".into(),
            },
            ServerNames {
                nb_computer: "S\u{e9}RVER\u{1f600}".into(),
                nb_domain: "DOM".into(),
                dns_computer: String::new(),
                dns_domain: "d\u{f6}m.example".into(),
            },
        ];
        for names in sets {
            let announced = Announced::new(names.clone());
            assert!(!announced.too_long);
            // The same list built pair by pair, in the order MS-NLMP 2.2.2.1 lists them.
            let texts =
                [&names.nb_domain, &names.nb_computer, &names.dns_domain, &names.dns_computer]
                    .map(|t| utf16le(t));
            let mut av = AvPairs::default();
            av.set(AvId::NB_DOMAIN_NAME, &texts[0]).unwrap();
            av.set(AvId::NB_COMPUTER_NAME, &texts[1]).unwrap();
            for (n, id) in [(2, AvId::DNS_DOMAIN_NAME), (3, AvId::DNS_COMPUTER_NAME)] {
                if !texts[n].is_empty() {
                    av.set(id, &texts[n]).unwrap();
                }
            }
            let mut expected = av.encode().unwrap();
            expected.truncate(expected.len() - 4); // without MsvAvEOL
            assert_eq!(announced.av_pairs, expected);
            assert_eq!(announced.av_pairs[announced.nb_domain.clone()], texts[0][..]);
            assert_eq!(announced.av_pairs[announced.nb_computer.clone()], texts[1][..]);
        }
    }

    #[test]
    fn a_name_too_long_for_an_av_pair_is_remembered() {
        let names = ServerNames { nb_computer: "x".repeat(40_000), ..ServerNames::default() };
        assert!(Announced::new(names).too_long);
    }

    fn utf16(units: &[u16]) -> Vec<u8> {
        units.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn names_decode_from_utf16le() {
        // ASCII (the fast path), then the general path: non-ASCII BMP, a surrogate pair.
        assert_eq!(utf16_string(&utf16(&[0x41, 0x6c, 0x7f]), "x").unwrap(), "Al\u{7f}");
        assert_eq!(utf16_string(&utf16(&[0x41, 0xe9, 0x80]), "x").unwrap(), "A\u{e9}\u{80}");
        assert_eq!(utf16_string(&utf16(&[0xd83d, 0xde00, 0x41]), "x").unwrap(), "\u{1f600}A");
        assert_eq!(utf16_string(&[], "x").unwrap(), "");
    }

    #[test]
    fn bad_utf16_names_are_refused() {
        assert!(utf16_string(&[0x41], "odd").is_err());
        assert!(utf16_string(&utf16(&[0x41, 0xd83d]), "lone high").is_err());
        assert!(utf16_string(&utf16(&[0xde00, 0x41]), "lone low").is_err());
    }
}
