package pox

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

const msSchema = NSMobileSyncResponse

// requestTests are the parser's table; every body is also a fuzz seed.
var requestTests = []struct {
	name string
	body string
	want *Request // nil: ErrInvalidRequest
}{
	{"mobilesync", `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>a@b.example</EMailAddress><AcceptableResponseSchema>` + msSchema + `</AcceptableResponseSchema></Request></Autodiscover>`,
		&Request{EMailAddress: "a@b.example", AcceptableResponseSchema: msSchema}},
	{"schema on its own indented lines", "<Autodiscover><Request><EMailAddress>a@b.example</EMailAddress><AcceptableResponseSchema>\r\n            " + msSchema + "\r\n        </AcceptableResponseSchema>      </Request></Autodiscover>",
		&Request{EMailAddress: "a@b.example", AcceptableResponseSchema: msSchema}},
	{"LegacyDN and address", `<Autodiscover><Request><LegacyDN>/o=Org/cn=a</LegacyDN><EMailAddress>a@b.example</EMailAddress><AcceptableResponseSchema>x</AcceptableResponseSchema></Request></Autodiscover>`,
		&Request{EMailAddress: "a@b.example", LegacyDN: "/o=Org/cn=a", AcceptableResponseSchema: "x"}},
	{"prefix", `<p:Autodiscover xmlns:p="urn:x"><p:Request><p:EMailAddress>a@b.example</p:EMailAddress></p:Request></p:Autodiscover>`,
		&Request{EMailAddress: "a@b.example"}},
	{"lower-case element names", `<autodiscover><request><emailaddress>a@b.example</emailaddress></request></autodiscover>`,
		&Request{EMailAddress: "a@b.example"}},
	{"field outside Request ignored", `<Autodiscover><EMailAddress>x@y.example</EMailAddress><Request/></Autodiscover>`, &Request{}},
	{"nested field ignored", `<Autodiscover><Request><Wrap><EMailAddress>x@y.example</EMailAddress></Wrap></Request></Autodiscover>`, &Request{}},
	{"entity references of XML", `<Autodiscover><Request><EMailAddress>a&amp;b@c.example</EMailAddress></Request></Autodiscover>`,
		&Request{EMailAddress: "a&b@c.example"}},
	{"character reference", `<Autodiscover><Request><EMailAddress>&#97;@b.example</EMailAddress></Request></Autodiscover>`,
		&Request{EMailAddress: "a@b.example"}},
	{"ISO-8859-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Autodiscover><Request><EMailAddress>caf\xe9@b.example</EMailAddress></Request></Autodiscover>",
		&Request{EMailAddress: "café@b.example"}},
	{"trailing comment", `<Autodiscover><Request/></Autodiscover><!-- x -->` + "\n", &Request{}},
	{"text after the root", `<Autodiscover><Request/></Autodiscover>garbage`, nil},
	{"text before the root", `garbage<Autodiscover><Request/></Autodiscover>`, nil},
	{"two addresses", `<Autodiscover><Request><EMailAddress>a@b.example</EMailAddress><EMailAddress>c@d.example</EMailAddress></Request></Autodiscover>`, nil},
	{"two schemas in two spellings", `<Autodiscover><Request><AcceptableResponseSchema>x</AcceptableResponseSchema><acceptableresponseschema>y</acceptableresponseschema></Request></Autodiscover>`, nil},
	{"two requests", `<Autodiscover><Request><EMailAddress>a@b.example</EMailAddress></Request><Request><EMailAddress>c@d.example</EMailAddress></Request></Autodiscover>`, nil},
	{"empty", "", nil},
	{"text", "hello", nil},
	{"other root", `<Other/>`, nil},
	{"doctype", `<!DOCTYPE Autodiscover><Autodiscover/>`, nil},
	{"internal entity", `<!DOCTYPE a [<!ENTITY e "x">]><Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>`, nil},
	{"undeclared entity", `<Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>`, nil},
	{"unclosed", `<Autodiscover><Request>`, nil},
	{"mismatched", `<Autodiscover></Request>`, nil},
	{"two roots", `<Autodiscover/><Autodiscover/>`, nil},
	{"unknown encoding", `<?xml version="1.0" encoding="x-nonsense"?><Autodiscover/>`, nil},
	{"odd UTF-16", "\xff\xfe<\x00A", nil},
	{"too deep", strings.Repeat("<Autodiscover>", 40) + strings.Repeat("</Autodiscover>", 40), nil},
	{"field too long", `<Autodiscover><Request><EMailAddress>` + strings.Repeat("a", 5000) + `</EMailAddress></Request></Autodiscover>`, nil},
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestTests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest(strings.NewReader(tc.body))
			if tc.want == nil {
				if !errors.Is(err, ErrInvalidRequest) {
					t.Fatalf("ParseRequest = %+v, %v; want ErrInvalidRequest", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if *got != *tc.want {
				t.Errorf("ParseRequest = %+v, want %+v", *got, *tc.want)
			}
		})
	}
}

