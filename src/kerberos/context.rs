//! Kerberos security contexts (RFC 4121, MS-KILE): the initiator and the acceptor, one struct
//! per state, each consumed by its transition.
//!
//! ```text
//!  initiator                                                 acceptor
//!  InitiatorStart ─step(None)─ service ticket (TGS) ─▶
//!     ──GSS[01 00 AP-REQ]────────────────────────────────▶  AcceptorStart ─step(token)
//!  AwaitingApRep (mutual)                                      checks, replay cache
//!     ◀──GSS[02 00 AP-REP] (mutual only)──────────────────  Established
//!  Established
//! ```
//! Without mutual authentication the initiator is established after its AP-REQ and the
//! acceptor sends nothing back. Any error ends the handshake: the context is `Failed` and
//! refuses every later step.
//!
//! The key of the established context (RFC 4121 section 2) is the acceptor's subkey when the
//! AP-REP carries one (always, from our acceptor), else the initiator's subkey (always sent by
//! our initiator), else the ticket's session key.

use super::ap::{self, AcceptChecks, ApReqParams, ApTime};
use super::credentials::{AcceptorCredentials, InitiatorCredentials};
use super::gss::{self, AuthenticatorChecksum, flags as gf};
use super::{Key, Principal};
use crate::bindings::ChannelBindings;
use crate::crypto::SecretBytes;
use crate::env::{Environment, FileTime};
use crate::error::{Error, Result};
use crate::flags::{AscReq, AscRet, IscReq, IscRet};
use crate::kerberos::message::{MessageKeys, ReceiveWindow};
use crate::kerberos::pac::Pac;
use crate::ntlm::MessageParts;
use crate::package::{PackageInfo, Sizes};
use std::sync::Arc;

/// `ISC_REQ_USE_DCE_STYLE`: the three-leg DCE variant, refused (see `manual`).
const ISC_REQ_USE_DCE_STYLE: u32 = 0x200;

/// What an initiator context is made with.
pub(crate) struct InitiatorConfig {
    /// `None` for a context imported past its first token without them (it needs none).
    pub(crate) credentials: Option<Arc<InitiatorCredentials>>,
    pub(crate) target: Option<String>,
    pub(crate) requested: IscReq,
    pub(crate) bindings: Option<ChannelBindings>,
    pub(crate) env: Environment,
}

/// What an acceptor context is made with.
pub(crate) struct AcceptorConfig {
    /// `None` for a context imported established without them (it needs none).
    pub(crate) credentials: Option<Arc<AcceptorCredentials>>,
    pub(crate) requested: AscReq,
    pub(crate) bindings: Option<ChannelBindings>,
    pub(crate) max_skew: u32,
    pub(crate) env: Environment,
    /// The service of the credentials an imported context was exported with, when it was
    /// imported without them (exported again, the blob still names it).
    pub(crate) service: Option<Principal>,
}

/// The role, with what the context was made with: kept in every state (a context exported
/// with `RESET_NEW` starts over from it).
pub(crate) enum Config {
    Initiator(InitiatorConfig),
    Acceptor(AcceptorConfig),
}

/// The initiator sent its AP-REQ with mutual authentication; waiting for the AP-REP.
pub(crate) struct AwaitingApRep {
    pub(crate) session_key: Key,
    pub(crate) subkey: Key,
    pub(crate) seq_number: u32,
    pub(crate) time: ApTime,
    pub(crate) gss_flags: u32,
    pub(crate) client: Principal,
    pub(crate) server: Principal,
    pub(crate) end_time: u32,
}

