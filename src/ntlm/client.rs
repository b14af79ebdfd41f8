//! The NTLM initiator (MS-NLMP 3.1.5).
//!
//! ```text
//!   Initial ──step(None)──▶ NEGOTIATE ──▶ WaitChallenge
//!   WaitChallenge ──step(CHALLENGE)──▶ AUTHENTICATE ──▶ Established
//!   any error ──▶ Failed (every later step is WrongState)
//! ```

use super::flags::NegotiateFlags as F;
use super::keys::{ResponseKey, lmv2_response, mic, nt_proof, ntowfv2, rc4k, session_base_key};
use super::messages::Version;
use super::messages::{
    AV_FLAG_MIC_PRESENT, AuthenticateOut, AvId, AvPairs, Challenge, ClientBlob, Data, Negotiate,
    set_mic,
};
use super::session::Session;
use super::{Established, OemCodePage, Output};
use crate::bindings::ChannelBindings;
use crate::crypto::{Key16, NtHash, utf16le};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::flags::{IscReq, IscRet};
use std::sync::{Arc, OnceLock};

/// Who an initiator is: made once per [`crate::Credentials`] and shared by every context made
/// from them.
pub(crate) struct ClientSecret {
    pub(crate) user: String,
    pub(crate) domain: String,
    pub(crate) nt_hash: NtHash,
    /// NTOWFv2 as a keyed HMAC state. It depends only on the three fields above, so it is
    /// computed at most once per credentials (on first use: an imported established context
    /// never needs it), not once per handshake; that takes six of the MD5 compressions of a
    /// client's handshake away. Boxed: an empty `OnceLock` leaves its payload's bytes as the
    /// stack held them when the secret was built, keys included, and they were freed with
    /// it unwiped (`tests/wiped.rs` saw exactly that); a pointer has no room for a key.
    response_key: OnceLock<Box<ResponseKey>>,
}

impl ClientSecret {
    pub(crate) fn new(user: String, domain: String, nt_hash: NtHash) -> Arc<Self> {
        Arc::new(Self { user, domain, nt_hash, response_key: OnceLock::new() })
    }

    fn response_key(&self) -> &ResponseKey {
        self.response_key.get_or_init(|| {
            Box::new(ResponseKey::new(&ntowfv2(&self.nt_hash, &self.user, &self.domain)))
        })
    }
}

impl core::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// What an initiator needs: who it is, and what it asks for.
#[derive(Debug, Clone)]
pub(crate) struct ClientConfig {
    pub(crate) secret: Arc<ClientSecret>,
    pub(crate) workstation: String,
    pub(crate) version: Option<Version>,
    pub(crate) target_name: Option<String>,
    pub(crate) channel_bindings: Option<ChannelBindings>,
    pub(crate) requested: IscReq,
    /// How the names are written if the server answers in OEM rather than Unicode.
    pub(crate) oem_code_page: OemCodePage,
    pub(crate) env: Environment,
}

/// An initiator: its configuration and where its handshake stands.
pub(crate) struct Client {
    pub(crate) config: ClientConfig,
    pub(crate) state: ClientState,
}

/// The client's states (see the module docs for the diagram).
pub(crate) enum ClientState {
    Initial,
    WaitChallenge(WaitChallenge),
    Established(Box<Established>),
    Failed,
}

pub(crate) struct WaitChallenge {
    /// The NEGOTIATE message as sent, for the MIC.
    pub(crate) negotiate: SentNegotiate,
    pub(crate) flags: F,
}

/// The NEGOTIATE message this client sent. It names no domain or workstation, so it is 32
/// bytes, or 40 with VERSION: it is kept inline rather than allocated.
pub(crate) struct SentNegotiate {
    bytes: [u8; SentNegotiate::MAX],
    len: usize,
}

impl SentNegotiate {
    const MAX: usize = 40;

