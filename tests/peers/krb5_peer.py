#!/usr/bin/python3
"""krb5_peer.py - line-oriented Kerberos peer for interop tests, backed by MIT
krb5's GSS-API (the krb5 mechanism) through Debian's python3-gssapi.
Run with /usr/bin/python3 (needs the Debian `python3-gssapi` package).

Usage:
  krb5_peer.py client TARGET     initiator for the hostbased TARGET
                                 ("HTTP@web.example.test"), with the TGT in the
                                 default ccache (KRB5CCNAME, after kinit)
  krb5_peer.py server            acceptor with the default keytab (KRB5_KTNAME)

Same line protocol as ntlm_peer.py (stdin/stdout, one ASCII line each):
  handshake : out `TOKEN <hex>` / in `TOKEN <hex>` until complete, then
              `ESTABLISHED <json>`; on GSS error `ERR <msg>` and exit 1.
  commands  : WRAP <hex>             -> OK <hex>   (gss_wrap, conf=True)
              WRAPI <hex>            -> OK <hex>   (gss_wrap, conf=False)
              UNWRAP <hex>           -> OK <plaintext hex> | ERR <msg>
              SEALED <hex>           -> OK 01 | OK 00 (was the token encrypted) | ERR
              MIC <hex>              -> OK <hex>   (gss_get_mic)
              VERIFY <mic> <msg>     -> OK | ERR <msg>
              QUIT                   -> exit 0

Env knobs:
  KRB5_PEER_CB_HEX=<hex>  channel bindings application_data, both roles.
  KRB5_PEER_FLAGS=<int>   client request flags (default mutual|replay|
                          sequence|conf|integ).
"""
import json
import os
import sys

import gssapi.raw as gr
from gssapi.raw import NameType, RequirementFlag as RF

KRB5_OID = gr.OID.from_int_seq("1.2.840.113554.1.2.2")
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
    return gr.display_name(name, name_type=False).name.decode("utf-8", "replace")


def channel_bindings():
    cb = os.environ.get("KRB5_PEER_CB_HEX")
    if cb is None:
        return None
    return gr.ChannelBindings(application_data=bytes.fromhex(cb))


def info_of(ctx, role, delegated=None):
    ic = gr.inquire_context(ctx)
    return {
        "delegated": delegated is not None,
        "role": role,
        "established": bool(ic.complete),
        "initiator_name": name_str(ic.initiator_name),
        "target_name": name_str(ic.target_name),
        "mech": ic.mech.dotted_form if ic.mech else None,
        "flags": int(ic.flags),
        "flag_names": [f.name for f in RF if int(ic.flags) & int(f)],
    }


def run_client(target):
    tname = gr.import_name(target.encode(), NameType.hostbased_service)
    flags = int(os.environ.get("KRB5_PEER_FLAGS", "0"), 0) or DEFAULT_FLAGS
    cb = channel_bindings()
    ctx, in_tok = None, None
    while True:
        res = gr.init_sec_context(tname, context=ctx, mech=KRB5_OID,
                                  flags=flags, channel_bindings=cb,
                                  input_token=in_tok)
        ctx = res.context
        if res.token:
            out("TOKEN " + res.token.hex())
        if not res.more_steps:
            break
        in_tok = read_token()
    return ctx, info_of(ctx, "client")


def run_server():
    creds = gr.acquire_cred(None, mechs=[KRB5_OID], usage="accept").creds
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
    return ctx, info_of(ctx, "server", res.delegated_creds)


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
            elif cmd in ("WRAP", "WRAPI"):
                w = gr.wrap(ctx, bytes.fromhex(arg.strip()), confidential=(cmd == "WRAP"))
                out("OK " + w.message.hex())
            elif cmd in ("UNWRAP", "SEALED"):
                u = gr.unwrap(ctx, bytes.fromhex(arg.strip()))
                if cmd == "UNWRAP":
                    out("OK " + u.message.hex())
                else:
                    out("OK " + ("01" if u.encrypted else "00"))
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
    if len(argv) == 2 and argv[1] == "server":
        fn, args = run_server, ()
    elif len(argv) == 3 and argv[1] == "client":
        fn, args = run_client, (argv[2],)
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
