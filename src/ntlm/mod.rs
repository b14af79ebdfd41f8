//! The NTLM security package (MS-NLMP): NTLMv2 with extended session security only.
//!
//! LM and NTLMv1 are refused, by both roles: their responses are crackable offline from a
//! captured exchange (NTLMv1 reduces to three DES keys of 56 bits, one of them only 16 bits
//! of unknown material), and their session keys are weak. Datagram (connectionless) NTLM and
//! anonymous logons are refused too. See [`crate::manual`] for every such choice.

mod calls;
pub(crate) mod client;
pub(crate) mod export;
pub mod flags;
pub(crate) mod keys;
#[doc(hidden)]
pub(crate) mod messages;
mod oem;
pub(crate) mod server;
pub(crate) mod session;
pub mod users;

pub use messages::{DEFAULT_VERSION, MAX_TOKEN, Version};
pub use oem::OemCodePage;
pub use server::ServerNames;
pub use session::{MessageParts, Part, SIGNATURE_SIZE};

use crate::error::{Error, Result};
use client::{Client, ClientState};
use server::{Server, ServerState};
use session::Session;

/// The package name, as `AcquireCredentialsHandle` takes it.
pub const PACKAGE_NAME: &str = crate::package::Package::Ntlm.name();

/// `cbMaxToken` of the NTLM package: no handshake token is larger.
pub const MAX_TOKEN_SIZE: usize = 2888;

/// What a handshake step produced.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) token: Vec<u8>,
    pub(crate) complete: bool,
}

/// Who the context authenticated: on the acceptor the client, on the initiator itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name as sent.
    pub user: String,
    /// Domain name as sent.
    pub domain: String,
    /// Workstation name as sent (may be empty).
    pub workstation: String,
}

impl Identity {
    /// `DOMAIN\user` (or `user` with an empty domain), as `SECPKG_ATTR_NAMES` gives it.
    pub fn name(&self) -> String {
        down_level_name(&self.domain, &self.user)
    }
}

/// The down-level logon name: `DOMAIN\user`, or `user` when the domain is empty.
pub(crate) fn down_level_name(domain: &str, user: &str) -> String {
    if domain.is_empty() { user.to_owned() } else { format!("{domain}\\{user}") }
}

/// Appends the low byte of each UTF-16LE code unit in `bytes` to `out`; returns zero if every
/// code unit was ASCII (no bit above 0x7f set). A plain loop: names are short, and a
/// vectorised loop is several times the code.
#[inline(never)]
fn low_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> u8 {
    let mut high = 0;
    for unit in bytes.chunks_exact(2) {
        if let [low, up] = *unit {
            high |= (low & 0x80) | up;
            out.push(low);
        }
    }
    high
}

/// Appends UTF-16LE `bytes` to `out`; `what` names the field if they are not valid UTF-16.
pub(crate) fn push_utf16(out: &mut String, bytes: &[u8], what: &'static str) -> Result<()> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Error::InvalidToken(what));
    }
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    for c in char::decode_utf16(units) {
        out.push(c.map_err(|_| Error::InvalidToken(what))?);
    }
    Ok(())
}

/// The established state, common to both roles.
pub(crate) struct Established {
    pub(crate) session: Session,
    /// The client an acceptor authenticated. Empty on an initiator: its identity is its own
    /// names, which its configuration holds (not copied again on every handshake).
    ///
    /// Not an `Option`: a `None` leaves the payload's bytes as they were, and whatever the
    /// stack held there (keys computed moments before) was copied into the boxed state with
    /// it, unwiped (`tests/wiped.rs` saw exactly that). Every byte of an empty `Names` is set.
    pub(crate) identity: Names,
    /// `ISC_RET_*` or `ASC_RET_*` bits.
    pub(crate) attributes: u32,
    /// When the handshake completed.
    pub(crate) logon_time: crate::env::FileTime,
}

pub(crate) enum Role {
    Client(Client),
    Server(Server),
}

/// An NTLM context of either role.
pub(crate) struct NtlmContext {
    pub(crate) role: Role,
}

/// The names of an authenticated client, in one allocation: user, then domain, then
/// workstation (an acceptor makes one per handshake and per import).
pub(crate) struct Names {
    all: String,
    user_end: usize,
    domain_end: usize,
}

impl Names {
    /// No names, allocating nothing (an initiator's [`Established::identity`]).
    pub(crate) fn none() -> Self {
        Self::with_capacity(0)
    }

    /// An empty set of names with room for `capacity` bytes.
    fn with_capacity(capacity: usize) -> Self {
        Self { all: String::with_capacity(capacity), user_end: 0, domain_end: 0 }
    }

