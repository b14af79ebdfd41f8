//! The Windows-shaped layer: handles, SecBuffer lists and status codes.

use super::driver::*;
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::sspi::*;
use sspi_emu::{
    ChannelBindings, Credentials, FileTime, ImportOptions, Password, SecurityStatus as S,
};

const ISC: IscReq =
    IscReq(IscReq::CONFIDENTIALITY.0 | IscReq::INTEGRITY.0 | IscReq::REPLAY_DETECT.0);
const ASC: AscReq =
    AscReq(AscReq::CONFIDENTIALITY.0 | AscReq::INTEGRITY.0 | AscReq::REPLAY_DETECT.0);

fn creds() -> (SecHandle, SecHandle) {
    let (mut c, mut s, mut t) = (SecHandle::default(), SecHandle::default(), FileTime::default());
    let st = acquire_credentials_handle(
        None,
        "NTLM",
        SECPKG_CRED_OUTBOUND,
        Some(&client_creds()),
        &mut c,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_OK);
    assert_eq!(t, FileTime::NEVER);
    let st = acquire_credentials_handle(
        None,
        "ntlm",
        SECPKG_CRED_INBOUND,
        Some(&server_creds()),
        &mut s,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_OK);
    (c, s)
}

/// One ISC call with a caller-supplied token buffer; returns the status and the token.
fn isc(
    cred: &SecHandle,
    ctx: &mut SecHandle,
    first: bool,
    input: Option<&[u8]>,
    extra: Option<&[u8]>,
) -> (S, Vec<u8>) {
    let mut token = vec![0u8; 2888];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
    let mut inputs: Vec<SecBuffer<'_>> = Vec::new();
    if let Some(t) = input {
        inputs.push(SecBuffer::read_only(SECBUFFER_TOKEN, t));
    }
    if let Some(cb) = extra {
        inputs.push(SecBuffer::read_only(SECBUFFER_CHANNEL_BINDINGS, cb));
    }
    let (mut attrs, mut expiry) = (0, FileTime::default());
    let old = *ctx;
    let st = initialize_security_context(
        Some(cred),
        (!first).then_some(old),
        Some("HTTP/server"),
        ISC,
        0,
        (!inputs.is_empty()).then_some(&mut inputs[..]),
        ctx,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    (st, out[0].as_slice().to_vec())
}

fn asc(
    cred: &SecHandle,
    ctx: &mut SecHandle,
    first: bool,
    input: &[u8],
    extra: Option<&[u8]>,
) -> (S, Vec<u8>) {
    let mut inputs = vec![SecBuffer::read_only(SECBUFFER_TOKEN, input)];
    if let Some(cb) = extra {
        inputs.push(SecBuffer::read_only(SECBUFFER_CHANNEL_BINDINGS, cb));
    }
    let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
    let (mut attrs, mut expiry) = (0, FileTime::default());
    let old = *ctx;
    let st = accept_security_context(
        Some(cred),
        (!first).then_some(old),
        Some(&mut inputs),
        ASC | AscReq::ALLOCATE_MEMORY,
        0,
        ctx,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    if st.is_success() {
        assert_ne!(attrs & 0x100, 0, "ASC_RET_ALLOCATED_MEMORY");
    }
    let token = out[0].take_allocated().map(|b| {
        let v = b.as_slice().to_vec();
        assert_eq!(free_context_buffer(b), S::SEC_E_OK);
        v
    });
    (st, token.unwrap_or_default())
}

fn established_handles(cb: Option<&[u8]>) -> (SecHandle, SecHandle) {
    let (ccred, scred) = creds();
    let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
    let (st, negotiate) = isc(&ccred, &mut c, true, None, None);
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let (st, challenge) = asc(&scred, &mut s, true, &negotiate, cb);
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let (st, authenticate) = isc(&ccred, &mut c, false, Some(&challenge), cb);
    assert_eq!(st, S::SEC_E_OK);
    let (st, last) = asc(&scred, &mut s, false, &authenticate, None);
    assert_eq!(st, S::SEC_E_OK);
    assert!(last.is_empty());
    assert_eq!(free_credentials_handle(&ccred), S::SEC_E_OK);
    assert_eq!(free_credentials_handle(&scred), S::SEC_E_OK);
    (c, s)
}

fn seal(ctx: &SecHandle, data: &mut [u8]) -> [u8; 16] {
    let mut sig = [0u8; 32];
    let mut msg = [SecBuffer::new(SECBUFFER_TOKEN, &mut sig), SecBuffer::new(SECBUFFER_DATA, data)];
    assert_eq!(encrypt_message(ctx, 0, &mut msg, 0), S::SEC_E_OK);
    assert_eq!(msg[0].len(), 16, "the token buffer is narrowed to the signature");
    msg[0].as_slice().try_into().unwrap()
}

#[test]
fn full_exchange_over_handles_with_every_message_call() {
    let (c, s) = established_handles(None);
    // Encrypt / decrypt, both ways, contexts still usable after the credentials were freed.
    let mut data = *b"over the wire";
    let sig = seal(&c, &mut data);
    let mut sig_copy = sig;
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut sig_copy), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    let mut qop = 99;
    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!((msg[1].as_slice(), qop), (&b"over the wire"[..], 0));

    // SECBUFFER_STREAM: signature || ciphertext in one buffer, plaintext pointed to.
    let mut data = *b"streamed";
    let sig = seal(&s, &mut data);
    let mut stream = [sig.to_vec(), data.to_vec()].concat();
    let mut msg = [SecBuffer::new(SECBUFFER_STREAM, &mut stream), SecBuffer::empty(SECBUFFER_DATA)];
    assert_eq!(decrypt_message(&c, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!(msg[1].as_slice(), b"streamed");

    // Read-only buffers are signed but not encrypted; a change to them is detected.
    let header = *b"hdr";
    let mut body = *b"body";
    let mut sig = [0u8; 16];
    let mut msg = [
        SecBuffer::read_only(SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, &header),
        SecBuffer::new(SECBUFFER_DATA, &mut body),
        SecBuffer::new(SECBUFFER_TOKEN, &mut sig),
    ];
    assert_eq!(encrypt_message(&c, 0, &mut msg, 0), S::SEC_E_OK);
    let bad_header = *b"hdX";
    let mut msg = [
        SecBuffer::read_only(SECBUFFER_DATA | SECBUFFER_READONLY, &bad_header),
        SecBuffer::new(SECBUFFER_DATA, &mut body),
        SecBuffer::new(SECBUFFER_TOKEN, &mut sig),
    ];
    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_MESSAGE_ALTERED);
    let mut msg = [
        SecBuffer::read_only(SECBUFFER_DATA | SECBUFFER_READONLY, &header),
        SecBuffer::new(SECBUFFER_DATA, &mut body),
        SecBuffer::new(SECBUFFER_TOKEN, &mut sig),
    ];
    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_OK, "usable after a failure");
    assert_eq!(msg[1].as_slice(), b"body");

    // Signatures.
    let mut sig = [0u8; 16];
    let payload = *b"signed";
    let mut msg =
        [SecBuffer::read_only(SECBUFFER_DATA, &payload), SecBuffer::new(SECBUFFER_TOKEN, &mut sig)];
    assert_eq!(make_signature(&s, 0, &mut msg, 0), S::SEC_E_OK);
    assert_eq!(verify_signature(&c, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!(verify_signature(&c, &mut msg, 0, &mut qop), S::SEC_E_OUT_OF_SEQUENCE, "replay");
    assert_eq!(make_signature(&s, 1, &mut msg, 0), S::SEC_E_QOP_NOT_SUPPORTED, "QOP");
    let mut small = [0u8; 8];
    let mut msg = [
        SecBuffer::read_only(SECBUFFER_DATA, &payload),
        SecBuffer::new(SECBUFFER_TOKEN, &mut small),
    ];
    assert_eq!(make_signature(&s, 0, &mut msg, 0), S::SEC_E_BUFFER_TOO_SMALL);
    let mut msg = [SecBuffer::read_only(SECBUFFER_DATA, &payload)];
    assert_eq!(make_signature(&s, 0, &mut msg, 0), S::SEC_E_INVALID_TOKEN, "no token buffer");

    // Queries.
    let mut value = None;
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_NAMES, &mut value), S::SEC_E_OK);
    assert!(matches!(value.take(), Some(ContextAttribute::Names(n)) if n == "EXAMPLE\\alice"));
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_SIZES, &mut value), S::SEC_E_OK);
    assert!(matches!(value.take(), Some(ContextAttribute::Sizes(z)) if z.max_signature == 16));
    let mut other = None;
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_SESSION_KEY, &mut value), S::SEC_E_OK);
    assert_eq!(query_context_attributes(&c, SECPKG_ATTR_SESSION_KEY, &mut other), S::SEC_E_OK);
    match (value.take(), other.take()) {
        (Some(ContextAttribute::SessionKey(a)), Some(ContextAttribute::SessionKey(b))) => {
            assert!(a.ct_eq(&b))
        }
        x => panic!("{x:?}"),
    }
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_FLAGS, &mut value), S::SEC_E_OK);
    assert!(matches!(value.take(), Some(ContextAttribute::Flags(f)) if f & 0x10 != 0));
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_PACKAGE_INFO, &mut value), S::SEC_E_OK);
    assert_eq!(query_context_attributes(&s, 0x7777, &mut value), S::SEC_E_UNSUPPORTED_FUNCTION);
    assert_eq!(complete_auth_token(&s, &mut []), S::SEC_E_OK);

    for h in [c, s] {
        assert_eq!(delete_security_context(&h), S::SEC_E_OK);
    }
}

