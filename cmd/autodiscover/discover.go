package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/autodiscover-go/autodiscover"
	"github.com/autodiscover-go/autodiscover/internal/check"
)

// runDiscover is "autodiscover discover EMAIL".
func runDiscover(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("discover", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var cf clientFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprint(e.stderr, `Usage: autodiscover discover [flags] EMAIL

Runs AutoDiscover for EMAIL the way a mail client does: the directory (SCP,
with --ldap), https://DOMAIN, https://autodiscover.DOMAIN, the plain-HTTP
redirect, the _autodiscover._tcp SRV record; then follows redirects. Prints
the endpoint found, how it was found, the settings, and every attempt.

The password is read from --password-stdin, else AUTODISCOVER_PASSWORD,
else asked on the terminal (without echo). Credentials go only over verified
HTTPS to hosts in EMAIL's domain or named with --allow-redirect-to (or
accepted at the terminal prompt).

Exit status: 0 when an endpoint answered, 1 when not, 2 for a bad command line.

Flags:
`)
		fs.PrintDefaults()
	}
	email, c, opts, exit, ok := cf.parse(fs, args, e)
	if !ok {
		return exit
	}
	res, derr := c.Discover(ctx, email, opts)
	if cf.json {
		out := struct {
			Result *autodiscover.Result `json:"result"`
			Error  string               `json:"error,omitempty"`
		}{Result: res}
		if derr != nil {
			out.Error = derr.Error()
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		printResult(e.stdout, email, res, derr)
	}
	if derr != nil {
		return exitFailure
	}
	return exitOK
}

// validAddress refuses what is not an e-mail address of a mail domain,
// before anything is sent.
func validAddress(email string) error {
	if !strings.Contains(email, "@") {
		return fmt.Errorf("%q: want an e-mail address (user@%s)", email, strings.TrimPrefix(email, "@"))
	}
	_, _, err := autodiscover.SplitAddress(email)
	if err != nil {
		// Without the "autodiscover: invalid e-mail address: " prefix.
		return errors.New(strings.TrimPrefix(err.Error(), autodiscover.ErrInvalidAddress.Error()+": "))
	}
	return nil
}

// printResult writes the human-readable answer.
func printResult(w io.Writer, email string, res *autodiscover.Result, err error) {
	if err == nil {
		fmt.Fprintf(w, "Found %s for %s\n  via %s (phase %d)\n", res.Endpoint, res.Email, res.Method, res.Method.Phase())
		for _, r := range res.Redirects {
			fmt.Fprintf(w, "  redirect      %s\n", r)
		}
		row := func(k, v string) {
			if v != "" {
				fmt.Fprintf(w, "  %-13s %s\n", k, v)
			}
		}
		row("schema", res.Schema.String())
		row("display name", res.DisplayName)
		row("login name", res.LoginName)
		row("ActiveSync", res.MobileSyncURL)
		row("EWS", res.EWSURL)
		row("OAB", res.OABURL)
		row("OOF", res.OOFURL)
		for _, g := range []struct {
			name string
			list []autodiscover.MailServer
		}{{"IMAP", res.IMAP}, {"POP3", res.POP3}, {"SMTP", res.SMTP}} {
			for _, m := range g.list {
				row(g.name, fmt.Sprintf("%s:%d (%s TLS)", m.Host, m.Port, m.TLS))
			}
		}
	} else {
		fmt.Fprintf(w, "No AutoDiscover endpoint for %s: %s\n", email, headlineOf(email, err))
	}
	if res != nil && len(res.Trace) > 0 {
		fmt.Fprintln(w, "\nAttempts:")
		for _, a := range res.Trace {
			fmt.Fprintf(w, "  %s\n", attemptLine(a))
		}
	}
}

// headlineOf sums up a failed discovery: when no endpoint answered, the
// decisive failure (a refused redirect, an HTTP error, a certificate...)
// and what to do, else the first line of the error.
func headlineOf(email string, err error) string {
	if errors.Is(err, autodiscover.ErrNoEndpoint) {
		_, domain, _ := autodiscover.SplitAddress(email)
		if c, ok := check.Explain(err, domain); ok {
			s := c.Detail
			if c.Fix != "" {
				s += "\n  fix: " + c.Fix
			}
			return s
		}
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimPrefix(s, "autodiscover: ")
}

// attemptLine is one trace entry on one line.
func attemptLine(a autodiscover.Attempt) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %-9s %s", a.Method, a.Step, a.URL)
	if a.DNS != nil && a.DNS.Override != "" {
		fmt.Fprintf(&b, " [-> %s]", a.DNS.Override)
	} else if a.DNS != nil && len(a.DNS.Addrs) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(a.DNS.Addrs, " "))
	}
	if a.Status != 0 {
		fmt.Fprintf(&b, " -> %d", a.Status)
	}
	if len(a.AuthSchemes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(a.AuthSchemes, ", "))
	}
	if a.Redirect != "" {
		fmt.Fprintf(&b, " -> %s", a.Redirect)
	}
	if a.Err != nil {
		fmt.Fprintf(&b, ": %v", a.Err)
	}
	fmt.Fprintf(&b, " (%s)", a.Duration.Round(time.Millisecond))
	return b.String()
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// clientFlags are the flags discover and check share.
type clientFlags struct {
	schema         string
	user           string
	passwordStdin  bool
	json           bool
	caFile         string
	dns            string
	resolve        multiFlag
	timeout        time.Duration
	attemptTimeout time.Duration
	grace          time.Duration
	allow          multiFlag
	ldap           string
	ldapBind       string
	ldapPlain      bool
	adSite         string
	noNTLM         bool
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.schema, "schema", "outlook", "response schema to ask for: outlook or mobilesync")
	fs.StringVar(&f.user, "user", "", "login name to send with the password (default: the e-mail address)")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	fs.BoolVar(&f.json, "json", false, "print JSON (never contains the password)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of CA certificates to trust instead of the system roots")
	fs.StringVar(&f.dns, "dns", "", "send DNS queries to this server (ADDR or ADDR:PORT) instead of the system resolver")
	fs.Var(&f.resolve, "resolve", "HOST:PORT:ADDR[:PORT2]: connect to ADDR (on PORT2) for HOST:PORT, like curl --resolve/--connect-to; IPv6 ADDR in brackets (repeatable)")
	fs.DurationVar(&f.timeout, "timeout", autodiscover.DefaultTimeout, "overall time limit")
	fs.DurationVar(&f.attemptTimeout, "attempt-timeout", autodiscover.DefaultAttemptTimeout, "time limit of one request")
	fs.DurationVar(&f.grace, "grace", autodiscover.DefaultGrace, "how long an answer waits for higher-priority candidates that have not answered (0: not at all)")
	fs.Var(&f.allow, "allow-redirect-to", "HOST outside the address's domain that may receive the credentials (repeatable)")
	fs.StringVar(&f.ldap, "ldap", "", "phase 1: directory URL, ldaps://HOST[:PORT] or ldap://HOST[:PORT] (StartTLS)")
	fs.StringVar(&f.ldapBind, "ldap-bind", "", "DN to bind to the directory as; password from AUTODISCOVER_LDAP_PASSWORD")
	fs.BoolVar(&f.ldapPlain, "ldap-plain", false, "allow ldap:// without StartTLS (its URLs are then not trusted)")
	fs.StringVar(&f.adSite, "ad-site", "", "Active Directory site of this client: its SCP URLs come first")
	fs.BoolVar(&f.noNTLM, "no-ntlm", false, "do not answer NTLM/Negotiate challenges (by default NTLMv2 is used where Basic is not offered)")
}

