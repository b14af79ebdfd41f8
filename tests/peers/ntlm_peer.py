#!/usr/bin/python3
"""ntlm_peer.py - line-oriented NTLM peer for interop tests, backed by
gss-ntlmssp (MIT krb5 mechglue plugin) through Debian's python3-gssapi.
Run with /usr/bin/python3 (needs the Debian `python3-gssapi` package).

Usage:
  ntlm_peer.py client USER DOMAIN PASSWORD [TARGET_SPN]   (default HTTP@server)
  ntlm_peer.py server            (creds: env NTLM_USER_FILE, DOMAIN:USER:PASSWORD)

Protocol (stdin/stdout, one ASCII line per message, stdout flushed each line):
  handshake : out `TOKEN <hex>` / in `TOKEN <hex>` until complete, then
              `ESTABLISHED <json>`; on GSS error `ERR <msg>` and exit 1.
  commands  : WRAP <hex>             -> OK <hex>   (gss_wrap, conf=True)
              UNWRAP <hex>           -> OK <plaintext hex> | ERR <msg>
              MIC <hex>              -> OK <hex>   (gss_get_mic)
              VERIFY <mic> <msg>     -> OK | ERR <msg>
              QUIT                   -> exit 0
  Empty payloads are allowed ("WRAP" or "WRAP " = empty message).

Optional env knobs of this script (all roles unless noted):
  NTLM_PEER_MIC=0|1   client only, default 1. gss-ntlmssp only puts a MIC
      (and MsvAvFlags=0x2) into AUTHENTICATE if the caller has queried the
      "SPNEGO require MIC" OID 1.3.6.1.4.1.7165.655.1.2 on the context before
      the CHALLENGE is processed (that is what MIT's SPNEGO does). With the
      raw NTLM mech and no query, NO MIC is sent. Default 1 = behave like
      SPNEGO/Windows and send a MIC.
  NTLM_PEER_CB_HEX=<hex>  gss channel bindings application_data (e.g.
      b"tls-server-end-point:"+hash). Client: adds MsvAvChannelBindings =
      MD5(gss_channel_bindings_struct) to AUTHENTICATE. Server: verifies it
      (a missing or all-zero AV is accepted, a wrong one is rejected).
  NTLM_PEER_FLAGS=<int>   client req flags override (default
      mutual|replay|sequence|conf|integ = 0x3e).
gss-ntlmssp's own env: NTLM_USER_FILE, LM_COMPAT_LEVEL (default 3 = NTLMv2
only, ESS), GSSNTLMSSP_DEBUG=<logfile path>, NETBIOS_COMPUTER_NAME,
NETBIOS_DOMAIN_NAME.

Names (verified against gss-ntlmssp 1.2.0 / Debian 12):
  user:   import "DOMAIN\\USER" as GSS_C_NT_USER_NAME (USER@DOMAIN also works
          and parses the same way; a bare "USER" gives an empty domain).
  target: GSS_C_NT_HOSTBASED_SERVICE "HTTP@server" (no KDC/DNS needed;
          gss-ntlmssp rejects non-hostbased target names).
  server-side peer name is reported as "DOMAIN\\USER" as sent in AUTHENTICATE.

Token formats (verified by tests, NTLMSSP with ESS+KEY_EXCH+SEAL, 128-bit):
  get_mic(msg)  -> exactly 16 bytes: MS-NLMP NTLMSSP_MESSAGE_SIGNATURE with ESS
                   = Version(01000000) || Checksum[8] (RC4-sealed first 8 bytes
                   of HMAC_MD5(SignKey, SeqNum||msg), because KEY_EXCH) ||
                   SeqNum(LE u32).
  wrap(msg)     -> 16 + len(msg) bytes: signature(16) || RC4(SealKey, msg),
                   i.e. MS-NLMP SEAL output with the signature prepended.
                   The sealing RC4 stream is shared (one per direction) by
                   wrap and get_mic, and one seq-number counter per direction
                   is shared by wrap and get_mic (as in SSPI).
  unwrap(tok)   -> splits tok[:16] signature / tok[16:] ciphertext.
  Keys: Sign/SealKey = MD5(ExportedSessionKey || MS-NLMP magic), 128-bit;
  ExportedSessionKey is reported as "session_key" in the ESTABLISHED json.
Quirks seen (all verified):
  * wrap/get_mic of an EMPTY message fail (GSS_S_CALL_INACCESSIBLE_READ) and
    consume no sequence number.
  * a failed UNWRAP/VERIFY still advances the receive RC4 stream, so every
    later message in that direction fails too: do negative tests last.
  * acceptor's ret flags are only conf|integ (+channel_bound if CB
    verified); initiator echoes the requested flags. lifetime reads 0
    (inverted comparison in gssntlm_inquire_context).
  * display names come back NUL-terminated; stripped here.
"""
import json
import sys

