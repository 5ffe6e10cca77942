package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/directory"
)

// gateDirectory fails every login and counts how many checks run at once;
// each check waits for the gate to open.
type gateDirectory struct {
	directory.Directory
	gate      chan struct{}
	running   atomic.Int32
	maxRun    atomic.Int32
	completed atomic.Int32
}

func (g *gateDirectory) Authenticate(ctx context.Context, login, password string) (*directory.User, error) {
	n := g.running.Add(1)
	for {
		m := g.maxRun.Load()
		if n <= m || g.maxRun.CompareAndSwap(m, n) {
			break
		}
	}
	<-g.gate
	g.running.Add(-1)
	g.completed.Add(1)
	return nil, directory.ErrBadCredentials
}

// TestMaxChecks: no more than MaxChecks password checks run at once, and an
// attempt that cannot get one in time gets ErrBusy.
func TestMaxChecks(t *testing.T) {
	g := &gateDirectory{gate: make(chan struct{})}
	v := &Verifier{Directory: g, MaxChecks: 3, CheckWait: 50 * time.Millisecond}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), "u", "p", "c")
			errs <- err
		}()
	}
	// Three attempts hold the checks until the gate opens; the seven
	// others give up after CheckWait.
	busy := 0
	for i := 0; i < 7; i++ {
		if err := <-errs; errors.Is(err, ErrBusy) {
			busy++
		}
	}
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if errors.Is(err, ErrBusy) {
			busy++
		}
	}
	if busy != 7 {
		t.Errorf("%d attempts got ErrBusy, want 7", busy)
	}
	if m := g.maxRun.Load(); m != 3 {
		t.Errorf("%d checks ran at once, want 3", m)
	}
}

// TestThrottledAttemptsOneAtATime: once an account is throttled, parallel
// attempts for it are checked one after another, not all at once.
func TestThrottledAttemptsOneAtATime(t *testing.T) {
	g := &gateDirectory{gate: make(chan struct{})}
	close(g.gate) // checks finish at once
	th := &Throttle{Free: 1, Base: time.Microsecond, Max: time.Microsecond}
	v := &Verifier{Directory: g, Throttle: th, MaxChecks: 16}
	th.Failure("victim", "10.0.0.1")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v.Verify(context.Background(), "victim", "guess", "10.0.0."+string(rune('1'+i%5)))
		}(i)
	}
	wg.Wait()
	if m := g.maxRun.Load(); m != 1 {
		t.Errorf("%d throttled checks for one account ran at once, want 1", m)
	}
	if c := g.completed.Load(); c != 20 {
		t.Errorf("%d checks completed, want 20", c)
	}
	if n := th.serial.len(); n != 0 {
		t.Errorf("%d key locks left behind, want 0", n)
	}
}

// TestWaitCancelled: an attempt waiting for its turn leaves when its
// request is cancelled, and leaves no lock behind.
func TestWaitCancelled(t *testing.T) {
	th := &Throttle{Free: 1, Base: time.Hour, Max: time.Hour}
	th.Failure("a", "c")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := th.Wait(ctx, "a", "c")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
	if n := th.serial.len(); n != 0 {
		t.Errorf("%d key locks left behind, want 0", n)
	}
}