    fn end_user(&mut self) {
        self.user_end = self.all.len();
        self.domain_end = self.all.len();
    }

    fn end_domain(&mut self) {
        self.domain_end = self.all.len();
    }

    /// Names from the UTF-16LE user, domain and workstation fields of an AUTHENTICATE
    /// message; `what` names each field for the error if it is not valid UTF-16. The `bool`
    /// says whether all three were ASCII.
    pub(crate) fn from_utf16(fields: [(&[u8], &'static str); 3]) -> Result<(Self, bool)> {
        let [user, domain, workstation] = fields.map(|(bytes, _)| bytes);
        let even = fields.iter().all(|(bytes, _)| bytes.len() % 2 == 0);
        let units = (user.len() + domain.len() + workstation.len()) / 2;
        // Names are nearly always ASCII: no code unit has a bit above 0x7f. Then the names
        // are the low bytes, which are their own UTF-8: no surrogate decoding and no
        // character-by-character encoding.
        let mut all = Vec::with_capacity(units);
        let mut high = low_bytes(&mut all, user);
        let user_end = all.len();
        high |= low_bytes(&mut all, domain);
        let domain_end = all.len();
        high |= low_bytes(&mut all, workstation);
        if high == 0 && even {
            let all = String::from_utf8(all).map_err(|_| Error::WrongState("ASCII names"))?;
            return Ok((Self { all, user_end, domain_end }, true));
        }
        // Otherwise each field in turn, so the first one at fault is the one named.
        let mut names = Self::with_capacity(units);
        let [(_, user_what), (_, domain_what), (_, workstation_what)] = fields;
        push_utf16(&mut names.all, user, user_what)?;
        names.end_user();
        push_utf16(&mut names.all, domain, domain_what)?;
        names.end_domain();
        push_utf16(&mut names.all, workstation, workstation_what)?;
        Ok((names, false))
    }

    /// Names from the OEM user, domain and workstation fields of an AUTHENTICATE message
    /// (every byte is a character: this cannot fail). Cold: most clients use Unicode.
    #[cold]
    #[inline(never)]
    pub(crate) fn from_oem(fields: [&[u8]; 3], code_page: OemCodePage) -> Self {
        let [user, domain, workstation] = fields;
        let mut names = Self::with_capacity(user.len() + domain.len() + workstation.len());
        code_page.decode_into(user, &mut names.all);
        names.end_user();
        code_page.decode_into(domain, &mut names.all);
        names.end_domain();
        code_page.decode_into(workstation, &mut names.all);
        names
    }

    pub(crate) fn from_ref(who: IdentityRef<'_>) -> Self {
        let mut names =
            Self::with_capacity(who.user.len() + who.domain.len() + who.workstation.len());
        names.all.push_str(who.user);
        names.end_user();
        names.all.push_str(who.domain);
        names.end_domain();
        names.all.push_str(who.workstation);
        names
    }

    pub(crate) fn as_ref(&self) -> IdentityRef<'_> {
        let (user, rest) = self.all.split_at(self.user_end);
        let (domain, workstation) = rest.split_at(self.domain_end - self.user_end);
        IdentityRef { user, domain, workstation }
    }
}

/// An [`Identity`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdentityRef<'a> {
    pub(crate) user: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) workstation: &'a str,
}

impl IdentityRef<'_> {
    pub(crate) fn to_identity(self) -> Identity {
        Identity {
            user: self.user.to_owned(),
            domain: self.domain.to_owned(),
            workstation: self.workstation.to_owned(),
        }
    }
}