/// The handshake completed.
pub(crate) struct Established {
    /// The context key (see the module documentation).
    pub(crate) key: Key,
    /// Whether `key` is the acceptor's subkey (the AcceptorSubkey flag of RFC 4121 tokens).
    pub(crate) acceptor_subkey: bool,
    /// The keys of the message tokens, derived once from `key` (RFC 4121 tokens for the AES
    /// types, RFC 4757 for rc4-hmac); `None` for a key type without tokens here (message calls
    /// say so).
    pub(crate) messages: Option<MessageKeys>,
    /// Our next sequence number.
    pub(crate) send_seq: u64,
    /// The peer's sequence numbers seen.
    pub(crate) window: ReceiveWindow,
    /// The GSS flags the initiator sent (what both sides agreed on).
    pub(crate) gss_flags: u32,
    /// `ISC_RET_*` or `ASC_RET_*`.
    pub(crate) attributes: u32,
    /// The client principal (on the initiator: itself).
    pub(crate) client: Principal,
    /// The service principal of the ticket.
    pub(crate) server: Principal,
    /// When the ticket (and so the context) expires, seconds since the Unix epoch.
    pub(crate) end_time: u32,
    /// The credential the initiator delegated, on the acceptor: an unencrypted KRB-CRED (it
    /// holds a TGT's session key: wiped on drop).
    pub(crate) delegated: Option<SecretBytes>,
    /// When the handshake completed.
    pub(crate) logon_time: FileTime,
    /// The ticket's PAC (MS-PAC), verified with the service key, on the acceptor.
    pub(crate) pac: Option<Pac>,
}

/// What an established context is made of, before its keys are derived.
pub(crate) struct EstablishedParts {
    pub(crate) initiator: bool,
    pub(crate) key: Key,
    pub(crate) acceptor_subkey: bool,
    pub(crate) send_seq: u64,
    /// The peer's first sequence number, or the window's position `(base, next, seen)`.
    pub(crate) recv: Result<u64, (u64, u64, u64)>,
    pub(crate) gss_flags: u32,
    pub(crate) attributes: u32,
    pub(crate) client: Principal,
    pub(crate) server: Principal,
    pub(crate) end_time: u32,
    pub(crate) delegated: Option<SecretBytes>,
    pub(crate) logon_time: FileTime,
    pub(crate) pac: Option<Pac>,
}

impl Established {
    /// Derives the message keys and sets up the receive window.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a key of the wrong length.
    pub(crate) fn new(p: EstablishedParts) -> Result<Self> {
        let messages = match MessageKeys::new(&p.key, p.initiator, p.acceptor_subkey) {
            Ok(keys) => Some(keys),
            Err(Error::NotSupported(_)) => None,
            Err(e) => return Err(e),
        };
        let replay = p.gss_flags & gf::REPLAY != 0;
        let sequence = p.gss_flags & gf::SEQUENCE != 0;
        // RFC 4121 tokens carry 64-bit sequence numbers, RFC 4757 (rc4-hmac) ones 32-bit.
        let wide = p.key.etype() != super::EncType::RC4_HMAC;
        let window = match p.recv {
            Ok(first) => ReceiveWindow::new(first, replay, sequence, wide),
            Err(parts) => ReceiveWindow::from_parts(parts, replay, sequence, wide),
        };
        Ok(Self {
            key: p.key,
            acceptor_subkey: p.acceptor_subkey,
            messages,
            send_seq: p.send_seq,
            window,
            gss_flags: p.gss_flags,
            attributes: p.attributes,
            client: p.client,
            server: p.server,
            end_time: p.end_time,
            delegated: p.delegated,
            logon_time: p.logon_time,
            pac: p.pac,
        })
    }

    fn keys(&self) -> Result<&MessageKeys> {
        self.messages
            .as_ref()
            .ok_or(Error::NotSupported("per-message tokens for this context key's type"))
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.send_seq;
        self.send_seq = seq.wrapping_add(1);
        seq
    }

