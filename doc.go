// Package autodiscover finds the Exchange AutoDiscover endpoint of a
// mailbox and reads its settings (the ActiveSync URL, the EWS, OAB and OOF
// URLs, the IMAP, POP3 and SMTP servers), the way a careful mail client
// does, and explains every step it took.
//
// # Phases
//
// [Client.Discover] tries, in this order of priority ([MS-OXDISCO],
// [MS-OXDSCLI], Microsoft's "Autodiscover for Exchange"):
//
//  1. SCP: the serviceConnectionPoint objects of an Active Directory, when
//     [Client.SCP] names one (pointers followed, URLs ordered by AD site);
//  2. POST to https://DOMAIN/autodiscover/autodiscover.xml and to
//     https://autodiscover.DOMAIN/autodiscover/autodiscover.xml;
//  3. an unauthenticated GET of http://autodiscover.DOMAIN/autodiscover/autodiscover.xml
//     whose 301/302/307 to an https:// AutoDiscover path becomes a candidate;
//  4. the _autodiscover._tcp.DOMAIN SRV record, in RFC 2782 order, port 443 only.
//
// The candidates run concurrently, staggered by [Client.Stagger]. An answer
// wins when every higher-priority candidate has failed, or when none of
// them has answered within [Client.Grace] after it; the others are then
// cancelled. A host that drops packets therefore delays a lower-priority
// answer by at most the grace period, not by its timeout.
//
// Redirects of every kind (HTTP 301/302/303/307/308 to the POST, which
// re-POSTs the same body; Outlook redirectUrl and redirectAddr; the
// ActiveSync Redirect) share one budget of [MaxHops] and are checked for
// loops. After an address redirect the original credentials are used.
//
// # Safety
//
// One trust gate decides every hop. Credentials (HTTP Basic) are sent only
// over https:// with a certificate verified against [Client.TLSConfig]'s
// roots, and only to hosts in the registrable domain of the address
// (compared with the public suffix list), to URLs read from a TLS-protected
// directory, to [Client.AllowedHosts], or to hosts [Client.Consent]
// accepts. Discovery never tries a parent domain or a public suffix
// (autodiscover.co.uk), never sends credentials to http://, never follows a
// redirect on net/http's own, and never downgrades a host that offered a
// stronger scheme to Basic unless the host is in the user's domain. The
// password never appears in errors, traces, logs or JSON.
//
// A 401 from one endpoint is not a verdict: [ErrCredentialsRejected] is
// returned only when every endpoint that was reached refused the
// credentials, and [ErrUnsupportedAuth] when the endpoints offer only
// schemes this package does not speak (Bearer; NTLM and Negotiate are
// answered with NTLMv2 unless [Client.DisableNTLM] is set). An error
// document 500, 501 or 602 from a trusted endpoint is the domain's final
// word ([ErrAddressNotFound]); 600, 601, other statuses, TLS and network
// failures move on to the next candidate.
//
// # Troubleshooting
//
// Every request is recorded in [Result.Trace] as an [Attempt] (method, URL,
// DNS answer, TLS facts, HTTP status, the schemes offered, the redirect,
// the duration and the error); [Client.Trace] receives them as they end.
// [Client.Fetch], [Client.Dial] and [Client.Handshake] are the building
// blocks of "autodiscover check".
package autodiscover
