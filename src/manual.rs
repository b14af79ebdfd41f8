//! The manual: the threat model, and every place where Windows is silent or where sspi-emu
//! deliberately differs, with what sspi-emu does.
//!
//! # Threat model
//!
//! sspi-emu authenticates a client to a server with NTLM over a network an attacker may
//! read and modify. It protects:
//!
//! - **The password**: only the NTLMv2 proof crosses the wire. LM and NTLMv1 responses, which
//!   an eavesdropper can crack offline in hours, are never sent and never accepted.
//! - **The handshake**: the acceptor requires the MIC over all three messages (it always
//!   sends a timestamp, so MS-NLMP 3.1.5.1.2 obliges the client to), so flags, names and
//!   versions cannot be changed in flight. Every bit of every token is covered by some check
//!   (the tests flip each one).
//! - **Relaying**: with a target-name policy ([`crate::AcceptorOptions::accepted_target_names`])
//!   a proof made for another service is refused, and with channel bindings
//!   ([`crate::AcceptorOptions::channel_bindings`]) a proof made on another TLS channel is. The
//!   initiator never lets a server choose the target name or bindings it vouches for.
//! - **Messages**: signing with HMAC-MD5 and sealing with RC4 under 128-bit keys derived per
//!   direction; sequence numbers detect replay and reordering.
//! - **Exported contexts**: sealed with XChaCha20-Poly1305 under a key only processes that can
//!   read the key file have; a process without it can neither read nor forge a context.
//! - **Memory**: passwords, NT hashes, keys, RC4 states, exported blobs and allocated context
//!   buffers are zeroized on drop, never printed by `Debug`, and compared in constant time.
//!
//! It does not protect against what NTLM itself cannot: a weak password (an attacker who
//! records a handshake can still guess offline against NTLMv2), a server that is not the one
//! the client meant (NTLM has no server authentication; use TLS with channel bindings), or a
//! compromised host. RC4 and MD5 are what the protocol mandates; sspi-emu does not make them
//! stronger.
//!
//! # Where Windows is silent, and what sspi-emu does
//!
//! | Topic | sspi-emu |
//! |---|---|
//! | LM, NTLMv1, NTLM without extended session security | Refused by both roles with `SEC_E_UNSUPPORTED_FUNCTION` ([`crate::Error::NotSupported`] says which). Windows allows them below `LmCompatibilityLevel` 5. |
//! | 40- and 56-bit keys | Refused (`SEC_E_UNSUPPORTED_FUNCTION`): NEGOTIATE_128 is required, like Windows' `NTLMMinClientSec`/`NTLMMinServerSec` set to 128-bit. |
//! | OEM character set | Refused; Unicode is required. |
//! | Anonymous (null session) and datagram NTLM | Refused (`SEC_E_UNSUPPORTED_FUNCTION`). |
//! | MIC | The acceptor always sends `MsvAvTimestamp` and therefore requires a MIC; an AUTHENTICATE without one is `SEC_E_INVALID_TOKEN`, a wrong one `SEC_E_MESSAGE_ALTERED`. gss-ntlmssp's raw mechanism sends no MIC unless asked (SPNEGO asks); Windows clients always send one. |
//! | Timestamp window | The client's NTLMv2 timestamp must be within 5 minutes of the acceptor's clock ([`crate::AcceptorOptions::max_clock_skew`]), else `SEC_E_TIME_SKEW`. Clients echo the server's timestamp, so this bounds the time between CHALLENGE and AUTHENTICATE. gss-ntlmssp does not check. |
//! | Order of acceptor checks | NTProofStr first (`SEC_E_LOGON_DENIED`, also for unknown users, which take the same code path so time does not tell them apart), then the MIC, then time, target name, channel bindings. A tampered AUTHENTICATE reports whichever check it breaks first. |
//! | Requested attributes | An acceptor that asks for confidentiality or integrity refuses a client that does not offer it, at NEGOTIATE and again at AUTHENTICATE (`SEC_E_UNSUPPORTED_FUNCTION`). |
//! | Target names | Without a policy any name is accepted. With one, the client's `MsvAvTargetName` must be present and equal to one of the names, ignoring ASCII case; otherwise `SEC_E_WRONG_PRINCIPAL`. |
//! | Channel bindings | An acceptor given bindings requires the client's to match, including when the client sent none or all zeros (`SEC_E_BAD_BINDINGS`): Windows' "Extended Protection: Required". Without bindings the client's are ignored. |
//! | A client told to vouch for names | The initiator echoes the server's names and timestamp from the CHALLENGE, but drops any `MsvAvFlags`, `MsvAvSingleHost`, `MsvAvTargetName` or `MsvAvChannelBindings` the server put there and writes only its own. |
//! | Token size | The initiator refuses a CHALLENGE that would make its AUTHENTICATE larger than `cbMaxToken` (2888 bytes), so a caller-sized output buffer always suffices. AV pair lists hold at most 16 pairs. |
//! | User lookup | Case-insensitive user and domain; an entry with an empty domain matches the user in any domain (as gss-ntlmssp's `NTLM_USER_FILE`). NTOWFv2 uses the names exactly as the client sent them. Uppercasing uses the one-to-one Unicode mapping, like `RtlUpcaseUnicodeString`, so a name never changes length. |
//! | Wildcard user entries | The names reported (`SECPKG_ATTR_NAMES`, the export identity) are those the client sent. For an empty-domain entry, authorize on the user name, or give every entry its domain. |
//! | A failed handshake call | Ends the context: every later step gives `SEC_E_OUT_OF_SEQUENCE` ([`crate::Error::WrongState`]). Through the handle layer the handle stays valid until deleted. A failure on the first call creates no handle. |
//! | Calls out of order | A message call before the handshake completes, or a handshake call after it, is `SEC_E_OUT_OF_SEQUENCE`. |
//! | Failed verification | Leaves the context as it was: the receive RC4 keystream is rewound and the sequence number not advanced, so the next valid message (or a retransmission of the genuine one) verifies. gss-ntlmssp's context is unusable after one failure. With `DecryptMessage`, the buffer holds its ciphertext again. |
//! | Sequence errors | With replay or sequence detection requested, a signature whose sequence number is not the expected one is `SEC_E_OUT_OF_SEQUENCE`; without, `SEC_E_MESSAGE_ALTERED`. Either way it fails: the sequence number is covered by the checksum. |
//! | `MessageSeqNo` of the message calls | Ignored: connection-oriented NTLM keeps its own counter per direction, shared by signing and sealing (MS-NLMP 3.4.4). |
//! | Quality of protection | Only 0; anything else (e.g. `SECQOP_WRAP_NO_ENCRYPT`) is `SEC_E_QOP_NOT_SUPPORTED`. |
//! | Sealing without confidentiality | `EncryptMessage` on a context that did not negotiate SEAL is `SEC_E_UNSUPPORTED_FUNCTION`; signing always works (ALWAYS_SIGN). |
//! | Read-only data buffers | `SECBUFFER_READONLY` and `SECBUFFER_READONLY_WITH_CHECKSUM` data buffers are signed and not encrypted (as the `sspi` crate does). A signature buffer longer than 16 bytes is accepted; its first 16 bytes are read. |
//! | Empty messages | Signing or sealing an empty message works (gss-ntlmssp refuses). |
//! | Output token buffers | Checked before the context moves: without `ISC_REQ_ALLOCATE_MEMORY` the token buffer must be writable and hold `cbMaxToken` (2888) bytes (`SEC_E_BUFFER_TOO_SMALL`, or `SEC_E_INVALID_PARAMETER` for a read-only or missing one); the acceptor's last call writes no token and may pass an empty buffer. |
//! | `CompleteAuthToken` | Never needed by NTLM; returns `SEC_E_OK` on a live context. |
//! | Expiry | NTLM contexts and credentials do not expire: [`crate::FileTime::NEVER`]. |
//! | `SECPKG_ATTR_NAMES` | The acceptor reports the client as `DOMAIN\user` as sent; the initiator reports its own user. |
//! | Credentials | `pAuthData` is a [`crate::Credentials`]: initiator credentials for `SECPKG_CRED_OUTBOUND`, a user store for `SECPKG_CRED_INBOUND`. Inbound without auth data reads the `DOMAIN:USER:PASSWORD` file named by `NTLM_USER_FILE`. `SECPKG_CRED_BOTH` is not supported. Freeing credentials does not affect contexts made from them. |
//! | VERSION | sspi-emu announces 10.0.20348, NTLM revision 15; it is informational and configurable. |
//! | Handles | Never reused; a handle of the wrong kind (credentials for a context) is `SEC_E_INVALID_HANDLE`. |
//!
//! # Exporting and importing contexts
//!
//! The format is documented field by field in [`crate::export`] and [`crate::export::v1`].
//! These are the choices where Windows says little or nothing:
//!
//! | Topic | sspi-emu |
//! |---|---|
//! | Which states | Every one: before the first token, between legs, and established with any traffic behind it. An imported context produces byte-identical tokens, signatures and sealed messages to one that never moved (tests check each role at each stage). A context whose handshake failed cannot be exported (`SEC_E_OUT_OF_SEQUENCE`), except with `RESET_NEW`, which needs nothing of the failed handshake. |
//! | `SECPKG_CONTEXT_EXPORT_RESET_NEW` | Windows documents only "the new security context is reset to its initial state". Here the blob holds the context as it was before its first token: the same package, role, credentials (an initiator's identity; an acceptor's options) and requested flags, but nothing of the handshake and no session keys. Importing it gives a fresh context ready for a new handshake, e.g. a configured acceptor cloned into workers. The exported context itself is untouched. No identity comes with such a blob. Channel bindings set on the old context are options too and come along: set the new connection's with `set_channel_bindings` (or a `SECBUFFER_CHANNEL_BINDINGS` buffer). |
//! | `SECPKG_CONTEXT_EXPORT_DELETE_OLD` | The exported context is deleted in the same step, under its lock: every later call, a second export included, is `SEC_E_INVALID_HANDLE`. |
//! | Neither flag | Both copies live on, as on Windows. They share keys, sequence numbers and RC4 keystreams, so only one of them may go on sending: two senders would encrypt two messages with the same keystream. Use `DELETE_OLD` unless you need the copy. |
//! | `SECPKG_CONTEXT_EXPORT_TO_KERNEL`, unknown flags | `SEC_E_NOT_SUPPORTED` and `SEC_E_INVALID_PARAMETER`; nothing changes. |
//! | The token | Windows returns a handle to the user's access token. Here an established context hands out a [`crate::export::PeerIdentity`] (package, user, domain, workstation, logon time): the client on an acceptor, the user itself on an initiator; `None` before the handshake completes. Given back on import, it must match the blob (`SEC_E_WRONG_PRINCIPAL` otherwise). |
//! | Credentials on import | An initiator's credentials travel in the blob (protected). An acceptor's user store does not: one imported before its handshake completed must be given credentials (`SEC_E_UNKNOWN_CREDENTIALS` otherwise); the handle layer takes them from `NTLM_USER_FILE`, and reports an unreadable file only when the import needed it. An imported context is checked like a new one (a blob cannot ask for what sspi-emu refuses). |
//! | The key file | A regular file (never a symbolic link) of exactly 32 bytes, mode 600, in a directory others cannot write; created atomically on the first export, never by an import, and read once per process. Its default location is per user ([`crate::export::ExportKey::default_path`]); processes of different users share contexts by pointing `SSPI_EMU_EXPORT_KEY_FILE` at one file. The nonce always comes from the operating system for the per-host key. |
//! | "Same computer" | Windows imports only on the machine that exported. Here any process that can read the key file can import; another machine with a copy of the key file can too. |
//! | Errors on import | A wrong key is `SEC_E_DECRYPT_FAILURE`; a damaged blob `SEC_E_INVALID_TOKEN`; a newer format `SEC_E_UNSUPPORTED_FUNCTION` naming both versions; another package's blob `SEC_E_INVALID_TOKEN`; an unknown package name `SEC_E_SECPKG_NOT_FOUND`. Nothing is created on failure. |
//! | Replaying a half-done acceptor | A blob of an acceptor that sent its CHALLENGE can be imported more than once, and each copy accepts the same AUTHENTICATE until the clock window closes. Whoever holds the blob and sees the AUTHENTICATE could use that: treat blobs as secrets, hand each to one worker, and delete them once imported. |
//! | Compatibility | Every released format version imports forever; the golden blobs of `tests/data/v1` are imported by every build and never rewritten. |