// parse parses args into f and the one e-mail address they must hold,
// and sets the client up. When ok is false the command line was bad (or
// asked for --help), stderr says so, and exit is the status to return.
func (f *clientFlags) parse(fs *flag.FlagSet, args []string, e env) (email string, c *autodiscover.Client, opts *autodiscover.Options, exit int, ok bool) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", nil, nil, flagExit(err), false
	}
	if len(pos) != 1 {
		fmt.Fprintf(e.stderr, "autodiscover %s: give exactly one e-mail address\n", fs.Name())
		fs.Usage()
		return "", nil, nil, exitUsage, false
	}
	email = pos[0]
	if err := validAddress(email); err != nil {
		fmt.Fprintf(e.stderr, "autodiscover %s: %v\n", fs.Name(), err)
		return "", nil, nil, exitUsage, false
	}
	if c, opts, err = f.setup(e, newInput(e)); err != nil {
		fmt.Fprintf(e.stderr, "autodiscover %s: %v\n", fs.Name(), err)
		return "", nil, nil, exitUsage, false
	}
	return email, c, opts, 0, true
}

// setup builds the client and the options from the flags and env.
func (f *clientFlags) setup(e env, in *input) (*autodiscover.Client, *autodiscover.Options, error) {
	schema, ok := autodiscover.ParseSchema(f.schema)
	if !ok {
		return nil, nil, fmt.Errorf("--schema %q: want outlook or mobilesync", f.schema)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		zero bool // 0 allowed
	}{{"--timeout", f.timeout, false}, {"--attempt-timeout", f.attemptTimeout, false}, {"--grace", f.grace, true}} {
		if d.v < 0 || d.v == 0 && !d.zero {
			want := "a positive duration such as 30s"
			if d.zero {
				want = "0 or a positive duration such as 2s"
			}
			return nil, nil, fmt.Errorf("%s %v: want %s", d.name, d.v, want)
		}
	}
	for _, h := range f.allow {
		if err := validHostFlag(h); err != nil {
			return nil, nil, err
		}
	}
	c := &autodiscover.Client{Timeout: f.timeout, AttemptTimeout: f.attemptTimeout, Grace: f.grace, AllowedHosts: f.allow,
		DisableNTLM: f.noNTLM}
	if f.grace == 0 {
		c.Grace = -1
	}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--ca-file %s: no PEM certificate", f.caFile)
		}
		c.TLSConfig = &tls.Config{RootCAs: pool}
	}
	if f.dns != "" {
		addr, err := parseDNSServer(f.dns)
		if err != nil {
			return nil, nil, err
		}
		c.DNSServer = addr
		c.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	}
	if len(f.resolve) > 0 {
		c.Overrides = map[string]string{}
		for _, r := range f.resolve {
			from, to, err := parseResolve(r)
			if err != nil {
				return nil, nil, err
			}
			c.Overrides[from] = to
		}
	}
	if f.dns == "" && len(c.Overrides) > 0 {
		// Every candidate host sent elsewhere and no DNS server named: a
		// test before the DNS switch; the SRV query would leave for the
		// system resolver, so skip it.
		c.SkipSRV = func(domain string) string {
			for _, hp := range []string{domain + ":443", "autodiscover." + domain + ":443", "autodiscover." + domain + ":80"} {
				if _, ok := c.Overrides[hp]; !ok {
					return ""
				}
			}
			return "names are overridden with --resolve and no --dns was given"
		}
	}
	if f.ldap != "" {
		c.SCP = &autodiscover.SCPConfig{URL: f.ldap, AllowPlain: f.ldapPlain, Site: f.adSite,
			BindDN: f.ldapBind, BindPassword: e.getenv("AUTODISCOVER_LDAP_PASSWORD")}
	}
	if in.terminal() {
		c.Consent = func(_ context.Context, r autodiscover.ConsentRequest) bool {
			return in.ask(e.stderr, fmt.Sprintf("Send the password for %s to %s (%s, found via %s)? [y/N] ", r.Email, r.Host, r.URL, r.Method))
		}
	}
	pw, err := f.password(e, in)
	if err != nil {
		return nil, nil, err
	}
	return c, &autodiscover.Options{Schema: schema, Username: f.user, Password: pw}, nil
}

