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
//! - **The handshake**: a client that announces a MIC (every current Windows, Samba, macOS
//!   and browser client does) must send the right one over all three messages, so flags,
//!   names and versions cannot be changed in flight; with
//!   [`crate::AcceptorOptions::require_mic`] every client must, and then every bit of every
//!   token is covered by some check (the tests flip each one). A client that sends no MIC
//!   (curl) is accepted by default, as Windows accepts it, if it hands back the CHALLENGE's
//!   timestamp (hiding that timestamp is how a MIC would be stripped): its password proof and
//!   everything the acceptor requires still hold, but its flags are not covered (see below).
//!   An initiator refuses a server that drops the integrity or confidentiality it asked for.
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
//!   `tests/wiped.rs` shows it for heap memory: its allocator finds none of a scenario's
//!   secrets in any freed block. Copies the compiler makes when it moves a value, on the stack
//!   or in registers, are beyond what safe Rust can wipe; import, which decodes keys, wipes
//!   the 8 KiB of stack it decoded on before building the context, so none of them is copied
//!   into the heap with it.
//!
//! It does not protect against what NTLM itself cannot: a weak password (an attacker who
//! records a handshake can still guess offline against NTLMv2), a server that is not the one
//! the client meant (NTLM has no server authentication; use TLS with channel bindings), or a
//! compromised host. RC4 and MD5 are what the protocol mandates; sspi-emu does not make them
//! stronger.
//!
//! # What the acceptor accepts, next to Windows
//!
//! The acceptor takes every NTLMv2 client that a Windows server takes with its default
//! settings, curl included, and refuses what only protects an attacker. Row by row:
//!
//! | Topic | Windows (default settings) | sspi-emu | Why |
//! |---|---|---|---|
//! | LM and NTLMv1 responses | Accepted below `LmCompatibilityLevel` 5 | Refused by both roles (`SEC_E_UNSUPPORTED_FUNCTION`), under every option | **Stricter.** Both are cracked offline from one captured logon; every current client sends NTLMv2. |
//! | No extended session security | Accepted | Refused (`SEC_E_UNSUPPORTED_FUNCTION`) | **Stricter.** It means LM/NTLMv1 session keys; curl, Windows, Samba and browsers all offer it. |
//! | Password proof | NTProofStr over the client's blob | The same, recomputed over the blob exactly as received; an unknown user takes the wrong-password path (`SEC_E_LOGON_DENIED` for both, same time) | Matches. |
//! | Character set | Unicode if the client offers it, else OEM in the machine's OEM code page (MS-NLMP 3.2.5.1.1); neither is `SEC_E_INVALID_TOKEN` (2.2.2.5) | The same; the OEM code page is 437 (US English) unless [`crate::AcceptorOptions::oem_code_page`] picks 850, 852 or 866. An AUTHENTICATE in the other character set than its CHALLENGE chose is `SEC_E_INVALID_TOKEN`. | Matches; the code page is a per-machine Windows setting, so it is an option. The character set protects nothing: the names are proven by NTProofStr either way. curl sends the bytes of its command line as OEM names and hashes them as Latin-1, so its non-ASCII names fail against Windows too. |
//! | 128-bit keys | `NTLMMinServerSec` requires them since Windows 7, but the bit counts only with SIGN or SEAL (MS-NLMP 2.2.2.5, flag U) | Required whenever SIGN or SEAL is negotiated (`SEC_E_UNSUPPORTED_FUNCTION` otherwise), by both roles; a context with neither may do without | Matches. 40- and 56-bit keys would only ever protect messages. |
//! | Authentication-only contexts (neither SIGN nor SEAL: curl) | Authenticated; `MakeSignature` returns the dummy signature of MS-NLMP 3.4.4.3 (version 1, then zeros) and `VerifySignature` accepts only that; `EncryptMessage` is `SEC_E_UNSUPPORTED_FUNCTION` (since Vista) | The same. Without `ALWAYS_SIGN` as well, signing is `SEC_E_UNSUPPORTED_FUNCTION`. The attributes have neither `ASC_RET_INTEGRITY` nor `ASC_RET_CONFIDENTIALITY`. | Matches. The session key is never used for messages, so no weak key is ever used. A dummy signature protects nothing: check the attributes before relying on a signature. |
//! | An acceptor that asks for integrity or confidentiality | Grants what the client offers and reports it in the attributes | Refuses a client that does not offer it, at NEGOTIATE and again at AUTHENTICATE (`SEC_E_UNSUPPORTED_FUNCTION`) | **Stricter.** What the caller asked for is enforced, not only reported, so a client (or an attacker stripping its flags) cannot downgrade it. |
//! | A MIC the client announces (`MsvAvFlags` 0x2) | Required and checked (the CVE-2019-1040 fix) | Required and checked under every option: missing is `SEC_E_INVALID_TOKEN`, wrong `SEC_E_MESSAGE_ALTERED`; clearing the announcement breaks NTProofStr (`SEC_E_LOGON_DENIED`) | Matches. The blob is covered by NTProofStr, so the announcement cannot be removed. |
//! | No MIC announced (curl; gss-ntlmssp's raw mechanism unless asked) | Accepted: MS-NLMP 3.2.5.1.2 checks a MIC only when one is announced | Accepted by default if the blob holds the `MsvAvTimestamp` of this acceptor's CHALLENGE (`SEC_E_MESSAGE_ALTERED` otherwise); refused (`SEC_E_INVALID_TOKEN`) with [`crate::AcceptorOptions::require_mic`] | Matches for real clients, which copy the CHALLENGE's TargetInfo into their blob. The timestamp check is **stricter**: a blob without it means the timestamp was hidden in flight so that a MIC-sending client would send none, after which an attacker could take SIGN away unseen. `require_mic` is stricter still, for servers whose clients are all current Windows, Samba, macOS or browsers: the flags of a client that never sends a MIC are not covered, so an attacker in the middle can change them; never the password proof, nor anything the acceptor itself requires (row above). |
//! | Timestamp window | Not documented | The client's NTLMv2 timestamp must be within 5 minutes of the acceptor's clock ([`crate::AcceptorOptions::max_clock_skew`]), else `SEC_E_TIME_SKEW`, under every option. Windows clients echo the server's timestamp, which bounds the time between CHALLENGE and AUTHENTICATE; curl writes its own clock's, so its host's clock must be within the window. | Bounds how long a captured AUTHENTICATE stays usable. gss-ntlmssp does not check. |
//! | Target names | Checked only when configured | Without a policy any name is accepted. With one, the client's `MsvAvTargetName` must be present and equal to one of the names, ignoring ASCII case; otherwise `SEC_E_WRONG_PRINCIPAL`, under every option. | Matches a configured SPN check. A client that sends no MIC can still be held to a target name: the name is in its blob, under NTProofStr. |
//! | Channel bindings | "Extended Protection" off by default | An acceptor given bindings requires the client's to match, including when the client sent none or all zeros (`SEC_E_BAD_BINDINGS`): Windows' "Extended Protection: Required". Without bindings the client's are ignored. | Matches "Required" when set. curl sends no bindings, so it cannot log on to an acceptor that requires them. |
//! | `MsvAvSingleHost` and unknown AV ids | Carried; anything after MachineID is ignored (MS-NLMP 2.2.2.2); Windows 11 24H2 sends 80 bytes where earlier versions sent 48 | Any length an AV pair can hold; unknown ids kept as received, under NTProofStr and the MIC. At most 16 pairs in a list. | Matches; the 16-pair bound is a limit on hostile input (Windows sends about ten). |
//! | Anonymous (null session) and datagram NTLM | Accepted | Refused (`SEC_E_UNSUPPORTED_FUNCTION`) | **Stricter.** Neither authenticates anyone. |
//! | The handle layer ([`crate::sspi`]) | Machine-wide settings | The defaults above (no MIC required, code page 437); [`crate::AcceptorOptions`] sets them per context | Windows has no per-call switch for either. |
//!
//! # Where Windows is silent, and what sspi-emu does
//!
//! | Topic | sspi-emu |
//! |---|---|
//! | Order of acceptor checks | NTProofStr first (`SEC_E_LOGON_DENIED`, also for unknown users, which take the same code path so time does not tell them apart), then the MIC, then time, target name, channel bindings. A tampered AUTHENTICATE reports whichever check it breaks first. |
//! | A server that answers OEM | The initiator offers only Unicode; a CHALLENGE that chooses OEM anyway gets the names in [`crate::InitiatorOptions::oem_code_page`] (437 by default), or `SEC_E_INVALID_PARAMETER` for a name the code page cannot write. An attacker who forces OEM gains nothing: the MIC covers the CHALLENGE, and the names are proven by NTProofStr. |
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
//! | Sealing without confidentiality | `EncryptMessage` on a context that did not negotiate SEAL is `SEC_E_UNSUPPORTED_FUNCTION`. Signing is real when SIGN or SEAL was negotiated, and the dummy of MS-NLMP 3.4.4.3 on an authentication-only context (table above). |
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
//! The format is documented field by field in [`crate::export`], [`crate::export::v1`] and
//! [`crate::export::v2`].
//! These are the choices where Windows says little or nothing:
//!
//! | Topic | sspi-emu |
//! |---|---|
//! | Which states | Every one: before the first token, between legs, and established with any traffic behind it. An imported context produces byte-identical tokens, signatures and sealed messages to one that never moved (tests check each role at each stage). A context whose handshake failed cannot be exported (`SEC_E_OUT_OF_SEQUENCE`), except with `RESET_NEW`, which needs nothing of the failed handshake. |
//! | `SECPKG_CONTEXT_EXPORT_RESET_NEW` | Windows documents only "the new security context is reset to its initial state". Here the blob holds the context as it was before its first token: the same package, role, credentials (an initiator's identity; an acceptor's options) and requested flags, but nothing of the handshake and no session keys. Importing it gives a fresh context ready for a new handshake, e.g. a configured acceptor cloned into workers. The exported context itself is untouched. No identity comes with such a blob. Channel bindings set on the old context are options too and come along: set the new connection's with `set_channel_bindings` (or a `SECBUFFER_CHANNEL_BINDINGS` buffer). |
//! | `SECPKG_CONTEXT_EXPORT_DELETE_OLD` | The exported context is deleted in the same step, under its lock: every later call, a second export included, is `SEC_E_INVALID_HANDLE`. |
//! | Neither flag | Both copies live on, as on Windows. They share keys, sequence numbers and RC4 keystreams, so only one of them may go on sending: two senders would encrypt two messages with the same keystream. Use `DELETE_OLD` unless you need the copy. |
//! | `SECPKG_CONTEXT_EXPORT_TO_KERNEL`, unknown flags | `SEC_E_NOT_SUPPORTED` and `SEC_E_INVALID_PARAMETER`; nothing changes. |
//! | The token | Windows returns a handle to the user's access token. Here an established context hands out a [`crate::export::ClientIdentity`] (package, user, domain, workstation, logon time): the client on an acceptor, the user itself on an initiator; `None` before the handshake completes. Given back on import, it must match the blob (`SEC_E_WRONG_PRINCIPAL` otherwise). |
//! | Credentials on import | An initiator's credentials travel in the blob (protected). An acceptor's user store does not: one imported before its handshake completed must be given credentials (`SEC_E_UNKNOWN_CREDENTIALS` otherwise); the handle layer takes them from `NTLM_USER_FILE`, and reports an unreadable file only when the import needed it. An imported context is checked like a new one (a blob cannot ask for what sspi-emu refuses). |
//! | The key file | A regular file (never a symbolic link) of exactly 32 bytes, mode 600, in a directory others cannot write; created atomically on the first export, never by an import, and read once per process. Its default location is per user ([`crate::export::ExportKey::default_path`]); processes of different users share contexts by pointing `SSPI_EMU_EXPORT_KEY_FILE` at one file. The nonce always comes from the operating system for the per-host key. |
//! | "Same computer" | Windows imports only on the machine that exported. Here any process that can read the key file can import; another machine with a copy of the key file can too. |
//! | Errors on import | A wrong key is `SEC_E_DECRYPT_FAILURE`; a damaged blob `SEC_E_INVALID_TOKEN`; a newer format `SEC_E_UNSUPPORTED_FUNCTION` naming both versions; `SecurityContext::import` takes the package from the blob; `import_security_context` keeps Windows' package-name argument and checks it against the blob: another package's blob is `SEC_E_INVALID_TOKEN`, an unknown package name `SEC_E_SECPKG_NOT_FOUND`. Nothing is created on failure. |
//! | Replaying a half-done acceptor | A blob of an acceptor that sent its CHALLENGE can be imported more than once, and each copy accepts the same AUTHENTICATE until the clock window closes. Whoever holds the blob and sees the AUTHENTICATE could use that: treat blobs as secrets, hand each to one worker, and delete them once imported. |
//! | Compatibility | Every released format version imports forever; the golden blobs of `tests/data/v1` and `tests/data/v2` are imported by every build and never rewritten. A blob is written in the oldest version that holds its context: version 1 unless the context has an option only version 2 can hold (an OEM code page other than 437, `require_mic`), so builds that know only version 1 import the blobs of newer builds with default options (workers of a farm upgraded one at a time). A version-1 blob means code page 437 and no MIC required beyond what the client announces. Builds before format version 2 always required a MIC, so a half-done acceptor exported by one of them accepts, once imported here, a client without a MIC (that hands back the timestamp), and an older build refuses that client in a version-1 blob made here. |
//!
//! # Kerberos
//!
//! The Kerberos package: the RFC 3961 encryption types ([`crate::kerberos::crypto`]), keytabs,
//! credential caches and `krb5.conf`, the AS and TGS exchanges with a real KDC, initiator
//! credentials that get and keep tickets ([`crate::kerberos::credentials`]), and the security
//! contexts (AP exchange, RFC 4121 message tokens, export/import), proven against MIT's
//! GSS-API. Where Windows is silent or differs, this is what sspi-emu does:
//!
//! | Question | What sspi-emu does |
//! |---|---|
//! | Is Kerberos listed? | Yes: `EnumerateSecurityPackages` and `QuerySecurityPackageInfo("Kerberos")` give the `SecPkgInfo` Windows reports ([`crate::PackageInfo::kerberos`], `cbMaxToken` 48,000). |
//! | `AcquireCredentialsHandle` outbound | No network call, as on Windows: a password, a client keytab, or no secret (the default credential cache, as a Windows user is signed in by logon). The first ticket is asked for when it is needed, then kept in memory, shared by every copy of the credentials, until 60 s before it ends. Credentials of one package under another package's name are `SEC_E_UNKNOWN_CREDENTIALS`. |
//! | `AcquireCredentialsHandle` inbound | A service keytab ([`crate::Credentials::kerberos_acceptor`]): restricted to one service (a ticket naming another service is `SEC_E_WRONG_PRINCIPAL`, even if the same key decrypts it), or any service in the keytab. Without auth data, every service of the default keytab (`KRB5_KTNAME`, else `/etc/krb5.keytab`), as Windows accepts for every SPN of the machine account. |
//! | Names | `SECPKG_ATTR_NAMES` is the client principal, `alice@EXAMPLE.TEST` (Windows maps it to `DOMAIN\user` through the domain; sspi-emu has no domain to ask). The PAC's logon info, when the ticket has one, gives the Windows names and SIDs ([`crate::SecurityContext::logon_info`]). |
//! | The PAC | Its server signature is verified with the key that decrypted the ticket, and its client info against the ticket (name compared ignoring case, time to the second); either failing refuses the AP-REQ as altered. The KDC signature cannot be verified without the krbtgt key, and Windows' way (asking a DC over Netlogon) does not exist here. |
//! | Replays | Every accepted authenticator is recorded in the credential's replay cache, shared by its contexts (and by contexts imported with it), until its time plus the skew. A replay is `SEC_E_LOGON_DENIED`. The cache holds at most 250,000 live entries by default; when full of live ones, new logons are refused (`SEC_E_INSUFFICIENT_MEMORY`) rather than an entry forgotten early, which would let it be replayed. Workers of a pre-fork server share one cache through a file (`AcceptorCredentials::with_replay_file`; format and locking in [`crate::kerberos::replay`]): owner-only, locked per check, a fixed size (about 60 % of its slots usable before a window fills and new logons are refused), not for network file systems, not synced to disk. |
//! | Clock skew | 5 minutes by default (`AcceptorOptions::max_clock_skew`), for the authenticator's time and the ticket's start and end: `SEC_E_TIME_SKEW`, or `SEC_E_CONTEXT_EXPIRED` for an expired ticket. A context's `expiry` is its ticket's end. |
//! | Channel bindings | An acceptor with bindings requires the client's checksum to carry their MD5, and refuses a client that sent none (`SEC_E_BAD_BINDINGS`), as NTLM does; an acceptor without bindings accepts any. |
//! | A strict AP-REQ | The AP-REQ and AP-REP must be DER (every length consistent, re-encoding gives the same bytes): the ASN.1 crate alone takes a SET for a SEQUENCE and lengths that do not match. ap-options other than mutual-required and use-session-key, and a mutual-required option that disagrees with the GSS mutual flag, are refused: nothing authenticates those bits. What stays unauthenticated and accepted is the ticket's sname name type (advisory, RFC 4120 section 6.2). MIT, Heimdal and Windows all send DER. |
//! | Mutual authentication | An AP-REP whenever the client asks (mutual-required); it carries a fresh acceptor subkey of the initiator subkey's type, which then protects the messages. The initiator's subkey has the ticket session key's type. |
//! | DCE style | `ISC_REQ_USE_DCE_STYLE` (the three-leg variant of RPC) is refused with `SEC_E_UNSUPPORTED_FUNCTION`: no peer to prove it against. |
//! | Delegation | With `ISC_REQ_DELEGATE`, a forwarded TGT goes to the acceptor when the user's TGT is forwardable (MIT's rule; Windows also asks for the service's ok-as-delegate flag, which sspi-emu does not); otherwise nothing is delegated and `ISC_RET_DELEGATE` is not set. The acceptor gets it with [`crate::SecurityContext::delegated_credentials`]. |
//! | Message sizes | `SecPkgContext_Sizes` for aes-sha1 as Windows: `cbMaxSignature` 28, `cbBlockSize` 1, `cbSecurityTrailer` 76, of which `EncryptMessage` writes 60 (the token buffer is narrowed to that); larger for aes-sha2, which Windows lacks. `SECPKG_ATTR_SESSION_KEY` gives the context key (16 or 32 bytes, `ContextAttribute::KerberosSessionKey`); `SECPKG_ATTR_LIFESPAN` ends with the ticket. `EncryptMessage` with `SECQOP_WRAP_NO_ENCRYPT` signs without encrypting, and `DecryptMessage` reports it. |
//! | Message tokens | RFC 4121 MIC and Wrap tokens for the AES types; RFC 4757 ones for rc4-hmac, whose `EncryptMessage` split form is the DCE-style 45-byte token only (the plain form with a padding buffer is not implemented). `DecryptMessage` takes a Wrap token of any rotation and filler, and `SECBUFFER_STREAM`. |
//! | Sequence numbers | With replay detection, a replayed token is `SEC_E_OUT_OF_SEQUENCE` and a late but unseen one is taken (a 64-token window, as MIT). With sequence detection too, a genuine token that comes early or late is also refused with that status, and an early one is still counted (as MIT counts it), so the ones it skipped are then refused. |
//! | Export | Every state exports (package 2 of format version 2). Credentials never travel: an initiator before its first token and an acceptor before its AP-REQ are imported with theirs, which must be for the same client or service; established contexts need none. The blob holds the context key, the delegated TGT and the PAC: protect it as a secret. The randomness source does not travel: an imported context with the same randomness makes the same tokens. |
//! | Encryption types | aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128 and rc4-hmac, offered in that order unless `krb5.conf` (`default_tkt_enctypes`, `default_tgs_enctypes`) says otherwise, as MIT 1.20 does. DES, 3DES and Camellia keys in a keytab are read and written back but never used. A PBKDF2 iteration count above 2^24 from a KDC is refused rather than computed. |
//! | Where credentials are found | `KRB5CCNAME` as `FILE:path` or a path, else `/tmp/krb5cc_<uid>`; `DIR:`, `KEYRING:`, `KCM:`, `MEMORY:` and `API:` caches are refused with an error naming the type. Keytabs: `FILE:`/`WRFILE:` or a path; a client's from `KRB5_CLIENT_KTNAME`, else `KRB5_KTNAME`, else `/etc/krb5.keytab`. `krb5.conf`: `KRB5_CONFIG` (a colon-separated list), else `/etc/krb5.conf`; `include` and `includedir` up to 8 deep and 64 files; a `module` directive is refused. |
//! | Finding the KDC | From `krb5.conf` only (`kdc` lines of the realm; `[domain_realm]`, else the default realm, for a service's host). No DNS SRV lookup, no HTTPS KDC proxy (MS-KKDCP). UDP below `udp_preference_limit` (default 1465 bytes), else TCP; KRB_ERR_RESPONSE_TOO_BIG is retried over TCP; the next KDC is tried on failure. One deadline for the whole call, 10 s by default: an unreachable or silent KDC is `SEC_E_NO_AUTHORITY` within it (the host name lookup itself is not bounded by it). |
//! | KDC errors | A wrong password (`KDC_ERR_PREAUTH_FAILED`, `KRB_AP_ERR_BAD_INTEGRITY`), an unknown, revoked or expired client are `SEC_E_LOGON_DENIED`; an unknown service `SEC_E_TARGET_UNKNOWN`; `KRB_AP_ERR_SKEW` `SEC_E_TIME_SKEW`; no common encryption type `SEC_E_UNSUPPORTED_FUNCTION`; others `SEC_E_INTERNAL_ERROR`. The text names the principal and carries the KDC's e-text. |
//! | Checks on a reply | The nonce, the client name and realm, the server name, that the encryption type is one offered, and the ticket times, each a named function in [`crate::kerberos::kdc`]. A reply's outer DER is read by a strict reader (minimal lengths, nothing trailing) before the ASN.1 crate sees it. |
//! | Not implemented | FAST armoring, cross-realm referrals, S4U, PKINIT, user-to-user tickets; the KDC's time offset is not kept to correct the clock. Principal names are ASCII. |
//! | Writing a credential cache | Version 4, as `kinit` writes; a new file of mode 600 renamed over the old one (no `fcntl` lock, which MIT takes: two writers at once leave one of the two caches whole). Storing tickets of another principal into an existing cache replaces it. |
//!
//! # Bounds
//!
//! No single input costs more than the bounds below, whatever it declares. Each row is shown
//! by a test in `tests/bounds.rs` with the hostile input it is for (the TCP length prefix by
//! `kerberos::transport`'s own tests, with a fake KDC); memory there is measured
//! by a counting allocator, not assumed. Time is linear in the input (which the first column
//! bounds), except where the row says otherwise: declared sizes are checked against what is
//! really there before any work that grows with them.
//!
//! | Input | Largest accepted | Memory for one input | Refused before any work |
//! |---|---|---|---|
//! | NTLM token (any message) | 64 KiB | A copy of NEGOTIATE and CHALLENGE for the MIC; nothing that grows with a declared length | A longer token, from its length; a field whose offset or length points outside the token; more than 16 AV pairs in a list, or one id twice |
//! | Exported context | 64 KiB ([`crate::export::MAX_PACKED_SIZE`]) | One copy of the state, which the decoder borrows from | A longer blob; a header whose length field differs from the blob's (a declared 1 GiB costs nothing); inside the state, a length longer than what follows |
//! | KDC reply | 1 MiB ([`crate::kerberos::kdc::MAX_REPLY_LEN`]) | The reply, read into a buffer of its announced size once that is within the bound (UDP: 64 KiB) | A longer reply or TCP length prefix; a DER length past the input. Nesting is bounded by the RFC 4120 types, which are not recursive: 100,000 nested SEQUENCEs are refused at the first one that does not fit |
//! | String-to-key parameters from a KDC | 2^24 PBKDF2 iterations ([`crate::kerberos::crypto::MAX_ITERATIONS`]) | Constant | More iterations, or 0 (2^32). The bound is the most time a KDC can make a client spend on one key: about 7 s for aes256-cts-hmac-sha384-192 on the benchmark machine (14.2 ms per 32,768 iterations) |
//! | Keytab, credential cache | 64 MiB each | One buffer of the file's size, wiped on drop | A larger file, from its size, unread; more than 64 name components; any count or length past the end of the file |
//! | `krb5.conf` | 1 MiB per file, 64 files, `include` 8 deep, subsections 32 deep ([`crate::kerberos::config::MAX_NESTING`]) | The text and its tree | A larger file, from its size, unread; a 33rd level of `tag = {` (deeper nesting would cost time quadratic in it and a recursion as deep) |
//! | `NTLM_USER_FILE` | 16 MiB ([`crate::ntlm::users::MAX_FILE_SIZE`]) | One buffer of the file's size, wiped on drop, and the store | A larger file, from its size, unread |
//!
//! The handle table has no bound on the number of live handles, as on Windows: each costs
//! the context it holds (a few hundred bytes for NTLM) until it is deleted.
