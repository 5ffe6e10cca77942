package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/autodiscover-go/autodiscover/internal/config"
	"github.com/autodiscover-go/autodiscover/internal/records"
)

// runRecords is "autodiscover records DOMAIN --target HOST".
func runRecords(_ context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("records", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	target := fs.String("target", "", "the AutoDiscover host (name or IP address) autodiscover.DOMAIN must reach (required)")
	configPath := fs.String("config", "", "serve configuration file: adds RFC 6186/8314 SRV records for the domain's IMAP, POP3 and SMTP servers")
	ttl := fs.Int("ttl", 3600, "TTL of the records, seconds")
	jsonOut := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, `Usage: autodiscover records DOMAIN --target HOST [--config FILE] [--json]

Prints the DNS records DOMAIN needs as zone-file lines: the CNAME of
autodiscover.DOMAIN to HOST (an A/AAAA record when HOST is an address), the
_autodiscover._tcp SRV alternative (commented out), and with --config the
RFC 6186/8314 SRV records (_imaps, _submissions...) for the domain's mail
servers.

Flags:
`)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 || *target == "" {
		fmt.Fprintln(e.stderr, "autodiscover records: give one DOMAIN and --target HOST")
		fs.Usage()
		return exitUsage
	}
	if *ttl < 1 || *ttl > records.MaxTTL {
		fmt.Fprintf(e.stderr, "autodiscover records: --ttl %d: want 1 to %d seconds\n", *ttl, records.MaxTTL)
		return exitUsage
	}
	in := records.Input{Domain: pos[0], Target: *target, TTL: *ttl}
	if *configPath != "" {
		f, err := loadDomains(*configPath)
		if err != nil {
			fmt.Fprintf(e.stderr, "autodiscover records: %v\n", err)
			return exitFailure
		}
		found := false
		for _, d := range f.Domains {
			if !sameName(d.Name, in.Domain) && !containsName(d.Aliases, in.Domain) {
				continue
			}
			found = true
			in.IMAP, in.POP3, in.SMTP = mailServer(d.IMAP), mailServer(d.POP3), mailServer(d.SMTP)
		}
		if !found {
			fmt.Fprintf(e.stderr, "autodiscover records: %s is not a domain of %s\n", in.Domain, *configPath)
			return exitFailure
		}
	}
	rs, err := records.For(in)
	if err != nil {
		fmt.Fprintf(e.stderr, "autodiscover records: %v\n", err)
		return exitUsage
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rs)
		return exitOK
	}
	fmt.Fprint(e.stdout, records.Zone(rs))
	return exitOK
}

// loadDomains reads only the domains of a serve configuration file, so
// that records can run where the certificates and the directory are not.
func loadDomains(path string) (*struct{ Domains []config.Domain }, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Domains []config.Domain `yaml:"domains"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &struct{ Domains []config.Domain }{f.Domains}, nil
}

func mailServer(m *config.MailServer) *records.Server {
	if m == nil || m.Host == "" {
		return nil
	}
	return &records.Server{Host: m.Host, Port: m.Port, TLS: m.TLS}
}

func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

func containsName(list []string, name string) bool {
	for _, a := range list {
		if sameName(a, name) {
			return true
		}
	}
	return false
}
