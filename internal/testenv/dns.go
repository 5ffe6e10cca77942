package testenv

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a loopback DNS server answering from a fixed set of records.
type DNS struct {
	Addr string // 127.0.0.1:port, UDP and TCP

	mu      sync.Mutex
	records []dns.RR
	queries []string
}

// StartDNS serves the records, given in zone-file syntax
// ("autodiscover.company.tld. 60 IN A 127.0.0.1"). Names without records
// answer NXDOMAIN; CNAMEs are followed within the zone.
func StartDNS(t testing.TB, records ...string) *DNS {
	t.Helper()
	d := &DNS{}
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		d.records = append(d.records, rr)
	}
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if try > 20 {
			t.Fatal(err)
		}
	}
	d.Addr = pc.LocalAddr().String()
	// Shutdown only stops a server that has started: wait for both.
	started := make(chan struct{}, 4) // a notice, or the end of a server that failed to start
	notify := func() { started <- struct{}{} }
	udp := &dns.Server{PacketConn: pc, Handler: d, NotifyStartedFunc: notify}
	tcp := &dns.Server{Listener: ln, Handler: d, NotifyStartedFunc: notify}
	var wg sync.WaitGroup
	wg.Add(2)
	for _, srv := range []*dns.Server{udp, tcp} {
		go func() {
			defer wg.Done()
			srv.ActivateAndServe()
			started <- struct{}{}
		}()
	}
	<-started
	<-started
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
		wg.Wait()
	})
	return d
}

// Add adds records (zone-file syntax) while the server runs.
func (d *DNS) Add(t testing.TB, records ...string) {
	t.Helper()
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		d.mu.Lock()
		d.records = append(d.records, rr)
		d.mu.Unlock()
	}
}

// Resolver returns a resolver that sends every query to this server.
func (d *DNS) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, network, d.Addr)
	}}
}

// Queries returns the names queried so far ("name TYPE").
func (d *DNS) Queries() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.queries...)
}

// ServeDNS implements dns.Handler.
func (d *DNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	d.mu.Lock()
	defer d.mu.Unlock()
	d.queries = append(d.queries, strings.ToLower(q.Name)+" "+dns.TypeToString[q.Qtype])
	name, exists := q.Name, false
	for hop := 0; hop < 8; hop++ {
		var cname dns.RR
		for _, rr := range d.records {
			h := rr.Header()
			if !strings.EqualFold(h.Name, name) {
				continue
			}
			exists = true
			switch {
			case h.Rrtype == q.Qtype:
				m.Answer = append(m.Answer, rr)
			case h.Rrtype == dns.TypeCNAME:
				cname = rr
			}
		}
		if len(m.Answer) > 0 || cname == nil {
			break
		}
		m.Answer = append(m.Answer, cname)
		name = cname.(*dns.CNAME).Target
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}
