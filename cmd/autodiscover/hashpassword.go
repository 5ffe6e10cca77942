package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/autodiscover-go/autodiscover/internal/auth"
)

const hashPasswordUsage = `Usage: autodiscover hash-password [--algorithm bcrypt|argon2id] [--cost N]

Reads a password (from a prompt without echo on a terminal, else the first
line of standard input) and prints its hash for the password_hash field of
a user in the configuration:

  autodiscover hash-password <<< 'secret'

Flags:
`

func runHashPassword(_ context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	algo := fs.String("algorithm", "bcrypt", "hash `algorithm`: bcrypt or argon2id (64 MiB, 3 passes, 4 lanes)")
	cost := fs.Int("cost", auth.DefaultBcryptCost, "bcrypt `cost` (4-31)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), hashPasswordUsage)
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "autodiscover hash-password: unexpected argument %q: the password is read from standard input\n", fs.Arg(0))
		return exitUsage
	}
	if *algo == "bcrypt" && (*cost < bcrypt.MinCost || *cost > bcrypt.MaxCost) {
		fmt.Fprintf(e.stderr, "autodiscover hash-password: --cost %d out of range %d-%d\n", *cost, bcrypt.MinCost, bcrypt.MaxCost)
		return exitUsage
	}
	password, err := readPassword(e, "Password: ")
	if err != nil {
		fmt.Fprintf(e.stderr, "autodiscover hash-password: %v\n", err)
		return exitFailure
	}
	if password == "" {
		fmt.Fprintln(e.stderr, "autodiscover hash-password: empty password")
		return exitFailure
	}
	var h string
	switch *algo {
	case "bcrypt":
		h, err = auth.HashBcrypt(password, *cost)
	case "argon2id":
		h, err = auth.HashArgon2id(password, auth.DefaultArgon2id)
	default:
		fmt.Fprintf(e.stderr, "autodiscover hash-password: unknown algorithm %q (want bcrypt or argon2id)\n", *algo)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "autodiscover hash-password: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(e.stdout, h)
	return exitOK
}

// readPassword prompts without echo when standard input is a terminal, and
// otherwise reads its first line.
func readPassword(e env, prompt string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