// password returns the password: --password-stdin, AUTODISCOVER_PASSWORD,
// or a prompt without echo on a terminal; "" when there is none.
func (f *clientFlags) password(e env, in *input) (string, error) {
	switch {
	case f.passwordStdin:
		line, err := in.line()
		switch {
		case err != nil && line == "" && errors.Is(err, io.EOF):
			return "", errors.New("--password-stdin: no password on standard input")
		case err != nil && line == "":
			return "", fmt.Errorf("--password-stdin: %w", err)
		case line == "":
			return "", errors.New("--password-stdin: the first line of standard input is empty: no password")
		}
		return line, nil
	case e.getenv("AUTODISCOVER_PASSWORD") != "":
		return e.getenv("AUTODISCOVER_PASSWORD"), nil
	case in.terminal():
		fmt.Fprint(e.stderr, "Password (empty: unauthenticated steps only): ")
		pw, err := readNoEcho(in.file)
		fmt.Fprintln(e.stderr)
		return pw, err
	}
	return "", nil
}

// parseDNSServer reads --dns: an IP address, optionally with a port
// (ADDR, ADDR:PORT, [IPv6]:PORT, or a bare IPv6 address), into ADDR:PORT.
func parseDNSServer(s string) (string, error) {
	host, port := s, "53"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if net.ParseIP(host) == nil {
		return "", fmt.Errorf("--dns %q: want the IP address of a DNS server, optionally with :PORT (IPv6 in brackets: [2001:db8::53]:53)", s)
	}
	if !validPort(port) {
		return "", fmt.Errorf("--dns %q: bad port %q", s, port)
	}
	return net.JoinHostPort(host, port), nil
}

