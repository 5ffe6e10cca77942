package auth

import (
	"context"
	"errors"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/directory"
)

// Verifier checks credentials against a directory, through the cache and
// the throttle.
type Verifier struct {
	Directory directory.Directory
	Cache     *Cache    // nil: no cache
	Throttle  *Throttle // nil: no throttling
}

// Verify checks login (normalised) and password for a client address. It
// returns the user, directory.ErrBadCredentials, the context's error, or
// another error when the directory cannot answer. A throttled attempt
// waits before it is checked.
func (v *Verifier) Verify(ctx context.Context, login, password, client string) (*directory.User, error) {
	if u, ok := v.Cache.Get(login, password); ok {
		return u, nil
	}
	if v.Throttle != nil {
		if d := v.Throttle.Delay(login, client); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
	}
	u, err := v.Directory.Authenticate(ctx, login, password)
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
