# SPDX-License-Identifier: GPL-2.0-only
# hidden.py - a TLS peer whose secrets ecap cannot read, for live.tls_libs: run with a copy of
# libssl.so.3 that is deleted once loaded (ecap skips deleted files), so that a session
# decrypts only through the secrets of the process under test.
#   hidden.py server PORT CERT KEY   HTTPS server on 127.0.0.1:PORT ("ready" once listening)
#   hidden.py client                 reads "URL VERSION" lines (VERSION 1.2 or 1.3) from stdin,
#                                    fetches each (certificate not checked), prints "done URL"
import http.server
import ssl
import sys
import urllib.request

print("loaded", flush=True)
if sys.argv[1] == "server":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello from python\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", flush=True)
    srv.serve_forever()
else:
    print("ready", flush=True)
    for line in sys.stdin:
        url, version = line.split()
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
        ctx.minimum_version = ctx.maximum_version = v
        try:
            urllib.request.urlopen(url, context=ctx, timeout=10).read()
        except Exception as e:  # the servers under test need not speak HTTP/1.1 well
            print("error %s %s" % (url, e), flush=True)
        print("done " + url, flush=True)
