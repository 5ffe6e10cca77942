// Package config reads the YAML configuration of "autodiscover serve",
// fills in defaults and checks it, listing every problem with its file and
// line. Only the command reads it; the other packages take their own
// option values, built from a File by the command.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is the whole configuration.
type File struct {
	Listen   Listen   `yaml:"listen"`
	StateDir string   `yaml:"state_dir"`
	TLS      TLS      `yaml:"tls"`
	Auth     Auth     `yaml:"auth"`
	Log      Log      `yaml:"log"`
	Domains  []Domain `yaml:"domains"`
	Users    []User   `yaml:"users"`
	// ACME, when present, obtains certificates automatically for the
	// names it lists; see docs/configuration-proxy.md.
	ACME *ACME `yaml:"acme"`
	// Proxy tunes the connections to the upstreams of proxied domains.
	Proxy Proxy `yaml:"proxy"`

	// Path is the file the configuration was read from ("" for bytes).
	Path string `yaml:"-"`
}

// Listen holds the listener addresses.
type Listen struct {
	// HTTPS is the address of the HTTPS listener; default ":443".
	HTTPS string `yaml:"https"`
	// HTTP is the address of the plain-HTTP listener (phase-3 redirect);
	// default ":80"; "off" disables it.
	HTTP string `yaml:"http"`
}

// TLS holds the certificates of the HTTPS listener.
type TLS struct {
	// Certificates are certificate and key files; each certificate is
	// served for the DNS names it carries (SNI).
	Certificates []Certificate `yaml:"certificates"`
	// DefaultCertificate names the host name whose certificate is served
	// to clients that send no SNI; default: the first certificate.
	DefaultCertificate string `yaml:"default_certificate"`
}

// Certificate is a PEM certificate chain and its key.
type Certificate struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Auth tunes authentication.
type Auth struct {
	// Realm is the Basic realm; default "autodiscover".
	Realm string `yaml:"realm"`
	// CacheTTL is how long a verified credential is remembered; default
	// 5m; "0s" disables the cache.
	CacheTTL *time.Duration `yaml:"cache_ttl"`
	// CacheSize bounds the cache; default 10000 entries.
	CacheSize int `yaml:"cache_size"`
	// Throttle slows down repeated failures.
	Throttle Throttle `yaml:"throttle"`
}

// Throttle tunes the failed-login throttle.
type Throttle struct {
	FreeFailures int           `yaml:"free_failures"` // default 3
	BaseDelay    time.Duration `yaml:"base_delay"`    // default 500ms
	MaxDelay     time.Duration `yaml:"max_delay"`     // default 10s
	Window       time.Duration `yaml:"window"`        // default 15m
}

// Log tunes logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

// ACME configures automatic certificates (RFC 8555, http-01 and
// tls-alpn-01 challenges).
type ACME struct {
	// Names are the host names to obtain certificates for, each a
	// configured domain or autodiscover.DOMAIN; no other name is ever
	// requested.
	Names []string `yaml:"names"`
	// Email is the contact address given to the CA; optional.
	Email string `yaml:"email"`
	// DirectoryURL is the CA's ACME directory; default Let's Encrypt
	// production (DefaultACMEDirectory).
	DirectoryURL string `yaml:"directory_url"`
	// CABundle is a PEM file of the CAs trusted for the ACME directory's
	// HTTPS (a private or test CA); default the system roots.
	CABundle string `yaml:"ca_bundle"`
	// RenewBefore is how long before expiry a certificate is renewed;
	// default 720h (30 days).
	RenewBefore time.Duration `yaml:"renew_before"`
}

// DefaultACMEDirectory is Let's Encrypt's production ACME directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// Proxy tunes the connections of proxied domains to their upstreams.
type Proxy struct {
	DialTimeout           time.Duration `yaml:"dial_timeout"`            // default 5s
	TLSHandshakeTimeout   time.Duration `yaml:"tls_handshake_timeout"`   // default 5s
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"` // default 30s
	MaxBodyBytes          int64         `yaml:"max_body_bytes"`          // default 1 MiB
}

// Domain modes.
const (
	ModeNative = "native" // answered from the directory
	ModeProxy  = "proxy"  // relayed to an upstream AutoDiscover service
)

// Domain is a mail domain, served natively (the default) or relayed to an
// upstream (mode proxy).
type Domain struct {
	Name    string   `yaml:"name"`
	Aliases []string `yaml:"aliases"`
	// Mode is native (default) or proxy.
	Mode string `yaml:"mode"`
	// Upstream is the AutoDiscover URL requests are relayed to in proxy
	// mode, like https://autodiscover-service.mail.us-east-1.awsapps.com/autodiscover/autodiscover.xml.
	Upstream string `yaml:"upstream"`
	// WorkMailRegion is a shorthand for Upstream: the Amazon WorkMail
	// AutoDiscover URL of that region (WorkMailUpstream).
	WorkMailRegion string `yaml:"workmail_region"`
	// UpstreamCAFile is a PEM file of the CAs trusted for the upstream's
	// certificate; default the system roots.
	UpstreamCAFile string `yaml:"upstream_ca_file"`

	AutodiscoverURL string      `yaml:"autodiscover_url"`
	ActiveSyncURL   string      `yaml:"activesync_url"`
	EWSURL          string      `yaml:"ews_url"`
	OABURL          string      `yaml:"oab_url"`
	OOFURL          string      `yaml:"oof_url"`
	IMAP            *MailServer `yaml:"imap"`
	POP3            *MailServer `yaml:"pop3"`
	SMTP            *MailServer `yaml:"smtp"`
	LoginName       string      `yaml:"login_name"`
	RedirectAddr    string      `yaml:"redirect_addr"`
	RedirectURL     string      `yaml:"redirect_url"`
}

