package pox

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/net/html/charset"
)

// Response is an AutoDiscover POX response as a client reads it: the Outlook
// (responseschema/2006a) and the ActiveSync (mobilesync/responseschema/2006)
// answers, their redirects and both error shapes, in one flat value. Values
// are trimmed of surrounding white space but otherwise as received.
type Response struct {
	// Schema is the schema named by the namespace of the Response element;
	// SchemaUnknown for the generic namespace of error documents or for a
	// namespace this package does not know.
	Schema Schema
	// Culture is the ActiveSync Culture element ("en:us").
	Culture string
	// DisplayName is User/DisplayName.
	DisplayName string
	// LegacyDN is the Outlook User/LegacyDN.
	LegacyDN string
	// Address is the Outlook User/AutoDiscoverSMTPAddress or the ActiveSync
	// User/EMailAddress.
	Address string
	// Action is the Outlook Account/Action ("settings", "redirectAddr",
	// "redirectUrl"), or for ActiveSync "settings", "redirect" or "error"
	// after the child of its Action element; "" when absent.
	Action string
	// RedirectAddr is the Outlook Account/RedirectAddr or the ActiveSync
	// Action/Redirect: an e-mail address to run AutoDiscover for.
	RedirectAddr string
	// RedirectURL is the Outlook Account/RedirectUrl (also spelled
	// RedirectURL): the AutoDiscover URL to POST to next.
	RedirectURL string
	// Protocols are the Outlook Account/Protocol elements, in document order.
	Protocols []Protocol
	// Servers are the ActiveSync Action/Settings/Server elements.
	Servers []Server
	// Error is the error the document carries (Response/Error or the
	// ActiveSync Action/Error), or nil.
	Error *ResponseError
}

// Protocol is one Outlook Account/Protocol element. Only the children a
// client needs are kept.
type Protocol struct {
	Type           string // EXCH, EXPR, WEB, IMAP, POP3, SMTP, or the Type attribute (mapiHttp)
	Server         string
	Port           int // 0 when absent or not a number
	LoginName      string
	SSL            string // "on", "off" or "" (absent: on)
	Encryption     string // "None", "SSL", "TLS", "Auto" or ""
	SPA            string
	AuthPackage    string
	DomainRequired string
	ASURL          string
	EWSURL         string
	OOFURL         string
	OABURL         string
}

// Server is one ActiveSync Action/Settings/Server element.
type Server struct {
	Type       string // MobileSync or CertEnroll
	URL        string
	Name       string
	ServerData string
}

// ResponseError is the error a response document carries.
type ResponseError struct {
	// Code is ErrorCode (500, 501, 600, 601, 602, 603...); 0 when absent.
	Code int
	// Status is the ActiveSync Status (2 = protocol error); 0 when absent.
	Status int
	// Message is the human-readable text, as sent.
	Message string
	// DebugData is the server's debug text, as sent.
	DebugData string
}

// ErrInvalidResponse is wrapped by every error of ParseResponse: the body is
// not an AutoDiscover response.
var ErrInvalidResponse = errors.New("not an AutoDiscover response")

// maxText bounds the text of one element.
const maxText = 8192

// ParseResponse reads one AutoDiscover response. The caller bounds the size
// of r. Element names are matched by local name, in any namespace and any
// letter case (so both RedirectUrl and RedirectURL are read); unknown
// elements are skipped. A document type declaration, elements nested deeper
// than 32 levels, a body that is not well-formed XML, a root element other
// than Autodiscover or a document without a Response element is an error
// wrapping ErrInvalidResponse.
func ParseResponse(r io.Reader) (*Response, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %w", ErrInvalidResponse, err)
	}
	body = bytes.TrimPrefix(body, []byte{0xEF, 0xBB, 0xBF})
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrInvalidResponse)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charset.NewReaderLabel
	var (
		resp     Response
		path     []string // lower-cased local names of the open elements
		text     strings.Builder
		seenResp bool
		rootEnd  bool
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: document type declarations are not accepted", ErrInvalidResponse)
		case xml.StartElement:
			if rootEnd {
				return nil, fmt.Errorf("%w: more than one root element", ErrInvalidResponse)
			}
			if len(path) >= maxDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", ErrInvalidResponse, maxDepth)
			}
			name := strings.ToLower(t.Name.Local)
			if len(path) == 0 && name != "autodiscover" {
				return nil, fmt.Errorf("%w: root element is <%s>, want <Autodiscover>", ErrInvalidResponse, t.Name.Local)
			}
			path = append(path, name)
			text.Reset()
			if len(path) == 2 && name == "response" && !seenResp {
				seenResp = true
				resp.Schema = schemaOfNamespace(t.Name.Space)
			}
			resp.open(path, t)
		case xml.CharData:
			if len(path) == 0 && len(bytes.Trim(t, " \t\r\n")) > 0 {
				return nil, fmt.Errorf("%w: text outside the root element", ErrInvalidResponse)
			}
			if len(path) > 0 {
				if text.Len()+len(t) > maxText {
					return nil, fmt.Errorf("%w: element <%s> is too long", ErrInvalidResponse, path[len(path)-1])
				}
				text.Write(t)
			}
		case xml.EndElement:
			resp.close(path, trimXMLSpace(text.String()))
			text.Reset()
			path = path[:len(path)-1]
			if len(path) == 0 {
				rootEnd = true
			}
		}
	}
	if !rootEnd {
		return nil, fmt.Errorf("%w: no <Autodiscover> element", ErrInvalidResponse)
	}
	if !seenResp {
		return nil, fmt.Errorf("%w: no <Response> element", ErrInvalidResponse)
	}
	return &resp, nil
}

