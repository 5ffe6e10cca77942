// Package testenv starts real servers on loopback for tests: a DNS server
// (miekg/dns) with a resolver pointed at it, a test certificate authority,
// HTTPS and HTTP servers that record what clients send (credentials
// included), black holes (listeners that accept and never answer), and an
// OpenLDAP slapd holding Active Directory service connection points.
// Everything is stopped with t.Cleanup.
package testenv
