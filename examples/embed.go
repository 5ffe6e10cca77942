// Package examples holds the bundled example configurations. The demo
// configuration is compiled into the binary: "autodiscover serve" without
// --config runs it.
package examples

import _ "embed"

// Demo is examples/demo.yaml: the domain company.tld with the user
// testuser@company.tld (password testpassword), on loopback only.
//
//go:embed demo.yaml
var Demo []byte

// Request is examples/request.xml: the MobileSync request of the Amazon
// WorkMail troubleshooting steps, byte for byte.
//
//go:embed request.xml
var Request []byte