    /// `MakeSignature`: a MIC token (RFC 4121 section 4.2.6.1) over the parts.
    pub(crate) fn sign_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &P,
        out: &mut [u8],
    ) -> Result<usize> {
        let seq = self.send_seq;
        let n = self.keys()?.make_mic(seq, parts, out)?;
        self.send_seq = seq.wrapping_add(1);
        Ok(n)
    }

    /// `VerifySignature`: the peer's MIC token, then its sequence number.
    pub(crate) fn verify_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &P,
        token: &[u8],
    ) -> Result<()> {
        let seq = self.keys()?.verify_mic(parts, token)?;
        self.window.accept(seq)
    }

    /// `EncryptMessage`: the split-form Wrap token into `out`, the parts encrypted in place.
    /// With `confidential` false, Windows' `SECQOP_WRAP_NO_ENCRYPT`: the parts stay as they
    /// are and the token carries their checksum.
    pub(crate) fn seal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        out: &mut [u8],
        confidential: bool,
        env: &Environment,
    ) -> Result<usize> {
        let confounder: [u8; 16] = env.random()?;
        let keys = self.keys()?;
        let confounder = confounder.get(..keys.confounder_len()).unwrap_or_default();
        let n = keys.seal_parts(self.send_seq, confidential, confounder, parts, out)?;
        self.next_seq();
        Ok(n)
    }

    /// `DecryptMessage`: the split-form Wrap token `token` (copied: it is rotated in place)
    /// over the parts, then its sequence number. Returns whether the message was encrypted
    /// (false: an integrity-only token, `SECQOP_WRAP_NO_ENCRYPT`).
    pub(crate) fn unseal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        token: &[u8],
    ) -> Result<bool> {
        let mut copy = [0u8; MAX_SIGNATURE];
        let copy = copy.get_mut(..token.len()).ok_or(Error::InvalidToken(
            "Kerberos token buffer longer than any Wrap token header",
        ))?;
        copy.copy_from_slice(token);
        let unsealed = self.keys()?.unseal_parts(copy, parts)?;
        self.window.accept(unsealed.seq)?;
        Ok(unsealed.confidential)
    }

    /// GSS-API wrap (a contiguous RFC 4121 token, encrypted or integrity-only).
    pub(crate) fn wrap(
        &mut self,
        message: &[u8],
        confidential: bool,
        env: &Environment,
    ) -> Result<Vec<u8>> {
        let keys = self.keys()?;
        let mut token = vec![0u8; keys.wrap_len(confidential, message.len())];
        let at = keys.wrap_data_offset(confidential, message.len());
        token
            .get_mut(at..at + message.len())
            .ok_or(Error::InvalidParameter("wrap buffer"))?
            .copy_from_slice(message);
        let confounder: [u8; 16] = env.random()?;
        let confounder = confounder.get(..keys.confounder_len()).unwrap_or_default();
        keys.wrap_in_place(self.send_seq, confidential, confounder, &mut token)?;
        self.next_seq();
        Ok(token)
    }

    /// GSS-API unwrap of any RFC 4121 Wrap token (any EC, RRC, with or without
    /// confidentiality) in place; returns where the plaintext is.
    pub(crate) fn unwrap_in_place(&mut self, token: &mut [u8]) -> Result<core::ops::Range<usize>> {
        let u = self.keys()?.unwrap_in_place(token)?;
        self.window.accept(u.seq)?;
        Ok(u.data)
    }

    /// `SecPkgContext_Sizes` of this context.
    pub(crate) fn sizes(&self) -> Sizes {
        match &self.messages {
            Some(k) => Sizes {
                max_token: PackageInfo::kerberos().max_token,
                max_signature: u32::try_from(k.max_signature_len()).unwrap_or(u32::MAX),
                block_size: 1,
                security_trailer: u32::try_from(k.security_trailer_len()).unwrap_or(u32::MAX),
            },
            None => default_sizes(),
        }
    }
}

/// The largest signature or token buffer a message call reads or writes (a MIC or split Wrap
/// token header of aes256-sha384 with a DCE-style EC is 104 bytes).
pub(crate) const MAX_SIGNATURE: usize = 128;

/// `SecPkgContext_Sizes` before the context is established (or for rc4-hmac): those of
/// aes-sha1, Windows' usual enctype (cbMaxSignature 28, cbSecurityTrailer 76).
pub(crate) fn default_sizes() -> Sizes {
    Sizes {
        max_token: PackageInfo::kerberos().max_token,
        max_signature: 28,
        block_size: 1,
        security_trailer: 76,
    }
}

/// A Kerberos security context: its configuration and its state.
pub(crate) struct KerberosContext {
    pub(crate) config: Config,
    pub(crate) state: State,
}

/// The states of a context (see the module documentation); which role's states apply is
/// the [`Config`]'s.
pub(crate) enum State {
    /// Before the first token (either role).
    Start,
    AwaitingApRep(Box<AwaitingApRep>),
    Established(Box<Established>),
    /// The handshake failed.
    Failed,
}

/// One handshake leg's result.
pub(crate) struct Output {
    pub(crate) token: Vec<u8>,
    pub(crate) complete: bool,
}

