package http1

// fieldID names the fields Parse interprets; all others are only validated.
type fieldID uint8

const (
	fieldOther fieldID = iota
	fieldHost
	fieldContentLength
	fieldTransferEncoding
	fieldConnection
	fieldExpect
	fieldIfModifiedSince
	fieldIfUnmodifiedSince
	fieldIfRange
	fieldRange
	fieldUserAgent
	fieldReferer
	fieldAuthorization
	fieldOrigin
	fieldACRequestMethod
	// The list fields combined in Request.scratch; keep them contiguous
	// and last, see listIndex.
	fieldIfMatch
	fieldIfNoneMatch
	fieldAccept
	fieldAcceptEncoding
	fieldACRequestHeaders
	fieldXForwardedFor
	numFields
)

// numListFields is the number of list fields combined in scratch.
const numListFields = numFields - fieldIfMatch

// listIndex returns the scratch buffer index of a list field.
func listIndex(id fieldID) int { return int(id - fieldIfMatch) }

// fieldSet is a set of fieldIDs.
type fieldSet uint32

func (s fieldSet) has(id fieldID) bool { return s&(1<<id) != 0 }
func (s *fieldSet) add(id fieldID)     { *s |= 1 << id }

// lookupField identifies a field name case-insensitively (RFC 9110 §5.1).
// Switching on the length first keeps the common miss to one comparison.
func lookupField(name []byte) fieldID {
	switch len(name) {
	case 4:
		if equalName(name, "host") {
			return fieldHost
		}
	case 5:
		if equalName(name, "range") {
			return fieldRange
		}
	case 6:
		if equalName(name, "accept") {
			return fieldAccept
		}
		if equalName(name, "expect") {
			return fieldExpect
		}
		if equalName(name, "origin") {
			return fieldOrigin
		}
	case 7:
		if equalName(name, "referer") {
			return fieldReferer
		}
	case 8:
		if equalName(name, "if-match") {
			return fieldIfMatch
		}
		if equalName(name, "if-range") {
			return fieldIfRange
		}
	case 10:
		if equalName(name, "connection") {
			return fieldConnection
		}
		if equalName(name, "user-agent") {
			return fieldUserAgent
		}
	case 13:
		if equalName(name, "if-none-match") {
			return fieldIfNoneMatch
		}
		if equalName(name, "authorization") {
			return fieldAuthorization
		}
	case 14:
		if equalName(name, "content-length") {
			return fieldContentLength
		}
	case 15:
		if equalName(name, "accept-encoding") {
			return fieldAcceptEncoding
		}
		if equalName(name, "x-forwarded-for") {
			return fieldXForwardedFor
		}
	case 17:
		if equalName(name, "transfer-encoding") {
			return fieldTransferEncoding
		}
		if equalName(name, "if-modified-since") {
			return fieldIfModifiedSince
		}
	case 19:
		if equalName(name, "if-unmodified-since") {
			return fieldIfUnmodifiedSince
		}
	case 29:
		if equalName(name, "access-control-request-method") {
			return fieldACRequestMethod
		}
	case 30:
		if equalName(name, "access-control-request-headers") {
			return fieldACRequestHeaders
		}
	}
	return fieldOther
}

