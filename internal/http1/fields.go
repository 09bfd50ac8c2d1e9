package http1

import "github.com/stoahttp/stoa/internal/reqfield"

// field records one field line with a name stoa reads; v is the value
// without surrounding OWS. The framing fields are HTTP/1.1's own; the rest
// go to r.Fields, whose policy is the same for every protocol.
func (p *parser) field(r *Request, id reqfield.ID, v []byte) error {
	switch id {
	case reqfield.Host:
		// RFC 9112 §3.2: a server MUST respond with 400 to a request
		// with more than one Host field line or an invalid Host.
		if r.HasHost {
			return errDuplicateHost
		}
		if len(v) > 0 && !validAuthority(v, portOptional) {
			return errInvalidHost
		}
		r.HasHost = true
		if r.Form != FormAbsolute { // the target's authority wins (§3.2.2)
			r.Host = v
		}
	case reqfield.ContentLength:
		n, err := parseContentLength(v)
		if err != nil {
			return err
		}
		if r.ContentLength >= 0 && n != r.ContentLength {
			return errCLConflict
		}
		r.ContentLength = n
	case reqfield.TransferEncoding:
		// RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding
		// must be treated as having faulty framing.
		if r.Minor == 0 {
			return errTEInHTTP10
		}
		return p.codings.add(v)
	case reqfield.Connection:
		p.connection.add(v)
	case reqfield.KeepAlive, reqfield.ProxyConnection, reqfield.Upgrade, reqfield.TE:
		// Hop-by-hop fields of a connection this server never upgrades
		// or forwards.
	default:
		r.Fields.Add(id, v)
	}
	return nil
}

// parseContentLength parses Content-Length = 1*DIGIT (RFC 9110 §8.6). A
// list of identical values, which an upstream may produce by combining
// lines, is accepted as that value; differing values are a framing
// conflict and anything else is invalid, both answered with 400
// (RFC 9112 §6.3) because guessing is how requests get smuggled.
func parseContentLength(v []byte) (int64, error) {
	n := int64(-1)
	l := listElements{rest: v}
	for e, ok := l.next(); ok; e, ok = l.next() {
		if len(e) == 0 {
			return 0, errContentLength
		}
		var x int64
		for _, c := range e {
			if !isDigit(c) {
				return 0, errContentLength
			}
			x = x*10 + int64(c-'0')
			if x > maxContentLength {
				return 0, errContentLength
			}
		}
		if n >= 0 && x != n {
			return 0, errCLConflict
		}
		n = x
	}
	return n, nil
}

// codingState accumulates the transfer codings of all Transfer-Encoding
// field lines, in order (RFC 9112 §6.1).
type codingState struct {
	present bool // a Transfer-Encoding field line was seen
	chunked bool // chunked was seen, and so far nothing after it
	other   bool // a coding other than chunked was seen
}

// add records the codings listed in one Transfer-Encoding field value.
// Violations that no later line can repair are reported at once; an
// unsupported coding is reported when the head is complete, after the
// framing checks.
func (s *codingState) add(v []byte) error {
	s.present = true
	l := listElements{rest: v}
	for e, ok := l.next(); ok; e, ok = l.next() {
		if equalLower(e, "chunked") {
			// RFC 9112 §6.1: a sender MUST NOT apply chunked more
			// than once.
			if s.chunked {
				return errChunkedTwice
			}
			s.chunked = true
			continue
		}
		if !validTransferCoding(e) {
			return errTEInvalid
		}
		// RFC 9112 §6.3: chunked must be the final coding of a request,
		// otherwise its length cannot be determined: 400.
		if s.chunked {
			return errChunkedNotLast
		}
		s.other = true
	}
	return nil
}

// validTransferCoding checks the shape of a transfer-coding other than
// chunked: token *( OWS ";" OWS transfer-parameter ). Parameters are not
// examined further, since any such coding is refused with 501 anyway.
func validTransferCoding(e []byte) bool {
	j := 0
	for j < len(e) && isTchar(e[j]) {
		j++
	}
	if j == 0 {
		return false
	}
	rest := trimOWS(e[j:])
	return len(rest) == 0 || rest[0] == ';'
}

// connectionOptions accumulates the options of all Connection field lines
// (RFC 9110 §7.6.1).
type connectionOptions struct {
	close, keepAlive bool
}

// add records the options listed in one Connection field value. Options
// other than close and keep-alive are ignored: they only name hop-by-hop
// fields, and a static server forwards nothing.
func (c *connectionOptions) add(v []byte) {
	l := listElements{rest: v}
	for e, ok := l.next(); ok; e, ok = l.next() {
		switch {
		case equalLower(e, "close"):
			c.close = true
		case equalLower(e, "keep-alive"):
			c.keepAlive = true
		}
	}
}

// finish applies the rules that need the whole head.
func (p *parser) finish(r *Request) error {
	// RFC 9112 §3.2: a server MUST respond with 400 to an HTTP/1.1
	// request without a Host field, even in the absolute-form.
	if r.Minor == 1 && !r.HasHost {
		return errMissingHost
	}
	if p.codings.present {
		// RFC 9112 §6.1 lets a server reject a request carrying both:
		// with two framings, some hop may pick the other one.
		if r.ContentLength >= 0 {
			return errTEAndCL
		}
		// RFC 9112 §6.1: a server SHOULD answer a transfer coding it
		// does not understand with 501.
		if p.codings.other || !p.codings.chunked {
			return errTEUnsupported
		}
		r.Chunked = true
	}
	// RFC 9112 §9.3: HTTP/1.1 defaults to persistent connections, 1.0 to
	// closing them unless the client asked for keep-alive (§C.2.2).
	// A server MUST ignore a 100-continue expectation in an HTTP/1.0
	// request (RFC 9110 §10.1.1).
	e := r.Fields.Expect()
	r.ExpectContinue = e.Continue && r.Minor == 1
	r.ExpectOther = e.Other
	if r.Minor == 0 {
		r.KeepAlive = p.connection.keepAlive && !p.connection.close
		r.Close = !r.KeepAlive
	} else {
		r.Close = p.connection.close
	}
	return nil
}
