package pox

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// Request is an AutoDiscover POX request, as read from the wire. Values are
// trimmed of surrounding white space but otherwise as sent.
type Request struct {
	// EMailAddress is the address the client asks about; may be empty.
	EMailAddress string
	// LegacyDN is the Exchange legacy distinguished name, sent by clients
	// instead of (or besides) an address; may be empty.
	LegacyDN string
	// AcceptableResponseSchema is the response schema URI the client asks
	// for; may be empty.
	AcceptableResponseSchema string
}

// Schema returns the response schema the request asks for.
func (r *Request) Schema() Schema { return ParseSchema(r.AcceptableResponseSchema) }

// ErrInvalidRequest is wrapped by every error of ParseRequest: the body is
// not an AutoDiscover request (error 600 on the wire).
var ErrInvalidRequest = errors.New("invalid AutoDiscover request")

// maxDepth bounds element nesting; a real request is four levels deep.
const maxDepth = 32

// ParseRequest reads one AutoDiscover request. The caller bounds the size of
// r. Element names are matched by local name only, in any order; unknown
// elements are skipped. A document type declaration, a body that is not
// well-formed XML, or a root element other than Autodiscover is an error
// wrapping ErrInvalidRequest.
func ParseRequest(r io.Reader) (*Request, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %w", ErrInvalidRequest, err)
	}
	body, err = toUTF8(body)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrInvalidRequest)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charset.NewReaderLabel
	return walk(dec)
}

// toUTF8 strips a UTF-8 byte order mark and converts UTF-16 (recognised by
// its byte order mark) to UTF-8.
func toUTF8(b []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:], nil
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		little := b[0] == 0xFF
		b = b[2:]
		if len(b)%2 != 0 {
			return nil, fmt.Errorf("%w: truncated UTF-16 body", ErrInvalidRequest)
		}
		units := make([]uint16, len(b)/2)
		for i := range units {
			if little {
				units[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
			} else {
				units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			}
		}
		out := make([]byte, 0, len(units))
		for _, r := range utf16.Decode(units) {
			out = utf8.AppendRune(out, r)
		}
		// The declaration still names UTF-16; the text is UTF-8 now.
		return stripEncodingDecl(out), nil
	}
	return b, nil
}

// stripEncodingDecl removes the encoding pseudo-attribute of a leading XML
// declaration, so the decoder reads the (already converted) text as UTF-8.
func stripEncodingDecl(b []byte) []byte {
	t := bytes.TrimLeft(b, " \t\r\n")
	if !bytes.HasPrefix(t, []byte("<?xml")) {
		return b
	}
	end := bytes.Index(t, []byte("?>"))
	if end < 0 {
		return b
	}
	return append([]byte(`<?xml version="1.0"?>`), t[end+2:]...)
}

// walk reads the token stream: Autodiscover > Request > fields.
func walk(dec *xml.Decoder) (*Request, error) {
	var (
		req      Request
		path     []string // local names of the open elements
		text     strings.Builder
		capture  bool // collecting the text of a field element
		rootEnd  bool
		seen     = map[string]bool{} // fields already read
		requests int
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: document type declarations are not accepted", ErrInvalidRequest)
		case xml.StartElement:
			if rootEnd {
				return nil, fmt.Errorf("%w: more than one root element", ErrInvalidRequest)
			}
			if len(path) >= maxDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", ErrInvalidRequest, maxDepth)
			}
			name := t.Name.Local
			if len(path) == 0 && !strings.EqualFold(name, "Autodiscover") {
				return nil, fmt.Errorf("%w: root element is <%s>, want <Autodiscover>", ErrInvalidRequest, name)
			}
			path = append(path, name)
			capture = len(path) == 3 && strings.EqualFold(path[1], "Request") && fieldOf(&req, name) != nil
			text.Reset()
		case xml.CharData:
			if len(path) == 0 && len(bytes.Trim(t, " \t\r\n")) > 0 {
				return nil, fmt.Errorf("%w: text outside the root element", ErrInvalidRequest)
			}
			if capture {
				if text.Len()+len(t) > 4096 {
					return nil, fmt.Errorf("%w: element <%s> is too long", ErrInvalidRequest, path[len(path)-1])
				}
				text.Write(t)
			}
		case xml.EndElement:
			if capture && len(path) == 3 {
				name := strings.ToLower(path[2])
				if seen[name] {
					return nil, fmt.Errorf("%w: more than one <%s>", ErrInvalidRequest, path[2])
				}
				seen[name] = true
				*fieldOf(&req, path[2]) = trimXMLSpace(text.String())
			}
			if len(path) == 2 && strings.EqualFold(path[1], "Request") {
				if requests++; requests > 1 {
					return nil, fmt.Errorf("%w: more than one <Request>", ErrInvalidRequest)
				}
			}
			capture = false
			path = path[:len(path)-1]
			if len(path) == 0 {
				rootEnd = true
			}
		}
	}
	if !rootEnd {
		return nil, fmt.Errorf("%w: no <Autodiscover> element", ErrInvalidRequest)
	}
	return &req, nil
}

// fieldOf returns the Request field an element of that local name fills, or
// nil for an element the request does not use.
func fieldOf(req *Request, local string) *string {
	switch strings.ToLower(local) {
	case "emailaddress":
		return &req.EMailAddress
	case "legacydn":
		return &req.LegacyDN
	case "acceptableresponseschema":
		return &req.AcceptableResponseSchema
	}
	return nil
}

// trimXMLSpace trims the white space characters of XML (space, tab, CR, LF).
func trimXMLSpace(s string) string { return strings.Trim(s, " \t\r\n") }

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
