package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"
)

// record collects what the access log line says about a request; handlers
// fill it through the setters below.
type record struct {
	schema  string
	domain  string
	outcome string
	user    string
}

type recordKey struct{}

// recordOf returns the request's record, or nil when no access-log line
// will be written (a handler used without accessLog, or info lines off).
func recordOf(r *http.Request) *record {
	rec, _ := r.Context().Value(recordKey{}).(*record)
	return rec
}

func setOutcome(r *http.Request, o string) {
	if rec := recordOf(r); rec != nil {
		rec.outcome = o
	}
}

func setDomain(r *http.Request, d string) {
	if rec := recordOf(r); rec != nil {
		rec.domain = d
	}
}

func setSchema(r *http.Request, s string) {
	if rec := recordOf(r); rec != nil {
		rec.schema = s
	}
}

func setUser(r *http.Request, u string) {
	if rec := recordOf(r); rec != nil {
		rec.user = u
	}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers (100 Continue for Expect: 100-continue) are interim:
	// the final status comes after them.
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one structured line per request. It never logs the
// Authorization header, a password or a body.
func (s *Server) accessLog(listener string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelInfo) {
			next.ServeHTTP(w, r) // no line to write: nothing to collect
			return
		}
		start := time.Now()
		rec := &record{}
		r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		attrs := []slog.Attr{
			slog.String("listener", listener),
			slog.String("client", clientIP(r)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("host", r.Host),
			slog.String("user_agent", r.UserAgent()),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
		}
		for _, kv := range [][2]string{{"schema", rec.schema}, {"domain", rec.domain}, {"outcome", rec.outcome}, {"user", rec.user}} {
			if kv[1] != "" {
				attrs = append(attrs, slog.String(kv[0], kv[1]))
			}
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// recoverPanics turns a panic in a handler into a logged 500, so one bad
// request never takes the process down.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic while answering a request", "panic", v, "path", r.URL.Path, "stack", string(debug.Stack()))
				setOutcome(r, "panic")
				http.Error(w, "500 internal server error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// clientIP returns the address of the peer (proxies in front are not
// trusted for it).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
