# SPDX-License-Identifier: GPL-2.0-only
# ossl_peer.py - an HTTPS client or server on loopback that does its TLS through a libssl
# given by path (ctypes), not through Python's ssl module: the live tests use it to run real
# sessions over a library that no program on the machine links, such as Debian 11's OpenSSL
# 1.1.1 beside the system's 3.x. Only functions with the same signature in 1.1.1 and 3.x are
# called. Neither ssl nor hashlib is imported, so the process maps no other libssl.
#
#   ossl_peer.py LIBSSL client PORT PATH VERSION [SUITES]
#                                                  one GET of PATH from 127.0.0.1:PORT over
#                                                  TLS VERSION (1.2 or 1.3), offering only the
#                                                  TLS 1.3 SUITES when given; prints the body
#   ossl_peer.py LIBSSL server PORT CERT KEY N     serve N requests (TLS 1.2 or 1.3, whichever
#                                                  the client asks for), answering each with
#                                                  "hello from PATH"; prints "ready" once
#                                                  listening
import ctypes
import socket
import sys

SSL_FILETYPE_PEM = 1
SSL_CTRL_SET_MIN_PROTO_VERSION = 123
SSL_CTRL_SET_MAX_PROTO_VERSION = 124
VERSIONS = {"1.2": 0x0303, "1.3": 0x0304}


def load(path):
    lib = ctypes.CDLL(path)
    vp, ip, cp = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    sigs = {
        "TLS_client_method": (vp, []),
        "TLS_server_method": (vp, []),
        "SSL_CTX_new": (vp, [vp]),
        "SSL_CTX_ctrl": (ctypes.c_long, [vp, ip, ctypes.c_long, vp]),
        "SSL_CTX_set_ciphersuites": (ip, [vp, cp]),
        "SSL_CTX_use_certificate_file": (ip, [vp, cp, ip]),
        "SSL_CTX_use_PrivateKey_file": (ip, [vp, cp, ip]),
        "SSL_new": (vp, [vp]),
        "SSL_set_fd": (ip, [vp, ip]),
        "SSL_connect": (ip, [vp]),
        "SSL_accept": (ip, [vp]),
        "SSL_read": (ip, [vp, cp, ip]),
        "SSL_write": (ip, [vp, cp, ip]),
        "SSL_shutdown": (ip, [vp]),
        "SSL_free": (None, [vp]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def read_all(lib, s, until=None):
    out, buf = b"", ctypes.create_string_buffer(16384)
    while until is None or until not in out:
        n = lib.SSL_read(s, buf, len(buf))
        if n <= 0:
            break
        out += buf.raw[:n]
    return out


def client(lib, port, path, version, suites):
    ctx = lib.SSL_CTX_new(lib.TLS_client_method())
    v = VERSIONS[version]
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, v, None)
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, v, None)
    if suites and lib.SSL_CTX_set_ciphersuites(ctx, suites.encode()) != 1:
        sys.exit("ossl_peer: the library refuses the TLS 1.3 suites %s" % suites)
    sock = socket.create_connection(("127.0.0.1", port))
    s = lib.SSL_new(ctx)
    lib.SSL_set_fd(s, sock.fileno())
    if lib.SSL_connect(s) != 1:
        sys.exit("ossl_peer: TLS %s handshake with port %d failed" % (version, port))
    req = ("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" % path).encode()
    lib.SSL_write(s, req, len(req))
    sys.stdout.write(read_all(lib, s).split(b"\r\n\r\n", 1)[-1].decode())
    lib.SSL_shutdown(s)
    lib.SSL_free(s)
    sock.close()


def server(lib, port, cert, key, n):
    ctx = lib.SSL_CTX_new(lib.TLS_server_method())
    if lib.SSL_CTX_use_certificate_file(ctx, cert.encode(), SSL_FILETYPE_PEM) != 1 or \
            lib.SSL_CTX_use_PrivateKey_file(ctx, key.encode(), SSL_FILETYPE_PEM) != 1:
        sys.exit("ossl_peer: cannot load %s and %s" % (cert, key))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    print("ready", flush=True)
    for _ in range(n):
        conn, _ = ls.accept()
        s = lib.SSL_new(ctx)
        lib.SSL_set_fd(s, conn.fileno())
        if lib.SSL_accept(s) == 1:
            req = read_all(lib, s, b"\r\n\r\n").split(b" ")
            body = b"hello from " + (req[1] if len(req) > 1 else b"?") + b"\n"
            resp = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            lib.SSL_write(s, resp, len(resp))
            lib.SSL_shutdown(s)
        lib.SSL_free(s)
        conn.close()


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__ or "usage: ossl_peer.py LIBSSL client|server ...")
    lib = load(argv[0])
    if argv[1] == "client" and len(argv) in (5, 6):
        client(lib, int(argv[2]), argv[3], argv[4], argv[5] if len(argv) == 6 else None)
    elif argv[1] == "server" and len(argv) == 6:
        server(lib, int(argv[2]), argv[3], argv[4], int(argv[5]))
    else:
        sys.exit("ossl_peer: usage: LIBSSL client PORT PATH VERSION [SUITES] | "
                 "LIBSSL server PORT CERT KEY N")


if __name__ == "__main__":
    main(sys.argv[1:])
