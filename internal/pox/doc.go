// Package pox reads and writes the Plain Old XML (POX) AutoDiscover
// documents: the Outlook schema of [MS-OXDSCLI] (request schema
// outlook/requestschema/2006, response schema outlook/responseschema/2006a)
// and the ActiveSync schema of [MS-ASCMD] 2.2.1.1 (mobilesync/requestschema/2006,
// mobilesync/responseschema/2006).
//
// Requests are read leniently, the way real clients send them: any
// encoding declaration, a byte order mark, whitespace before the XML
// declaration, elements in any order, with or without a namespace or with a
// prefix. Document type declarations are refused, so entity tricks never
// reach the decoder. Responses are written strictly: an XML declaration,
// unprefixed default namespaces (the EWS Managed API insists on both) and
// UTF-8 without a byte order mark.
//
// The package never touches the network: callers bound what they read.
package pox

// Namespaces of the POX documents. The wire values use http://, never
// https:// (see docs/protocol.md).
const (
	// NSResponse is the namespace of every response's root element and of
	// the generic error Response.
	NSResponse = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	// NSOutlookRequest is the namespace of an Outlook request.
	NSOutlookRequest = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	// NSOutlookResponse is the Outlook response schema, also the value of
	// AcceptableResponseSchema that asks for it.
	NSOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	// NSMobileSyncRequest is the namespace of an ActiveSync request.
	NSMobileSyncRequest = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
	// NSMobileSyncResponse is the ActiveSync response schema, also the value
	// of AcceptableResponseSchema that asks for it.
	NSMobileSyncResponse = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
)

// Schema names a response schema a client can ask for.
type Schema int

// The response schemas.
const (
	SchemaUnknown    Schema = iota // anything else: answered with error 601
	SchemaOutlook                  // outlook/responseschema/2006a
	SchemaMobileSync               // mobilesync/responseschema/2006
)

// String returns the schema's short name, as used in logs and flags.
func (s Schema) String() string {
	switch s {
	case SchemaOutlook:
		return "outlook"
	case SchemaMobileSync:
		return "mobilesync"
	}
	return "unknown"
}

// Namespace returns the schema's namespace URI, or "" for SchemaUnknown.
func (s Schema) Namespace() string {
	switch s {
	case SchemaOutlook:
		return NSOutlookResponse
	case SchemaMobileSync:
		return NSMobileSyncResponse
	}
	return ""
}

// ParseSchema maps an AcceptableResponseSchema value to a Schema. Surrounding
// white space is ignored (the WorkMail sample puts the URI on its own
// indented line), and the https:// spelling that Microsoft's web pages print
// is accepted as the same URI.
func ParseSchema(uri string) Schema {
	u := trimXMLSpace(uri)
	if rest, ok := cutPrefixFold(u, "https://"); ok {
		u = "http://" + rest
	}
	switch u {
	case NSOutlookResponse:
		return SchemaOutlook
	case NSMobileSyncResponse:
		return SchemaMobileSync
	}
	return SchemaUnknown
}
