package pox

import (
	"bytes"
	"encoding/xml"
	"hash/fnv"
	"os"
	"strconv"
	"time"
)

// Error codes of a POX Error element ([MS-OXDSCLI] 2.2.4.1.1.3.2).
const (
	CodeNotFound       = 500 // the e-mail address cannot be found
	CodeNoSettings     = 501 // the address is known but has no configuration
	CodeInvalidRequest = 600 // the request is not a valid AutoDiscover request
	CodeNoProvider     = 601 // no provider for the requested schema
	CodeBadAddress     = 602 // the address is known but its configuration is in error
	CodeInternal       = 603 // internal server error
)

// Messages Exchange sends with the error codes. exchangelib recognises the
// text of MessageNotFound.
const (
	MessageNotFound       = "The e-mail address cannot be found."
	MessageInvalidRequest = "Invalid Request"
	MessageNoProvider     = "Provider is not available."
)

// TLS modes of an IMAP, POP3 or SMTP server, as the POX SSL and Encryption
// elements express them.
type TLSMode string

// The TLS modes.
const (
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (993, 995, 465)
	TLSStartTLS TLSMode = "starttls" // plain connection upgraded with STARTTLS
	TLSNone     TLSMode = "none"     // no TLS at all (only when configured explicitly)
)

// sslEncryption maps a TLS mode to the SSL and Encryption element values:
// one fixed table, so every client reads the same intent.
func sslEncryption(m TLSMode) (ssl, encryption string) {
	switch m {
	case TLSStartTLS:
		return "on", "TLS"
	case TLSNone:
		return "off", "None"
	}
	return "on", "SSL"
}

// OutlookSettings is what an Outlook (responseschema/2006a) answer carries.
type OutlookSettings struct {
	DisplayName string
	Address     string // AutoDiscoverSMTPAddress
	EWSURL      string // EwsUrl and ASUrl in the EXCH and EXPR blocks
	OABURL      string
	OOFURL      string
	Mail        []MailServer // IMAP, POP3 and SMTP, in order of preference
}

// MailServer is an IMAP, POP3 or SMTP server in an Outlook answer.
type MailServer struct {
	Type      string // "IMAP", "POP3" or "SMTP"
	Host      string
	Port      int
	TLS       TLSMode
	LoginName string
}

type autodiscover struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	XMLNS    string   `xml:"xmlns,attr"`
	Response any
}

type outlookResponse struct {
	XMLName xml.Name        `xml:"Response"`
	XMLNS   string          `xml:"xmlns,attr"`
	User    *outlookUser    `xml:"User,omitempty"`
	Account *outlookAccount `xml:"Account,omitempty"`
}

type outlookUser struct {
	DisplayName             string `xml:"DisplayName,omitempty"`
	AutoDiscoverSMTPAddress string `xml:"AutoDiscoverSMTPAddress,omitempty"`
}

type outlookAccount struct {
	AccountType     string            `xml:"AccountType"`
	Action          string            `xml:"Action"`
	MicrosoftOnline string            `xml:"MicrosoftOnline,omitempty"`
	RedirectAddr    string            `xml:"RedirectAddr,omitempty"`
	RedirectURL     string            `xml:"RedirectUrl,omitempty"`
	Protocols       []outlookProtocol `xml:"Protocol"`
}

type outlookProtocol struct {
	Type         string `xml:"Type"`
	Server       string `xml:"Server,omitempty"`
	Port         int    `xml:"Port,omitempty"`
	LoginName    string `xml:"LoginName,omitempty"`
	DomainReq    string `xml:"DomainRequired,omitempty"`
	SPA          string `xml:"SPA,omitempty"`
	SSL          string `xml:"SSL,omitempty"`
	Encryption   string `xml:"Encryption,omitempty"`
	AuthRequired string `xml:"AuthRequired,omitempty"`
	AuthPackage  string `xml:"AuthPackage,omitempty"`
	ASURL        string `xml:"ASUrl,omitempty"`
	EWSURL       string `xml:"EwsUrl,omitempty"`
	OOFURL       string `xml:"OOFUrl,omitempty"`
	OABURL       string `xml:"OABUrl,omitempty"`
}

type mobileSyncResponse struct {
	XMLName xml.Name        `xml:"Response"`
	XMLNS   string          `xml:"xmlns,attr"`
	Culture string          `xml:"Culture"`
	User    *mobileSyncUser `xml:"User,omitempty"`
	Action  mobileSyncAction
}

type mobileSyncUser struct {
	DisplayName  string `xml:"DisplayName,omitempty"`
	EMailAddress string `xml:"EMailAddress"`
}

type mobileSyncAction struct {
	XMLName  xml.Name            `xml:"Action"`
	Redirect string              `xml:"Redirect,omitempty"`
	Settings *mobileSyncSettings `xml:"Settings,omitempty"`
	Error    *mobileSyncError    `xml:"Error,omitempty"`
}

type mobileSyncSettings struct {
	Servers []mobileSyncServer `xml:"Server"`
}

type mobileSyncServer struct {
	Type string `xml:"Type"`
	URL  string `xml:"Url"`
	Name string `xml:"Name"`
}

