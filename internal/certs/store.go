// Package certs provides the certificates of the HTTPS listener: files
// chosen by SNI name with a default for clients that send none, and a
// small self-signed CA for the demo.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// Pair names a PEM certificate chain file and its key file.
type Pair struct {
	CertFile, KeyFile string
}

// Store serves certificates by SNI name. Load replaces them atomically, so
// a reload never drops a connection; handshakes in flight keep the old ones.
type Store struct {
	set atomic.Pointer[certSet]
}

type certSet struct {
	byName map[string]*tls.Certificate // exact names and "*.domain" wildcards
	dflt   *tls.Certificate
}

// Load reads the pairs and makes them the served set. defaultName picks the
// certificate for clients without SNI; "" means the first pair's. On error
// the served set is unchanged.
func (s *Store) Load(pairs []Pair, defaultName string) error {
	if len(pairs) == 0 {
		return errors.New("no certificates configured")
	}
	set := &certSet{byName: map[string]*tls.Certificate{}}
	for _, p := range pairs {
		c, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			return fmt.Errorf("loading %s / %s: %w", p.CertFile, p.KeyFile, err)
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return fmt.Errorf("parsing %s: %w", p.CertFile, err)
		}
		c.Leaf = leaf
		if len(leaf.DNSNames) == 0 {
			return fmt.Errorf("%s carries no DNS names (subjectAltName)", p.CertFile)
		}
		for _, n := range leaf.DNSNames {
			n = strings.ToLower(n)
			if _, dup := set.byName[n]; !dup { // the first file naming a host wins
				set.byName[n] = &c
			}
		}
		if set.dflt == nil {
			set.dflt = &c
		}
	}
	if defaultName != "" {
		c, ok := set.lookup(defaultName)
		if !ok {
			return fmt.Errorf("default certificate %q: no configured certificate carries that name", defaultName)
		}
		set.dflt = c
	}
	s.set.Store(set)
	return nil
}

func (cs *certSet) lookup(name string) (*tls.Certificate, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if c, ok := cs.byName[name]; ok {
		return c, true
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c, ok := cs.byName["*"+name[i:]]; ok {
			return c, true
		}
	}
	return nil, false
}

// Names returns the host names the store has certificates for.
func (s *Store) Names() []string {
	set := s.set.Load()
	if set == nil {
		return nil
	}
	names := make([]string, 0, len(set.byName))
	for n := range set.byName {
		names = append(names, n)
	}
	return names
}

// Lookup returns the certificate for an SNI name, if the store has one.
func (s *Store) Lookup(name string) (*tls.Certificate, bool) {
	set := s.set.Load()
	if set == nil {
		return nil, false
	}
	return set.lookup(name)
}

// GetCertificate is the tls.Config hook: the certificate for the SNI name,
// or the default one when the client sends no name or one the store does
// not know.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	set := s.set.Load()
	if set == nil {
		return nil, errors.New("certs: no certificates loaded")
	}
	if hello.ServerName != "" {
		if c, ok := set.lookup(hello.ServerName); ok {
			return c, nil
		}
	}
	return set.dflt, nil
}