fn gss_flags_of(requested: IscReq) -> u32 {
    let mut f = gf::INTEG | gf::CONF;
    for (isc, g) in [
        (IscReq::MUTUAL_AUTH, gf::MUTUAL),
        (IscReq::REPLAY_DETECT, gf::REPLAY),
        (IscReq::SEQUENCE_DETECT, gf::SEQUENCE),
        (IscReq::IDENTIFY, gf::IDENTIFY),
    ] {
        if requested.contains(isc) {
            f |= g;
        }
    }
    f
}

fn isc_ret_of(gss_flags: u32) -> u32 {
    let mut ret = IscRet::INTEGRITY.0 | IscRet::CONFIDENTIALITY.0 | IscRet::CONNECTION.0;
    for (g, r) in [
        (gf::MUTUAL, IscRet::MUTUAL_AUTH.0),
        (gf::REPLAY, IscRet::REPLAY_DETECT.0),
        (gf::SEQUENCE, IscRet::SEQUENCE_DETECT.0),
        (gf::DELEG, IscRet::DELEGATE.0),
        (gf::IDENTIFY, IscRet::IDENTIFY.0),
    ] {
        if gss_flags & g != 0 {
            ret |= r;
        }
    }
    ret
}

fn asc_ret_of(gss_flags: u32) -> u32 {
    let mut ret = AscRet::CONNECTION.0;
    for (g, r) in [
        (gf::MUTUAL, AscRet::MUTUAL_AUTH.0),
        (gf::REPLAY, AscRet::REPLAY_DETECT.0),
        (gf::SEQUENCE, AscRet::SEQUENCE_DETECT.0),
        (gf::CONF, AscRet::CONFIDENTIALITY.0),
        (gf::INTEG, AscRet::INTEGRITY.0),
        (gf::DELEG, AscRet::DELEGATE.0),
        (gf::IDENTIFY, AscRet::IDENTIFY.0),
    ] {
        if gss_flags & g != 0 {
            ret |= r;
        }
    }
    ret
}

/// A random initial sequence number: 30 bits, as MIT (it leaves room before the 32-bit wrap
/// that old peers mishandle).
fn random_seq(env: &Environment) -> Result<u32> {
    Ok(u32::from_be_bytes(env.random::<4>()?) & 0x3fff_ffff)
}

fn bindings_md5(bindings: Option<&ChannelBindings>) -> Result<Option<[u8; 16]>> {
    bindings.map(ChannelBindings::md5).transpose()
}

impl KerberosContext {
    /// A new initiator.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for `ISC_REQ_USE_DCE_STYLE`, datagram or anonymous.
    pub(crate) fn initiator(config: InitiatorConfig) -> Result<Self> {
        if config.requested.0 & ISC_REQ_USE_DCE_STYLE != 0 {
            return Err(Error::NotSupported(
                "ISC_REQ_USE_DCE_STYLE (the three-leg DCE Kerberos variant) is not implemented",
            ));
        }
        if config.requested.contains(IscReq::DATAGRAM)
            || config.requested.contains(IscReq::NULL_SESSION)
        {
            return Err(Error::NotSupported("datagram and anonymous Kerberos contexts"));
        }
        Ok(Self { config: Config::Initiator(config), state: State::Start })
    }

    /// A new acceptor.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for datagram or null sessions.
    pub(crate) fn acceptor(config: AcceptorConfig) -> Result<Self> {
        if config.requested.contains(AscReq::DATAGRAM)
            || config.requested.contains(AscReq::ALLOW_NULL_SESSION)
        {
            return Err(Error::NotSupported("datagram and anonymous Kerberos contexts"));
        }
        Ok(Self { config: Config::Acceptor(config), state: State::Start })
    }

    /// Whether this is the initiator.
    pub(crate) fn is_initiator(&self) -> bool {
        matches!(self.config, Config::Initiator(_))
    }

    /// The established state, if the handshake completed.
    pub(crate) fn established(&self) -> Option<&Established> {
        match &self.state {
            State::Established(e) => Some(e),
            _ => None,
        }
    }