#[test]
fn invalid_handles_everywhere() {
    let (c, s) = established_handles(None);
    assert_eq!(delete_security_context(&c), S::SEC_E_OK);
    let never = SecHandle { lower: u64::MAX, upper: 0x4354_5854 };
    let (ccred, scred) = creds();
    for bad in [c, never, ccred, SecHandle::default()] {
        let mut sig = [0u8; 16];
        let mut data = [1u8; 4];
        let mut msg =
            [SecBuffer::new(SECBUFFER_TOKEN, &mut sig), SecBuffer::new(SECBUFFER_DATA, &mut data)];
        let mut qop = 0;
        assert_eq!(make_signature(&bad, 0, &mut msg, 0), S::SEC_E_INVALID_HANDLE);
        assert_eq!(verify_signature(&bad, &mut msg, 0, &mut qop), S::SEC_E_INVALID_HANDLE);
        assert_eq!(encrypt_message(&bad, 0, &mut msg, 0), S::SEC_E_INVALID_HANDLE);
        assert_eq!(decrypt_message(&bad, &mut msg, 0, &mut qop), S::SEC_E_INVALID_HANDLE);
        assert_eq!(delete_security_context(&bad), S::SEC_E_INVALID_HANDLE);
        assert_eq!(complete_auth_token(&bad, &mut []), S::SEC_E_INVALID_HANDLE);
        let mut v = None;
        assert_eq!(
            query_context_attributes(&bad, SECPKG_ATTR_SIZES, &mut v),
            S::SEC_E_INVALID_HANDLE
        );
        // As the context of a later handshake call, on either side.
        let mut next = bad;
        let (st, _) = isc(&ccred, &mut next, false, Some(b"x"), None);
        assert_eq!(st, S::SEC_E_INVALID_HANDLE, "{bad:?} as an initiator context");
        let mut next = bad;
        let (st, _) = asc(&scred, &mut next, false, b"x", None);
        assert_eq!(st, S::SEC_E_INVALID_HANDLE, "{bad:?} as an acceptor context");
        if bad != ccred {
            let mut next = bad;
            let (st, _) = isc(&bad, &mut next, true, None, None);
            assert_eq!(st, S::SEC_E_INVALID_HANDLE, "as credentials");
        }
    }
    // A server context handed to the initiator side.
    let mut next = s;
    assert_eq!(isc(&ccred, &mut next, false, Some(b"x"), None).0, S::SEC_E_INVALID_HANDLE);
    // Credentials of the wrong direction.
    let mut h = SecHandle::default();
    assert_eq!(isc(&scred, &mut h, true, None, None).0, S::SEC_E_UNKNOWN_CREDENTIALS);
    assert_eq!(free_credentials_handle(&ccred), S::SEC_E_OK);
    assert_eq!(free_credentials_handle(&ccred), S::SEC_E_INVALID_HANDLE);
    assert_eq!(
        free_credentials_handle(&s),
        S::SEC_E_INVALID_HANDLE,
        "a context is not credentials"
    );
    assert_eq!(free_credentials_handle(&scred), S::SEC_E_OK);
    assert_eq!(delete_security_context(&s), S::SEC_E_OK);
}

