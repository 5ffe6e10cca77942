//go:build !linux

package main

import (
	"errors"
	"os"
)

// readNoEcho is not available here: use --password-stdin or
// AUTODISCOVER_PASSWORD.
func readNoEcho(*os.File) (string, error) {
	return "", errors.New("cannot turn off echo on this system: use --password-stdin or AUTODISCOVER_PASSWORD")
}

// isTTY reports whether f is a character device (a terminal, most likely).
func isTTY(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
