// SPDX-License-Identifier: GPL-2.0-only
// client.go - the Go crypto/tls client of the TLS library benchmark (tools/bench_tls_libs.sh),
// built by the script; the same interface and output as main.c:
//
//	client PORT handshakes N    N full handshakes to 127.0.0.1:PORT, one per TCP connection
//	client PORT writes N SIZE   one handshake, then N writes of SIZE bytes
//
// It sleeps 500 ms, makes one operation that is not counted, prints "start", then
// "N CPU_US WALL_US" (getrusage of the process, all threads, over the N counted operations).
package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func cpuUs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}

func dial(addr string) *tls.Conn {
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "go:", err)
		os.Exit(1)
	}
	return c
}

func main() {
	writes := len(os.Args) == 5 && os.Args[2] == "writes"
	if !writes && !(len(os.Args) == 4 && os.Args[2] == "handshakes") {
		fmt.Fprintln(os.Stderr, "usage: client PORT handshakes N | PORT writes N SIZE")
		os.Exit(2)
	}
	addr := "127.0.0.1:" + os.Args[1]
	n, _ := strconv.Atoi(os.Args[3])
	size := 0
	if writes {
		size, _ = strconv.Atoi(os.Args[4])
	}
	buf := make([]byte, size)
	time.Sleep(500 * time.Millisecond)
	var c *tls.Conn
	if writes {
		c = dial(addr)
		c.Write(buf)
	} else {
		dial(addr).Close()
	}
	fmt.Println("start")
	c0, w0 := cpuUs(), time.Now()
	for i := 0; i < n; i++ {
		if !writes {
			dial(addr).Close()
		} else if _, err := c.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, "go:", err)
			os.Exit(1)
		}
	}
	fmt.Println(n, cpuUs()-c0, time.Since(w0).Microseconds())
	if writes {
		c.Close()
	}
}