#[test]
fn acquire_credentials_errors() {
    let (mut h, mut t) = (SecHandle::default(), FileTime::default());
    let client = client_creds();
    assert_eq!(
        acquire_credentials_handle(
            None,
            "Kerberoz",
            SECPKG_CRED_OUTBOUND,
            Some(&client),
            &mut h,
            &mut t
        ),
        S::SEC_E_SECPKG_NOT_FOUND
    );
    assert_eq!(
        acquire_credentials_handle(
            None,
            "NTLM",
            SECPKG_CRED_INBOUND,
            Some(&client),
            &mut h,
            &mut t
        ),
        S::SEC_E_UNKNOWN_CREDENTIALS
    );
    assert_eq!(
        acquire_credentials_handle(None, "NTLM", SECPKG_CRED_OUTBOUND, None, &mut h, &mut t),
        S::SEC_E_NO_CREDENTIALS
    );
    assert_eq!(
        acquire_credentials_handle(None, "NTLM", SECPKG_CRED_BOTH, Some(&client), &mut h, &mut t),
        S::SEC_E_UNSUPPORTED_FUNCTION
    );
    // NTLM credentials under another package's name.
    assert_eq!(
        acquire_credentials_handle(
            None,
            "Kerberos",
            SECPKG_CRED_OUTBOUND,
            Some(&client),
            &mut h,
            &mut t
        ),
        S::SEC_E_UNKNOWN_CREDENTIALS
    );
    assert_eq!(h, SecHandle::default(), "no handle was issued");
}