    /// `None` if `bytes` is longer than any NEGOTIATE this client sends.
    pub(crate) fn new(bytes: &[u8]) -> Option<Self> {
        let mut kept = Self { bytes: [0; Self::MAX], len: bytes.len() };
        kept.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(kept)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The flags this client can use; anything else a server offers is dropped.
const SUPPORTED: F = F(F::UNICODE.0
    | F::REQUEST_TARGET.0
    | F::SIGN.0
    | F::SEAL.0
    | F::NTLM.0
    | F::ALWAYS_SIGN.0
    | F::EXTENDED_SESSION_SECURITY.0
    | F::IDENTIFY.0
    | F::VERSION.0
    | F::NEGOTIATE_128.0
    | F::KEY_EXCH.0
    | F::NEGOTIATE_56.0);

impl ClientConfig {
    /// The initiator's own names: the identity of its established contexts.
    pub(crate) fn identity(&self) -> super::IdentityRef<'_> {
        super::IdentityRef {
            user: &self.secret.user,
            domain: &self.secret.domain,
            workstation: &self.workstation,
        }
    }

    fn negotiate_flags(&self) -> F {
        let r = self.requested;
        let mut flags = F::UNICODE
            | F::REQUEST_TARGET
            | F::NTLM
            | F::ALWAYS_SIGN
            | F::EXTENDED_SESSION_SECURITY
            | F::NEGOTIATE_128
            | F::KEY_EXCH
            | F::NEGOTIATE_56;
        if self.version.is_some() {
            flags |= F::VERSION;
        }
        if r.contains(IscReq::CONFIDENTIALITY) {
            flags |= F::SEAL | F::SIGN;
        }
        if r.contains(IscReq::INTEGRITY)
            || r.contains(IscReq::REPLAY_DETECT)
            || r.contains(IscReq::SEQUENCE_DETECT)
        {
            flags |= F::SIGN;
        }
        if r.contains(IscReq::IDENTIFY) {
            flags |= F::IDENTIFY;
        }
        flags
    }
}

impl Client {
    pub(crate) fn new(config: ClientConfig) -> Result<Self> {
        if config.requested.contains(IscReq::DATAGRAM) {
            return Err(Error::NotSupported("connectionless (datagram) NTLM"));
        }
        if config.requested.contains(IscReq::NULL_SESSION) {
            return Err(Error::NotSupported("anonymous NTLM logon"));
        }
        Ok(Self { config, state: ClientState::Initial })
    }

    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<Output> {
        let state = core::mem::replace(&mut self.state, ClientState::Failed);
        let config = &self.config;
        let (next, output) = match (state, input) {
            (ClientState::Initial, None | Some([])) => start(config)?,
            (ClientState::WaitChallenge(wait), Some(challenge)) if !challenge.is_empty() => {
                authenticate(config, wait, challenge)?
            }
            (ClientState::Initial, Some(_)) => {
                return Err(Error::InvalidToken("the initiator's first call takes no token"));
            }
            (ClientState::WaitChallenge(_), _) => {
                return Err(Error::InvalidToken("a CHALLENGE message is required"));
            }
            (ClientState::Established(_), _) => {
                return Err(Error::WrongState("the context is already established"));
            }
            (ClientState::Failed, _) => {
                return Err(Error::WrongState("the handshake failed earlier"));
            }
        };
        self.state = next;
        Ok(output)
    }
}

fn start(config: &ClientConfig) -> Result<(ClientState, Output)> {
    let flags = config.negotiate_flags();
    let negotiate = Negotiate {
        flags,
        domain: &[],
        workstation: &[],
        version: if flags.contains(F::VERSION) { config.version } else { None },
    }
    .encode()?;
    let sent = SentNegotiate::new(&negotiate)
        .ok_or(Error::WrongState("a NEGOTIATE longer than this client sends"))?;
    let output = Output { token: negotiate, complete: false };
    Ok((ClientState::WaitChallenge(WaitChallenge { negotiate: sent, flags }), output))
}

fn authenticate(
    config: &ClientConfig,
    wait: WaitChallenge,
    challenge_bytes: &[u8],
) -> Result<(ClientState, Output)> {
    let WaitChallenge { negotiate, flags: ours } = wait;
    let challenge = Challenge::parse(challenge_bytes)?;
    let offered = challenge.flags;
    // MS-NLMP 3.1.5.1.2: the names go in the character set the server chose. This client
    // offers only Unicode, but a server that answers OEM gets OEM names.
    let unicode = offered.contains(F::UNICODE);
    if !unicode && !offered.contains(F::OEM) {
        return Err(Error::InvalidToken("the CHALLENGE chooses neither Unicode nor OEM names"));
    }
    if !offered.contains(F::EXTENDED_SESSION_SECURITY) {
        return Err(Error::NotSupported(
            "NTLM without extended session security (LM/NTLMv1 session keys)",
        ));
    }
    if challenge.target_info.is_empty() {
        return Err(Error::NotSupported("a server without TARGET_INFO (NTLMv1 only)"));
    }
    if ours.contains(F::SEAL) && !offered.contains(F::SEAL) {
        return Err(Error::NotSupported("the server refused confidentiality"));
    }
    // Integrity asked for is required too: without SIGN the context would sign with the
    // dummy signature of MS-NLMP 3.4.4.3, which anyone can forge.
    if ours.contains(F::SIGN) && !offered.contains(F::SIGN) {
        return Err(Error::NotSupported("the server refused integrity"));
    }
    // Keep what both sides offered; REQUEST_TARGET stays as asked and TARGET_INFO as the server
    // said (this reproduces the AUTHENTICATE of MS-NLMP 4.2.4.3).
    let mut flags =
        (ours & offered & SUPPORTED) | (ours & F::REQUEST_TARGET) | (offered & F::TARGET_INFO);
    // 128-bit keys whenever the session key protects messages; an authentication-only
    // context (neither SIGN nor SEAL) may do without.
    if flags.intersects(F::SIGN | F::SEAL) && !flags.contains(F::NEGOTIATE_128) {
        return Err(Error::NotSupported("40- and 56-bit NTLM keys"));
    }
    let oem_names = if unicode {
        None
    } else {
        flags |= F::OEM;
        Some(oem_names(config)?)
    };

    let server_av = AvPairs::parse(challenge.target_info)?;
    let server_time = server_av.timestamp()?;
    // Echo the server's names and timestamp, but never what only the client may say: a
    // hostile server could otherwise plant a target name or channel bindings of its choice
    // in the client's proof (and relay it to a server that checks them).
    let mut av = server_av;
    av.remove_any(&[AvId::FLAGS, AvId::SINGLE_HOST, AvId::TARGET_NAME, AvId::CHANNEL_BINDINGS]);
    let av_flags;
    if server_time.is_some() {
        av_flags = AV_FLAG_MIC_PRESENT.to_le_bytes();
        av.append(AvId::FLAGS, &av_flags)?;
    }
    let target_name = config.target_name.as_deref().map(utf16le);
    if let Some(name) = &target_name {
        av.append(AvId::TARGET_NAME, name)?;
    }
    let bindings = config.channel_bindings.as_ref().map(ChannelBindings::md5).transpose()?;
    if let Some(hash) = &bindings {
        av.append(AvId::CHANNEL_BINDINGS, hash)?;
    }

    let env = &config.env;
    // The client's random values: its challenge and, with KEY_EXCH, the session key.
    let (client_challenge, random_key) = if flags.contains(F::KEY_EXCH) {
        let (challenge, key) = env.random_two::<8, 16>()?;
        (challenge, Some(Key16::new(key)))
    } else {
        (env.random::<8>()?, None)
    };
    let blob = ClientBlob {
        timestamp: server_time.unwrap_or_else(|| env.now().0),
        client_challenge,
        av_pairs: av,
    };
    let key = config.secret.response_key();
    // MS-NLMP 3.1.5.1.2: with a server timestamp the LM response is Z(24).
    let lm_response = match server_time {
        Some(_) => [0u8; 24],
        None => lmv2_response(key, &challenge.server_challenge, &client_challenge),
    };
    let with_mic = server_time.is_some();
    // The message is encoded once, straight from the names and the blob, with zeros where
    // NTProofStr and the encrypted session key go: both are made from the encoded blob
    // (`temp`), so they are filled in afterwards.
    let temp_len = blob.encoded_len();
    let [domain, user, workstation] = match &oem_names {
        Some([domain, user, workstation]) => {
            [Data::Bytes(domain), Data::Bytes(user), Data::Bytes(workstation)]
        }
        None => [
            Data::Utf16(&config.secret.domain),
            Data::Utf16(&config.secret.user),
            Data::Utf16(&config.workstation),
        ],
    };
    let (mut token, at) = AuthenticateOut {
        lm_response: Data::Bytes(&lm_response),
        nt_response: Data::NtResponse(&blob),
        domain,
        user,
        workstation,
        encrypted_session_key: if random_key.is_some() { &[0; 16] } else { &[] },
        flags,
        version: if flags.contains(F::VERSION) { config.version } else { None },
        mic: with_mic.then_some([0u8; 16]),
    }
    .encode()?;
    if token.len() > super::MAX_TOKEN_SIZE {
        return Err(Error::InvalidToken(
            "the CHALLENGE would make an AUTHENTICATE larger than cbMaxToken",
        ));
    }
    let [_, nt_at, .., key_at] = at;
    let temp = token
        .get(nt_at + 16..nt_at + 16 + temp_len)
        .ok_or(Error::WrongState("encoded NT response"))?;
    let proof = nt_proof(key, &challenge.server_challenge, temp);
    let base = session_base_key(key, &proof);
    patch(&mut token, nt_at, &proof)?;
    let exported = match random_key {
        Some(random) => {
            patch(&mut token, key_at, rc4k(&base, random.bytes()).bytes())?;
            random
        }
        None => base,
    };
    if with_mic {
        let (before, after) = super::messages::around_mic(&token)?;
        let code = mic(&exported, negotiate.as_bytes(), challenge_bytes, before, after);
        set_mic(&mut token, &code)?;
    }

    let r = config.requested;
    let mut ret = IscRet::CONNECTION;
    if flags.contains(F::SIGN) {
        ret |= IscRet::INTEGRITY;
        if r.contains(IscReq::REPLAY_DETECT) {
            ret |= IscRet::REPLAY_DETECT;
        }
        if r.contains(IscReq::SEQUENCE_DETECT) {
            ret |= IscRet::SEQUENCE_DETECT;
        }
    }
    if flags.contains(F::SEAL) {
        ret |= IscRet::CONFIDENTIALITY;
    }
    if flags.contains(F::IDENTIFY) {
        ret |= IscRet::IDENTIFY;
    }
    let detect = r.contains(IscReq::REPLAY_DETECT) || r.contains(IscReq::SEQUENCE_DETECT);
    let established = Established {
        session: Session::new(exported, flags, true, detect),
        identity: super::Names::none(),
        attributes: ret.0,
        logon_time: env.now(),
    };
    Ok((ClientState::Established(Box::new(established)), Output { token, complete: true }))
}

/// The domain, user and workstation names in the OEM code page, for a server that chose OEM.
/// Out of line and cold: every current server chooses Unicode, and the handshake's code
/// stays as small as it was.
#[cold]
#[inline(never)]
fn oem_names(config: &ClientConfig) -> Result<[Vec<u8>; 3]> {
    let cp = config.oem_code_page;
    let encode = |name: &str| {
        cp.encode(name).ok_or(Error::InvalidParameter(
            "a name has characters the OEM code page cannot write, and the server chose OEM",
        ))
    };
    Ok([encode(&config.secret.domain)?, encode(&config.secret.user)?, encode(&config.workstation)?])
}

/// Writes `bytes` into `token` at `at`.
fn patch(token: &mut [u8], at: usize, bytes: &[u8; 16]) -> Result<()> {
    token
        .get_mut(at..at + 16)
        .ok_or(Error::WrongState("a field outside the encoded message"))?
        .copy_from_slice(bytes);
    Ok(())
}