    /// The established state, mutably.
    ///
    /// # Errors
    /// [`Error::WrongState`] before the handshake completed.
    pub(crate) fn established_mut(&mut self) -> Result<&mut Established> {
        match &mut self.state {
            State::Established(e) => Ok(e),
            _ => Err(Error::WrongState("the Kerberos handshake has not completed")),
        }
    }

    /// The established state and the environment.
    fn parts_mut(&mut self) -> Result<(&mut Established, &Environment)> {
        let env = match &self.config {
            Config::Initiator(c) => &c.env,
            Config::Acceptor(c) => &c.env,
        };
        match &mut self.state {
            State::Established(e) => Ok((e, env)),
            _ => Err(Error::WrongState("the Kerberos handshake has not completed")),
        }
    }

    /// See [`Established::seal_parts`].
    pub(crate) fn seal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        out: &mut [u8],
        confidential: bool,
    ) -> Result<usize> {
        let (e, env) = self.parts_mut()?;
        e.seal_parts(parts, out, confidential, env)
    }

    /// See [`Established::wrap`].
    pub(crate) fn wrap(&mut self, message: &[u8], confidential: bool) -> Result<Vec<u8>> {
        let (e, env) = self.parts_mut()?;
        e.wrap(message, confidential, env)
    }

    /// How many bytes `EncryptMessage` writes into the token buffer (60 for aes-sha1; the
    /// MIC's length integrity-only).
    pub(crate) fn seal_signature_len(&self, confidential: bool) -> usize {
        self.established()
            .and_then(|e| e.messages.as_ref())
            .map_or(60, |k| k.seal_token_len(confidential))
    }

    /// `SecPkgContext_Sizes`.
    pub(crate) fn sizes(&self) -> Sizes {
        self.established().map_or_else(default_sizes, Established::sizes)
    }

    /// When the context expires (the ticket's end time); [`FileTime::NEVER`] before the
    /// handshake completed.
    pub(crate) fn expiry(&self) -> FileTime {
        self.established().map_or(FileTime::NEVER, |e| {
            FileTime((u64::from(e.end_time) + 11_644_473_600) * 10_000_000)
        })
    }

    /// Sets the channel bindings before the leg that uses them.
    ///
    /// # Errors
    /// [`Error::WrongState`] once the handshake has gone past that leg.
    pub(crate) fn set_channel_bindings(&mut self, bindings: ChannelBindings) -> Result<()> {
        if !matches!(self.state, State::Start) {
            return Err(Error::WrongState("channel bindings after the AP exchange"));
        }
        match &mut self.config {
            Config::Initiator(c) => c.bindings = Some(bindings),
            Config::Acceptor(c) => c.bindings = Some(bindings),
        }
        Ok(())
    }

    /// One handshake leg. On error the context is `Failed`.
    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<Output> {
        let state = core::mem::replace(&mut self.state, State::Failed);
        let (next, out) = match (&self.config, state, input) {
            (Config::Initiator(c), State::Start, None) => send_ap_req(c)?,
            (Config::Initiator(c), State::AwaitingApRep(s), Some(token)) => {
                s.read_ap_rep(c, token)?
            }
            (Config::Acceptor(c), State::Start, Some(token)) => accept(c, token)?,
            (Config::Initiator(_), State::Start, Some(_)) => {
                return Err(Error::InvalidToken(
                    "the Kerberos initiator's first call takes no token",
                ));
            }
            (_, State::Start | State::AwaitingApRep(_), None) => {
                return Err(Error::InvalidToken("a token is required"));
            }
            (Config::Acceptor(_), State::AwaitingApRep(_), Some(_)) => {
                return Err(Error::WrongState("an acceptor does not wait for an AP-REP"));
            }
            (_, State::Established(_), _) => {
                return Err(Error::WrongState("the Kerberos handshake already completed"));
            }
            (_, State::Failed, _) => {
                return Err(Error::WrongState("the Kerberos handshake failed earlier"));
            }
        };
        self.state = next;
        Ok(out)
    }
}

