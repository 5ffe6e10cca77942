package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// holdingUpstream answers the first request on each connection with raw
// (which may hold more bytes than the response it frames) and then keeps
// the connection open, reading and discarding whatever comes, without
// ever answering again: any later "answer" on that connection can only
// come from bytes the proxy kept from the first exchange.
func holdingUpstream(t *testing.T, raw string) *upstream {
	done := make(chan struct{})
	var first atomic.Bool
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if first.Swap(true) {
			// A request on another (new) connection: answer it
			// honestly so the test can tell the difference.
			w.Header().Set("Content-Length", "6")
			io.WriteString(w, "honest")
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		brw.WriteString(raw)
		brw.Flush()
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		go func() { <-done; conn.Close() }()
		io.Copy(io.Discard, conn) // hold it open, never answer
	})
	t.Cleanup(func() { close(done) })
	return up
}

// TestLeftoverBytesNeverReachTheNextClient: bytes the upstream sends
// beyond the end of an answer (after a Content-Length or chunked body, a
// body on a HEAD answer, on a 204 or a 304) sit in the connection's
// buffers (bufio and tls.Conn), where the liveness peek on the socket
// cannot see them. Such a connection must not be pooled: the next client,
// another user, would be served those bytes as its answer. (http.Transport
// closes it too: "Unsolicited response received on idle HTTP channel".)
func TestLeftoverBytesNeverReachTheNextClient(t *testing.T) {
	const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nsomeone-else's-answer-XXXX"
	for _, tc := range []struct {
		name, method, raw string
	}{
		{"extra bytes after a Content-Length body", "POST", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + smuggled},
		{"extra bytes after a chunked body", "POST", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + smuggled},
		{"HEAD answered with a body", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n" + smuggled},
		{"204 with a body", "POST", "HTTP/1.1 204 No Content\r\nContent-Length: 65\r\n\r\n" + smuggled},
		{"304 with a body", "POST", "HTTP/1.1 304 Not Modified\r\nContent-Length: 65\r\n\r\n" + smuggled},
		{"extra bytes after a large body (left in tls.Conn)", "POST", "HTTP/1.1 200 OK\r\nContent-Length: 6000\r\n\r\n" + strings.Repeat("b", 6000) + smuggled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := holdingUpstream(t, tc.raw)
			_, url := newProxy(t, up, Options{ResponseHeaderTimeout: 2 * time.Second})
			send(t, tc.method, url, "<x/>") // the attacker's (or just the unlucky first) request
			code, body := send(t, "POST", url, "<x/>")
			if strings.Contains(body, "someone-else") {
				t.Fatalf("second client got %d %q: the previous exchange's leftover bytes, relayed as its answer", code, body)
			}
			if code != 200 || body != "honest" {
				t.Errorf("second client got %d %q, want 200 honest (from a new connection)", code, body)
			}
		})
	}
}
