package main

import (
	"os"
	"testing"

	"github.com/autodiscover-go/autodiscover/internal/config"
)

// TestStateDir pins where the ACME cache goes.
func TestStateDir(t *testing.T) {
	rootDefault := "/home/u/.local/state/autodiscover"
	if os.Geteuid() == 0 {
		rootDefault = "/var/lib/autodiscover"
	}
	for _, tc := range []struct {
		name, flag, cfg string
		env             map[string]string
		want            string
	}{
		{"flag first", "/flag", "/cfg", map[string]string{"STATE_DIRECTORY": "/sd", "XDG_STATE_HOME": "/xdg"}, "/flag"},
		{"then state_dir", "", "/cfg", map[string]string{"STATE_DIRECTORY": "/sd", "XDG_STATE_HOME": "/xdg"}, "/cfg"},
		{"then systemd", "", "", map[string]string{"STATE_DIRECTORY": "/var/lib/autodiscover", "XDG_STATE_HOME": "/xdg"}, "/var/lib/autodiscover"},
		{"then XDG", "", "", map[string]string{"XDG_STATE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/autodiscover"},
		{"then by user", "", "", map[string]string{"HOME": "/home/u"}, rootDefault},
	} {
		a := &app{flags: serveFlags{stateDir: tc.flag}, e: env{getenv: func(k string) string { return tc.env[k] }}}
		if got := a.stateDir(&config.File{StateDir: tc.cfg}); got != tc.want {
			t.Errorf("%s: stateDir = %q, want %q", tc.name, got, tc.want)
		}
	}
}