#[test]
fn packages_are_listed_and_described_per_package() {
    // Listed: the packages whose contexts exist (a caller picking from the list gets one it
    // can authenticate with).
    let listed: Vec<_> = enumerate_security_packages().into_iter().map(|p| p.name).collect();
    assert_eq!(listed, ["NTLM", "Kerberos"]);
    let ntlm = query_security_package_info("ntlm").unwrap();
    assert_eq!((ntlm.name, ntlm.max_token, ntlm.rpc_id), ("NTLM", 2888, 10));
    let kerberos = query_security_package_info("kerberos").unwrap();
    assert_eq!(kerberos, sspi_emu::Package::Kerberos.info());
    assert_eq!((kerberos.name, kerberos.max_token, kerberos.rpc_id), ("Kerberos", 48_000, 16));
    assert_ne!(kerberos.capabilities, ntlm.capabilities);
    assert_eq!(
        query_security_package_info("Negotiate").unwrap_err(),
        sspi_emu::Error::PackageNotFound("Negotiate".into())
    );
    // A context reports its own package, and its sizes come from it.
    let (client, _) = super::driver::established(40);
    assert_eq!(client.package(), sspi_emu::Package::Ntlm);
    assert_eq!(client.package_info(), ntlm);
    assert_eq!(client.sizes().max_token, ntlm.max_token);
}

#[test]
fn buffer_rules_and_no_half_created_contexts() {
    let (ccred, scred) = creds();
    // Too small a caller buffer: refused before anything happens.
    let mut token = vec![0u8; 100];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
    let mut ctx = SecHandle::default();
    let (mut attrs, mut t) = (0, FileTime::default());
    let st = initialize_security_context(
        Some(&ccred),
        None,
        None,
        ISC,
        0,
        None,
        &mut ctx,
        &mut out,
        &mut attrs,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_BUFFER_TOO_SMALL);
    assert_eq!(ctx, SecHandle::default());
    // A garbage first token to the acceptor creates no context.
    let mut s = SecHandle::default();
    let (st, _) = asc(&scred, &mut s, true, b"NTLMSSP\0garbage", None);
    assert_eq!(st, S::SEC_E_INVALID_TOKEN);
    assert_eq!(s, SecHandle::default());
    // ISC_REQ_ALLOCATE_MEMORY hands back a ContextBuffer.
    let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
    let st = initialize_security_context(
        Some(&ccred),
        None,
        None,
        ISC | IscReq::ALLOCATE_MEMORY,
        0,
        None,
        &mut ctx,
        &mut out,
        &mut attrs,
        &mut t,
    );
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    assert_ne!(attrs & 0x100, 0, "ISC_RET_ALLOCATED_MEMORY");
    let buf = out[0].take_allocated().unwrap();
    assert!(buf.as_slice().starts_with(b"NTLMSSP\0\x01"));
    assert_eq!(free_context_buffer(buf), S::SEC_E_OK);
    assert_eq!(delete_security_context(&ctx), S::SEC_E_OK);
    free_credentials_handle(&ccred);
    free_credentials_handle(&scred);
}

