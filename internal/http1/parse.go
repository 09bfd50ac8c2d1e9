package http1

import (
	"bytes"
	"encoding/binary"

	"github.com/stoahttp/stoa/internal/reqfield"
)

// Parse parses one request head at the start of buf into r. r is reset
// first, so it can (and, to avoid allocations, should) be reused across
// calls. lim may be nil for DefaultLimits.
//
// Parse returns the number of bytes the head occupies, including any empty
// lines ignored before the request line (RFC 9112 §2.2) and the empty line
// that ends the head; the body, or the next pipelined request, starts at
// buf[n]. If buf does not yet hold a complete head but could still become
// one within lim, it returns ErrIncomplete. Otherwise it returns an *Error
// carrying the status to answer with.
//
// The scan is strictly left to right and decides every error from the
// bytes already seen, so each prefix of a buffer parses to ErrIncomplete or
// to the same result as the whole buffer; in particular, once buf holds
// lim.MaxHeaderBytes bytes without the end of the head, the answer is 431
// (or 414 while the request-target is still being read) rather than
// ErrIncomplete, so a caller with a buffer of that size never waits forever.
func Parse(buf []byte, r *Request, lim *Limits) (int, error) {
	r.reset()
	l := lim.effective()
	p := parser{buf: buf, end: len(buf), maxTarget: l.MaxTarget, maxFields: l.MaxHeaders}
	if p.end >= l.MaxHeaderBytes {
		// Nothing past the limit can belong to an acceptable head, so
		// scan only up to it, and running out of window means too large.
		p.end, p.full = l.MaxHeaderBytes, true
	}
	i, err := p.requestLine(r)
	if err != nil {
		return 0, err
	}
	n, err := p.fieldLines(r, i)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// parser is the state of one Parse call; it lives on the stack.
type parser struct {
	buf       []byte
	end       int  // scan window: buf[:end]
	full      bool // buf holds at least MaxHeaderBytes bytes
	maxTarget int
	maxFields int

	codings    codingState
	connection connectionOptions
}

// short is the result when the window ends before the head does: wait for
// more bytes, unless the window is already as large as the limit allows.
func (p *parser) short(tooLarge *Error) error {
	if p.full {
		return tooLarge
	}
	return ErrIncomplete
}

// requestLine parses any empty lines and the request line (RFC 9112 §2.2,
// §3) and returns the index just past it.
func (p *parser) requestLine(r *Request) (int, error) {
	i, err := p.emptyLines()
	if err != nil {
		return 0, err
	}
	if i, err = p.method(r, i); err != nil {
		return 0, err
	}
	if i, err = p.target(r, i); err != nil {
		return 0, err
	}
	if i, err = p.version(r, i); err != nil {
		return 0, err
	}
	if err := r.classifyTarget(); err != nil {
		return 0, err
	}
	return i, nil
}

// emptyLines skips the empty lines before the request line and returns
// the index of its first byte. RFC 9112 §2.2: a server SHOULD ignore at
// least one empty line received prior to the request-line; clients may
// send one after a POST body. They count towards MaxHeaderBytes, which
// bounds them.
func (p *parser) emptyLines() (int, error) {
	buf, end := p.buf, p.end
	i := 0
	for i < end && (buf[i] == '\r' || buf[i] == '\n') {
		if buf[i] == '\r' {
			if i+1 >= end {
				return 0, p.short(errHeadTooLarge)
			}
			if buf[i+1] != '\n' {
				return 0, errBareCR
			}
			i++
		}
		i++
	}
	return i, nil
}

// method parses the method at buf[i], a token followed by exactly one SP
// (RFC 9112 §3), and returns the index past the SP.
func (p *parser) method(r *Request, i int) (int, error) {
	buf, end := p.buf, p.end
	start := i
	for _, c := range buf[start : start+min(end-start, maxMethod+1)] {
		if !isTchar(c) {
			break
		}
		i++
	}
	if i-start > maxMethod {
		return 0, errMethodTooLong
	}
	if i == end {
		return 0, p.short(errHeadTooLarge)
	}
	switch {
	case buf[i] == ' ' && i > start:
	case buf[i] == '\r' || buf[i] == '\n':
		return 0, errRequestLine
	default:
		return 0, errMethod
	}
	r.Method = buf[start:i:i]
	return i + 1, nil
}

// target parses the request-target at buf[i], VCHARs except '#' followed
// by one SP, and returns the index past the SP. It is bounded by
// MaxTarget, which is checked as the bytes arrive so that an overlong
// target is refused before the line ends.
func (p *parser) target(r *Request, i int) (int, error) {
	buf, end := p.buf, p.end
	start := i
	for _, c := range buf[start : start+min(end-start, p.maxTarget)] {
		if charClass[c]&classTarget == 0 {
			break
		}
		i++
	}
	if i == end {
		// The window ended inside the target: a target that does not
		// fit in the head limit is too long, whatever MaxTarget says.
		return 0, p.short(errTargetTooLong)
	}
	switch c := buf[i]; {
	case c == ' ' && i > start:
	case i-start == p.maxTarget && charClass[c]&classTarget != 0:
		return 0, errTargetTooLong
	case c == ' ' || c == '\r' || c == '\n':
		return 0, errRequestLine // empty target, or no version
	default:
		return 0, errTargetByte
	}
	r.Target = buf[start:i:i]
	return i + 1, nil
}

// version parses the HTTP-version at buf[i], "HTTP" "/" DIGIT "." DIGIT,
// case-sensitive (RFC 9112 §2.3), then the line terminator, and returns
// the index past it.
func (p *parser) version(r *Request, i int) (int, error) {
	buf, end := p.buf, p.end
	const versionLen = len("HTTP/1.1")
	if end-i < versionLen {
		// Refuse what can no longer become a version without waiting
		// for the rest of the line.
		const pattern = "HTTP/#.#"
		for k := 0; i+k < end; k++ {
			c, want := buf[i+k], pattern[k]
			if want == '#' && !isDigit(c) || want != '#' && c != want {
				return 0, errVersion
			}
		}
		return 0, p.short(errHeadTooLarge)
	}
	v := buf[i : i+versionLen]
	if string(v[:5]) != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, errVersion
	}
	major, minor := v[5]-'0', v[7]-'0'
	i, err := p.lineEnd(i+versionLen, errVersion)
	if err != nil {
		return 0, err
	}
	if major != 1 {
		// Only HTTP/1.x is spoken on this connection; HTTP/2's
		// connection preface ("PRI * HTTP/2.0") lands here too.
		return 0, errVersionNotSupp
	}
	r.Major = 1
	if minor > 0 {
		// RFC 9110 §2.5: a 1.x message with x above what we implement
		// is processed as if it were the highest we implement.
		r.Minor = 1
	}
	return i, nil
}

