// Command floor is a yardstick for the proxy benchmark, not a proxy to
// run: the least a Go TLS relay can do per request. Each client connection
// gets one upstream connection of its own; a request (headers up to the
// blank line, then a Content-Length body) is read, written upstream as it
// came, and the answer read and written back the same way. No header is
// parsed but Content-Length, nothing is checked, routed, rewritten or
// timed out: everything "autodiscover serve" does beyond moving bytes and
// TLS is missing here, and so is its cost. bench/proxy/run.sh runs it
// beside the two proxies when asked (FLOOR=1), to show how much of a
// proxy's time per request is the HTTP stack's.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"strconv"
)

// maxBody bounds a message body, as the proxy's default does.
const maxBody = 1 << 20

var contentLength = []byte("content-length:")

// readMessage reads one HTTP/1.1 message with a Content-Length body (or
// none) into buf. Lines longer than br's buffer are refused.
func readMessage(br *bufio.Reader, buf *bytes.Buffer) error {
	buf.Reset()
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		buf.Write(line)
		if len(line) <= 2 { // the blank line ending the header
			break
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			if n, err = strconv.Atoi(string(bytes.TrimSpace(line[len(contentLength):]))); err != nil || n < 0 || n > maxBody {
				return errors.New("bad Content-Length")
			}
		}
	}
	_, err := io.CopyN(buf, br, int64(n))
	return err
}

// relay moves requests from client to a new upstream connection and the
// answers back, until either side closes or sends what it cannot read.
func relay(client net.Conn, upstream string, cfg *tls.Config) {
	defer client.Close()
	up, err := tls.Dial("tcp", upstream, cfg)
	if err != nil {
		log.Print(err)
		return
	}
	defer up.Close()
	cr, ur := bufio.NewReader(client), bufio.NewReader(up)
	var req, resp bytes.Buffer
	for {
		if readMessage(cr, &req) != nil {
			return
		}
		if _, err := up.Write(req.Bytes()); err != nil {
			return
		}
		if readMessage(ur, &resp) != nil {
			return
		}
		if _, err := client.Write(resp.Bytes()); err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9444", "listen `address`")
	upstream := flag.String("upstream", "127.0.0.1:9443", "upstream `address`")
	name := flag.String("upstream-name", "localhost", "the upstream's certificate `name`")
	cert := flag.String("cert", "front.pem", "certificate `file`")
	key := flag.String("key", "front.key", "key `file`")
	ca := flag.String("ca", "ca.pem", "`file` of the CA that signed the upstream's certificate")
	flag.Parse()
	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		log.Fatal(err)
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		log.Fatalf("%s: no certificate", *ca)
	}
	ln, err := tls.Listen("tcp", *addr, &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		log.Fatal(err)
	}
	upCfg := &tls.Config{RootCAs: roots, ServerName: *name, NextProtos: []string{"http/1.1"}}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go relay(c, *upstream, upCfg)
	}
}