#[test]
fn channel_bindings_buffers() {
    let cb = ChannelBindings::application(&b"tls-server-end-point:abcd"[..])
        .to_sec_channel_bindings()
        .unwrap();
    let (c, s) = established_handles(Some(&cb));
    delete_security_context(&c);
    delete_security_context(&s);
    // Different bindings on the two sides.
    let other = ChannelBindings::application(&b"tls-server-end-point:0000"[..])
        .to_sec_channel_bindings()
        .unwrap();
    let (ccred, scred) = creds();
    let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
    let (_, negotiate) = isc(&ccred, &mut c, true, None, None);
    let (_, challenge) = asc(&scred, &mut s, true, &negotiate, Some(&cb));
    let (_, authenticate) = isc(&ccred, &mut c, false, Some(&challenge), Some(&other));
    assert_eq!(asc(&scred, &mut s, false, &authenticate, None).0, S::SEC_E_BAD_BINDINGS);
    // The failed context stays a valid handle until deleted, but refuses to continue.
    assert_eq!(asc(&scred, &mut s, false, &authenticate, None).0, S::SEC_E_OUT_OF_SEQUENCE);
    assert_eq!(delete_security_context(&s), S::SEC_E_OK);
    assert_eq!(delete_security_context(&c), S::SEC_E_OK);
    // A malformed SEC_CHANNEL_BINDINGS buffer.
    let mut c = SecHandle::default();
    let (st, _) = isc(&ccred, &mut c, true, None, Some(&[1, 2, 3]));
    assert_eq!(st, S::SEC_E_INVALID_TOKEN);
    free_credentials_handle(&ccred);
    free_credentials_handle(&scred);
}

/// Inbound credentials without auth data come from the file named by `NTLM_USER_FILE`.
/// The variable is process-wide, so the check runs in a child process: this test re-runs
/// the test binary on `ntlm_user_file_child` with the variable set.
#[test]
fn inbound_credentials_from_ntlm_user_file() {
    let dir = std::env::temp_dir().join(format!("sspi-emu-ntlm-user-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users");
    std::fs::write(&path, format!("{DOMAIN}:{USER}:{PASSWORD}\n")).unwrap();
    let run = |file: &std::path::Path| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sspi_layer::ntlm_user_file_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(NTLM_USER_FILE, file)
            .env("SSPI_EMU_USER_FILE_CHILD", "1")
            .output()
            .unwrap()
    };
    let good = run(&path);
    let missing = run(&dir.join("absent"));
    std::fs::remove_dir_all(&dir).unwrap();
    let out = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success() && out.contains("child: established EXAMPLE\\alice"), "{out}");
    let out = String::from_utf8_lossy(&missing.stdout);
    assert!(out.contains("child: acquire failed SEC_E_NO_CREDENTIALS"), "{out}");
}

/// The child half of `inbound_credentials_from_ntlm_user_file`; does nothing on its own.
#[test]
fn ntlm_user_file_child() {
    if std::env::var_os("SSPI_EMU_USER_FILE_CHILD").is_none() {
        return;
    }
    let (mut scred, mut t) = (SecHandle::default(), FileTime::default());
    let st =
        acquire_credentials_handle(None, "NTLM", SECPKG_CRED_INBOUND, None, &mut scred, &mut t);
    if st != S::SEC_E_OK {
        println!("child: acquire failed {st:?}");
        return;
    }
    let (ccred, _) = creds();
    let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
    let (_, negotiate) = isc(&ccred, &mut c, true, None, None);
    let (_, challenge) = asc(&scred, &mut s, true, &negotiate, None);
    let (_, authenticate) = isc(&ccred, &mut c, false, Some(&challenge), None);
    assert_eq!(asc(&scred, &mut s, false, &authenticate, None).0, S::SEC_E_OK);
    let mut value = None;
    query_context_attributes(&s, SECPKG_ATTR_NAMES, &mut value);
    if let Some(ContextAttribute::Names(n)) = value {
        println!("child: established {n}");
    }
}