// WorkMailUpstream returns the Amazon WorkMail AutoDiscover URL of region.
func WorkMailUpstream(region string) string {
	return "https://autodiscover-service.mail." + region + ".awsapps.com/autodiscover/autodiscover.xml"
}

// MailServer is an IMAP, POP3 or SMTP server.
type MailServer struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is implicit, starttls or none; default by port (993, 995, 465:
	// implicit; 143, 110, 587, 25: starttls).
	TLS string `yaml:"tls"`
}

// User is a mailbox of the file directory.
type User struct {
	Address      string   `yaml:"address"`
	DisplayName  string   `yaml:"display_name"`
	Aliases      []string `yaml:"aliases"`
	LoginName    string   `yaml:"login_name"`
	PasswordHash string   `yaml:"password_hash"`
}

// Problem is one thing wrong with a configuration.
type Problem struct {
	File string
	Line int    // 0 when unknown
	Path string // the key, like domains[0].imap.port
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(":")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:", p.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem of a configuration.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid configuration (%d problem(s)):\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// Load reads, completes and checks the configuration file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(data, path)
}

// maxFileSize bounds a configuration file.
const maxFileSize = 16 << 20

// Parse reads, completes and checks a configuration; path is used in
// messages only. The error, when there are problems, is an *Error.
func Parse(data []byte, path string) (*File, error) {
	if len(data) > maxFileSize {
		return nil, &Error{[]Problem{{File: path, Msg: "file larger than 16 MiB"}}}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{[]Problem{{File: path, Msg: "the file is empty"}}}
		}
		return nil, &Error{yamlProblems(path, err)}
	}
	var f File
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var problems []Problem
	if err := strict.Decode(&f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Error{yamlProblems(path, err)}
		}
		// Unknown keys and values of the wrong type: report them, then
		// check what could be read, so every problem shows at once.
		problems = yamlProblems(path, err)
		f = File{}
		yaml.NewDecoder(bytes.NewReader(data)).Decode(&f) //nolint:errcheck // the same errors, reported above
	}
	f.Path = path
	v := &validator{file: path, lines: map[string]int{}}
	index(&root, "", v.lines)
	v.check(&f)
	reported := map[int]bool{}
	for _, p := range problems {
		reported[p.Line] = true
	}
	for _, p := range v.problems {
		// A value YAML could not read was left zero: its own complaint
		// already stands on that line.
		if !reported[p.Line] || p.Line == 0 {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, &Error{problems}
	}
	return &f, nil
}

// yamlProblems turns a YAML error into problems, one per line it reports.
func yamlProblems(path string, err error) []Problem {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		ps := make([]Problem, 0, len(te.Errors))
		for _, e := range te.Errors {
			ps = append(ps, lineProblem(path, e))
		}
		return ps
	}
	return []Problem{lineProblem(path, strings.TrimPrefix(err.Error(), "yaml: "))}
}

// lineProblem splits "line N: message" into a problem, and says the
// message in the configuration's own terms.
func lineProblem(path, msg string) Problem {
	var line int
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if _, err := fmt.Sscanf(n, "%d", &line); err == nil {
				msg = after
			}
		}
	}
	return Problem{File: path, Line: line, Msg: explain(msg)}
}

var (
	unknownField = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)
	cannotRead   = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
)

// explain rewrites the YAML decoder's messages, which speak of Go types.
func explain(msg string) string {
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		out := fmt.Sprintf("unknown key %q", m[1])
		if keys := keysOf(m[2]); len(keys) > 0 {
			if near := closest(m[1], keys); near != "" {
				out += fmt.Sprintf(" (did you mean %q?)", near)
			} else {
				out += " (known keys here: " + strings.Join(keys, ", ") + ")"
			}
		}
		return out
	}
	if m := cannotRead.FindStringSubmatch(msg); m != nil {
		switch typ := m[3]; {
		case typ == "time.Duration" || typ == "*time.Duration":
			return fmt.Sprintf("%q is not a duration: write it like 500ms, 90s, 5m or 1h", m[2])
		case strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint"):
			return fmt.Sprintf("%q is not a whole number", m[2])
		case typ == "bool":
			return fmt.Sprintf("%q is not true or false", m[2])
		case strings.HasPrefix(typ, "[]"):
			return fmt.Sprintf("expected a list (items start with \"- \"), not %q", m[2])
		case typ == "string":
			return fmt.Sprintf("expected a single value, not %s", m[1])
		default:
			return fmt.Sprintf("expected a map of keys here, not %q", m[2])
		}
	}
	return msg
}

// configTypes are the types whose keys an unknown-key message lists.
var configTypes = map[string]reflect.Type{}

func init() {
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[File]().PkgPath() {
			return
		}
		if _, seen := configTypes[t.Name()]; seen {
			return
		}
		configTypes[t.Name()] = t
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeFor[File]())
}

// keysOf returns the YAML keys of a configuration type, sorted.
func keysOf(typeName string) []string {
	t, ok := configTypes[typeName]
	if !ok {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys
}

// closest returns the key nearest to word (at most two edits, or one is
// the other with a letter more or less at the end), or "".
func closest(word string, keys []string) string {
	best, bestDist := "", 3
	for _, k := range keys {
		if d := editDistance(strings.ToLower(word), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// index records the line of every key and sequence item under its path.
func index(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			index(c, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			lines[p] = k.Line
			index(v, p, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = c.Line
			index(c, p, lines)
		}
	}
}
