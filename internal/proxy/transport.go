package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// upstreamTransport is the round tripper for requests whose body is in
// memory (or absent): every AutoDiscover request. It sends the request
// and reads the response on the caller's goroutine, over a kept-alive
// HTTP/1.1 connection from its pool; the framing is the standard
// library's own ([http.Request.Write], [http.ReadResponse]).
//
// [http.Transport] hands every request to a writer goroutine and every
// response from a reader goroutine that then waits on the idle connection;
// on a proxy whose work per request is small, those hand-offs and that
// wait were a quarter of its CPU time (docs/benchmarks.md). Streamed
// bodies and connection-bound logins still go through [http.Transport].
type upstreamTransport struct {
	addr        string // host:port dialled
	tlsConfig   *tls.Config
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	handshake   time.Duration // bounds the TLS handshake
	header      time.Duration // bounds the wait for the response headers
	idleTimeout time.Duration // idle connections older than this are closed
	maxIdle     int

	mu      sync.Mutex
	idle    []*upstreamConn // most recently used last
	sweeper *time.Timer     // closes expired idle connections; nil when idle is empty
}

// maxResponseHeaderBytes bounds the status line and headers of an
// upstream answer (1xx answers included), as http.Transport's default
// MaxResponseHeaderBytes does more loosely.
const maxResponseHeaderBytes = 1 << 20

// max1xx bounds the interim (1xx) answers accepted before the final one.
const max1xx = 8

// upstreamConn is one TLS connection to the upstream.
type upstreamConn struct {
	raw       net.Conn // the TCP connection, for the liveness check
	conn      *tls.Conn
	in        *limitedReader
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

// limitedReader counts what is read from the connection and, while limit
// is non-negative, refuses to read past it.
type limitedReader struct {
	r     io.Reader
	n     int64 // bytes read since the count was reset
	limit int64 // -1: unlimited
}

var errHeaderTooLarge = errors.New("upstream response headers too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.limit >= 0 {
		left := l.limit - l.n
		if left <= 0 {
			return 0, errHeaderTooLarge
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// errRetry reports that a kept-alive connection turned out closed before
// any answer arrived: the request goes again, once, on a new connection.
var errRetry = errors.New("kept-alive upstream connection closed")

// RoundTrip sends r, whose body is nil or in memory with GetBody set.
func (t *upstreamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.try(r, true)
	if err == errRetry {
		if r.GetBody != nil {
			body, gerr := r.GetBody()
			if gerr != nil {
				return nil, gerr
			}
			r = r.WithContext(r.Context())
			r.Body = body
		}
		resp, err = t.try(r, false)
	}
	return resp, err
}

// try makes one attempt, on a pooled connection when pooled allows it.
func (t *upstreamTransport) try(r *http.Request, pooled bool) (*http.Response, error) {
	ctx := r.Context()
	var c *upstreamConn
	if pooled {
		c = t.get()
	}
	reused := c != nil
	if c == nil {
		var err error
		if c, err = t.connect(ctx); err != nil {
			return nil, err
		}
	}
	// A client that goes away aborts the exchange at once.
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	// The header timeout covers sending the request too: an upstream
	// that reads nothing must not hold the request forever. (This also
	// replaces the expired read deadline a pooled connection keeps from
	// quiet.)
	deadline := time.Time{}
	if t.header > 0 {
		deadline = time.Now().Add(t.header)
	}
	c.conn.SetDeadline(deadline)
	c.in.n, c.in.limit = 0, -1
	err := r.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		if reused && ctx.Err() == nil && !isTimeout(err) {
			// Closed by the upstream while idle: the request did not
			// arrive whole, so it was not taken.
			fail(err)
			return nil, errRetry
		}
		if isTimeout(err) && ctx.Err() == nil {
			err = fmt.Errorf("timeout sending the request: %w", err)
		}
		return fail(err)
	}
	c.in.n, c.in.limit = 0, maxResponseHeaderBytes
	resp, err := t.readResponse(c, r)
	if err != nil {
		switch {
		case reused && c.in.n == 0 && ctx.Err() == nil && !isTimeout(err) && replayable(r.Method):
			// Closed by the upstream while idle, as the request
			// arrived, before any answer; or it took the request and
			// then failed. A lookup (AutoDiscover POSTs to look up)
			// may be sent again; a PUT, PATCH or DELETE may not.
			fail(err)
			return nil, errRetry
		case isTimeout(err) && ctx.Err() == nil:
			err = fmt.Errorf("timeout awaiting response headers: %w", err)
		}
		return fail(err)
	}
	c.in.limit = -1
	c.conn.SetDeadline(time.Time{})
	if ctx.Err() != nil {
		// The AfterFunc may have run before the deadline was cleared.
		return fail(ctx.Err())
	}
	resp.Body = &upstreamBody{ReadCloser: resp.Body, t: t, c: c, stop: stop, reusable: !resp.Close && !r.Close}
	return resp, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readResponse reads the final answer to r, passing interim (1xx) ones to
// the client trace (the ReverseProxy relays them) and refusing a protocol
// switch, which the proxy never asks for.
func (t *upstreamTransport) readResponse(c *upstreamConn, r *http.Request) (*http.Response, error) {
	trace := httptrace.ContextClientTrace(r.Context())
	for i := 0; ; i++ {
		resp, err := http.ReadResponse(c.br, r)
		if err != nil {
			return nil, err
		}
		code := resp.StatusCode
		if code > 199 {
			return resp, nil
		}
		if code < 100 || code == http.StatusSwitchingProtocols || i == max1xx {
			return nil, fmt.Errorf("upstream answered %d", code)
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
				return nil, err
			}
		}
	}
}

// upstreamBody returns the connection to the pool once the answer has
// been read to its end and closed; otherwise the connection is closed.
type upstreamBody struct {
	io.ReadCloser
	t        *upstreamTransport
	c        *upstreamConn
	stop     func() bool
	reusable bool
	eof      bool
	done     bool
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *upstreamBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.ReadCloser.Close()
	// stop reports false when the client went away meanwhile: the
	// connection's deadline is then set in the past.
	if b.stop() && b.eof && b.reusable && b.c.quiet() {
		b.t.put(b.c)
	} else {
		b.c.conn.Close()
	}
	return err
}

// connect dials the upstream and completes the TLS handshake.
func (t *upstreamTransport) connect(ctx context.Context) (*upstreamConn, error) {
	raw, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, t.tlsConfig)
	hctx, cancel := context.WithTimeout(ctx, t.handshake)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("TLS handshake timeout: %w", err)
		}
		return nil, err
	}
	in := &limitedReader{r: conn, limit: -1}
	return &upstreamConn{raw: raw, conn: conn, in: in, br: bufio.NewReaderSize(in, 4<<10), bw: bufio.NewWriterSize(conn, 4<<10)}, nil
}

