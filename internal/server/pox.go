package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/autodiscover-go/autodiscover/internal/auth"
	"github.com/autodiscover-go/autodiscover/internal/directory"
	"github.com/autodiscover-go/autodiscover/internal/pox"
	"github.com/autodiscover-go/autodiscover/internal/settings"
)

// handlePOX answers POST (and GET) on /autodiscover/autodiscover.xml.
func (s *Server) handlePOX(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodHead:
	default:
		w.Header().Set("Allow", "POST, GET, HEAD")
		setOutcome(r, "method_not_allowed")
		http.Error(w, "405 method not allowed: POST an AutoDiscover request", http.StatusMethodNotAllowed)
		return
	}
	st := s.State()
	user, ok := s.authenticate(w, r, st)
	if !ok {
		return
	}
	if r.Method != http.MethodPost {
		// An authenticated GET is not a request at all.
		s.writeError(w, r, pox.CodeInvalidRequest, pox.MessageInvalidRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			setOutcome(r, "body_too_large")
			http.Error(w, "413 request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		// The client was too slow or went away: not an invalid request.
		setOutcome(r, "body_read_failed")
		s.log.Debug("reading the request body", "client", clientIP(r), "error", err)
		w.Header().Set("Connection", "close")
		http.Error(w, "408 request timeout: the body did not arrive", http.StatusRequestTimeout)
		return
	}
	req, err := pox.ParseRequest(bytes.NewReader(body))
	if err != nil {
		s.log.Debug("unreadable request", "client", clientIP(r), "error", err)
		s.writeError(w, r, pox.CodeInvalidRequest, pox.MessageInvalidRequest)
		return
	}
	schema := req.Schema()
	setSchema(r, schema.String())
	if req.AcceptableResponseSchema == "" {
		s.writeError(w, r, pox.CodeInvalidRequest, pox.MessageInvalidRequest)
		return
	}
	if schema == pox.SchemaUnknown {
		s.writeError(w, r, pox.CodeNoProvider, pox.MessageNoProvider)
		return
	}
	s.answer(w, r, st, user, req, schema)
}

// answer writes the settings (or redirect) for the address the request
// names, when the authenticated user may see it.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, st *State, user *directory.User, req *pox.Request, schema pox.Schema) {
	asked := req.EMailAddress
	if asked == "" && req.LegacyDN == "" {
		asked = user.Address // no address: the authenticated user's own
	}
	addr, err := directory.NormalizeAddress(asked)
	if err != nil {
		s.writeNotFound(w, r, schema, asked)
		return
	}
	canonical, domain, ok := st.Domains.Canonical(addr)
	if !ok {
		s.writeNotFound(w, r, schema, addr)
		return
	}
	setDomain(r, domain.Name)
	owner, err := st.Directory.Lookup(r.Context(), canonical)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		s.writeNotFound(w, r, schema, addr)
		return
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	// A user sees its own address and its aliases, nothing else; anything
	// else reads exactly like an address that does not exist.
	if owner.Address != user.Address {
		s.writeNotFound(w, r, schema, addr)
		return
	}
	set := domain.For(owner)
	switch schema {
	case pox.SchemaOutlook:
		s.answerOutlook(w, r, &set)
	case pox.SchemaMobileSync:
		s.answerMobileSync(w, r, &set)
	}
}

func (s *Server) answerOutlook(w http.ResponseWriter, r *http.Request, set *settings.Settings) {
	switch {
	case set.RedirectURL != "":
		setOutcome(r, "redirect_url")
		writeXML(w, pox.OutlookRedirectURLResponse(set.RedirectURL))
	case set.RedirectAddr != "":
		setOutcome(r, "redirect_addr")
		writeXML(w, pox.OutlookRedirectAddrResponse(set.RedirectAddr))
	default:
		setOutcome(r, "settings")
		writeXML(w, pox.OutlookSettingsResponse(pox.OutlookSettings{
			DisplayName: set.DisplayName, Address: set.Address,
			EWSURL: set.EWSURL, OABURL: set.OABURL, OOFURL: set.OOFURL,
			Mail: set.OutlookMail(),
		}))
	}
}