#[test]
fn many_threads_share_the_handle_table() {
    let threads: Vec<_> = (0..8u8)
        .map(|i| {
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let (c, s) = established_handles(None);
                    let mut data = [i; 64];
                    let sig = seal(&c, &mut data);
                    let mut sig_copy = sig;
                    let mut msg = [
                        SecBuffer::new(SECBUFFER_TOKEN, &mut sig_copy),
                        SecBuffer::new(SECBUFFER_DATA, &mut data),
                    ];
                    let mut qop = 0;
                    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_OK);
                    assert_eq!(msg[1].as_slice(), &[i; 64]);
                    assert_eq!(delete_security_context(&c), S::SEC_E_OK);
                    assert_eq!(delete_security_context(&s), S::SEC_E_OK);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn password_with_unicode_and_colons() {
    let creds = Credentials::initiator("Jürgen", "DÖMAIN", Password::new("pä:ss wörd"));
    let mut users = sspi_emu::ntlm::users::MemoryUserStore::new();
    users.add_password("dömain", "JÜRGEN", &Password::new("pä:ss wörd"));
    let mut c = sspi_emu::SecurityContext::initiator(&creds, client_options(1)).unwrap();
    let mut s =
        sspi_emu::SecurityContext::acceptor(&Credentials::acceptor(users), server_options(2))
            .unwrap();
    handshake_with(&mut c, &mut s, |_, _| {}).unwrap();
    assert_eq!(s.client_name().unwrap(), "DÖMAIN\\Jürgen");
}

fn key_options() -> (sspi_emu::export::ExportOptions, sspi_emu::ImportOptions) {
    let key = super::export::test_key();
    (
        sspi_emu::export::ExportOptions::new().protection(key.clone()),
        sspi_emu::ImportOptions::new().protection(key).credentials(server_creds()),
    )
}

#[test]
fn export_and_import_over_handles() {
    use sspi_emu::export::*;
    let (export_opts, import_opts) = key_options();
    let (c, s) = established_handles(None);
    // Without DELETE_OLD the old handle keeps working.
    let (mut packed, mut token) = (None, None);
    assert_eq!(
        export_security_context_ex(&s, 0, &export_opts, &mut packed, Some(&mut token)),
        S::SEC_E_OK
    );
    let blob = packed.take().unwrap();
    let identity = token.take().unwrap();
    assert_eq!(identity.name(), "EXAMPLE\\alice");
    let mut v = None;
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_NAMES, &mut v), S::SEC_E_OK);
    // With DELETE_OLD it is gone: every use, a second export included.
    assert_eq!(
        export_security_context_ex(
            &s,
            SECPKG_CONTEXT_EXPORT_DELETE_OLD,
            &export_opts,
            &mut packed,
            None
        ),
        S::SEC_E_OK
    );
    assert!(packed.is_some());
    assert_eq!(
        export_security_context_ex(&s, 0, &export_opts, &mut packed, None),
        S::SEC_E_INVALID_HANDLE
    );
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_NAMES, &mut v), S::SEC_E_INVALID_HANDLE);
    assert_eq!(delete_security_context(&s), S::SEC_E_INVALID_HANDLE);
    // TO_KERNEL and unknown flags.
    assert_eq!(
        export_security_context_ex(
            &c,
            SECPKG_CONTEXT_EXPORT_TO_KERNEL,
            &export_opts,
            &mut packed,
            None
        ),
        S::SEC_E_NOT_SUPPORTED
    );
    assert_eq!(
        export_security_context_ex(&c, 0x10, &export_opts, &mut packed, None),
        S::SEC_E_INVALID_PARAMETER
    );
    assert_eq!(
        export_security_context_ex(&SecHandle::default(), 0, &export_opts, &mut packed, None),
        S::SEC_E_INVALID_HANDLE
    );

    // Import: a new handle that carries on.
    let mut imported = SecHandle::default();
    assert_eq!(
        import_security_context_ex(
            "NTLM",
            blob.as_slice(),
            Some(&identity),
            &import_opts,
            &mut imported
        ),
        S::SEC_E_OK
    );
    let mut data = *b"after the move";
    let sig = seal(&c, &mut data);
    let mut sig_copy = sig;
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut sig_copy), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    let mut qop = 0;
    assert_eq!(decrypt_message(&imported, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!(msg[1].as_slice(), b"after the move");
    assert_eq!(free_context_buffer(blob), S::SEC_E_OK);

    // Failures create no handle.
    let good = packed.take().unwrap();
    for (package, bytes, status) in [
        ("Kerberoz", good.as_slice().to_vec(), S::SEC_E_SECPKG_NOT_FOUND),
        ("NTLM", good.as_slice()[..40].to_vec(), S::SEC_E_INVALID_TOKEN),
        (
            "NTLM",
            {
                let mut b = good.as_slice().to_vec();
                b[60] ^= 1;
                b
            },
            S::SEC_E_INVALID_TOKEN,
        ),
    ] {
        let mut h = SecHandle::default();
        assert_eq!(import_security_context_ex(package, &bytes, None, &import_opts, &mut h), status);
        assert_eq!(h, SecHandle::default());
    }
    let mut h = SecHandle::default();
    let other_key =
        ImportOptions::new().protection(Protection::Key(ExportKey::from_bytes([1; 32])));
    assert_eq!(
        import_security_context_ex("NTLM", good.as_slice(), None, &other_key, &mut h),
        S::SEC_E_DECRYPT_FAILURE
    );
    let mut wrong = identity.clone();
    wrong.domain = "OTHER".into();
    assert_eq!(
        import_security_context_ex("NTLM", good.as_slice(), Some(&wrong), &import_opts, &mut h),
        S::SEC_E_WRONG_PRINCIPAL
    );
    assert_eq!(h, SecHandle::default());
    for handle in [c, imported] {
        assert_eq!(delete_security_context(&handle), S::SEC_E_OK);
    }
}

#[test]
fn an_acceptor_moves_between_challenge_and_authenticate() {
    use sspi_emu::export::*;
    let (export_opts, import_opts) = key_options();
    let (ccred, scred) = creds();
    let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
    let (_, negotiate) = isc(&ccred, &mut c, true, None, None);
    let (st, challenge) = asc(&scred, &mut s, true, &negotiate, None);
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let (mut packed, mut token) = (None, None);
    let flags = SECPKG_CONTEXT_EXPORT_DELETE_OLD;
    assert_eq!(
        export_security_context_ex(&s, flags, &export_opts, &mut packed, Some(&mut token)),
        S::SEC_E_OK
    );
    assert!(token.is_none(), "no identity before the handshake completes");
    let packed = packed.unwrap();
    // The "other worker": imports with its user store and accepts the AUTHENTICATE.
    let mut worker = SecHandle::default();
    let no_creds = ImportOptions::new().protection(super::export::test_key());
    assert_eq!(
        import_security_context_ex("NTLM", packed.as_slice(), None, &no_creds, &mut worker),
        S::SEC_E_UNKNOWN_CREDENTIALS
    );
    assert_eq!(
        import_security_context_ex("NTLM", packed.as_slice(), None, &import_opts, &mut worker),
        S::SEC_E_OK
    );
    let (_, authenticate) = isc(&ccred, &mut c, false, Some(&challenge), None);
    let (st, _) = asc(&scred, &mut worker, false, &authenticate, None);
    assert_eq!(st, S::SEC_E_OK);
    let mut v = None;
    assert_eq!(query_context_attributes(&worker, SECPKG_ATTR_NAMES, &mut v), S::SEC_E_OK);
    assert!(matches!(v, Some(ContextAttribute::Names(n)) if n == "EXAMPLE\\alice"));
    free_context_buffer(packed);
    for h in [c, worker] {
        delete_security_context(&h);
    }
    free_credentials_handle(&ccred);
    free_credentials_handle(&scred);
}

#[test]
fn output_buffers_are_checked_before_anything_happens() {
    let (ccred, scred) = creds();
    let (mut attrs, mut t) = (0, FileTime::default());
    // A read-only output buffer on the first call: refused, no handle.
    let memory = [0u8; 2888];
    let mut out = [SecBuffer::read_only(SECBUFFER_TOKEN, &memory)];
    let mut ctx = SecHandle::default();
    let st = initialize_security_context(
        Some(&ccred),
        None,
        None,
        ISC,
        0,
        None,
        &mut ctx,
        &mut out,
        &mut attrs,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_INVALID_PARAMETER);
    assert_eq!(ctx, SecHandle::default());
    // No token buffer at all on the acceptor's last call: refused, and the context did not
    // move on (a retry with a proper buffer completes it).
    let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
    let (_, negotiate) = isc(&ccred, &mut c, true, None, None);
    let (_, challenge) = asc(&scred, &mut s, true, &negotiate, None);
    let (_, authenticate) = isc(&ccred, &mut c, false, Some(&challenge), None);
    let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &authenticate)];
    let mut no_token: [SecBuffer<'_>; 0] = [];
    let st = accept_security_context(
        Some(&scred),
        Some(s),
        Some(&mut input),
        ASC,
        0,
        &mut s,
        &mut no_token,
        &mut attrs,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_INVALID_PARAMETER);
    let mut v = None;
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_NAMES, &mut v), S::SEC_E_OUT_OF_SEQUENCE);
    assert_eq!(asc(&scred, &mut s, false, &authenticate, None).0, S::SEC_E_OK);
    for h in [c, s] {
        delete_security_context(&h);
    }
    free_credentials_handle(&ccred);
    free_credentials_handle(&scred);
}

