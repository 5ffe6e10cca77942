package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build information is used.
var version = ""

func versionString() string {
	v := version
	if v == "" {
		v = "(devel)"
		if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
			v = info.Main.Version
		}
	}
	return fmt.Sprintf("autodiscover %s %s/%s %s", v, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func runVersion(_ context.Context, args []string, e env) int {
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "usage: autodiscover version")
		return exitUsage
	}
	fmt.Fprintln(e.stdout, versionString())
	return exitOK
}