func (s *Server) answerMobileSync(w http.ResponseWriter, r *http.Request, set *settings.Settings) {
	switch {
	case set.RedirectURL != "":
		// MobileSync has no redirectUrl action: the URL redirect is a 302,
		// which clients answer by re-POSTing the same request there.
		setOutcome(r, "redirect_url")
		noStore(w)
		w.Header().Set("Location", set.RedirectURL)
		w.WriteHeader(http.StatusFound)
	case set.RedirectAddr != "":
		setOutcome(r, "redirect_addr")
		writeXML(w, pox.MobileSyncRedirectResponse(set.Address, set.RedirectAddr))
	case set.ActiveSyncURL == "":
		s.writeError(w, r, pox.CodeNoProvider, pox.MessageNoProvider)
	default:
		setOutcome(r, "settings")
		writeXML(w, pox.MobileSyncSettingsResponse(set.DisplayName, set.Address, set.ActiveSyncURL))
	}
}

// authenticate demands Basic credentials and checks them. It writes the
// answer itself (401 or 503) when it returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, st *State) (*directory.User, bool) {
	login, password, present, ok := basicCredentials(r.Header.Get("Authorization"))
	if !present {
		// No credentials, or a scheme we do not speak: a challenge, not a
		// failed login.
		setOutcome(r, "challenge")
		s.challenge(w)
		return nil, false
	}
	client := clientIP(r)
	if !ok {
		s.loginFailed(w, r, client, "", "malformed Basic credentials")
		return nil, false
	}
	login = directory.NormalizeLogin(login)
	if canonical, _, ok := st.Domains.Canonical(login); ok {
		login = canonical // an address at an alias domain logs in as its canonical address
	}
	user, err := st.Verifier.Verify(r.Context(), login, password, client)
	switch {
	case err == nil:
		setUser(r, user.Address)
		return user, true
	case errors.Is(err, directory.ErrBadCredentials):
		s.loginFailed(w, r, client, login, "bad credentials")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		setOutcome(r, "client_gone")
	case errors.Is(err, auth.ErrBusy):
		setOutcome(r, "busy")
		s.log.Warn("too many password checks in progress", "client", client)
		s.retryLater(w)
	default:
		s.unavailable(w, r, err)
	}
	return nil, false
}

// loginFailed logs a failed login on a line of its own, in a fixed shape
// fail2ban can match (msg="login failed" client=ADDRESS), and answers the
// same 401 as a request without credentials.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, client, login, reason string) {
	setOutcome(r, "login_failed")
	s.log.Warn("login failed", "client", client, "user", login, "reason", reason)
	s.challenge(w)
}

const unauthorizedBody = "401 Unauthorized: send the mailbox's credentials with HTTP Basic authentication\n"

// challenge writes the one 401 every unauthenticated or failed request
// gets: same status, headers and body whatever the reason, so an answer
// never tells an unknown user from a wrong password.
func (s *Server) challenge(w http.ResponseWriter) {
	h := w.Header()
	// Set directly, to keep the spelling RFC 9110 and Exchange use
	// (Header.Set would write "Www-Authenticate").
	h["WWW-Authenticate"] = []string{`Basic realm="` + s.opts.Realm + `", charset="UTF-8"`}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	noStore(w)
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(unauthorizedBody))
}

// unavailable answers a fault on our side: not a document but a 503, so
// clients move on to their next candidate.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	setOutcome(r, "unavailable")
	s.log.Error("directory unavailable", "client", clientIP(r), "error", err)
	s.retryLater(w)
}

// retryLater writes the 503 that sends clients to their next candidate.
func (s *Server) retryLater(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.RetryAfter.Seconds())))
	noStore(w)
	http.Error(w, "503 service unavailable: try again later", http.StatusServiceUnavailable)
}

// writeNotFound writes error 500 in the shape of the schema.
func (s *Server) writeNotFound(w http.ResponseWriter, r *http.Request, schema pox.Schema, addr string) {
	setOutcome(r, "error_500")
	if schema == pox.SchemaMobileSync {
		writeXML(w, pox.MobileSyncNotFoundResponse(addr))
		return
	}
	writeXML(w, pox.ErrorResponse(pox.CodeNotFound, pox.MessageNotFound))
}

// writeError writes a Response/Error document. Error documents go with
// HTTP 200, as Exchange sends them.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, code int, message string) {
	setOutcome(r, "error_"+strconv.Itoa(code))
	writeXML(w, pox.ErrorResponse(code, message))
}

func writeXML(w http.ResponseWriter, doc []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	noStore(w)
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "private, no-store") }