// lineEnd expects a line terminator at buf[i], CRLF or bare LF
// (RFC 9112 §2.2), and returns the index after it. Any other byte is
// reported as other, a CR without LF as a bare CR.
func (p *parser) lineEnd(i int, other *Error) (int, error) {
	if i == p.end {
		return 0, p.short(errHeadTooLarge)
	}
	switch p.buf[i] {
	case '\n':
		return i + 1, nil
	case '\r':
		if i+1 == p.end {
			return 0, p.short(errHeadTooLarge)
		}
		if p.buf[i+1] != '\n' {
			return 0, errBareCR
		}
		return i + 2, nil
	}
	return 0, other
}

// classifyTarget determines the form of r.Target (RFC 9112 §3.2) and sets
// Form, Path, Query and, for the absolute-form, Host.
func (r *Request) classifyTarget() error {
	t := r.Target
	switch {
	case string(r.Method) == "CONNECT":
		// RFC 9112 §3.2.3: CONNECT takes, and only it takes, the
		// authority-form, host and port only.
		if !validAuthority(t, portRequired) {
			return errConnectTarget
		}
		r.Form, r.Path = FormAuthority, t
		return nil
	case t[0] == '/':
		r.Form = FormOrigin
		r.splitQuery(t)
		return nil
	case len(t) == 1 && t[0] == '*':
		// RFC 9112 §3.2.4: only for a server-wide OPTIONS request.
		if string(r.Method) != "OPTIONS" {
			return errAsterisk
		}
		r.Form, r.Path = FormAsterisk, t
		return nil
	}
	var rest []byte
	switch {
	case hasPrefixLower(t, "http://"):
		rest = t[len("http://"):]
	case hasPrefixLower(t, "https://"):
		rest = t[len("https://"):]
	default:
		return errTargetForm
	}
	// absolute-URI: the authority runs to the first '/' or '?' ('#' was
	// refused already), and must name a host (RFC 9110 §4.2.1).
	a := len(rest)
	for k, c := range rest {
		if c == '/' || c == '?' {
			a = k
			break
		}
	}
	if !validAuthority(rest[:a], portOptional) {
		return errAuthority
	}
	r.Form = FormAbsolute
	r.Host = rest[:a:a]
	r.splitQuery(rest[a:])
	if len(r.Path) == 0 {
		// RFC 9112 §3.2.1: an empty path is the same as "/".
		if r.root == nil {
			r.root = make([]byte, 1)
		}
		r.root[0] = '/' // a caller may have written over it
		r.Path = r.root[:1:1]
	}
	return nil
}

