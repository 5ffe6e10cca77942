package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/autodiscover-go/autodiscover/internal/check"
)

// runCheck is "autodiscover check EMAIL".
func runCheck(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var cf clientFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprint(e.stderr, `Usage: autodiscover check [flags] EMAIL

Checks the AutoDiscover setup of EMAIL's domain, running every phase without
stopping at the first success: DNS for DOMAIN and autodiscover.DOMAIN, the
SRV record, TCP, the certificate (trust, names, expiry, with and without
SNI), the unauthenticated POST (401 and the schemes offered), the
authenticated POST (a valid answer for --schema), the plain-HTTP redirect,
and the redirects discovery follows. Each step is PASS, WARN, FAIL, INFO or
SKIP, with what to do about it.

FAIL: a mainstream client (Outlook, iOS Mail, the stock Android app) will not
configure itself. WARN: it works with a prompt, or for some clients only.
Without a password only the unauthenticated steps run.

To test a server before the DNS switch, send the names to it:
  autodiscover check --resolve company.tld:443:192.0.2.10 \
    --resolve autodiscover.company.tld:443:192.0.2.10 \
    --resolve autodiscover.company.tld:80:192.0.2.10 user@company.tld

Exit status: 0 when no step FAILed, 1 otherwise, 2 for a bad command line.

Flags:
`)
		fs.PrintDefaults()
	}
	email, c, opts, exit, ok := cf.parse(fs, args, e)
	if !ok {
		return exit
	}
	var progress io.Writer
	switch {
	case !cf.json:
		progress = e.stdout
	case isTerminal(e.stderr):
		progress = e.stderr
	}
	o := check.Options{Email: email, Username: opts.Username, Password: opts.Password, Schema: opts.Schema, Client: c}
	if progress != nil {
		o.Progress = func(s check.Step) { printStep(progress, s) }
	}
	report := check.Run(ctx, o)
	if cf.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(report)
	} else {
		fails, warns := 0, 0
		for _, s := range report.Steps {
			switch s.Status {
			case check.Fail:
				fails++
			case check.Warn:
				warns++
			}
		}
		fmt.Fprintf(e.stdout, "\n%d FAIL, %d WARN for %s\n", fails, warns, report.Domain)
	}
	if report.Failed() {
		return exitFailure
	}
	return exitOK
}

// printStep writes one step: status, name, detail, and the fix.
func printStep(w io.Writer, s check.Step) {
	fmt.Fprintf(w, "%-4s  %s\n      %s\n", s.Status, s.Name, s.Detail)
	if s.Fix != "" {
		fmt.Fprintf(w, "      fix: %s\n", s.Fix)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTTY(f)
}
