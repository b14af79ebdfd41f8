//! The calls of an established NTLM context, as the package seam ([`crate::api`]) makes
//! them: message security and the queries, so that `api` dispatches and never reaches into
//! NTLM's states.

use super::session::{DUMMY_SIGNATURE, MessageParts, SIGNATURE_SIZE, verify_dummy};
use super::{Established, IdentityRef, NtlmContext, flags::NegotiateFlags};
use crate::crypto::Key16;
use crate::error::{Error, Result};
use crate::package::{PackageInfo, Sizes};

const NOT_ESTABLISHED: Error = Error::WrongState("the handshake has not completed");

impl NtlmContext {
    /// `MakeSignature` (the dummy signature of MS-NLMP 3.4.4.3 on an authentication-only
    /// context with ALWAYS_SIGN).
    #[inline]
    pub(crate) fn sign_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &P,
    ) -> Result<[u8; SIGNATURE_SIZE]> {
        Ok(match self.signing_session()? {
            Some(session) => session.sign(parts),
            None => DUMMY_SIGNATURE,
        })
    }

    /// `VerifySignature`.
    #[inline]
    pub(crate) fn verify_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &P,
        signature: &[u8],
    ) -> Result<()> {
        match self.signing_session()? {
            Some(session) => session.verify(parts, signature),
            None => verify_dummy(signature),
        }
    }

    /// `EncryptMessage`.
    #[inline]
    pub(crate) fn seal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
    ) -> Result<[u8; SIGNATURE_SIZE]> {
        Ok(self.sealing_session()?.seal(parts))
    }

    /// `DecryptMessage`.
    #[inline]
    pub(crate) fn unseal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        signature: &[u8],
    ) -> Result<()> {
        self.sealing_session()?.unseal(parts, signature)
    }

    fn established_or_err(&self) -> Result<&Established> {
        self.established().ok_or(NOT_ESTABLISHED)
    }

    /// The authenticated client: on the acceptor the peer, on the initiator itself.
    pub(crate) fn client(&self) -> Result<IdentityRef<'_>> {
        self.identity().ok_or(NOT_ESTABLISHED)
    }

    /// `SECPKG_ATTR_SESSION_KEY`.
    pub(crate) fn session_key(&self) -> Result<Key16> {
        Ok(self.established_or_err()?.session.exported_session_key.clone())
    }

    /// The flags of the AUTHENTICATE message.
    pub(crate) fn negotiated_flags(&self) -> Result<NegotiateFlags> {
        Ok(self.established_or_err()?.session.flags)
    }

    /// `ISC_RET_*` or `ASC_RET_*`.
    pub(crate) fn attributes(&self) -> Result<u32> {
        Ok(self.established_or_err()?.attributes)
    }

    /// The next (send, receive) sequence numbers.
    pub(crate) fn sequence_numbers(&self) -> Result<(u32, u32)> {
        Ok(self.established_or_err()?.session.sequence_numbers())
    }

    /// `SECPKG_ATTR_SIZES`: the same in every state.
    pub(crate) fn sizes() -> Sizes {
        Sizes {
            max_token: PackageInfo::ntlm().max_token,
            max_signature: 16,
            block_size: 0,
            security_trailer: 16,
        }
    }
}