// validPort reports whether p is a port number 1-65535 written plainly.
func validPort(p string) bool {
	var n int
	_, err := fmt.Sscanf(p, "%d", &n)
	return err == nil && n > 0 && n <= 65535 && fmt.Sprint(n) == p
}

// validHostFlag refuses a --allow-redirect-to value that is not a host
// name (a URL, a host:port).
func validHostFlag(h string) error {
	if strings.Contains(h, "://") || strings.ContainsAny(h, "/:") {
		hint := ""
		if u, err := url.Parse(h); err == nil && u.Hostname() != "" {
			hint = ": give the host name alone, " + u.Hostname()
		} else if host, _, err := net.SplitHostPort(h); err == nil && host != "" {
			hint = ": give the host name alone, " + host
		}
		return fmt.Errorf("--allow-redirect-to %q: want a host name, not a URL or host:port%s", h, hint)
	}
	if h == "" || strings.ContainsAny(h, " \t\r\n@?#") {
		return fmt.Errorf("--allow-redirect-to %q: want a host name", h)
	}
	return nil
}

// parseResolve reads HOST:PORT:ADDR[:PORT2] into the override key
// "host:port" and the target "addr:port".
func parseResolve(s string) (from, to string, err error) {
	bad := fmt.Errorf("--resolve %q: want HOST:PORT:ADDR[:PORT2]", s)
	host, rest, ok := strings.Cut(s, ":")
	if !ok || host == "" {
		return "", "", bad
	}
	port, addr, ok := strings.Cut(rest, ":")
	if !ok || port == "" || addr == "" {
		return "", "", bad
	}
	port2 := port
	if strings.HasPrefix(addr, "[") {
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return "", "", bad
		}
		if tail := addr[end+1:]; tail != "" {
			if !strings.HasPrefix(tail, ":") || len(tail) == 1 {
				return "", "", bad
			}
			port2 = tail[1:]
		}
		addr = addr[1:end]
	} else if a, p, ok := strings.Cut(addr, ":"); ok {
		addr, port2 = a, p
	}
	if net.ParseIP(addr) == nil {
		if strings.Count(rest, ":") > 2 && !strings.Contains(rest, "[") {
			return "", "", fmt.Errorf("--resolve %q: put an IPv6 address in brackets: %s:%s:[%s]", s, host, port, strings.TrimPrefix(rest, port+":"))
		}
		return "", "", fmt.Errorf("--resolve %q: %q is not an IP address", s, addr)
	}
	for _, p := range []string{port, port2} {
		if !validPort(p) {
			return "", "", fmt.Errorf("--resolve %q: bad port %q", s, p)
		}
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), port), net.JoinHostPort(addr, port2), nil
}

// parseInterspersed parses flags that may follow the positional
// arguments ("discover EMAIL --json").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// input is standard input, shared by the password and consent prompts.
type input struct {
	file *os.File // nil when stdin is not a file
	rd   *bufio.Reader
	mu   sync.Mutex
}

func newInput(e env) *input {
	in := &input{rd: bufio.NewReader(e.stdin)}
	if f, ok := e.stdin.(*os.File); ok {
		in.file = f
	}
	return in
}

// terminal reports whether standard input is a terminal.
func (in *input) terminal() bool {
	return in.file != nil && isTTY(in.file)
}

// line reads one line without its end.
func (in *input) line() (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	s, err := in.rd.ReadString('\n')
	return strings.TrimRight(s, "\r\n"), err
}

// ask asks a yes/no question; anything but y or yes is no.
func (in *input) ask(w io.Writer, q string) bool {
	fmt.Fprint(w, q)
	a, _ := in.line()
	a = strings.ToLower(strings.TrimSpace(a))
	return a == "y" || a == "yes"
}
