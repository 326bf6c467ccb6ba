# SPDX-License-Identifier: GPL-2.0-only
# peers.py - small network peers for the live tests, on loopback (or an address the test
# gives) only. Each prints "ready" on stdout (flushed) once its socket is set up, so a test
# can wait for it.
#
#   keepalive-server ADDR PORT   accept one connection, enable 1 s TCP keepalives, then hold it
#   keepalive-client ADDR PORT [LPORT]
#                                connect (from local port LPORT when given), enable 1 s TCP
#                                keepalives, then hold it: after the handshake neither process
#                                sends or receives, only the kernel exchanges keepalive probes
#   udp-echo ADDR PORT N         unconnected UDP socket: answer N datagrams, then exit
#   udp-send ADDR PORT N         unconnected UDP socket: send N datagrams, read the answers
import socket
import sys
import time


def ready():
    print("ready", flush=True)


def keepalive(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 60)


def hold():
    while True:
        time.sleep(3600)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: peers.py MODE ADDR PORT [N]")
    mode, addr, port = argv[0], argv[1], int(argv[2])
    fam = family(addr)
    if mode == "keepalive-server":
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(1)
        ready()
        conn, _ = ls.accept()
        keepalive(conn)
        hold()
    elif mode == "keepalive-client":
        src = (addr, int(argv[3])) if len(argv) > 3 else None
        s = socket.create_connection((addr, port), timeout=5, source_address=src)
        keepalive(s)
        ready()
        hold()
    elif mode == "udp-echo":
        n = int(argv[3])
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((addr, port))
        s.settimeout(20)
        ready()
        for _ in range(n):
            data, peer = s.recvfrom(2048)
            s.sendto(b"echo:" + data, peer)
    elif mode == "udp-send":
        n = int(argv[3])
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(5)
        ready()
        for i in range(n):
            s.sendto(b"datagram %d" % i, (addr, port))
            s.recvfrom(2048)
            time.sleep(0.05)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv[1:])
