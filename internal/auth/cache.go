package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/autodiscover-go/autodiscover/internal/directory"
)

// Cache remembers credentials that were verified recently, so a client
// that repeats AutoDiscover does not cost a password hash per request. It
// is keyed by an HMAC of the login and password under a random key made at
// start: neither the password nor a plain hash of it is kept. It holds at
// most a fixed number of entries; when full, the oldest are dropped.
type Cache struct {
	ttl time.Duration
	max int
	key [32]byte
	now func() time.Time

	mu      sync.Mutex
	entries map[[32]byte]cacheEntry
}

type cacheEntry struct {
	user    *directory.User
	expires time.Time
}

// NewCache returns a cache keeping verified credentials for ttl, at most max
// of them. A ttl of zero or less disables the cache.
func NewCache(ttl time.Duration, max int) *Cache {
	c := &Cache{ttl: ttl, max: max, now: time.Now, entries: map[[32]byte]cacheEntry{}}
	if _, err := rand.Read(c.key[:]); err != nil {
		panic("auth: no randomness for the cache key: " + err.Error())
	}
	return c
}

func (c *Cache) id(login, password string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(login))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var id [32]byte
	copy(id[:], m.Sum(nil))
	return id
}

// Get returns the user a login and password were verified for, if that was
// less than the TTL ago.
func (c *Cache) Get(login, password string) (*directory.User, bool) {
	if c == nil || c.ttl <= 0 {
		return nil, false
	}
	id := c.id(login, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return nil, false
	}
	if c.now().After(e.expires) {
		delete(c.entries, id)
		return nil, false
	}
	return e.user, true
}

// Put remembers that login and password were verified for user.
func (c *Cache) Put(login, password string, user *directory.User) {
	if c == nil || c.ttl <= 0 || c.max <= 0 {
		return
	}
	id := c.id(login, password)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[id] = cacheEntry{user: user, expires: now.Add(c.ttl)}
}

// evictLocked drops expired entries, and then the oldest ones until a
// tenth of the room is free.
func (c *Cache) evictLocked(now time.Time) {
	for id, e := range c.entries {
		if now.After(e.expires) {
			delete(c.entries, id)
		}
	}
	for len(c.entries) > c.max-c.max/10-1 {
		var oldest [32]byte
		var first = true
		var t time.Time
		for id, e := range c.entries {
			if first || e.expires.Before(t) {
				oldest, t, first = id, e.expires, false
			}
		}
		delete(c.entries, oldest)
	}
}

// Len returns the number of entries, expired ones included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
