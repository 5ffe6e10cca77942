package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// hookConn calls beforeClear, once, when its deadline is about to be
// cleared (SetDeadline(time.Time{})), then clears it.
type hookConn struct {
	net.Conn
	once        sync.Once
	beforeClear func()
	past        chan struct{} // closed when a deadline in the past is set
	pastOnce    sync.Once
}

func (c *hookConn) SetDeadline(d time.Time) error {
	if d.IsZero() {
		c.once.Do(c.beforeClear)
	} else if d.Before(time.Now()) {
		defer c.pastOnce.Do(func() { close(c.past) })
	}
	return c.Conn.SetDeadline(d)
}

// TestCancelWhileHeadersArrive: a client that goes away just as the
// answer's headers arrive (between http.ReadResponse returning and the
// header deadline being cleared, after the cancellation set it in the
// past) still aborts the exchange: clearing the deadline must not undo
// the abort, or the handler would wait on the upstream's body for as long
// as the upstream likes, holding a goroutine and a connection for a client
// that is gone. A conn wrapper forces the interleaving, a scheduling race
// in production.
func TestCancelWhileHeadersArrive(t *testing.T) {
	release := make(chan struct{})
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, _ := http.NewResponseController(w).Hijack()
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		brw.Flush()
		select { // then stall the rest of the body
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hc *hookConn
	tr := &upstreamTransport{
		addr:      "example.com:443",
		tlsConfig: &tls.Config{RootCAs: pool(up), ServerName: "example.com", NextProtos: []string{"http/1.1"}},
		dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(up.srv.Listener.Addr().String())
			c, err := loopback(ctx, network, "x:"+port)
			if err != nil {
				return nil, err
			}
			hc = &hookConn{Conn: c, past: make(chan struct{})}
			hc.beforeClear = func() {
				cancel() // the client hangs up here...
				select { // ...and the AfterFunc runs before the deadline is cleared
				case <-hc.past:
				case <-time.After(2 * time.Second):
				}
			}
			return hc, nil
		},
		handshake: 2 * time.Second, header: 2 * time.Second, idleTimeout: time.Minute, maxIdle: 4,
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://example.com/autodiscover/autodiscover.xml", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Logf("RoundTrip failed (the abort was honoured): %v", err)
		return
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("read a complete body after the client went away")
		}
	case <-time.After(time.Second):
		t.Errorf("client cancelled, but the upstream body read is still blocked 1s later: the cancellation deadline was cleared")
		close(release) // let the upstream finish so the goroutine ends
		release = make(chan struct{})
		<-done
	}
	resp.Body.Close()
}
