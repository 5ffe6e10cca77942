package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/directory"
)

func TestHashAndVerify(t *testing.T) {
	bc, err := HashBcrypt("s3cret ä", 4)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := HashArgon2id("s3cret ä", Argon2idParams{Memory: 1024, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a2, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("argon2id hash %q is not a PHC string", a2)
	}
	for _, h := range []string{bc, a2} {
		if err := CheckHash(h); err != nil {
			t.Errorf("CheckHash(%q) = %v", h, err)
		}
		for pw, want := range map[string]bool{"s3cret ä": true, "s3cret a": false, "": false, "s3cret ä ": false} {
			got, err := Verify(h, pw)
			if err != nil || got != want {
				t.Errorf("Verify(%.12s…, %q) = %v, %v; want %v", h, pw, got, err, want)
			}
		}
	}
}

// TestKnownHashes checks hashes made by other tools: htpasswd -bnBC 10
// (Debian apache2-utils) and the argon2 CLI (Debian argon2):
// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -e.
func TestKnownHashes(t *testing.T) {
	for _, tc := range []struct{ hash, password string }{
		{"$2y$10$n9lLXQN9hIUTMGm66hiiauA7RiIzBeXmigFFKDYGndnJoO7vSqn5m", "password"},
		{"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo", "password"},
	} {
		ok, err := Verify(tc.hash, tc.password)
		if err != nil || !ok {
			t.Errorf("Verify(%s, %q) = %v, %v; want true", tc.hash, tc.password, ok, err)
		}
	}
}

func TestCheckHashRejects(t *testing.T) {
	for _, h := range []string{
		"", "plain", "{SSHA}abc", "$1$salt$hash", "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$argon2id$v=19$m=99999999,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$argon2id$v=19$m=65536,t=2,p=4$!!$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$2a$99$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
	} {
		if err := CheckHash(h); err == nil {
			t.Errorf("CheckHash(%q) = nil, want an error", h)
		}
	}
}

func TestDelayFor(t *testing.T) {
	base, most := 500*time.Millisecond, 10*time.Second
	for n, want := range map[int]time.Duration{0: 0, 2: 0, 3: base, 4: time.Second, 5: 2 * time.Second, 7: 8 * time.Second, 8: most, 100: most} {
		if got := DelayFor(n, 3, base, most); got != want {
			t.Errorf("DelayFor(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(1e9, 0)
	th := &Throttle{now: func() time.Time { return now }}
	for i := 0; i < 3; i++ {
		if d := th.Delay("a@x", "10.0.0.1"); d != 0 {
			t.Fatalf("after %d failures Delay = %v, want 0", i, d)
		}
		th.Failure("a@x", "10.0.0.1")
	}
	if d := th.Delay("a@x", "192.0.2.9"); d != 500*time.Millisecond {
		t.Errorf("account throttled from another address: Delay = %v, want 500ms", d)
	}
	if d := th.Delay("b@x", "10.0.0.1"); d != 500*time.Millisecond {
		t.Errorf("address throttled for another account: Delay = %v, want 500ms", d)
	}
	th.Failure("a@x", "10.0.0.1")
	if d := th.Delay("a@x", "10.0.0.1"); d != time.Second {
		t.Errorf("fourth failure: Delay = %v, want 1s", d)
	}
	th.Success("a@x")
	if d := th.Delay("a@x", "192.0.2.9"); d != 0 {
		t.Errorf("after a success the account still waits %v", d)
	}
	if d := th.Delay("c@x", "10.0.0.1"); d != time.Second {
		t.Errorf("a success must not forgive the address: Delay = %v, want 1s", d)
	}
	now = now.Add(16 * time.Minute)
	if d := th.Delay("c@x", "10.0.0.1"); d != 0 {
		t.Errorf("after the window Delay = %v, want 0", d)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := &Throttle{MaxKeys: 100}
	for i := 0; i < 1000; i++ {
		th.Failure("user"+string(rune('a'+i%26))+strings.Repeat("x", i), "client")
	}
	if n := len(th.accounts); n > 100 {
		t.Errorf("%d accounts remembered, want at most 100", n)
	}
}

func TestCache(t *testing.T) {
	now := time.Unix(1e9, 0)
	c := NewCache(time.Minute, 10)
	c.now = func() time.Time { return now }
	u := &directory.User{Address: "a@x.example"}
	c.Put("a@x.example", "pw", u)
	if got, ok := c.Get("a@x.example", "pw"); !ok || got != u {
		t.Errorf("Get = %v, %v; want the user", got, ok)
	}
	for _, k := range [][2]string{{"a@x.example", "pw "}, {"a@x.example", "PW"}, {"b@x.example", "pw"}, {"a@x.examplep", "w"}} {
		if _, ok := c.Get(k[0], k[1]); ok {
			t.Errorf("Get(%q, %q) hit", k[0], k[1])
		}
	}
	now = now.Add(61 * time.Second)
	if _, ok := c.Get("a@x.example", "pw"); ok {
		t.Error("expired entry still served")
	}
	for i := 0; i < 50; i++ {
		c.Put(strings.Repeat("u", i+1), "pw", u)
	}
	if n := c.Len(); n > 10 {
		t.Errorf("cache holds %d entries, want at most 10", n)
	}
	var off *Cache
	off.Put("a", "b", u) // a nil cache is a disabled one
	if _, ok := NewCache(0, 10).Get("a", "b"); ok {
		t.Error("disabled cache hit")
	}
}

type countingDirectory struct {
	directory.Directory
	calls int
}

func (c *countingDirectory) Authenticate(ctx context.Context, login, password string) (*directory.User, error) {
	c.calls++
	if login == "a@x.example" && password == "right" {
		return &directory.User{Address: login}, nil
	}
	return nil, directory.ErrBadCredentials
}

func TestVerifier(t *testing.T) {
	dir := &countingDirectory{}
	v := &Verifier{Directory: dir, Cache: NewCache(time.Minute, 100), Throttle: &Throttle{Base: time.Millisecond, Max: 2 * time.Millisecond}}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if u, err := v.Verify(ctx, "a@x.example", "right", "c"); err != nil || u.Address != "a@x.example" {
			t.Fatalf("Verify = %v, %v", u, err)
		}
	}
	if dir.calls != 1 {
		t.Errorf("directory asked %d times for a repeated good credential, want 1 (cached)", dir.calls)
	}
	for i := 0; i < 6; i++ {
		if _, err := v.Verify(ctx, "a@x.example", "wrong", "c"); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("Verify(wrong) = %v, want ErrBadCredentials", err)
		}
	}
	if dir.calls != 7 {
		t.Errorf("directory asked %d times, want 7: failures are never cached", dir.calls)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.Verify(cancelled, "a@x.example", "wrong2", "c"); !errors.Is(err, context.Canceled) {
		t.Errorf("a throttled attempt with a cancelled context = %v, want context.Canceled", err)
	}
}
