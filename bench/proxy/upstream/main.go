// Command upstream is the TLS upstream of the proxy benchmark: it answers
// POST /autodiscover/autodiscover.xml as Amazon WorkMail does (401 with a
// Basic challenge without credentials, the MobileSync document with the
// benchmark's credentials), so both proxies relay the same work.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

const doc = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"><Culture>en:us</Culture><User><DisplayName>User1</DisplayName><EMailAddress>testuser@company.tld</EMailAddress></User><Action><Settings><Server><Type>MobileSync</Type><Url>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Url><Name>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Name></Server></Settings></Action></Response></Autodiscover>`

func main() {
	addr := flag.String("addr", "127.0.0.1:9443", "listen `address`")
	cert := flag.String("cert", "upstream.pem", "certificate `file`")
	key := flag.String("key", "upstream.key", "key `file`")
	flag.Parse()
	var conns, requests atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stats" {
			// For the benchmark script: how many connections and
			// requests each proxy brought.
			fmt.Fprintf(w, "%d %d\n", conns.Load(), requests.Load())
			return
		}
		requests.Add(1)
		io.Copy(io.Discard, r.Body)
		if u, p, ok := r.BasicAuth(); !ok || u != "testuser@company.tld" || p != "testpassword" {
			w.Header().Set("WWW-Authenticate", `Basic realm="workmail"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, doc)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}
	log.Fatal(srv.ListenAndServeTLS(*cert, *key))
}
