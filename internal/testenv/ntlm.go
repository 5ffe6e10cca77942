package testenv

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"unicode/utf16"

	"github.com/autodiscover-go/autodiscover/internal/pox"
	"golang.org/x/crypto/md4" //lint:ignore SA1019 NTLM is defined over MD4
)

// NTLM is a handler playing an AutoDiscover endpoint that speaks only
// NTLM (NTLMv2, [MS-NLMP]): 401 "WWW-Authenticate: NTLM", a CHALLENGE
// message for a NEGOTIATE, and for an AUTHENTICATE whose NTLMv2 response
// proves the password, answer(email).
type NTLM struct {
	User, Password string
	Answer         func(w http.ResponseWriter, r *http.Request, email string)
}

// serverChallenge is fixed: tests need no replay protection.
var serverChallenge = []byte{1, 2, 3, 4, 5, 6, 7, 8}

func (n *NTLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
	if (!strings.EqualFold(scheme, "NTLM") && !strings.EqualFold(scheme, "Negotiate")) || err != nil ||
		len(msg) < 12 || string(msg[:8]) != "NTLMSSP\x00" {
		w.Header().Set("WWW-Authenticate", "NTLM")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch binary.LittleEndian.Uint32(msg[8:12]) {
	case 1:
		w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(challengeMessage()))
		w.WriteHeader(http.StatusUnauthorized)
	case 3:
		if !n.verify(msg) {
			w.Header().Set("WWW-Authenticate", "NTLM")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		req, err := pox.ParseRequest(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n.Answer(w, r, req.EMailAddress)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// challengeMessage is a CHALLENGE message without version: Unicode,
// NTLM, extended session security, an empty target info.
func challengeMessage() []byte {
	const (
		flagUnicode    = 1 << 0
		flagReqTarget  = 1 << 2
		flagNTLM       = 1 << 9
		flagESS        = 1 << 19
		flagTargetInfo = 1 << 23
	)
	var b bytes.Buffer
	b.WriteString("NTLMSSP\x00")
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	le(uint32(2))
	le(uint16(0)) // TargetName: empty, at the end of the header
	le(uint16(0))
	le(uint32(48))
	le(uint32(flagUnicode | flagReqTarget | flagNTLM | flagESS | flagTargetInfo))
	b.Write(serverChallenge)
	b.Write(make([]byte, 8))
	le(uint16(4)) // TargetInfo: MsvAvEOL only
	le(uint16(4))
	le(uint32(48))
	b.Write([]byte{0, 0, 0, 0})
	return b.Bytes()
}

// verify checks the NTLMv2 response of an AUTHENTICATE message.
func (n *NTLM) verify(msg []byte) bool {
	field := func(off int) []byte {
		if len(msg) < off+8 {
			return nil
		}
		l := int(binary.LittleEndian.Uint16(msg[off:]))
		o := int(binary.LittleEndian.Uint32(msg[off+4:]))
		if o+l > len(msg) {
			return nil
		}
		return msg[o : o+l]
	}
	nt, domain, user := field(20), fromUTF16(field(28)), fromUTF16(field(36))
	if len(nt) <= 16 || !strings.EqualFold(user, n.User) {
		return false
	}
	h := md4.New()
	h.Write(toUTF16(n.Password))
	v2 := hmacMD5(h.Sum(nil), toUTF16(strings.ToUpper(user)+domain))
	return hmac.Equal(nt[:16], hmacMD5(v2, serverChallenge, nt[16:]))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

func toUTF16(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func fromUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}
