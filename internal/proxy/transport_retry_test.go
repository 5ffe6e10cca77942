package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestProcessedDeleteNotReplayed: an upstream may process a request and
// then drop the connection before answering (crash, worker recycled, an
// idle timeout racing a slow handler), which looks like a kept-alive
// connection closed before the request arrived. The retry then sends the
// request again: acceptable for lookups (GET, HEAD, OPTIONS, and POST,
// which AutoDiscover uses to look up), not for the PUT, PATCH and DELETE
// the proxy also relays. Those fail with 502 instead.
func TestProcessedDeleteNotReplayed(t *testing.T) {
	var deletes, n atomic.Int32
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deletes.Add(1) // processed...
		}
		if n.Add(1) == 2 {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close() // ...and the connection lost before the answer
			return
		}
		io.WriteString(w, "ok")
	})
	_, url := newProxy(t, up, Options{})
	post(t, url, "<warm-up/>") // pools a connection
	req, _ := http.NewRequest(http.MethodDelete, url+"/autodiscover/autodiscover.xml", strings.NewReader("<x/>"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := deletes.Load(); d != 1 {
		t.Errorf("the upstream processed the client's one DELETE %d times (status relayed: %d)", d, resp.StatusCode)
	}
}
