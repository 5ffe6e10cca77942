package auth

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/directory"
)

// ErrBusy is returned by Verify when no password check could start in
// time: too many are running already. The server answers 503.
var ErrBusy = errors.New("auth: too many password checks in progress")

// Verifier checks credentials against a directory, through the cache and
// the throttle, with a bound on the password checks running at once: a
// check costs tens of milliseconds of CPU (bcrypt) or tens of MiB of memory
// (argon2id), so unbounded parallel failures could exhaust either.
type Verifier struct {
	Directory directory.Directory
	Cache     *Cache    // nil: no cache
	Throttle  *Throttle // nil: no throttling
	// MaxChecks bounds the password checks running at once; 0 means
	// GOMAXPROCS, at least 2.
	MaxChecks int
	// CheckWait is how long an attempt waits for a free check before it
	// gets ErrBusy; 0 means 10 seconds.
	CheckWait time.Duration

	once  sync.Once
	slots chan struct{}
}

func (v *Verifier) init() {
	n := v.MaxChecks
	if n <= 0 {
		n = max(runtime.GOMAXPROCS(0), 2)
	}
	v.slots = make(chan struct{}, n)
	if v.CheckWait <= 0 {
		v.CheckWait = 10 * time.Second
	}
}

// Verify checks login (normalised) and password for a client address. It
// returns the user, directory.ErrBadCredentials, ErrBusy, the context's
// error, or another error when the directory cannot answer. A throttled
// attempt waits its turn and its delay before it is checked.
func (v *Verifier) Verify(ctx context.Context, login, password, client string) (*directory.User, error) {
	if u, ok := v.Cache.Get(login, password); ok {
		return u, nil
	}
	v.once.Do(v.init)
	if v.Throttle != nil {
		release, err := v.Throttle.Wait(ctx, login, client)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	wait := time.NewTimer(v.CheckWait)
	defer wait.Stop()
	select {
	case v.slots <- struct{}{}:
	case <-wait.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	u, err := v.Directory.Authenticate(ctx, login, password)
	<-v.slots
	switch {
	case err == nil:
		v.Cache.Put(login, password, u)
		if v.Throttle != nil {
			v.Throttle.Success(login)
		}
		return u, nil
	case errors.Is(err, directory.ErrBadCredentials):
		if v.Throttle != nil {
			v.Throttle.Failure(login, client)
		}
		return nil, directory.ErrBadCredentials
	}
	return nil, err
}