/// curl's logon through the handle layer, as a server ported from Windows would see it
/// (acceptor asking for nothing): `SEC_I_CONTINUE_NEEDED`, `SEC_E_OK`, no integrity or
/// confidentiality attributes, then `MakeSignature` / `VerifySignature` with the dummy
/// signature of MS-NLMP 3.4.4.3 (`SEC_E_OK`, and `SEC_E_MESSAGE_ALTERED` for anything else)
/// and `EncryptMessage` / `DecryptMessage` `SEC_E_UNSUPPORTED_FUNCTION`, as Windows.
#[test]
fn curl_logon_through_the_handle_layer_is_authentication_only() {
    use sspi_emu::fuzzing::{CURL_NEGOTIATE, ForeignClient};
    let (_, scred) = creds();
    let mut s = SecHandle::default();
    let call = |s: &mut SecHandle, first: bool, token: &[u8]| {
        let mut inputs = [SecBuffer::read_only(SECBUFFER_TOKEN, token)];
        let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
        let (mut attrs, mut expiry) = (0, FileTime::default());
        let old = *s;
        let st = accept_security_context(
            Some(&scred),
            (!first).then_some(old),
            Some(&mut inputs),
            AscReq::ALLOCATE_MEMORY,
            0,
            s,
            &mut out,
            &mut attrs,
            &mut expiry,
        );
        let token = out[0].take_allocated().map(|b| {
            let v = b.as_slice().to_vec();
            assert_eq!(free_context_buffer(b), S::SEC_E_OK);
            v
        });
        (st, token.unwrap_or_default(), attrs)
    };
    let (st, challenge, _) = call(&mut s, true, &CURL_NEGOTIATE);
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    // curl writes its own clock's time; the acceptor here uses the system clock.
    let now = FileTime::from_system_time(std::time::SystemTime::now());
    let client = ForeignClient { timestamp: now, ..curl_like() };
    let authenticate = client.authenticate(&CURL_NEGOTIATE, &challenge).unwrap();
    let (st, last, attrs) = call(&mut s, false, &authenticate);
    assert_eq!(st, S::SEC_E_OK);
    assert!(last.is_empty());
    let integrity_or_confidentiality =
        sspi_emu::flags::AscRet::INTEGRITY.0 | sspi_emu::flags::AscRet::CONFIDENTIALITY.0;
    assert_eq!(attrs & integrity_or_confidentiality, 0, "{attrs:#x}");

    let payload = *b"signed";
    let mut sig = [0xffu8; 16];
    let mut msg =
        [SecBuffer::read_only(SECBUFFER_DATA, &payload), SecBuffer::new(SECBUFFER_TOKEN, &mut sig)];
    assert_eq!(make_signature(&s, 0, &mut msg, 0), S::SEC_E_OK);
    assert_eq!(msg[1].as_slice(), [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut qop = 0;
    assert_eq!(verify_signature(&s, &mut msg, 0, &mut qop), S::SEC_E_OK);
    let mut forged = [1u8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0];
    let mut msg = [
        SecBuffer::read_only(SECBUFFER_DATA, &payload),
        SecBuffer::new(SECBUFFER_TOKEN, &mut forged),
    ];
    assert_eq!(verify_signature(&s, &mut msg, 0, &mut qop), S::SEC_E_MESSAGE_ALTERED);

    let mut body = *b"body";
    let mut trailer = [0u8; 16];
    let mut msg =
        [SecBuffer::new(SECBUFFER_DATA, &mut body), SecBuffer::new(SECBUFFER_TOKEN, &mut trailer)];
    assert_eq!(encrypt_message(&s, 0, &mut msg, 0), S::SEC_E_UNSUPPORTED_FUNCTION);
    assert_eq!(msg[0].as_slice(), b"body", "nothing was encrypted");
    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_UNSUPPORTED_FUNCTION);
    let mut value = None;
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_NAMES, &mut value), S::SEC_E_OK);
    assert!(matches!(value.take(), Some(ContextAttribute::Names(n)) if n == "EXAMPLE\\alice"));
    assert_eq!(delete_security_context(&s), S::SEC_E_OK);
    assert_eq!(free_credentials_handle(&scred), S::SEC_E_OK);
}
