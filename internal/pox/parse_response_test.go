package pox

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// seedResponse is the WorkMail troubleshooting answer (cases/seed-response.xml),
// byte for byte.
const seedResponse = `<?xml version="1.0" encoding="UTF-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
    <Culture>en:us</Culture>
    <User>
        <DisplayName>User1</DisplayName>
        <EMailAddress>testuser@company.tld</EMailAddress>
    </User>
    <Action>
        <Settings>
            <Server>
                <Type>MobileSync</Type>
                <Url>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Url>
                <Name>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Name>
            </Server>
        </Settings>
    </Action>
</Response>
</Autodiscover>
`

const activeSyncURL = "https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync"

var parseResponseTests = []struct {
	name string
	body string
	want *Response // nil: an error wrapping ErrInvalidResponse
}{
	{"workmail mobilesync", seedResponse, &Response{
		Schema: SchemaMobileSync, Culture: "en:us", DisplayName: "User1", Address: "testuser@company.tld",
		Action: "settings", Servers: []Server{{Type: "MobileSync", URL: activeSyncURL, Name: activeSyncURL}},
	}},
	{"mobilesync redirect (MS-ASCMD 2.2.3.147)", `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
 <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
  <Culture>en:us</Culture><User><EMailAddress>chris@woodgrovebank.com</EMailAddress></User>
  <Action><Redirect>chris@contoso.com</Redirect></Action>
 </Response>
</Autodiscover>`, &Response{
		Schema: SchemaMobileSync, Culture: "en:us", Address: "chris@woodgrovebank.com",
		Action: "redirect", RedirectAddr: "chris@contoso.com",
	}},
	{"mobilesync Action/Error (MS-ASCMD 4.2.2)", `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
 <Culture>en:us</Culture><User><EMailAddress>chris@woodgrovebank.com</EMailAddress></User>
 <Action><Error><Status>2</Status><Message>The directory service could not be reached</Message><DebugData>MailUser</DebugData></Error></Action>
</Response></Autodiscover>`, &Response{
		Schema: SchemaMobileSync, Culture: "en:us", Address: "chris@woodgrovebank.com", Action: "error",
		Error: &ResponseError{Status: 2, Message: "The directory service could not be reached", DebugData: "MailUser"},
	}},
	{"generic Response/Error 600 (MS docs error example)", `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
    <Error Time="21:25:04.8897083" Id="4130155072">
      <ErrorCode>600</ErrorCode><Message>Invalid Request</Message><DebugData />
    </Error>
  </Response>
</Autodiscover>`, &Response{Schema: SchemaUnknown, Error: &ResponseError{Code: 600, Message: "Invalid Request"}}},
	{"outlook redirectAddr (MS-OXDSCLI 4.2)", `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
    <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
      <Account><Action>redirectAddr</Action><RedirectAddr>user@subdomain.contoso.com</RedirectAddr></Account>
    </Response>
  </Autodiscover>`, &Response{Schema: SchemaOutlook, Action: "redirectAddr", RedirectAddr: "user@subdomain.contoso.com"}},
	{"outlook RedirectURL spelling, prefixed elements", `<?xml version="1.0"?>
<a:Autodiscover xmlns:a="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
 <o:Response xmlns:o="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
  <o:Account><o:Action>redirectUrl</o:Action><o:RedirectURL> https://mail.contoso.com/autodiscover/autodiscover.xml </o:RedirectURL></o:Account>
 </o:Response></a:Autodiscover>`, &Response{Schema: SchemaOutlook, Action: "redirectUrl",
		RedirectURL: "https://mail.contoso.com/autodiscover/autodiscover.xml"}},
	{"outlook settings with protocols, https namespace, mapiHttp attribute", `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="https://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="https://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
 <User><DisplayName>Chris Gray</DisplayName><LegacyDN>/o=First/cn=chris</LegacyDN><AutoDiscoverSMTPAddress>chris@contoso.com</AutoDiscoverSMTPAddress></User>
 <Account><AccountType>email</AccountType><Action>settings</Action>
  <Protocol><Type>EXPR</Type><Server>mail.contoso.com</Server><SSL>On</SSL><AuthPackage>Basic</AuthPackage>
   <ASUrl>https://mail.contoso.com/EWS/Exchange.asmx</ASUrl><EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl>
   <OOFUrl>https://mail.contoso.com/EWS/Exchange.asmx</OOFUrl><OABUrl>https://mail.contoso.com/OAB/x/</OABUrl>
   <Internal><Protocol><Type>WEB</Type><ASUrl>https://internal/</ASUrl></Protocol></Internal></Protocol>
  <Protocol Type="mapiHttp" Version="1"><MailStore><ExternalUrl>https://mail.contoso.com/mapi/</ExternalUrl></MailStore></Protocol>
  <Protocol><Type>IMAP</Type><Server>imap.contoso.com</Server><Port>993</Port><LoginName>chris</LoginName><SSL>on</SSL><Encryption>SSL</Encryption><SPA>off</SPA><DomainRequired>off</DomainRequired></Protocol>
  <Protocol><Type>SMTP</Type><Server>smtp.contoso.com</Server><Port>x</Port></Protocol>
 </Account>
</Response></Autodiscover>`, &Response{
		Schema: SchemaOutlook, DisplayName: "Chris Gray", LegacyDN: "/o=First/cn=chris", Address: "chris@contoso.com", Action: "settings",
		Protocols: []Protocol{
			{Type: "EXPR", Server: "mail.contoso.com", SSL: "On", AuthPackage: "Basic",
				ASURL: "https://mail.contoso.com/EWS/Exchange.asmx", EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx",
				OOFURL: "https://mail.contoso.com/EWS/Exchange.asmx", OABURL: "https://mail.contoso.com/OAB/x/"},
			{Type: "mapiHttp"},
			{Type: "IMAP", Server: "imap.contoso.com", Port: 993, LoginName: "chris", SSL: "on", Encryption: "SSL", SPA: "off", DomainRequired: "off"},
			{Type: "SMTP", Server: "smtp.contoso.com"},
		},
	}},
	{"UTF-8 byte order mark and leading space", "\xEF\xBB\xBF \n" + `<Autodiscover><Response><Error><ErrorCode>500</ErrorCode></Error></Response></Autodiscover>`,
		&Response{Error: &ResponseError{Code: 500}}},
	{"HTML page", "<!DOCTYPE html>\n<html><body>It works!</body></html>", nil},
	{"HTML without doctype", "<html><head><title>Welcome</title></head><body></body></html>", nil},
	{"doctype with entity", `<?xml version="1.0"?><!DOCTYPE Autodiscover [<!ENTITY x "y">]><Autodiscover><Response/></Autodiscover>`, nil},
	{"no Response", `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"/>`, nil},
	{"two roots", `<Autodiscover><Response/></Autodiscover><Autodiscover/>`, nil},
	{"truncated", `<Autodiscover><Response><User>`, nil},
	{"text before the root", `HTTP/1.1 200 OK <Autodiscover><Response/></Autodiscover>`, nil},
	{"text after the root", `<Autodiscover><Response/></Autodiscover> trailing`, nil},
	{"empty", "", nil},
	{"JSON", `{"Protocol":"ActiveSync","Url":"https://x/"}`, nil},
	{"too deep", "<Autodiscover><Response>" + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + "</Response></Autodiscover>", nil},
	{"text too long", "<Autodiscover><Response><Culture>" + strings.Repeat("x", maxText+1) + "</Culture></Response></Autodiscover>", nil},
}