// get takes the most recently used idle connection that is still open,
// or returns nil.
func (t *upstreamTransport) get() *upstreamConn {
	now := time.Now()
	for {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			return nil
		}
		c := t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		if now.Sub(c.idleSince) < t.idleTimeout && alive(c.raw) {
			return c
		}
		c.conn.Close()
	}
}

// put returns a connection to the pool.
func (t *upstreamTransport) put(c *upstreamConn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle) >= t.maxIdle {
		t.mu.Unlock()
		c.conn.Close()
		return
	}
	t.idle = append(t.idle, c)
	if t.sweeper == nil {
		t.sweeper = time.AfterFunc(t.idleTimeout, t.sweep)
	}
	t.mu.Unlock()
}

// sweep closes the connections idle for longer than idleTimeout, so a
// quiet proxy does not hold connections the upstream has given up on.
func (t *upstreamTransport) sweep() {
	now := time.Now()
	t.mu.Lock()
	var expired []*upstreamConn
	kept := t.idle[:0]
	for _, c := range t.idle {
		if now.Sub(c.idleSince) >= t.idleTimeout {
			expired = append(expired, c)
		} else {
			kept = append(kept, c)
		}
	}
	clear(t.idle[len(kept):])
	t.idle = kept
	t.sweeper = nil
	if len(t.idle) > 0 {
		t.sweeper = time.AfterFunc(t.idleTimeout-now.Sub(t.idle[0].idleSince), t.sweep)
	}
	t.mu.Unlock()
	for _, c := range expired {
		c.conn.Close()
	}
}

// CloseIdleConnections closes the pooled connections; the transport stays
// usable.
func (t *upstreamTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	if t.sweeper != nil {
		t.sweeper.Stop()
		t.sweeper = nil
	}
	t.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// replayable reports whether a request that may have been processed can
// be sent again: the lookups, POST included, since AutoDiscover POSTs
// only to look settings up.
func replayable(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPost:
		return true
	}
	return false
}

// quiet reports whether nothing follows the answer just read: no byte
// buffered by bufio or tls.Conn. Bytes there are an unsolicited answer
// that the next request would take for its own. The read deadline is
// left expired: nothing reads an idle connection, and try sets a new one
// before using it.
func (c *upstreamConn) quiet() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	c.conn.SetReadDeadline(time.Unix(1, 0))
	_, err := c.br.Peek(1)
	return isTimeout(err)
}