import gssapi.raw as gr
from gssapi.raw import NameType, RequirementFlag as RF
import os

NTLM_OID = gr.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO_REQ_MIC_OID = gr.OID.from_int_seq("1.3.6.1.4.1.7165.655.1.2")
SESSION_KEY_OID = gr.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")  # GSS_C_INQ_SSPI_SESSION_KEY

DEFAULT_FLAGS = (RF.mutual_authentication | RF.replay_detection |
                 RF.out_of_sequence_detection | RF.confidentiality |
                 RF.integrity)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def err(exc):
    return " ".join(str(exc).split()) or exc.__class__.__name__


def read_line():
    line = sys.stdin.readline()
    if not line:
        raise EOFError("peer closed stdin")
    return line.strip()


def read_token():
    line = read_line()
    cmd, _, arg = line.partition(" ")
    if cmd != "TOKEN":
        raise ValueError("expected TOKEN, got %r" % line[:40])
    return bytes.fromhex(arg.strip())


def name_str(name):
    if name is None:
        return None
    try:
        return gr.display_name(name, name_type=False).name.rstrip(b"\0").decode("utf-8", "replace")
    except gr.GSSError as e:
        return "<display_name failed: %s>" % err(e)


def channel_bindings():
    cb = os.environ.get("NTLM_PEER_CB_HEX")
    if cb is None:
        return None
    return gr.ChannelBindings(application_data=bytes.fromhex(cb))


def flag_names(flags):
    return [f.name for f in RF if int(flags) & int(f)]


def established_info(ctx, role, extra):
    info = {"role": role, "established": False}
    try:
        # NB: asking an acceptor context for its target_name segfaults in
        # gss-ntlmssp 1.2.0 (server name from default acceptor creds), so
        # only the initiator asks for it.
        ic = gr.inquire_context(ctx, target_name=(role == "client"))
        info.update({
            "established": bool(ic.complete),
            "initiator_name": name_str(ic.initiator_name),
            "target_name": name_str(ic.target_name),
            "lifetime": ic.lifetime,
            "mech": ic.mech.dotted_form if ic.mech else None,
            "flags": int(ic.flags),
            "flag_names": flag_names(ic.flags),
            "locally_initiated": bool(ic.locally_init),
        })
        info["peer_name"] = (info["target_name"] if role == "client"
                             else info["initiator_name"])
    except gr.GSSError as e:
        info["inquire_error"] = err(e)
    try:
        sk = gr.inquire_sec_context_by_oid(ctx, SESSION_KEY_OID)
        if sk:
            info["session_key"] = sk[0].hex()  # ExportedSessionKey
    except gr.GSSError as e:
        info["session_key_error"] = err(e)
    info.update(extra)
    return info