func TestParseResponse(t *testing.T) {
	for _, tt := range parseResponseTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse(strings.NewReader(tt.body))
			if tt.want == nil {
				if !errors.Is(err, ErrInvalidResponse) {
					t.Fatalf("ParseResponse() = %+v, %v; want an error wrapping ErrInvalidResponse", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseResponse() error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseResponse() =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestParseResponseReadsOurWriters reads back what the server writes: the
// client and the server agree on every field both sides use.
func TestParseResponseReadsOurWriters(t *testing.T) {
	ews := "https://ews.mail.us-east-1.awsapps.com/EWS/Exchange.asmx"
	tests := []struct {
		name string
		doc  []byte
		want *Response
	}{
		{"mobilesync settings", MobileSyncSettingsResponse("User1", "testuser@company.tld", activeSyncURL), &Response{
			Schema: SchemaMobileSync, Culture: "en:us", DisplayName: "User1", Address: "testuser@company.tld",
			Action: "settings", Servers: []Server{{Type: "MobileSync", URL: activeSyncURL, Name: activeSyncURL}},
		}},
		{"mobilesync redirect", MobileSyncRedirectResponse("a@company.tld", "a@other.tld"), &Response{
			Schema: SchemaMobileSync, Culture: "en:us", Address: "a@company.tld", Action: "redirect", RedirectAddr: "a@other.tld",
		}},
		{"outlook redirectUrl", OutlookRedirectURLResponse("https://x.company.tld/autodiscover/autodiscover.xml"), &Response{
			Schema: SchemaOutlook, Action: "redirectUrl", RedirectURL: "https://x.company.tld/autodiscover/autodiscover.xml",
		}},
		{"outlook redirectAddr", OutlookRedirectAddrResponse("u@company.tld"), &Response{
			Schema: SchemaOutlook, Action: "redirectAddr", RedirectAddr: "u@company.tld",
		}},
		{"outlook settings", OutlookSettingsResponse(OutlookSettings{DisplayName: "User1", Address: "testuser@company.tld", EWSURL: ews,
			Mail: []MailServer{{Type: "IMAP", Host: "imap.mail.us-east-1.awsapps.com", Port: 993, TLS: TLSImplicit, LoginName: "testuser@company.tld"}}}),
			&Response{Schema: SchemaOutlook, DisplayName: "User1", Address: "testuser@company.tld", Action: "settings",
				Protocols: []Protocol{
					{Type: "EXCH", Server: "ews.mail.us-east-1.awsapps.com", ASURL: ews, EWSURL: ews},
					{Type: "EXPR", Server: "ews.mail.us-east-1.awsapps.com", SSL: "on", AuthPackage: "Basic", ASURL: ews, EWSURL: ews},
					{Type: "IMAP", Server: "imap.mail.us-east-1.awsapps.com", Port: 993, LoginName: "testuser@company.tld",
						SSL: "on", Encryption: "SSL", SPA: "off", DomainRequired: "off"},
				}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse(strings.NewReader(string(tt.doc)))
			if err != nil {
				t.Fatalf("ParseResponse() error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseResponse() =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
	t.Run("error 500", func(t *testing.T) {
		got, err := ParseResponse(strings.NewReader(string(ErrorResponse(CodeNotFound, MessageNotFound))))
		if err != nil || got.Error == nil || got.Error.Code != 500 || got.Error.Message != MessageNotFound {
			t.Fatalf("ParseResponse(ErrorResponse(500)) = %+v, %v", got, err)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, tt := range parseResponseTests {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(strings.NewReader(string(body)))
		if err != nil {
			if !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("error %v does not wrap ErrInvalidResponse", err)
			}
			if r != nil {
				t.Fatalf("non-nil response with error")
			}
			return
		}
		if r == nil {
			t.Fatal("nil response without error")
		}
		if r.Error != nil && (r.Error.Code < 0 || r.Error.Status < 0) {
			t.Fatalf("negative code: %+v", r.Error)
		}
	})
}