type mobileSyncError struct {
	Status    int    `xml:"Status"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
	ErrorCode int    `xml:"ErrorCode"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"Response"`
	XMLNS   string   `xml:"xmlns,attr"`
	Error   poxError `xml:"Error"`
}

type poxError struct {
	Time      string `xml:"Time,attr"`
	ID        string `xml:"Id,attr"`
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
}

// Culture is the only culture the server speaks; MS-ASCMD requires the
// colon form.
const Culture = "en:us"

// OutlookSettingsResponse renders the Outlook answer with Action settings.
func OutlookSettingsResponse(s OutlookSettings) []byte {
	acct := &outlookAccount{AccountType: "email", Action: "settings", MicrosoftOnline: "False"}
	if s.EWSURL != "" {
		// The EWS Managed API reads EXCH as the internal and EXPR as the
		// external settings; exchangelib prefers EXPR. Both carry the URLs.
		for _, typ := range []string{"EXCH", "EXPR"} {
			p := outlookProtocol{Type: typ, Server: hostOf(s.EWSURL),
				ASURL: s.EWSURL, EWSURL: s.EWSURL, OOFURL: s.OOFURL, OABURL: s.OABURL}
			if typ == "EXPR" {
				p.SSL, p.AuthPackage = "on", "Basic"
			}
			acct.Protocols = append(acct.Protocols, p)
		}
	}
	for _, m := range s.Mail {
		ssl, enc := sslEncryption(m.TLS)
		acct.Protocols = append(acct.Protocols, outlookProtocol{
			Type: m.Type, Server: m.Host, Port: m.Port, LoginName: m.LoginName,
			DomainReq: "off", SPA: "off", SSL: ssl, Encryption: enc, AuthRequired: "on",
		})
	}
	return marshal(outlookResponse{XMLNS: NSOutlookResponse,
		User:    &outlookUser{DisplayName: s.DisplayName, AutoDiscoverSMTPAddress: s.Address},
		Account: acct})
}

// OutlookRedirectAddrResponse renders the Outlook answer that sends the
// client to another address.
func OutlookRedirectAddrResponse(addr string) []byte {
	return marshal(outlookResponse{XMLNS: NSOutlookResponse,
		Account: &outlookAccount{AccountType: "email", Action: "redirectAddr", RedirectAddr: addr}})
}

// OutlookRedirectURLResponse renders the Outlook answer that sends the
// client to another AutoDiscover URL.
func OutlookRedirectURLResponse(url string) []byte {
	return marshal(outlookResponse{XMLNS: NSOutlookResponse,
		Account: &outlookAccount{AccountType: "email", Action: "redirectUrl", RedirectURL: url}})
}

// MobileSyncSettingsResponse renders the ActiveSync answer: the
// MobileSync server's URL, as both Url and Name.
func MobileSyncSettingsResponse(displayName, address, activeSyncURL string) []byte {
	return marshal(mobileSyncResponse{XMLNS: NSMobileSyncResponse, Culture: Culture,
		User: &mobileSyncUser{DisplayName: displayName, EMailAddress: address},
		Action: mobileSyncAction{Settings: &mobileSyncSettings{Servers: []mobileSyncServer{
			{Type: "MobileSync", URL: activeSyncURL, Name: activeSyncURL},
		}}}})
}

// MobileSyncRedirectResponse renders the ActiveSync answer that sends the
// client to another address, whose domain it then runs AutoDiscover for.
func MobileSyncRedirectResponse(address, redirect string) []byte {
	return marshal(mobileSyncResponse{XMLNS: NSMobileSyncResponse, Culture: Culture,
		User:   &mobileSyncUser{EMailAddress: address},
		Action: mobileSyncAction{Redirect: redirect}})
}

// MobileSyncNotFoundResponse renders the ActiveSync answer for an address
// that cannot be found: Action/Error with Status 2 and ErrorCode 500.
func MobileSyncNotFoundResponse(address string) []byte {
	return marshal(mobileSyncResponse{XMLNS: NSMobileSyncResponse, Culture: Culture,
		User: &mobileSyncUser{EMailAddress: address},
		Action: mobileSyncAction{Error: &mobileSyncError{
			Status: 2, Message: MessageNotFound, ErrorCode: CodeNotFound}}})
}

// ErrorResponse renders a Response/Error document in the generic response
// namespace, the shape Exchange uses for 600 and 601 and exchangelib parses
// for every code.
func ErrorResponse(code int, message string) []byte {
	return marshal(errorResponse{XMLNS: NSResponse, Error: poxError{
		Time: time.Now().UTC().Format("15:04:05.0000000"), ID: serverID,
		ErrorCode: code, Message: message}})
}

// serverID is the Error Id attribute: like Exchange, a hash of the host name.
var serverID = func() string {
	name, _ := os.Hostname()
	h := fnv.New32a()
	h.Write([]byte(name))
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}()

const header = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

func marshal(response any) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(autodiscover{XMLNS: NSResponse, Response: response}); err != nil {
		// Only programming errors (unsupported types) can fail here.
		panic("pox: encoding response: " + err.Error())
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// hostOf returns the host of an absolute URL, or "" when it has none.
func hostOf(rawURL string) string {
	rest, ok := cutPrefixFold(rawURL, "https://")
	if !ok {
		rest, _ = cutPrefixFold(rawURL, "http://")
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '/', ':', '?', '#':
			return rest[:i]
		}
	}
	return rest
}