def run_client(user, domain, password, target):
    uname = ("%s\\%s" % (domain, user)) if domain else user
    name = gr.import_name(uname.encode(), NameType.user)
    creds = gr.acquire_cred_with_password(name, password.encode(),
                                          mechs=[NTLM_OID],
                                          usage="initiate").creds
    tname = gr.import_name(target.encode(), NameType.hostbased_service)
    flags = int(os.environ.get("NTLM_PEER_FLAGS", "0"), 0) or DEFAULT_FLAGS
    want_mic = os.environ.get("NTLM_PEER_MIC", "1") != "0"
    cb = channel_bindings()
    ctx, in_tok, extra = None, None, {}
    while True:
        res = gr.init_sec_context(tname, creds=creds, context=ctx,
                                  mech=NTLM_OID, flags=flags,
                                  channel_bindings=cb, input_token=in_tok)
        ctx = res.context
        if want_mic and in_tok is None:
            # Tell gss-ntlmssp "the caller can handle a MIC" (SPNEGO's query).
            gr.inquire_sec_context_by_oid(ctx, SPNEGO_REQ_MIC_OID)
        if res.token:
            out("TOKEN " + res.token.hex())
        if not res.more_steps:
            break
        in_tok = read_token()
    extra["auth_mic_sent"] = False
    if want_mic:  # second query answers "did you put a MIC in AUTHENTICATE"
        r = gr.inquire_sec_context_by_oid(ctx, SPNEGO_REQ_MIC_OID)
        extra["auth_mic_sent"] = bool(r and r[0] == b"\x01")
    extra["channel_bindings"] = cb is not None
    return ctx, established_info(ctx, "client", extra)


def run_server():
    creds = gr.acquire_cred(None, mechs=[NTLM_OID], usage="accept").creds
    cb = channel_bindings()
    ctx = None
    while True:
        in_tok = read_token()
        res = gr.accept_sec_context(in_tok, acceptor_creds=creds,
                                    context=ctx, channel_bindings=cb)
        ctx = res.context
        if res.token:
            out("TOKEN " + res.token.hex())
        if not res.more_steps:
            break
    extra = {"channel_bindings": cb is not None,
             "src_name": name_str(res.initiator_name)}
    return ctx, established_info(ctx, "server", extra)


def command_loop(ctx):
    while True:
        try:
            line = read_line()
        except EOFError:
            return 0
        cmd, _, arg = line.partition(" ")
        cmd = cmd.upper()
        try:
            if cmd == "QUIT":
                return 0
            elif cmd == "WRAP":
                w = gr.wrap(ctx, bytes.fromhex(arg.strip()), confidential=True)
                out("OK " + w.message.hex())
            elif cmd == "UNWRAP":
                u = gr.unwrap(ctx, bytes.fromhex(arg.strip()))
                out("OK " + u.message.hex())
            elif cmd == "MIC":
                out("OK " + gr.get_mic(ctx, bytes.fromhex(arg.strip())).hex())
            elif cmd == "VERIFY":
                parts = arg.split()
                mic = bytes.fromhex(parts[0]) if parts else b""
                msg = bytes.fromhex(parts[1]) if len(parts) > 1 else b""
                gr.verify_mic(ctx, msg, mic)
                out("OK")
            elif cmd == "":
                continue
            else:
                out("ERR unknown command " + cmd)
        except (gr.GSSError, ValueError) as e:
            out("ERR " + err(e))


def main(argv):
    if len(argv) >= 2 and argv[1] == "server":
        fn, args = run_server, ()
    elif len(argv) in (5, 6) and argv[1] == "client":
        fn = run_client
        args = (argv[2], argv[3], argv[4],
                argv[5] if len(argv) == 6 else "HTTP@server")
    else:
        sys.stderr.write(__doc__)
        return 2
    try:
        ctx, info = fn(*args)
    except (gr.GSSError, ValueError, EOFError) as e:
        out("ERR " + err(e))
        return 1
    out("ESTABLISHED " + json.dumps(info, sort_keys=True))
    return command_loop(ctx)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