// splitQuery sets Path and Query from s = path [ "?" query ].
func (r *Request) splitQuery(s []byte) {
	if q := bytes.IndexByte(s, '?'); q >= 0 {
		r.Path, r.Query, r.HasQuery = s[:q:q], s[q+1:], true
		return
	}
	r.Path = s
}

// fieldLines parses the field lines and the empty line that ends the head
// (RFC 9112 §5), starting at buf[i], and returns the length of the head.
func (p *parser) fieldLines(r *Request, i int) (int, error) {
	buf, end := p.buf, p.end
	nfields := 0
	for {
		if i == end {
			return 0, p.short(errHeadTooLarge)
		}
		switch buf[i] {
		case '\r', '\n':
			n, err := p.lineEnd(i, errBareCR)
			if err != nil {
				return 0, err
			}
			if err := p.finish(r); err != nil {
				return 0, err
			}
			return n, nil
		case ' ', '\t':
			// RFC 9112 §5.2: obs-fold is rejected with 400; so is
			// whitespace between the request line and the first
			// field line (RFC 9112 §2.2), which could hide a field
			// from us that another parser sees.
			return 0, errObsFold
		}
		nfields++
		if nfields > p.maxFields {
			return 0, errTooManyFields
		}
		lf := bytes.IndexByte(buf[i:end], '\n')
		if lf < 0 {
			return 0, p.short(errHeadTooLarge)
		}
		next := i + lf + 1
		lineEnd := i + lf
		if buf[lineEnd-1] == '\r' { // lineEnd > i: buf[i] is not '\n'
			lineEnd--
		}
		if err := p.fieldLine(r, buf[i:lineEnd:lineEnd]); err != nil {
			return 0, err
		}
		i = next
	}
}

// fieldLine parses one field line, field-name ":" OWS field-value OWS
// (RFC 9112 §5), without its line terminator, and records the field.
func (p *parser) fieldLine(r *Request, line []byte) error {
	j := 0
	for j < len(line) && isTchar(line[j]) {
		j++
	}
	if j == len(line) {
		return errNoColon
	}
	switch line[j] {
	case ':':
		if j == 0 {
			return errEmptyFieldName
		}
	case ' ', '\t':
		// RFC 9112 §5.1: MUST reject, since proxies disagree on
		// whether "Name :" names the field "Name".
		return errSpaceBeforeColon
	case '\r':
		return errBareCR
	default:
		return errFieldName
	}
	name, value := line[:j], line[j+1:]
	if k := invalidValueByte(value); k >= 0 {
		// RFC 9110 §5.5: CR, LF and NUL are invalid and dangerous;
		// other CTLs are not field-vchars either.
		if value[k] == '\r' {
			return errBareCR
		}
		return errFieldValue
	}
	id := reqfield.Lookup(name)
	if id == reqfield.Other {
		return nil
	}
	value = trimOWS(value)
	return p.field(r, id, value[:len(value):len(value)])
}

// invalidValueByte returns the index of the first byte of v that may not
// appear in a field value (RFC 9110 §5.5: anything but SP, HTAB, VCHAR and
// obs-text), or -1. Values such as User-Agent are long enough to be worth
// testing eight bytes at a time: a word is clean when none of its bytes is
// below 0x20 or equal to 0x7F, which the usual SWAR "has byte less than"
// and "has zero byte" expressions detect exactly; a word with a suspect
// byte, such as a legitimate HTAB, is checked bytewise.
func invalidValueByte(v []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; len(v)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(v[i:])
		ctl := (x - ones*0x20) &^ x & highs // some byte < 0x20
		y := x ^ ones*0x7f
		del := (y - ones) &^ y & highs // some byte == 0x7F
		if ctl|del == 0 {
			continue
		}
		for k, c := range v[i : i+8] {
			if charClass[c]&classValue == 0 {
				return i + k
			}
		}
	}
	for k, c := range v[i:] {
		if charClass[c]&classValue == 0 {
			return i + k
		}
	}
	return -1
}