fn send_ap_req(config: &InitiatorConfig) -> Result<(State, Output)> {
    let target = config
        .target
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or(Error::TargetUnknown("a Kerberos initiator needs a target name (SPN)".into()))?;
    let credentials = config.credentials.as_ref().ok_or(Error::UnknownCredentials(
        "this initiator was imported without its Kerberos credentials",
    ))?;
    let ticket = credentials.service_ticket(target)?;
    let env = &config.env;
    let subkey = ap::random_key(ticket.session_key.etype(), env)?;
    let seq_number = random_seq(env)?;
    let delegation = if config.requested.contains(IscReq::DELEGATE) {
        credentials
            .forwarded_tgt()?
            .map(|tgt| super::cred::build(&tgt, &ticket.session_key, env))
            .transpose()?
    } else {
        None
    };
    let mut gss_flags = gss_flags_of(config.requested);
    if delegation.is_some() {
        gss_flags |= gf::DELEG;
    }
    let checksum = AuthenticatorChecksum {
        bindings: bindings_md5(config.bindings.as_ref())?.unwrap_or([0; 16]),
        flags: gss_flags,
        delegation,
    };
    let mutual = gss_flags & gf::MUTUAL != 0;
    let (ap_req, time) = ap::build_ap_req(
        &ApReqParams { ticket: &ticket, checksum: &checksum, mutual, subkey: &subkey, seq_number },
        env,
    )?;
    let token = gss::frame(gss::TOK_AP_REQ, &ap_req)?;
    if mutual {
        let next = AwaitingApRep {
            session_key: ticket.session_key.clone(),
            subkey,
            seq_number,
            time,
            gss_flags,
            client: ticket.client.clone(),
            server: ticket.server.clone(),
            end_time: ticket.end_time,
        };
        return Ok((State::AwaitingApRep(Box::new(next)), Output { token, complete: false }));
    }
    let est = Established::new(EstablishedParts {
        initiator: true,
        key: subkey,
        acceptor_subkey: false,
        send_seq: u64::from(seq_number),
        recv: Ok(u64::from(seq_number)),
        gss_flags,
        attributes: isc_ret_of(gss_flags),
        client: ticket.client.clone(),
        server: ticket.server.clone(),
        end_time: ticket.end_time,
        delegated: None,
        logon_time: env.now(),
        pac: None,
    })?;
    Ok((State::Established(Box::new(est)), Output { token, complete: true }))
}

/// The ticket's PAC, if it carries one (Active Directory always, MIT since 1.20): its server
/// signature verified with the key that decrypted the ticket, and its client info matched
/// against the ticket (MS-PAC 2.7, 2.8; MS-KILE 3.4.5.3). A PAC that fails either is a
/// forged or transplanted one: the AP-REQ is refused.
///
/// # Errors
/// [`Error::MessageAltered`] for a bad signature or client info, [`Error::InvalidToken`] for
/// a malformed PAC.
fn check_pac(req: &ap::ReceivedApReq) -> Result<Option<Pac>> {
    let Some(pac) = Pac::from_auth_data(&req.auth_data)? else { return Ok(None) };
    pac.verify_server_checksum(&req.ticket_key)?;
    pac.check_client_info(&req.client.name.components.join("/"), req.auth_time)?;
    Ok(Some(pac))
}

/// The initiator's delegated TGT (a KRB-CRED in the checksum), decrypted with the ticket's
/// session key (or the authenticator's subkey, which some initiators use), checked to be the
/// client's own, and kept as an unencrypted KRB-CRED.
///
/// # Errors
/// [`Error::MessageAltered`] if it does not decrypt; [`Error::InvalidToken`] if it is
/// malformed or another principal's.
fn delegated_credential(req: &ap::ReceivedApReq) -> Result<Option<SecretBytes>> {
    let Some(bytes) = &req.checksum.delegation else { return Ok(None) };
    let mut keys = vec![&req.session_key];
    keys.extend(req.subkey.as_ref());
    let cred = super::cred::read(bytes, &keys)?;
    if cred.client.realm != req.client.realm
        || cred.client.name.components != req.client.name.components
    {
        return Err(Error::InvalidToken("a delegated ticket of another client"));
    }
    Ok(Some(SecretBytes(super::cred::to_plain(&cred)?.to_vec())))
}