// TestParseSeedRequests reads the reference requests byte for byte and as
// curl -d @file sends them (CR and LF stripped).
func TestParseSeedRequests(t *testing.T) {
	for file, want := range map[string]Request{
		"seed-request.xml":    {EMailAddress: "testuser@company.tld", AcceptableResponseSchema: NSMobileSyncResponse},
		"outlook-request.xml": {EMailAddress: "testuser@company.tld", AcceptableResponseSchema: NSOutlookResponse},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cases", file))
		if err != nil {
			t.Fatal(err)
		}
		curl := []byte(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
		for form, body := range map[string][]byte{"raw": raw, "curl -d": curl} {
			got, err := ParseRequest(bytes.NewReader(body))
			if err != nil || *got != want {
				t.Errorf("%s (%s): ParseRequest = %+v, %v; want %+v", file, form, got, err, want)
			}
		}
	}
}

func TestParseSchema(t *testing.T) {
	for in, want := range map[string]Schema{
		NSMobileSyncResponse:                SchemaMobileSync,
		NSOutlookResponse:                   SchemaOutlook,
		"\n  " + NSOutlookResponse + "  \n": SchemaOutlook,
		"https://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006": SchemaMobileSync,
		"HTTPS://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a":   SchemaOutlook,
		"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006":     SchemaUnknown,
		"": SchemaUnknown,
	} {
		if got := ParseSchema(in); got != want {
			t.Errorf("ParseSchema(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzParseRequest: any input yields a request or ErrInvalidRequest, never
// a panic; a parsed request's fields are trimmed, valid UTF-8 and bounded.
func FuzzParseRequest(f *testing.F) {
	for _, tc := range requestTests {
		f.Add([]byte(tc.body))
	}
	cases, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "cases", "*request*.xml"))
	for _, c := range cases {
		if b, err := os.ReadFile(c); err == nil {
			f.Add(b)
			f.Add([]byte(strings.NewReplacer("\r", "", "\n", "").Replace(string(b))))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(bytes.NewReader(body))
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		for _, v := range []string{req.EMailAddress, req.LegacyDN, req.AcceptableResponseSchema} {
			if v != trimXMLSpace(v) || !utf8.ValidString(v) || len(v) > 4096*4 {
				t.Fatalf("field %q is not trimmed, valid UTF-8 and bounded", v)
			}
		}
	})
}

// FuzzResponseEscaping: whatever a display name or address holds, the
// answer is well-formed XML that gives the same values back.
func FuzzResponseEscaping(f *testing.F) {
	f.Add("Me & <You>", "a@b.example")
	f.Add("]]>\"'", "<x>@y")
	f.Add("\x00\x1b", "\uFFFE")
	f.Fuzz(func(t *testing.T, name, addr string) {
		doc := MobileSyncSettingsResponse(name, addr, "https://m.example/Microsoft-Server-ActiveSync")
		var v struct {
			Response struct {
				User struct{ DisplayName, EMailAddress string }
			}
		}
		if err := xml.Unmarshal(doc, &v); err != nil {
			t.Fatalf("answer is not well-formed: %v\n%s", err, doc)
		}
		if want := xmlText(name); v.Response.User.DisplayName != want {
			t.Fatalf("DisplayName %q came back as %q", want, v.Response.User.DisplayName)
		}
	})
}

// xmlText is what an XML reader gives back for s after encoding/xml
// escaped it: every byte of invalid UTF-8, and every character XML cannot
// carry, becomes U+FFFD.
func xmlText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if !isXMLChar(r) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
		s = s[size:]
	}
	return b.String()
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
