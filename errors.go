package autodiscover

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Discover's error wraps exactly one of ErrNoEndpoint,
// ErrCredentialsRejected, ErrUnsupportedAuth, ErrCredentialsRequired,
// ErrAddressNotFound or ErrInvalidAddress as its headline, joined with the
// error of every candidate that was tried; use errors.Is to branch.
var (
	// ErrInvalidAddress: the address is not user@domain, or its domain is a
	// public suffix (such as "com" or "co.uk") that no mailbox lives under.
	ErrInvalidAddress = errors.New("autodiscover: invalid e-mail address")
	// ErrNoEndpoint: no candidate gave an answer.
	ErrNoEndpoint = errors.New("autodiscover: no AutoDiscover endpoint answered")
	// ErrCredentialsRejected: every reachable AutoDiscover endpoint refused
	// the credentials.
	ErrCredentialsRejected = errors.New("autodiscover: credentials rejected")
	// ErrCredentialsRequired: the endpoints ask for credentials and none
	// were given.
	ErrCredentialsRequired = errors.New("autodiscover: credentials required")
	// ErrUnsupportedAuth: the endpoints that answered offer only
	// authentication schemes this client does not speak (Bearer, or NTLM
	// and Negotiate with Client.DisableNTLM), so the password was never
	// sent.
	ErrUnsupportedAuth = errors.New("autodiscover: no supported authentication scheme offered")
	// ErrAddressNotFound: a trusted endpoint answered with error 500, 501 or
	// 602 (the address has no configuration): the domain's final word.
	ErrAddressNotFound = errors.New("autodiscover: the server has no configuration for this address")

	// ErrUntrusted: a redirect or an SRV record leads to a host outside the
	// user's domain that the caller did not allow; no request was sent.
	ErrUntrusted = errors.New("host not trusted for credentials (outside the user's domain; allow it explicitly)")
	// ErrInsecureRedirect: a redirect leads to a URL that is not https://.
	ErrInsecureRedirect = errors.New("redirect to a URL that is not https://")
	// ErrTooManyHops: more than 10 redirects (of every kind together).
	ErrTooManyHops = errors.New("more than 10 redirects")
	// ErrRedirectLoop: a redirect leads back to a URL and address already tried.
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrNotAutoDiscover: the answer is not an AutoDiscover document for the
	// requested schema (an HTML page, an error 600/601...).
	ErrNotAutoDiscover = errors.New("not an AutoDiscover answer")
	// ErrAbandoned: a lower-priority candidate answered and this one had not
	// answered within the grace period, or the race was decided.
	ErrAbandoned = errors.New("abandoned: another candidate answered")
	// ErrSkipped: the candidate was not tried (a non-443 SRV record, a public
	// suffix host...).
	ErrSkipped = errors.New("skipped")
)

// AttemptError is the failure of one candidate (or of one step of its
// redirect chain).
type AttemptError struct {
	Method Method // how the candidate was found
	URL    string // the URL tried (never with credentials)
	Err    error
}

func (e *AttemptError) Error() string {
	if e.URL == "" {
		return fmt.Sprintf("%s: %v", e.Method, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *AttemptError) Unwrap() error { return e.Err }

// AuthError is a 401 answer to an AutoDiscover POST.
type AuthError struct {
	// Schemes are the schemes the server offered in WWW-Authenticate, as
	// sent ("Basic", "NTLM", "Negotiate", "Bearer"...).
	Schemes []string
	// Rejected is true when credentials were sent and refused; false when
	// they were not sent (none given, or no scheme this client speaks).
	Rejected bool
	// NoPassword is true when no password was given.
	NoPassword bool
}

func (e *AuthError) Error() string {
	offered := "no WWW-Authenticate scheme"
	if len(e.Schemes) > 0 {
		offered = "offers " + strings.Join(e.Schemes, ", ")
	}
	switch {
	case e.Rejected:
		return "401: credentials rejected (" + offered + ")"
	case e.NoPassword:
		return "401: credentials required (" + offered + ")"
	}
	return "401: " + offered + "; none this client speaks (Basic, NTLM), so the password was not sent"
}

// ServerError is an error document (POX Error element) an endpoint answered
// with.
type ServerError struct {
	Code    int    // ErrorCode (500, 501, 600, 601, 602, 603...), 0 if absent
	Status  int    // ActiveSync Status, 0 if absent
	Message string // as sent
}

func (e *ServerError) Error() string {
	s := "AutoDiscover error"
	if e.Code != 0 {
		s += fmt.Sprintf(" %d", e.Code)
	}
	if e.Status != 0 {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Final reports whether the error is a domain's final word (ErrorCode 500,
// 501 or 602) rather than a reason to try the next candidate (600, 601,
// 603, an ActiveSync Status without ErrorCode, anything else).
func (e *ServerError) Final() bool {
	switch e.Code {
	case 500, 501, 602:
		return true
	}
	return false
}

// StatusError is an HTTP status that is not an answer.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP status %d", e.Status) }