impl NtlmContext {
    /// Who an established context authenticated: on the acceptor the client, on the
    /// initiator itself.
    pub(crate) fn identity(&self) -> Option<IdentityRef<'_>> {
        match &self.role {
            Role::Client(Client { state: ClientState::Established(_), config }) => {
                Some(config.identity())
            }
            Role::Server(Server { state: ServerState::Established(e), .. }) => {
                Some(e.identity.as_ref())
            }
            _ => None,
        }
    }

    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<Output> {
        match &mut self.role {
            Role::Client(c) => c.step(input),
            Role::Server(s) => s.step(input),
        }
    }

    pub(crate) fn established(&self) -> Option<&Established> {
        match &self.role {
            Role::Client(Client { state: ClientState::Established(e), .. })
            | Role::Server(Server { state: ServerState::Established(e), .. }) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn session(&mut self) -> Result<&mut Session> {
        match &mut self.role {
            Role::Client(Client { state: ClientState::Established(e), .. })
            | Role::Server(Server { state: ServerState::Established(e), .. }) => Ok(&mut e.session),
            _ => Err(Error::WrongState("the handshake has not completed")),
        }
    }

    /// The session that signs and verifies, or `None` where signatures are the dummy of
    /// MS-NLMP 3.4.4.3: a context that negotiated neither SIGN nor SEAL but ALWAYS_SIGN (an
    /// authentication-only context, such as curl's) signs with version 1 and twelve zero
    /// bytes, and verifies only that (Windows does both). With neither, signing is not
    /// supported.
    pub(crate) fn signing_session(&mut self) -> Result<Option<&mut Session>> {
        let session = self.session()?;
        let flags = session.flags;
        if flags.intersects(flags::NegotiateFlags::SIGN | flags::NegotiateFlags::SEAL) {
            Ok(Some(session))
        } else if flags.contains(flags::NegotiateFlags::ALWAYS_SIGN) {
            Ok(None)
        } else {
            Err(Error::NotSupported("integrity was not negotiated"))
        }
    }

    pub(crate) fn sealing_session(&mut self) -> Result<&mut Session> {
        let session = self.session()?;
        if !session.flags.contains(flags::NegotiateFlags::SEAL) {
            return Err(Error::NotSupported("confidentiality was not negotiated"));
        }
        Ok(session)
    }

    /// Sets the channel bindings before the leg that uses them (SSPI passes them in a
    /// `SECBUFFER_CHANNEL_BINDINGS` input buffer of any handshake call).
    pub(crate) fn set_channel_bindings(&mut self, bindings: crate::ChannelBindings) -> Result<()> {
        match &mut self.role {
            Role::Client(c)
                if matches!(c.state, ClientState::Initial | ClientState::WaitChallenge(_)) =>
            {
                c.config.channel_bindings = Some(bindings)
            }
            Role::Server(s)
                if matches!(s.state, ServerState::Initial | ServerState::WaitAuthenticate(_)) =>
            {
                s.config.channel_bindings = Some(bindings)
            }
            _ => return Err(Error::WrongState("channel bindings after the handshake")),
        }
        Ok(())
    }

    pub(crate) fn is_client(&self) -> bool {
        matches!(self.role, Role::Client(_))
    }
}

#[cfg(test)]
mod tests {
    use super::{IdentityRef, Names};
    use crate::crypto::utf16le;
    use crate::error::Error;

    #[test]
    fn names_keep_their_three_parts_apart() {
        for (user, domain, workstation) in [
            ("alice", "EXAMPLE", "WS1"),
            ("alice", "", ""),
            ("", "EXAMPLE", ""),
            ("", "", "WS1"),
            ("", "", ""),
            ("Jürgen", "ÉCOLE", "𝄞"),
        ] {
            let who = IdentityRef { user, domain, workstation };
            assert_eq!(Names::from_ref(who).as_ref(), who);
            let utf16 = [user, domain, workstation].map(utf16le);
            let (names, ascii) = Names::from_utf16([
                (&utf16[0], "user"),
                (&utf16[1], "domain"),
                (&utf16[2], "workstation"),
            ])
            .unwrap();
            assert_eq!(names.as_ref(), who);
            assert_eq!(ascii, user.is_ascii() && domain.is_ascii() && workstation.is_ascii());
        }
    }

    #[test]
    fn names_from_utf16_name_the_field_at_fault() {
        let good = utf16le("ok");
        let bad_units: [&[u8]; 4] =
            [&[0x41], &[0x3d, 0xd8, 0x41, 0], &[0, 0xde, 0x41, 0], &[0x41, 0, 0]];
        for bad in bad_units {
            for at in 0..3 {
                let mut fields = [(&good[..], "user"), (&good[..], "domain"), (&good[..], "ws")];
                fields[at].0 = bad;
                let what = fields[at].1;
                assert_eq!(Names::from_utf16(fields).err(), Some(Error::InvalidToken(what)));
            }
        }
        // The first field at fault is named, whatever is wrong with a later one.
        let lone_high = [0x3d, 0xd8];
        let odd = [0x41];
        let fields = [(&good[..], "u"), (&lone_high[..], "d"), (&odd[..], "w")];
        assert_eq!(Names::from_utf16(fields).err(), Some(Error::InvalidToken("d")));
        // A code unit above 0x7f anywhere takes every name through the general decoder.
        let e_acute = [0xe9, 0];
        let (names, ascii) =
            Names::from_utf16([(&good[..], "u"), (&e_acute[..], "d"), (&good[..], "w")]).unwrap();
        assert!(!ascii);
        assert_eq!(names.as_ref(), IdentityRef { user: "ok", domain: "\u{e9}", workstation: "ok" });
    }
}
