// Package filedir is a Directory of users listed in the configuration
// file, with bcrypt or argon2id password hashes.
package filedir

import (
	"context"
	"fmt"
	"hash/maphash"
	"sort"

	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/directory"
)

// Entry is one user of the file.
type Entry struct {
	User directory.User
	// PasswordHash is a bcrypt or argon2id (PHC string) hash.
	PasswordHash string
	// Logins are further names (normalised) the user may log in with,
	// besides its address and aliases: its login name, for instance.
	Logins []string
}

// Dir is an in-memory directory built from entries. It is read-only after
// New and safe for concurrent use.
type Dir struct {
	byAddress map[string]*Entry
	byLogin   map[string]*Entry
	decoys    []string // the users' hashes; unknown logins are checked against one
	seed      maphash.Seed
	ambiguous []string
}

var _ directory.Directory = (*Dir)(nil)

// DecoyHash is a bcrypt hash (cost auth.DefaultBcryptCost) of a random
// password, checked when no user exists to borrow a hash from.
const DecoyHash = "$2a$12$33AqII5bBh6L8ENeiNBvM.TZAXS4fIe3zL6R3dLBb8rc7EFT2RaCK"

// New builds a directory. An address or alias claimed by two users is an
// error. A login name claimed by two users, or equal to another user's
// address, is ambiguous: nobody can log in with it (the addresses still
// work), and Ambiguous lists it. That happens with a template such as
// %EMAILLOCALPART% when two domains share a local part.
func New(entries []Entry) (*Dir, error) {
	d := &Dir{byAddress: map[string]*Entry{}, byLogin: map[string]*Entry{}}
	for i := range entries {
		e := &entries[i]
		if err := auth.CheckHash(e.PasswordHash); err != nil {
			return nil, fmt.Errorf("user %s: %w", e.User.Address, err)
		}
		for _, a := range append([]string{e.User.Address}, e.User.Aliases...) {
			if other, dup := d.byAddress[a]; dup && other != e {
				return nil, fmt.Errorf("address %s belongs to both %s and %s", a, other.User.Address, e.User.Address)
			}
			d.byAddress[a] = e
			d.byLogin[a] = e
		}
	}
	claims := map[string]*Entry{}
	ambiguous := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		for _, l := range e.Logins {
			if owner, isAddress := d.byAddress[l]; isAddress {
				if owner != e {
					ambiguous[l] = true
				}
				continue
			}
			if other, dup := claims[l]; dup && other != e {
				ambiguous[l] = true
			}
			claims[l] = e
		}
	}
	for l, e := range claims {
		if !ambiguous[l] {
			d.byLogin[l] = e
		}
	}
	for l := range ambiguous {
		d.ambiguous = append(d.ambiguous, l)
	}
	sort.Strings(d.ambiguous)
	for i := range entries {
		d.decoys = append(d.decoys, entries[i].PasswordHash)
	}
	d.seed = maphash.MakeSeed()
	return d, nil
}

// Ambiguous returns the login names nobody can log in with because two
// users claim them, sorted.
func (d *Dir) Ambiguous() []string { return d.ambiguous }

// decoyFor returns the hash an unknown login is checked against: one of the
// users' hashes, chosen by a keyed hash of the login. So an unknown login
// costs what some real user's wrong password costs, the same each time it
// is tried, even when users' hashes differ in algorithm or cost.
func (d *Dir) decoyFor(login string) string {
	if len(d.decoys) == 0 {
		return DecoyHash
	}
	return d.decoys[maphash.String(d.seed, login)%uint64(len(d.decoys))]
}

// HashParameters returns how many users hold hashes of each algorithm and
// cost ("bcrypt-12", "argon2id-m65536-t3-p4"). More than one kind means
// response times differ between users: re-hash them alike.
func (d *Dir) HashParameters() map[string]int {
	kinds := map[string]int{}
	for _, h := range d.decoys {
		kinds[auth.HashKind(h)]++
	}
	return kinds
}

// Lookup implements directory.Directory.
func (d *Dir) Lookup(_ context.Context, address string) (*directory.User, error) {
	e, ok := d.byAddress[address]
	if !ok {
		return nil, directory.ErrNotFound
	}
	u := e.User
	return &u, nil
}

// Authenticate implements directory.Directory.
func (d *Dir) Authenticate(_ context.Context, login, password string) (*directory.User, error) {
	e, ok := d.byLogin[login]
	if !ok {
		auth.Verify(d.decoyFor(login), password) //nolint:errcheck // only its cost matters
		return nil, directory.ErrBadCredentials
	}
	match, err := auth.Verify(e.PasswordHash, password)
	if err != nil {
		return nil, fmt.Errorf("checking the password of %s: %w", e.User.Address, err)
	}
	if !match {
		return nil, directory.ErrBadCredentials
	}
	u := e.User
	return &u, nil
}

// Len returns the number of users.
func (d *Dir) Len() int {
	n := 0
	seen := map[*Entry]bool{}
	for _, e := range d.byAddress {
		if !seen[e] {
			seen[e] = true
			n++
		}
	}
	return n
}