// schemaOfNamespace maps the namespace of a Response element to its schema.
func schemaOfNamespace(ns string) Schema {
	switch ParseSchema(ns) {
	case SchemaOutlook:
		return SchemaOutlook
	case SchemaMobileSync:
		return SchemaMobileSync
	}
	return SchemaUnknown
}

// open handles a start element; path includes it. Only the first Response
// element is read.
func (r *Response) open(path []string, t xml.StartElement) {
	if len(path) < 3 || path[1] != "response" {
		return
	}
	switch {
	case match(path, "account", "protocol"):
		p := Protocol{}
		for _, a := range t.Attr {
			if strings.EqualFold(a.Name.Local, "Type") {
				p.Type = trimXMLSpace(a.Value)
			}
		}
		r.Protocols = append(r.Protocols, p)
	case match(path, "action", "settings", "server"):
		r.Servers = append(r.Servers, Server{})
	case match(path, "error"), match(path, "action", "error"):
		if r.Error == nil {
			r.Error = &ResponseError{}
		}
		if len(path) == 4 {
			r.Action = "error"
		}
	case match(path, "action", "settings"):
		r.Action = "settings"
	}
}

// close handles an end element with its text; path still includes it.
func (r *Response) close(path []string, text string) {
	if len(path) < 3 || path[1] != "response" {
		return
	}
	leaf := path[len(path)-1]
	switch {
	case match(path, "culture"):
		r.Culture = text
	case match(path, "user", leaf):
		switch leaf {
		case "displayname":
			r.DisplayName = text
		case "legacydn":
			r.LegacyDN = text
		case "autodiscoversmtpaddress", "emailaddress":
			if r.Address == "" || leaf == "autodiscoversmtpaddress" {
				r.Address = text
			}
		}
	case match(path, "account", leaf):
		switch leaf {
		case "action":
			r.Action = text
		case "redirectaddr":
			r.RedirectAddr = text
		case "redirecturl":
			r.RedirectURL = text
		}
	case match(path, "account", "protocol", leaf) && len(r.Protocols) > 0:
		r.Protocols[len(r.Protocols)-1].set(leaf, text)
	case match(path, "action", "redirect"):
		r.Action, r.RedirectAddr = "redirect", text
	case match(path, "action", "settings", "server", leaf) && len(r.Servers) > 0:
		s := &r.Servers[len(r.Servers)-1]
		switch leaf {
		case "type":
			s.Type = text
		case "url":
			s.URL = text
		case "name":
			s.Name = text
		case "serverdata":
			s.ServerData = text
		}
	case (match(path, "error", leaf) || match(path, "action", "error", leaf)) && r.Error != nil:
		switch leaf {
		case "errorcode":
			r.Error.Code = atoi(text)
		case "status":
			r.Error.Status = atoi(text)
		case "message":
			r.Error.Message = text
		case "debugdata":
			r.Error.DebugData = text
		}
	}
}

// set fills the protocol field named by a child element.
func (p *Protocol) set(leaf, text string) {
	switch leaf {
	case "type":
		p.Type = text
	case "server":
		p.Server = text
	case "port":
		p.Port = atoi(text)
	case "loginname":
		p.LoginName = text
	case "ssl":
		p.SSL = text
	case "encryption":
		p.Encryption = text
	case "spa":
		p.SPA = text
	case "authpackage":
		p.AuthPackage = text
	case "domainrequired":
		p.DomainRequired = text
	case "asurl":
		p.ASURL = text
	case "ewsurl":
		p.EWSURL = text
	case "oofurl":
		p.OOFURL = text
	case "oaburl":
		p.OABURL = text
	}
}

// match reports whether path is Autodiscover/Response followed by exactly
// the given lower-case names.
func match(path []string, names ...string) bool {
	if len(path) != 2+len(names) {
		return false
	}
	for i, n := range names {
		if path[2+i] != n {
			return false
		}
	}
	return true
}

// atoi returns the decimal value of s, or 0 when s is not a small
// non-negative number.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
