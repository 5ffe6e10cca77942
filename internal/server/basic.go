package server

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// basicCredentials parses a Basic Authorization header. The scheme is
// matched case-insensitively. The decoded token is read as UTF-8 and, when
// it is not valid UTF-8, as ISO-8859-1 (older Outlook versions send that).
// ok is false for a missing header, another scheme, or a malformed token;
// present tells a malformed Basic token from no Basic token at all.
func basicCredentials(header string) (user, password string, present, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		return "", "", true, false
	}
	var s string
	if utf8.Valid(raw) {
		s = string(raw)
	} else {
		s = latin1(raw)
	}
	user, password, found = strings.Cut(s, ":")
	if !found || user == "" {
		return "", "", true, false
	}
	return user, password, true, true
}

// latin1 decodes ISO-8859-1: every byte is the code point of the same value.
func latin1(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}
