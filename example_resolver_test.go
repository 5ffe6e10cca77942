package autodiscover_test

import (
	"context"
	"errors"
	"net"
)

// noDNS is a resolver that answers nothing, so the examples never leave
// the machine.
var noDNS = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no DNS in examples")
}}
