package filedir_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/directory/filedir"
)

func hash(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestDir(t *testing.T) {
	d, err := filedir.New([]filedir.Entry{
		{User: directory.User{Address: "a@x.example", Aliases: []string{"alias@x.example"}, DisplayName: "A"}, PasswordHash: hash(t, "pa"), Logins: []string{"alogin"}},
		{User: directory.User{Address: "b@x.example"}, PasswordHash: hash(t, "pb")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, addr := range []string{"a@x.example", "alias@x.example"} {
		if u, err := d.Lookup(ctx, addr); err != nil || u.Address != "a@x.example" {
			t.Errorf("Lookup(%s) = %v, %v", addr, u, err)
		}
	}
	if _, err := d.Lookup(ctx, "alogin"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a login name is not an address: Lookup = %v, want ErrNotFound", err)
	}
	checkLogins(t, d, []login{
		{"a@x.example", "pa", "a@x.example"},
		{"alias@x.example", "pa", "a@x.example"},
		{"alogin", "pa", "a@x.example"},
		{"b@x.example", "pb", "b@x.example"},
		{"a@x.example", "pb", ""},
		{"nobody@x.example", "pa", ""},
		{"a@x.example", "", ""},
	})
	if d.Len() != 2 {
		t.Errorf("Len = %d, want 2", d.Len())
	}
}

func TestNewRefuses(t *testing.T) {
	for name, entries := range map[string][]filedir.Entry{
		"address twice":  {{User: directory.User{Address: "a@x.example"}, PasswordHash: hash(t, "p")}, {User: directory.User{Address: "b@x.example", Aliases: []string{"a@x.example"}}, PasswordHash: hash(t, "p")}},
		"plain password": {{User: directory.User{Address: "a@x.example"}, PasswordHash: "secret"}},
	} {
		if _, err := filedir.New(entries); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}

// TestDecoyHash: the hash checked for unknown logins when the file has no
// users is a real bcrypt hash of the default cost.
func TestDecoyHash(t *testing.T) {
	d, err := filedir.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(context.Background(), "x@y.example", "p"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("Authenticate on an empty directory = %v, want ErrBadCredentials", err)
	}
	if err := auth.CheckHash(filedir.DecoyHash); err != nil {
		t.Errorf("decoy hash: %v", err)
	}
	if c, _ := bcrypt.Cost([]byte(filedir.DecoyHash)); c != auth.DefaultBcryptCost {
		t.Errorf("decoy cost %d, want %d", c, auth.DefaultBcryptCost)
	}
}

// TestAmbiguousLogins: a login name two users claim, or one that is
// another user's address, logs nobody in; the addresses still work.
func TestAmbiguousLogins(t *testing.T) {
	d, err := filedir.New([]filedir.Entry{
		{User: directory.User{Address: "anna@a.example"}, PasswordHash: hash(t, "pa"), Logins: []string{"anna", "b@a.example"}},
		{User: directory.User{Address: "anna@b.example"}, PasswordHash: hash(t, "pb"), Logins: []string{"anna"}},
		{User: directory.User{Address: "b@a.example"}, PasswordHash: hash(t, "pc"), Logins: []string{"own"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkLogins(t, d, []login{
		{"anna", "pa", ""},
		{"anna", "pb", ""},
		{"anna@a.example", "pa", "anna@a.example"},
		{"anna@b.example", "pb", "anna@b.example"},
		{"b@a.example", "pa", ""},
		{"b@a.example", "pc", "b@a.example"},
		{"own", "pc", "b@a.example"},
	})
	if got := d.Ambiguous(); len(got) != 2 || got[0] != "anna" || got[1] != "b@a.example" {
		t.Errorf("Ambiguous = %q, want [anna b@a.example]", got)
	}
}

// TestUnknownLoginsBorrowUsersHashes: an unknown login is checked against
// one of the users' hashes, the same one every time.
func TestUnknownLoginsBorrowUsersHashes(t *testing.T) {
	h4 := hash(t, "a")
	h5, _ := bcrypt.GenerateFromPassword([]byte("b"), 5)
	d, err := filedir.New([]filedir.Entry{
		{User: directory.User{Address: "a@x.example"}, PasswordHash: h4},
		{User: directory.User{Address: "b@x.example"}, PasswordHash: string(h5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.HashParameters(); got["bcrypt-4"] != 1 || got["bcrypt-5"] != 1 || len(got) != 2 {
		t.Errorf("HashParameters = %v, want one bcrypt-4 and one bcrypt-5", got)
	}
	used := map[string]bool{}
	for i := 0; i < 64; i++ {
		login := "nobody" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@x.example"
		first, second := filedir.DecoyFor(d, login), filedir.DecoyFor(d, login)
		if first != second {
			t.Fatalf("login %s is checked against different hashes on two tries", login)
		}
		used[first] = true
	}
	if !used[h4] || !used[string(h5)] || len(used) != 2 {
		t.Errorf("unknown logins were checked against %d distinct hashes, want both users' hashes", len(used))
	}
}

// login is a row of checkLogins: want is the address the login and
// password belong to, "" when they must be refused.
type login struct{ login, pw, want string }

func checkLogins(t *testing.T, d *filedir.Dir, rows []login) {
	t.Helper()
	for _, tc := range rows {
		u, err := d.Authenticate(context.Background(), tc.login, tc.pw)
		if tc.want == "" {
			if !errors.Is(err, directory.ErrBadCredentials) {
				t.Errorf("Authenticate(%s, %s) = %v, %v; want ErrBadCredentials", tc.login, tc.pw, u, err)
			}
		} else if err != nil || u.Address != tc.want {
			t.Errorf("Authenticate(%s, %s) = %v, %v; want %s", tc.login, tc.pw, u, err, tc.want)
		}
	}
}
