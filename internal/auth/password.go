// Package auth verifies the credentials clients send: password hashes
// (bcrypt and argon2id), a short-lived cache of verified credentials keyed
// by a keyed hash, and a throttle that slows down repeated failures.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2idParams are the cost parameters of an argon2id hash.
type Argon2idParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2id follows the second recommended option of RFC 9106 §4
// (64 MiB, 3 passes, 4 lanes).
var DefaultArgon2id = Argon2idParams{Memory: 64 * 1024, Time: 3, Threads: 4}

// DefaultBcryptCost is the bcrypt cost of new hashes.
const DefaultBcryptCost = 12

// ErrUnknownHash is returned for a hash in a format this package does not know.
var ErrUnknownHash = errors.New("unknown password hash format (want bcrypt $2a$/$2b$/$2y$ or $argon2id$)")

// HashBcrypt returns a bcrypt hash of password.
func HashBcrypt(password string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// HashArgon2id returns an argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=65536,t=3,p=4$SALT$HASH.
func HashArgon2id(password string, p Argon2idParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckHash reports whether hash is in a format Verify understands and its
// parameters are sane.
func CheckHash(hash string) error {
	switch {
	case isBcrypt(hash):
		_, err := bcrypt.Cost([]byte(hash))
		return err
	case strings.HasPrefix(hash, "$argon2id$"):
		_, _, _, err := parseArgon2id(hash)
		return err
	}
	return ErrUnknownHash
}

// Verify reports whether password matches hash, in time independent of
// where they differ.
func Verify(hash, password string) (bool, error) {
	switch {
	case isBcrypt(hash):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return err == nil, err
	case strings.HasPrefix(hash, "$argon2id$"):
		p, salt, key, err := parseArgon2id(hash)
		if err != nil {
			return false, err
		}
		got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1, nil
	}
	return false, ErrUnknownHash
}

func isBcrypt(h string) bool {
	return strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")
}

func parseArgon2id(h string) (p Argon2idParams, salt, key []byte, err error) {
	bad := func(why string) (Argon2idParams, []byte, []byte, error) {
		return Argon2idParams{}, nil, nil, fmt.Errorf("malformed argon2id hash: %s", why)
	}
	parts := strings.Split(h, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 {
		return bad("want $argon2id$v=19$m=M,t=T,p=P$SALT$HASH")
	}
	if parts[2] != "v=19" {
		return bad("version " + parts[2] + ", want v=19")
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("parallelism " + v)
			}
			p.Threads = uint8(n)
		default:
			return bad("parameter " + kv)
		}
	}
	if p.Memory < 8 || p.Memory > 4<<20 || p.Time < 1 || p.Time > 64 || p.Threads < 1 {
		return bad("parameters out of range")
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return bad("salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return bad("hash")
	}
	return p, salt, key, nil
}

// HashKind names a hash's algorithm and cost parameters, such as
// "bcrypt-12" or "argon2id-m65536-t3-p4"; "unknown" for other strings.
func HashKind(hash string) string {
	switch {
	case isBcrypt(hash):
		if c, err := bcrypt.Cost([]byte(hash)); err == nil {
			return "bcrypt-" + strconv.Itoa(c)
		}
	case strings.HasPrefix(hash, "$argon2id$"):
		if p, _, _, err := parseArgon2id(hash); err == nil {
			return fmt.Sprintf("argon2id-m%d-t%d-p%d", p.Memory, p.Time, p.Threads)
		}
	}
	return "unknown"
}