// field records one field line with an interpreted name; v is the value
// without surrounding OWS.
func (p *parser) field(r *Request, id fieldID, v []byte) error {
	repeated := p.seen.has(id)
	p.seen.add(id)
	switch id {
	case fieldHost:
		// RFC 9112 §3.2: a server MUST respond with 400 to a request
		// with more than one Host field line or an invalid Host.
		if repeated {
			return errDuplicateHost
		}
		if len(v) > 0 && !validAuthority(v, portOptional) {
			return errInvalidHost
		}
		r.HasHost = true
		if r.Form != FormAbsolute { // the target's authority wins (§3.2.2)
			r.Host = v
		}
	case fieldContentLength:
		n, err := parseContentLength(v)
		if err != nil {
			return err
		}
		if r.ContentLength >= 0 && n != r.ContentLength {
			return errCLConflict
		}
		r.ContentLength = n
	case fieldTransferEncoding:
		// RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding
		// must be treated as having faulty framing.
		if r.Minor == 0 {
			return errTEInHTTP10
		}
		return p.codings.add(v)
	case fieldConnection:
		p.connection.add(v)
	case fieldExpect:
		r.expect(v)
	case fieldIfModifiedSince:
		r.IfModifiedSince = singleton(v, repeated)
	case fieldIfUnmodifiedSince:
		r.IfUnmodifiedSince = singleton(v, repeated)
	case fieldRange, fieldIfRange:
		// Two ranges or two validators are ambiguous; without both
		// fields the server sends the whole representation, which is
		// always a correct answer (RFC 9110 §14.2).
		switch {
		case p.rangeDropped:
		case repeated:
			p.rangeDropped = true
			r.Range, r.IfRange = nil, nil
		case id == fieldRange:
			r.Range = v
		default:
			r.IfRange = v
		}
	case fieldUserAgent:
		if !repeated {
			r.UserAgent = v
		}
	case fieldReferer:
		if !repeated {
			r.Referer = v
		}
	case fieldAuthorization:
		r.Authorization = singleton(v, repeated)
	case fieldOrigin:
		r.Origin = singleton(v, repeated)
	case fieldACRequestMethod:
		r.ACRequestMethod = singleton(v, repeated)
	case fieldACRequestHeaders:
		r.ACRequestHeaders = p.combine(r, id, r.ACRequestHeaders, v)
	case fieldXForwardedFor:
		r.XForwardedFor = p.combine(r, id, r.XForwardedFor, v)
	case fieldIfMatch:
		r.IfMatch = p.combine(r, id, r.IfMatch, v)
	case fieldIfNoneMatch:
		r.IfNoneMatch = p.combine(r, id, r.IfNoneMatch, v)
	case fieldAccept:
		r.Accept = p.combine(r, id, r.Accept, v)
	case fieldAcceptEncoding:
		r.AcceptEncoding = p.combine(r, id, r.AcceptEncoding, v)
	}
	return nil
}

// singleton returns the value of a field that must occur once: a repeated
// one is dropped, since there is no way to tell which line is meant and
// ignoring a precondition such as If-Modified-Since is always safe.
func singleton(v []byte, repeated bool) []byte {
	if repeated {
		return nil
	}
	return v
}

// combine appends the value v of another field line of list field id to
// its current value cur, as "cur, v" (RFC 9110 §5.3), and returns the
// combined value. The first line's value is used in place; from the second
// non-empty one on, the value is built in r's scratch buffer for the field,
// which only this field ever appends to, so growing it cannot move memory
// that another returned slice aliases. Empty values contribute no list
// elements (RFC 9110 §5.6.1) and are skipped.
func (p *parser) combine(r *Request, id fieldID, cur, v []byte) []byte {
	if len(cur) == 0 {
		return v
	}
	if len(v) == 0 {
		return cur
	}
	k := listIndex(id)
	s := r.scratch[k]
	if !p.combined.has(id) {
		s = append(s[:0], cur...)
		p.combined.add(id)
	}
	s = append(s, ", "...)
	s = append(s, v...)
	r.scratch[k] = s
	return s[:len(s):len(s)]
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

// expect records the expectations listed in one Expect field value
// (RFC 9110 §10.1.1).
func (r *Request) expect(v []byte) {
	l := listElements{rest: v}
	for e, ok := l.next(); ok; e, ok = l.next() {
		switch {
		case len(e) == 0:
		case equalLower(e, "100-continue"):
			// A server MUST ignore a 100-continue expectation in an
			// HTTP/1.0 request.
			if r.Minor == 1 {
				r.ExpectContinue = true
			}
		default:
			r.ExpectOther = true
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
	if r.Minor == 0 {
		r.KeepAlive = p.connection.keepAlive && !p.connection.close
		r.Close = !r.KeepAlive
	} else {
		r.Close = p.connection.close
	}
	return nil
}
