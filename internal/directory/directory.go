// Package directory defines how the server finds users and checks their
// passwords. Implementations live in sub-packages named after what they
// read from (filedir for the configuration file; later LDAP and SQL).
package directory

import (
	"context"
	"errors"
)

// User is a mailbox known to a directory.
type User struct {
	// Address is the primary SMTP address, normalised (see Normalize).
	Address string
	// Aliases are further addresses of the mailbox, normalised.
	Aliases []string
	// DisplayName is the name clients show; may be empty.
	DisplayName string
	// LoginName is the login name for IMAP, POP3 and SMTP when it is not
	// the domain's template; may be empty.
	LoginName string
}

// Owns reports whether address (normalised) is the user's primary address
// or one of its aliases.
func (u *User) Owns(address string) bool {
	if address == u.Address {
		return true
	}
	for _, a := range u.Aliases {
		if a == address {
			return true
		}
	}
	return false
}

// Sentinel errors of a Directory. Any other error means the directory could
// not answer (it is down, misconfigured or slow): the server then answers
// 503 so clients try their next candidate.
var (
	// ErrNotFound: no user has that address.
	ErrNotFound = errors.New("directory: no such user")
	// ErrBadCredentials: the login name is unknown or the password is
	// wrong; deliberately one error for both.
	ErrBadCredentials = errors.New("directory: bad credentials")
)

// Directory finds users and checks their credentials.
type Directory interface {
	// Lookup returns the user owning address (normalised), or ErrNotFound.
	Lookup(ctx context.Context, address string) (*User, error)
	// Authenticate checks a login (an address, an alias or a login name,
	// normalised) and a password, and returns the user they belong to, or
	// ErrBadCredentials. It takes about as long for an unknown login as
	// for a wrong password.
	Authenticate(ctx context.Context, login, password string) (*User, error)
}
