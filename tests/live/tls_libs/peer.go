// SPDX-License-Identifier: GPL-2.0-only
// peer.go - a Go crypto/tls peer for live.tls_libs: "client URL 1.2|1.3" fetches URL once
// (certificate not checked) with that TLS version; "server PORT CERT KEY" serves HTTPS on
// 127.0.0.1:PORT and prints "ready" once it listens.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) == 5 && os.Args[1] == "server" {
		cert, err := tls.LoadX509KeyPair(os.Args[3], os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		l, err := tls.Listen("tcp", "127.0.0.1:"+os.Args[2],
			&tls.Config{Certificates: []tls.Certificate{cert}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("ready")
		http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello from go\n")
		}))
		os.Exit(1)
	}
	if len(os.Args) != 4 || os.Args[1] != "client" {
		fmt.Fprintln(os.Stderr, "usage: peer client URL 1.2|1.3 | peer server PORT CERT KEY")
		os.Exit(2)
	}
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if os.Args[3] == "1.2" {
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg,
		DialContext: (&net.Dialer{}).DialContext}}
	r, err := c.Get(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	io.ReadAll(r.Body)
	r.Body.Close()
}
