package auth

import (
	"context"
	"sync"
	"time"
)

// DefaultThrottleBase is the first delay of a Throttle whose Base is 0.
const DefaultThrottleBase = 500 * time.Millisecond

// Throttle slows down repeated failed logins, per account and per client
// address. After Free failures within Window, every further attempt for that
// account or from that address waits Base, doubled with each further
// failure up to Max, before its credentials are even checked; the answer
// stays the same 401. Throttled attempts for one account, or from one
// address, are also made one at a time (see Wait), so parallel connections
// buy no extra guesses. Its tables are bounded: past MaxKeys entries the
// oldest are forgotten.
type Throttle struct {
	Free    int           // failures allowed without delay; default 3
	Base    time.Duration // first delay; default 500ms
	Max     time.Duration // longest delay; default 10s
	Window  time.Duration // how long a failure is remembered; default 15m
	MaxKeys int           // entries per table; default 100000

	now func() time.Time

	mu       sync.Mutex
	accounts map[string]*failures
	clients  map[string]*failures

	serial keyLocks // throttled attempts of one account or address, one at a time
}

type failures struct {
	count int
	last  time.Time
}

func (t *Throttle) defaults() {
	if t.Free == 0 {
		t.Free = 3
	}
	if t.Base == 0 {
		t.Base = DefaultThrottleBase
	}
	if t.Max == 0 {
		t.Max = 10 * time.Second
	}
	if t.Window == 0 {
		t.Window = 15 * time.Minute
	}
	if t.MaxKeys == 0 {
		t.MaxKeys = 100000
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.accounts == nil {
		t.accounts = map[string]*failures{}
		t.clients = map[string]*failures{}
	}
}

// Delay returns how long an attempt for account from client must wait: the
// longer of the two tables' delays.
func (t *Throttle) Delay(account, client string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	now := t.now()
	return max(t.delayLocked(t.accounts, account, now), t.delayLocked(t.clients, client, now))
}

func (t *Throttle) delayLocked(m map[string]*failures, key string, now time.Time) time.Duration {
	f, ok := m[key]
	if !ok {
		return 0
	}
	if now.Sub(f.last) > t.Window {
		delete(m, key)
		return 0
	}
	return DelayFor(f.count, t.Free, t.Base, t.Max)
}

// DelayFor is the delay after n failures: none up to free, then base,
// doubling with each failure, capped at most.
func DelayFor(n, free int, base, most time.Duration) time.Duration {
	if n < free {
		return 0
	}
	d := base
	for i := free; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// Failure records a failed login for account from client.
func (t *Throttle) Failure(account, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	now := t.now()
	t.recordLocked(t.accounts, account, now)
	t.recordLocked(t.clients, client, now)
}

func (t *Throttle) recordLocked(m map[string]*failures, key string, now time.Time) {
	f, ok := m[key]
	if !ok {
		if len(m) >= t.MaxKeys {
			t.pruneLocked(m, now)
		}
		f = &failures{}
		m[key] = f
	} else if now.Sub(f.last) > t.Window {
		f.count = 0
	}
	f.count++
	f.last = now
}

// pruneLocked forgets expired entries, then the oldest, until a tenth of
// the room is free.
func (t *Throttle) pruneLocked(m map[string]*failures, now time.Time) {
	for k, f := range m {
		if now.Sub(f.last) > t.Window {
			delete(m, k)
		}
	}
	for len(m) > t.MaxKeys-t.MaxKeys/10-1 {
		var oldest string
		var at time.Time
		first := true
		for k, f := range m {
			if first || f.last.Before(at) {
				oldest, at, first = k, f.last, false
			}
		}
		delete(m, oldest)
	}
}

// Success forgets the failures of account (not of the client address:
// one good password must not buy an address more guesses elsewhere).
func (t *Throttle) Success(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	delete(t.accounts, account)
}

// Configure sets the tunables (zero values keep the defaults) while keeping
// the recorded failures, so a reload does not forgive an attacker.
func (t *Throttle) Configure(free int, base, most, window time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Free, t.Base, t.Max, t.Window = free, base, most, window
	t.defaults()
}

// Wait makes an attempt for account from client wait its turn: when either
// is throttled, it waits until no other attempt for the same account or
// from the same address is in progress, then sleeps the delay. The caller
// must call release after checking the credentials (and recording the
// outcome). An attempt that is not throttled does not wait at all.
func (t *Throttle) Wait(ctx context.Context, account, client string) (release func(), err error) {
	if t.Delay(account, client) == 0 {
		return func() {}, nil
	}
	// Always the account first, then the address: no two attempts can
	// wait for each other in a cycle.
	ak, ck := "account\x00"+account, "client\x00"+client
	if err := t.serial.lock(ctx, ak); err != nil {
		return nil, err
	}
	if err := t.serial.lock(ctx, ck); err != nil {
		t.serial.unlock(ak)
		return nil, err
	}
	release = func() {
		t.serial.unlock(ck)
		t.serial.unlock(ak)
	}
	// Failures may have grown while this attempt waited its turn.
	if d := t.Delay(account, client); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	return release, nil
}