/// An error token from the peer (TOK_ID 03 00): its KRB-ERROR as an [`Error`].
fn peer_error(message: &[u8]) -> Error {
    match super::kdc::parse_krb_error(message) {
        Ok(Some(e)) => match e.code {
            37 => Error::TimeSkew,
            34 => Error::Replay,
            32 => Error::ContextExpired,
            41 | 31 => Error::MessageAltered,
            code => Error::Kdc { code, message: "the Kerberos acceptor refused the AP-REQ".into() },
        },
        _ => Error::InvalidToken("malformed KRB-ERROR token from the Kerberos acceptor"),
    }
}

impl AwaitingApRep {
    fn read_ap_rep(self, config: &InitiatorConfig, token: &[u8]) -> Result<(State, Output)> {
        let (tok_id, message) = gss::unframe(token)?;
        if tok_id == gss::TOK_ERROR {
            return Err(peer_error(message));
        }
        if tok_id != gss::TOK_AP_REP {
            return Err(Error::InvalidToken("expected a Kerberos AP-REP token"));
        }
        let (acceptor_subkey, acceptor_seq) =
            ap::read_ap_rep(message, &self.session_key, self.time)?;
        let (key, is_acceptor_subkey) = match acceptor_subkey {
            Some(k) => (k, true),
            None => (self.subkey, false),
        };
        let est = Established::new(EstablishedParts {
            initiator: true,
            key,
            acceptor_subkey: is_acceptor_subkey,
            send_seq: u64::from(self.seq_number),
            recv: Ok(u64::from(acceptor_seq.unwrap_or(self.seq_number))),
            gss_flags: self.gss_flags,
            attributes: isc_ret_of(self.gss_flags),
            client: self.client,
            server: self.server,
            end_time: self.end_time,
            delegated: None,
            logon_time: config.env.now(),
            pac: None,
        })?;
        Ok((State::Established(Box::new(est)), Output { token: Vec::new(), complete: true }))
    }
}

fn accept(config: &AcceptorConfig, token: &[u8]) -> Result<(State, Output)> {
    let (tok_id, message) = gss::unframe(token)?;
    if tok_id != gss::TOK_AP_REQ {
        return Err(Error::InvalidToken("expected a Kerberos AP-REQ token"));
    }
    let creds = config.credentials.as_ref().ok_or(Error::UnknownCredentials(
        "this acceptor was imported without its Kerberos credentials",
    ))?;
    let checks = AcceptChecks {
        env: &config.env,
        max_skew: config.max_skew,
        bindings: bindings_md5(config.bindings.as_ref())?,
    };
    let req = ap::read_ap_req(
        message,
        &|sname, kvno, etype| creds.service_key(sname, kvno, etype),
        &checks,
    )?;
    let (now, _) = super::kdc::now(&config.env);
    creds.replay_cache().check_and_insert(req.replay_tag, req.time.ctime, now, config.max_skew)?;
    let pac = check_pac(&req)?;
    let delegated = delegated_credential(&req)?;
    let gss_flags = req.checksum.flags;
    let peer_seq = req.seq_number.unwrap_or(0);
    let mutual = req.ap_options & ap::AP_OPTION_MUTUAL_REQUIRED != 0 || gss_flags & gf::MUTUAL != 0;
    let initiator_key = req.subkey.clone().unwrap_or_else(|| req.session_key.clone());
    let (token, key, acceptor_subkey, send_seq) = if mutual {
        let subkey = ap::random_key(initiator_key.etype(), &config.env)?;
        let seq = random_seq(&config.env)?;
        let rep = ap::build_ap_rep(&req.session_key, req.time, Some(&subkey), seq, &config.env)?;
        (gss::frame(gss::TOK_AP_REP, &rep)?, subkey, true, seq)
    } else {
        // RFC 4121 section 4.1 / MIT: without an AP-REP the acceptor's sequence numbers
        // start where the initiator's do.
        (Vec::new(), initiator_key, false, peer_seq)
    };
    let est = Established::new(EstablishedParts {
        initiator: false,
        key,
        acceptor_subkey,
        send_seq: u64::from(send_seq),
        recv: Ok(u64::from(peer_seq)),
        gss_flags,
        attributes: asc_ret_of(gss_flags),
        client: req.client,
        server: req.server,
        end_time: req.end_time,
        delegated,
        logon_time: config.env.now(),
        pac,
    })?;
    Ok((State::Established(Box::new(est)), Output { token, complete: true }))
}
