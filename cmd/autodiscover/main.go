// Command autodiscover answers, proxies, discovers and troubleshoots
// Exchange AutoDiscover for mail domains. Run "autodiscover help" for the
// subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is everything a subcommand receives from the outside world, so tests
// can run the real program in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// ready, when set, is told where serve listens once it does (tests).
	ready func(serveInfo)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, e env) int
}

// commands lists the subcommands in the order "help" shows them.
func commands() []command {
	return []command{
		{"serve", "answer (or proxy) AutoDiscover over HTTPS, with the phase-3 redirect on HTTP", runServe},
		{"discover", "find the AutoDiscover endpoint and settings of an address, as a mail client does", runDiscover},
		{"check", "troubleshoot a domain's AutoDiscover step by step (PASS/WARN/FAIL)", runCheck},
		{"records", "print the DNS records a domain needs", runRecords},
		{"hash-password", "print a password hash for the users list of the configuration", runHashPassword},
		{"version", "print the version", runVersion},
	}
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the job ran and failed (a check FAILed, the server stopped on an error)
	exitUsage   = 2 // the command line is wrong
)

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr})
}

// runEnv is run with the environment in one value.
func runEnv(ctx context.Context, args []string, e env) int {
	stdout, stderr := e.stdout, e.stderr
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return runEnv(ctx, []string{args[1], "--help"}, e)
		}
		usage(stdout)
		return exitOK
	case "--version", "-version":
		return runVersion(ctx, nil, e)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], e)
		}
	}
	fmt.Fprintf(stderr, "autodiscover: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `autodiscover: Exchange AutoDiscover server, proxy and client.

Usage:
  autodiscover <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "autodiscover <command> --help" for the flags of a command.
Without --config, "autodiscover serve" runs a demo on 127.0.0.1 (see README.md).
`)
}

// parseFlags parses a subcommand's flags. done is true when the command
// must stop at once with code: 0 after --help, 2 for a bad flag (the flag
// package has printed why).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		return flagExit(err), true
	}
	return 0, false
}

// flagExit is the exit code for an error of flag parsing: 0 after --help,
// 2 for a bad flag (the flag package has printed why).
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
