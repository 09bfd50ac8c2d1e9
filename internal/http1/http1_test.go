package http1

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/reqfield"
)

// req joins lines into a request head: each line ends in CRLF, and an
// empty line ends the head.
func req(lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

// show renders a slice so that nil and empty are told apart.
func show(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	return string(b)
}

// get renders the Request field called name, for table tests.
func get(r *Request, name string) string {
	switch name {
	case "Method":
		return show(r.Method)
	case "Target":
		return show(r.Target)
	case "Path":
		return show(r.Path)
	case "Query":
		return show(r.Query)
	case "HasQuery":
		return strconv.FormatBool(r.HasQuery)
	case "Form":
		return r.Form.String()
	case "Proto":
		return r.Proto()
	case "Version":
		return strconv.Itoa(r.Major) + "." + strconv.Itoa(r.Minor)
	case "Host":
		return show(r.Host)
	case "HasHost":
		return strconv.FormatBool(r.HasHost)
	case "ContentLength":
		return strconv.FormatInt(r.ContentLength, 10)
	case "Chunked":
		return strconv.FormatBool(r.Chunked)
	case "Close":
		return strconv.FormatBool(r.Close)
	case "KeepAlive":
		return strconv.FormatBool(r.KeepAlive)
	case "ExpectContinue":
		return strconv.FormatBool(r.ExpectContinue)
	case "ExpectOther":
		return strconv.FormatBool(r.ExpectOther)
	case "IfMatch":
		return show(r.Fields.Value(reqfield.IfMatch))
	case "IfNoneMatch":
		return show(r.Fields.Value(reqfield.IfNoneMatch))
	case "IfModifiedSince":
		return show(r.Fields.Value(reqfield.IfModifiedSince))
	case "IfUnmodifiedSince":
		return show(r.Fields.Value(reqfield.IfUnmodifiedSince))
	case "IfRange":
		return show(r.Fields.Value(reqfield.IfRange))
	case "Range":
		return show(r.Fields.Value(reqfield.Range))
	case "Accept":
		return show(r.Fields.Value(reqfield.Accept))
	case "AcceptEncoding":
		return show(r.Fields.Value(reqfield.AcceptEncoding))
	case "UserAgent":
		return show(r.Fields.Value(reqfield.UserAgent))
	case "Referer":
		return show(r.Fields.Value(reqfield.Referer))
	case "Authorization":
		return show(r.Fields.Value(reqfield.Authorization))
	case "Origin":
		return show(r.Fields.Value(reqfield.Origin))
	case "ACRequestMethod":
		return show(r.Fields.Value(reqfield.ACRequestMethod))
	case "ACRequestHeaders":
		return show(r.Fields.Value(reqfield.ACRequestHeaders))
	case "XForwardedFor":
		return show(r.Fields.Value(reqfield.XForwardedFor))
	}
	panic("unknown field " + name)
}

// allFields lists every name get knows, for whole-request comparisons.
var allFields = []string{
	"Method", "Target", "Path", "Query", "HasQuery", "Form", "Proto", "Version",
	"Host", "HasHost", "ContentLength", "Chunked", "Close", "KeepAlive",
	"ExpectContinue", "ExpectOther", "IfMatch", "IfNoneMatch", "IfModifiedSince",
	"IfUnmodifiedSince", "IfRange", "Range", "Accept", "AcceptEncoding",
	"UserAgent", "Referer", "Authorization", "Origin", "ACRequestMethod",
	"ACRequestHeaders", "XForwardedFor",
}

const (
	wrkRequest     = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
	browserRequest = "GET /static/app.js?v=3 HTTP/1.1\r\n" +
		"Host: www.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
		"Accept: */*\r\n" +
		"Accept-Language: en-US,en;q=0.5\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Referer: https://www.example.com/\r\n" +
		"Connection: keep-alive\r\n" +
		"Sec-Fetch-Dest: script\r\n" +
		"Sec-Fetch-Mode: no-cors\r\n" +
		"Sec-Fetch-Site: same-origin\r\n" +
		"If-None-Match: \"abc123\"\r\n" +
		"If-Modified-Since: Tue, 15 Nov 1994 08:12:31 GMT\r\n" +
		"Priority: u=2\r\n" +
		"\r\n"
	// combinedRequest repeats and interleaves list fields.
	combinedRequest = "GET / HTTP/1.1\r\n" +
		"Host: a\r\n" +
		"Accept: text/html\r\n" +
		"If-None-Match: \"x\"\r\n" +
		"Accept: application/xhtml+xml\r\n" +
		"If-None-Match: \"y\"\r\n" +
		"Accept: */*;q=0.8\r\n" +
		"\r\n"
)

type parseTest struct {
	name   string
	in     string
	lim    *Limits
	status int               // expected Error.Status; 0 for success
	reason string            // expected Error.Reason, if not empty
	n      int               // expected head length; 0 for len(in)
	want   map[string]string // expected fields, rendered by get
}

var smallLimits = &Limits{MaxTarget: 16, MaxHeaderBytes: 128, MaxHeaders: 3}

var parseTests = []parseTest{
	// Well-formed requests.
	{name: "wrk", in: wrkRequest, want: map[string]string{
		"Method": "GET", "Target": "/index.html", "Path": "/index.html", "Query": "<nil>",
		"HasQuery": "false", "Form": "origin-form", "Proto": "HTTP/1.1", "Version": "1.1",
		"Host": "127.0.0.1:8080", "HasHost": "true", "ContentLength": "-1", "Chunked": "false",
		"Close": "false", "KeepAlive": "false", "ExpectContinue": "false", "ExpectOther": "false",
		"IfMatch": "<nil>", "IfNoneMatch": "<nil>", "IfModifiedSince": "<nil>",
		"IfUnmodifiedSince": "<nil>", "IfRange": "<nil>", "Range": "<nil>", "Accept": "<nil>",
		"AcceptEncoding": "<nil>", "UserAgent": "<nil>", "Referer": "<nil>",
		"Authorization": "<nil>", "Origin": "<nil>", "ACRequestMethod": "<nil>",
		"ACRequestHeaders": "<nil>", "XForwardedFor": "<nil>",
	}},
	{name: "auth, CORS and forwarding fields",
		in: req("OPTIONS /f HTTP/1.1", "Host: a", "authorization: Basic YTpi", "Origin: https://x.example",
			"Access-Control-Request-Method: GET", "Access-Control-Request-Headers: x-a",
			"access-control-request-headers: x-b", "X-Forwarded-For: 1.2.3.4", "X-Forwarded-For: 10.0.0.1, 10.0.0.2"),
		want: map[string]string{"Authorization": "Basic YTpi", "Origin": "https://x.example",
			"ACRequestMethod": "GET", "ACRequestHeaders": "x-a, x-b", "XForwardedFor": "1.2.3.4, 10.0.0.1, 10.0.0.2"}},
	{name: "repeated Authorization and Origin are dropped",
		in:   req("GET / HTTP/1.1", "Host: a", "Authorization: Basic YTpi", "Authorization: Basic Yzpk", "Origin: https://a", "Origin: https://b"),
		want: map[string]string{"Authorization": "<nil>", "Origin": "<nil>"}},
	{name: "browser", in: browserRequest, want: map[string]string{
		"Path": "/static/app.js", "Query": "v=3", "HasQuery": "true", "Host": "www.example.com",
		"UserAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Accept":    "*/*", "AcceptEncoding": "gzip, deflate, br, zstd",
		"Referer": "https://www.example.com/", "IfNoneMatch": `"abc123"`,
		"IfModifiedSince": "Tue, 15 Nov 1994 08:12:31 GMT", "Close": "false", "KeepAlive": "false",
	}},
	{name: "empty query", in: req("GET /a? HTTP/1.1", "Host: a"),
		want: map[string]string{"Path": "/a", "Query": "", "HasQuery": "true"}},
	{name: "second question mark stays in query", in: req("GET /a?b?c HTTP/1.1", "Host: a"),
		want: map[string]string{"Path": "/a", "Query": "b?c"}},
	{name: "percent and sub-delims in target", in: req("GET /%7Ea/b;c=d,e!$&'()*+ HTTP/1.1", "Host: a"),
		want: map[string]string{"Path": "/%7Ea/b;c=d,e!$&'()*+"}},
	{name: "lowercase method is a different token", in: req("get / HTTP/1.1", "Host: a"),
		want: map[string]string{"Method": "get"}},
	{name: "method of 32 bytes", in: req(strings.Repeat("M", 32)+" / HTTP/1.1", "Host: a"),
		want: map[string]string{"Method": strings.Repeat("M", 32)}},
	{name: "bare LF line ends", in: "GET / HTTP/1.1\nHost: a\nX: y\n\n",
		want: map[string]string{"Host": "a"}},
	{name: "mixed line ends", in: "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\n",
		want: map[string]string{"Host": "a"}},
	{name: "leading CRLFs ignored", in: "\r\n\r\n" + wrkRequest,
		want: map[string]string{"Method": "GET", "Path": "/index.html"}},
	{name: "leading LFs ignored", in: "\n\n\r\n" + wrkRequest,
		want: map[string]string{"Method": "GET"}},
	{name: "pipelined requests", in: wrkRequest + "GET /two HTTP/1.1\r\nHost: b\r\n\r\n", n: len(wrkRequest),
		want: map[string]string{"Path": "/index.html", "Host": "127.0.0.1:8080"}},
	{name: "body follows head", in: req("POST /f HTTP/1.1", "Host: a", "Content-Length: 5") + "hello",
		n:    len(req("POST /f HTTP/1.1", "Host: a", "Content-Length: 5")),
		want: map[string]string{"Method": "POST", "ContentLength": "5"}},
	{name: "OWS trimmed from values", in: req("GET / HTTP/1.1", "Host: \t a.b \t ", "User-Agent:x y"),
		want: map[string]string{"Host": "a.b", "UserAgent": "x y"}},
	{name: "field names case-insensitive", in: req("GET / HTTP/1.1", "hOsT: a", "USER-AGENT: u", "accept-ENCODING: br"),
		want: map[string]string{"Host": "a", "UserAgent": "u", "AcceptEncoding": "br"}},
	{name: "obs-text and HTAB in value", in: req("GET / HTTP/1.1", "Host: a", "User-Agent: caf\xc3\xa9\tx"),
		want: map[string]string{"UserAgent": "caf\xc3\xa9\tx"}},
	{name: "empty field values", in: req("GET / HTTP/1.1", "Host: a", "X-Empty:", "Referer:   "),
		want: map[string]string{"Referer": ""}},
	{name: "unknown fields ignored", in: req("GET / HTTP/1.1", "Host: a", "X-Hosts: b", "Hostx: c", "Accept-Language: d"),
		want: map[string]string{"Host": "a", "Accept": "<nil>"}},

	// Request line.
	{name: "double SP after method", in: req("GET  / HTTP/1.1", "Host: a"), status: 400},
	{name: "double SP after target", in: req("GET /  HTTP/1.1", "Host: a"), status: 400},
	{name: "trailing SP after version", in: req("GET / HTTP/1.1 ", "Host: a"), status: 400},
	{name: "leading SP", in: req(" GET / HTTP/1.1", "Host: a"), status: 400},
	{name: "HTAB separator", in: req("GET\t/ HTTP/1.1", "Host: a"), status: 400},
	{name: "method not a token", in: req("G@T / HTTP/1.1", "Host: a"), status: 400, reason: "invalid method"},
	{name: "method of 33 bytes", in: req(strings.Repeat("M", 33)+" / HTTP/1.1", "Host: a"), status: 400, reason: "method too long"},
	{name: "method alone", in: req("GET", "Host: a"), status: 400},
	{name: "no version", in: req("GET /", "Host: a"), status: 400},
	{name: "space in target", in: req("GET /a b HTTP/1.1", "Host: a"), status: 400},
	{name: "fragment in target", in: req("GET /a#b HTTP/1.1", "Host: a"), status: 400, reason: "invalid byte in request-target"},
	{name: "NUL in target", in: req("GET /a\x00 HTTP/1.1", "Host: a"), status: 400},
	{name: "DEL in target", in: req("GET /a\x7f HTTP/1.1", "Host: a"), status: 400},
	{name: "non-ASCII in target", in: req("GET /caf\xc3\xa9 HTTP/1.1", "Host: a"), status: 400},
	{name: "bare CR after version", in: "GET / HTTP/1.1\rHost: a\r\n\r\n", status: 400, reason: "bare CR"},
	{name: "bare CR in leading empty line", in: "\r" + wrkRequest, status: 400, reason: "bare CR"},
	{name: "CR in target", in: "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "HTTP/1.2 is 1.1", in: req("GET / HTTP/1.2", "Host: a"), want: map[string]string{"Proto": "HTTP/1.1", "Version": "1.1"}},
	{name: "HTTP/1.9 is 1.1", in: req("GET / HTTP/1.9", "Host: a"), want: map[string]string{"Version": "1.1"}},
	{name: "HTTP/1.0", in: req("GET / HTTP/1.0"), want: map[string]string{
		"Proto": "HTTP/1.0", "Version": "1.0", "Host": "<nil>", "HasHost": "false", "Close": "true", "KeepAlive": "false"}},
	{name: "HTTP/2.0", in: req("GET / HTTP/2.0", "Host: a"), status: 505},
	{name: "HTTP/0.9", in: req("GET / HTTP/0.9", "Host: a"), status: 505},
	{name: "HTTP/3.1", in: req("GET / HTTP/3.1", "Host: a"), status: 505},
	{name: "HTTP/2 preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", n: 0, status: 505},
	{name: "lowercase version", in: req("GET / http/1.1", "Host: a"), status: 400, reason: "malformed HTTP version"},
	{name: "version without minor", in: req("GET / HTTP/1", "Host: a"), status: 400},
	{name: "two-digit minor", in: req("GET / HTTP/1.10", "Host: a"), status: 400},
	{name: "two-digit major", in: req("GET / HTTP/11.1", "Host: a"), status: 400},
	{name: "version junk", in: req("GET / HTTP/1.x", "Host: a"), status: 400},

	// request-target forms.
	{name: "asterisk with OPTIONS", in: req("OPTIONS * HTTP/1.1", "Host: a"),
		want: map[string]string{"Form": "asterisk-form", "Path": "*", "Target": "*"}},
	{name: "asterisk with GET", in: req("GET * HTTP/1.1", "Host: a"), status: 400, reason: "asterisk-form request-target requires OPTIONS"},
	{name: "asterisk with suffix", in: req("OPTIONS *x HTTP/1.1", "Host: a"), status: 400},
	{name: "absolute-form", in: req("GET http://example.com/a/b?c=d HTTP/1.1", "Host: other"), want: map[string]string{
		"Form": "absolute-form", "Host": "example.com", "HasHost": "true", "Path": "/a/b", "Query": "c=d",
		"Target": "http://example.com/a/b?c=d"}},
	{name: "absolute-form without path", in: req("GET http://example.com HTTP/1.1", "Host: example.com"),
		want: map[string]string{"Path": "/", "HasQuery": "false", "Host": "example.com"}},
	{name: "absolute-form query without path", in: req("GET HTTPS://Example.com:8443?q HTTP/1.1", "Host: x"),
		want: map[string]string{"Path": "/", "Query": "q", "Host": "Example.com:8443"}},
	{name: "absolute-form IPv6", in: req("GET http://[::1]:8080/x HTTP/1.1", "Host: [::1]:8080"),
		want: map[string]string{"Host": "[::1]:8080", "Path": "/x"}},
	{name: "absolute-form HTTP/1.0 without Host", in: req("GET http://a.b/ HTTP/1.0"),
		want: map[string]string{"Host": "a.b", "HasHost": "false"}},
	{name: "absolute-form still needs Host in 1.1", in: req("GET http://a.b/ HTTP/1.1"), status: 400, reason: "missing Host"},
	{name: "absolute-form empty authority", in: req("GET http:///a HTTP/1.1", "Host: a"), status: 400, reason: "invalid authority in request-target"},
	{name: "absolute-form empty host", in: req("GET http://:80/a HTTP/1.1", "Host: a"), status: 400},
	{name: "absolute-form userinfo", in: req("GET http://u:p@a.b/ HTTP/1.1", "Host: a"), status: 400},
	{name: "absolute-form bad port", in: req("GET http://a.b:x/ HTTP/1.1", "Host: a"), status: 400},
	{name: "other scheme", in: req("GET ftp://a.b/ HTTP/1.1", "Host: a"), status: 400, reason: "invalid request-target form"},
	{name: "relative target", in: req("GET a/b HTTP/1.1", "Host: a"), status: 400},
	{name: "authority-form without CONNECT", in: req("GET a.b:443 HTTP/1.1", "Host: a"), status: 400},
	{name: "CONNECT authority-form", in: req("CONNECT a.b:443 HTTP/1.1", "Host: a.b:443"),
		want: map[string]string{"Form": "authority-form", "Path": "a.b:443", "Host": "a.b:443"}},
	{name: "CONNECT IPv6", in: req("CONNECT [2001:db8::1]:443 HTTP/1.1", "Host: x"),
		want: map[string]string{"Path": "[2001:db8::1]:443"}},
	{name: "CONNECT without port", in: req("CONNECT a.b HTTP/1.1", "Host: a"), status: 400, reason: "CONNECT requires an authority-form request-target"},
	{name: "CONNECT empty port", in: req("CONNECT a.b: HTTP/1.1", "Host: a"), status: 400},
	{name: "CONNECT origin-form", in: req("CONNECT /x HTTP/1.1", "Host: a"), status: 400},

	// Field lines.
	{name: "whitespace before colon", in: req("GET / HTTP/1.1", "Host : a"), status: 400, reason: "whitespace before colon in field name"},
	{name: "HTAB before colon", in: req("GET / HTTP/1.1", "Host: a", "X\t: b"), status: 400, reason: "whitespace before colon in field name"},
	{name: "space inside name", in: req("GET / HTTP/1.1", "Host: a", "X Y: b"), status: 400},
	{name: "empty field name", in: req("GET / HTTP/1.1", "Host: a", ": b"), status: 400, reason: "empty field name"},
	{name: "missing colon", in: req("GET / HTTP/1.1", "Host: a", "X-Foo"), status: 400, reason: "missing colon in field line"},
	{name: "name not a token", in: req("GET / HTTP/1.1", "Host: a", "X(y): b"), status: 400, reason: "invalid field name"},
	{name: "non-ASCII name", in: req("GET / HTTP/1.1", "Host: a", "X\xc3\xa9: b"), status: 400},
	{name: "obs-fold", in: req("GET / HTTP/1.1", "Host: a", "X: b", " c"), status: 400, reason: "obsolete line folding or whitespace before field line"},
	{name: "obs-fold with HTAB", in: req("GET / HTTP/1.1", "Host: a", "X: b", "\tc"), status: 400},
	{name: "whitespace after request line", in: req("GET / HTTP/1.1", " Host: a"), status: 400},
	{name: "NUL in value", in: req("GET / HTTP/1.1", "Host: a", "X: b\x00c"), status: 400, reason: "invalid byte in field value"},
	{name: "DEL in value", in: req("GET / HTTP/1.1", "Host: a", "X: b\x7f"), status: 400},
	{name: "CTL in value", in: req("GET / HTTP/1.1", "Host: a", "X: b\x01"), status: 400},
	{name: "bare CR in value", in: req("GET / HTTP/1.1", "Host: a", "X: b\rc"), status: 400, reason: "bare CR"},
	{name: "CR CR LF", in: "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", status: 400, reason: "bare CR"},
	{name: "bare CR in name", in: "GET / HTTP/1.1\r\nHost: a\r\nX\ry: b\r\n\r\n", status: 400, reason: "bare CR"},
	{name: "bare CR ending head", in: "GET / HTTP/1.1\r\nHost: a\r\n\rX", status: 400, reason: "bare CR"},

	// Limits.
	{name: "target at MaxTarget", in: req("GET /"+strings.Repeat("a", 15)+" HTTP/1.1", "Host: a"), lim: smallLimits,
		want: map[string]string{"Path": "/" + strings.Repeat("a", 15)}},
	{name: "target over MaxTarget", in: req("GET /"+strings.Repeat("a", 16)+" HTTP/1.1", "Host: a"), lim: smallLimits, status: 414},
	{name: "long target before line ends", in: "GET /" + strings.Repeat("a", 16), lim: smallLimits, status: 414},
	{name: "default MaxTarget ok", in: req("GET /"+strings.Repeat("a", 8191)+" HTTP/1.1", "Host: a"),
		want: map[string]string{"Path": "/" + strings.Repeat("a", 8191)}},
	{name: "default MaxTarget exceeded", in: req("GET /"+strings.Repeat("a", 8192)+" HTTP/1.1", "Host: a"), status: 414},
	{name: "default MaxTarget exceeded incomplete", in: "GET /" + strings.Repeat("a", 9000), status: 414},
	{name: "414 wins over 431 in the target", in: "GET /" + strings.Repeat("a", 200), lim: &Limits{MaxTarget: 1000, MaxHeaderBytes: 100}, status: 414},
	{name: "huge limits", in: req("GET /x HTTP/1.1", "Host: a"), lim: &Limits{MaxTarget: math.MaxInt, MaxHeaderBytes: math.MaxInt, MaxHeaders: math.MaxInt},
		want: map[string]string{"Path": "/x"}},
	{name: "431 in the version", in: "GET /a HTTP/1.1", lim: &Limits{MaxHeaderBytes: 10}, status: 431},
	{name: "MaxHeaders field lines", in: req("GET / HTTP/1.1", "Host: a", "X: 1", "Y: 2"), lim: smallLimits,
		want: map[string]string{"Host": "a"}},
	{name: "more than MaxHeaders", in: req("GET / HTTP/1.1", "Host: a", "X: 1", "Y: 2", "Z: 3"), lim: smallLimits, status: 431, reason: "too many header fields"},
	{name: "100 field lines", in: req(append([]string{"GET / HTTP/1.1", "Host: a"}, manyFields(99)...)...)},
	{name: "101 field lines", in: req(append([]string{"GET / HTTP/1.1", "Host: a"}, manyFields(100)...)...), status: 431},
	{name: "head at MaxHeaderBytes", in: req("GET / HTTP/1.1", "Host: a", "X: "+strings.Repeat("x", 128-32)), lim: smallLimits},
	{name: "head over MaxHeaderBytes", in: req("GET / HTTP/1.1", "Host: a", "X: "+strings.Repeat("x", 128-31)), lim: smallLimits, status: 431, reason: "request head too large"},
	{name: "incomplete head at MaxHeaderBytes", in: "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", 200), lim: smallLimits, status: 431},
	{name: "leading empty lines count", in: strings.Repeat("\r\n", 64), lim: smallLimits, status: 431},
	{name: "default MaxHeaderBytes", in: req("GET / HTTP/1.1", "Host: a", "X: "+strings.Repeat("x", 16384)), status: 431},

	// Host (RFC 9112 §3.2).
	{name: "HTTP/1.1 without Host", in: req("GET / HTTP/1.1", "X: a"), status: 400, reason: "missing Host"},
	{name: "duplicate Host", in: req("GET / HTTP/1.1", "Host: a", "Host: a"), status: 400, reason: "duplicate Host"},
	{name: "duplicate Host in 1.0", in: req("GET / HTTP/1.0", "Host: a", "host: b"), status: 400},
	{name: "empty Host", in: req("GET / HTTP/1.1", "Host:"), want: map[string]string{"Host": "", "HasHost": "true"}},
	{name: "Host with port", in: req("GET / HTTP/1.1", "Host: a.b:8080"), want: map[string]string{"Host": "a.b:8080"}},
	{name: "Host with empty port", in: req("GET / HTTP/1.1", "Host: a.b:"), want: map[string]string{"Host": "a.b:"}},
	{name: "Host IPv6", in: req("GET / HTTP/1.1", "Host: [2001:db8::1]:443"), want: map[string]string{"Host": "[2001:db8::1]:443"}},
	{name: "Host pct-encoded", in: req("GET / HTTP/1.1", "Host: %41b"), want: map[string]string{"Host": "%41b"}},
	{name: "Host with space", in: req("GET / HTTP/1.1", "Host: a b"), status: 400, reason: "invalid Host"},
	{name: "Host port only", in: req("GET / HTTP/1.1", "Host: :80"), status: 400},
	{name: "Host bad port", in: req("GET / HTTP/1.1", "Host: a:8x"), status: 400},
	{name: "Host two ports", in: req("GET / HTTP/1.1", "Host: a:1:2"), status: 400},
	{name: "Host userinfo", in: req("GET / HTTP/1.1", "Host: u@a"), status: 400},
	{name: "Host with path", in: req("GET / HTTP/1.1", "Host: a/b"), status: 400},
	{name: "Host unclosed IPv6", in: req("GET / HTTP/1.1", "Host: [::1"), status: 400},
	{name: "Host IPv6 zone", in: req("GET / HTTP/1.1", "Host: [fe80::1%25eth0]"), status: 400},
	{name: "Host obs-text", in: req("GET / HTTP/1.1", "Host: caf\xc3\xa9"), status: 400},

	// Content-Length (RFC 9110 §8.6, RFC 9112 §6.3).
	{name: "Content-Length", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 42"), want: map[string]string{"ContentLength": "42", "Chunked": "false"}},
	{name: "Content-Length zero", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 0"), want: map[string]string{"ContentLength": "0"}},
	{name: "Content-Length leading zeros", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 007"), want: map[string]string{"ContentLength": "7"}},
	{name: "Content-Length 2^53", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 9007199254740992"), want: map[string]string{"ContentLength": "9007199254740992"}},
	{name: "Content-Length over 2^53", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 9007199254740993"), status: 400},
	{name: "Content-Length overflow", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 99999999999999999999999999"), status: 400},
	{name: "Content-Length plus sign", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: +5"), status: 400, reason: "invalid Content-Length"},
	{name: "Content-Length negative", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: -1"), status: 400},
	{name: "Content-Length inner space", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 1 2"), status: 400},
	{name: "Content-Length hex", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 0x5"), status: 400},
	{name: "Content-Length empty", in: req("POST / HTTP/1.1", "Host: a", "Content-Length:"), status: 400},
	{name: "Content-Length identical list", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5,5"), want: map[string]string{"ContentLength": "5"}},
	{name: "Content-Length differing list", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 6"), status: 400, reason: "conflicting Content-Length values"},
	{name: "Content-Length empty element", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 5,"), status: 400},
	{name: "Content-Length identical lines", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 05"), want: map[string]string{"ContentLength": "5"}},
	{name: "Content-Length differing lines", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"), status: 400, reason: "conflicting Content-Length values"},

	// Transfer-Encoding (RFC 9112 §6.1, §6.3).
	{name: "chunked", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"), want: map[string]string{"Chunked": "true", "ContentLength": "-1"}},
	{name: "chunked any case with OWS", in: req("POST / HTTP/1.1", "Host: a", "transfer-encoding: \tChUnKeD "), want: map[string]string{"Chunked": "true"}},
	{name: "TE and CL", in: req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"), status: 400, reason: "both Transfer-Encoding and Content-Length"},
	{name: "CL after TE", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 0"), status: 400, reason: "both Transfer-Encoding and Content-Length"},
	{name: "unsupported TE and CL", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip", "Content-Length: 5"), status: 400},
	{name: "chunked then gzip", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, gzip"), status: 400, reason: "chunked is not the final transfer coding"},
	{name: "chunked then gzip over lines", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"), status: 400},
	{name: "chunked twice", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, chunked"), status: 400, reason: "chunked applied more than once"},
	{name: "chunked twice over lines", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), status: 400},
	{name: "gzip then chunked", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"), status: 501},
	{name: "gzip then chunked over lines", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"), status: 501},
	{name: "gzip alone", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip"), status: 501, reason: "unsupported transfer coding"},
	{name: "identity", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: identity"), status: 501},
	{name: "coding with parameter", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: x ; q=1, chunked"), status: 501},
	{name: "TE whitespace before colon", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding : chunked"), status: 400, reason: "whitespace before colon in field name"},
	{name: "TE empty", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:"), status: 400, reason: "invalid Transfer-Encoding"},
	{name: "TE empty element", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked,"), status: 400},
	{name: "TE leading empty element", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: , chunked"), status: 400},
	{name: "TE garbage", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chun ked"), status: 400},
	{name: "TE vertical tab", in: req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \x0bchunked"), status: 400},
	{name: "TE in HTTP/1.0", in: req("POST / HTTP/1.0", "Transfer-Encoding: chunked"), status: 400, reason: "Transfer-Encoding in HTTP/1.0 request"},

	// Connection (RFC 9112 §9.3).
	{name: "1.1 close", in: req("GET / HTTP/1.1", "Host: a", "Connection: close"), want: map[string]string{"Close": "true", "KeepAlive": "false"}},
	{name: "1.1 close in list", in: req("GET / HTTP/1.1", "Host: a", "Connection: Upgrade, CLOSE"), want: map[string]string{"Close": "true"}},
	{name: "1.1 close on second line", in: req("GET / HTTP/1.1", "Host: a", "Connection: x", "Connection: close"), want: map[string]string{"Close": "true"}},
	{name: "1.1 keep-alive", in: req("GET / HTTP/1.1", "Host: a", "Connection: keep-alive"), want: map[string]string{"Close": "false", "KeepAlive": "false"}},
	{name: "1.1 closed is not close", in: req("GET / HTTP/1.1", "Host: a", "Connection: closed"), want: map[string]string{"Close": "false"}},
	{name: "1.0 keep-alive", in: req("GET / HTTP/1.0", "Connection: Keep-Alive"), want: map[string]string{"Close": "false", "KeepAlive": "true"}},
	{name: "1.0 keep-alive and close", in: req("GET / HTTP/1.0", "Connection: keep-alive, close"), want: map[string]string{"Close": "true", "KeepAlive": "false"}},
	{name: "1.0 close over lines", in: req("GET / HTTP/1.0", "Connection: keep-alive", "Connection: close"), want: map[string]string{"Close": "true", "KeepAlive": "false"}},

	// Expect (RFC 9110 §10.1.1).
	{name: "100-continue", in: req("PUT / HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 1"),
		want: map[string]string{"ExpectContinue": "true", "ExpectOther": "false"}},
	{name: "100-continue any case", in: req("PUT / HTTP/1.1", "Host: a", "Expect: 100-Continue"), want: map[string]string{"ExpectContinue": "true"}},
	{name: "other expectation", in: req("PUT / HTTP/1.1", "Host: a", "Expect: 200-ok"), want: map[string]string{"ExpectContinue": "false", "ExpectOther": "true"}},
	{name: "both expectations", in: req("PUT / HTTP/1.1", "Host: a", "Expect: 100-continue, x"), want: map[string]string{"ExpectContinue": "true", "ExpectOther": "true"}},
	{name: "empty Expect", in: req("PUT / HTTP/1.1", "Host: a", "Expect:"), want: map[string]string{"ExpectContinue": "false", "ExpectOther": "false"}},
	{name: "100-continue ignored in 1.0", in: req("PUT / HTTP/1.0", "Expect: 100-continue"), want: map[string]string{"ExpectContinue": "false", "ExpectOther": "false"}},

	// List fields combined (RFC 9110 §5.3).
	{name: "combined lists", in: combinedRequest, want: map[string]string{
		"Accept": "text/html, application/xhtml+xml, */*;q=0.8", "IfNoneMatch": `"x", "y"`}},
	{name: "combined If-Match and Accept-Encoding", in: req("GET / HTTP/1.1", "Host: a", "If-Match: \"a\"", "Accept-Encoding: gzip", "If-Match: \"b\", \"c\"", "Accept-Encoding: br"),
		want: map[string]string{"IfMatch": `"a", "b", "c"`, "AcceptEncoding": "gzip, br"}},
	{name: "empty list lines skipped", in: req("GET / HTTP/1.1", "Host: a", "Accept:", "Accept: a", "Accept: ", "Accept: b"),
		want: map[string]string{"Accept": "a, b"}},
	{name: "only empty list line", in: req("GET / HTTP/1.1", "Host: a", "Accept:"), want: map[string]string{"Accept": ""}},

	// Singleton fields.
	{name: "If-Modified-Since", in: req("GET / HTTP/1.1", "Host: a", "If-Modified-Since: x", "If-Unmodified-Since: y"),
		want: map[string]string{"IfModifiedSince": "x", "IfUnmodifiedSince": "y"}},
	{name: "If-Modified-Since twice", in: req("GET / HTTP/1.1", "Host: a", "If-Modified-Since: x", "If-Modified-Since: x"),
		want: map[string]string{"IfModifiedSince": "<nil>"}},
	{name: "If-Modified-Since thrice", in: req("GET / HTTP/1.1", "Host: a", "If-Modified-Since: x", "If-Modified-Since: y", "If-Modified-Since: z"),
		want: map[string]string{"IfModifiedSince": "<nil>"}},
	{name: "If-Unmodified-Since twice", in: req("GET / HTTP/1.1", "Host: a", "If-Unmodified-Since: x", "If-Unmodified-Since: y"),
		want: map[string]string{"IfUnmodifiedSince": "<nil>"}},
	{name: "Range and If-Range", in: req("GET / HTTP/1.1", "Host: a", "Range: bytes=0-1", "If-Range: \"e\""),
		want: map[string]string{"Range": "bytes=0-1", "IfRange": `"e"`}},
	{name: "Range twice drops both", in: req("GET / HTTP/1.1", "Host: a", "If-Range: \"e\"", "Range: bytes=0-1", "Range: bytes=2-3"),
		want: map[string]string{"Range": "<nil>", "IfRange": "<nil>"}},
	{name: "If-Range twice drops both", in: req("GET / HTTP/1.1", "Host: a", "Range: bytes=0-1", "If-Range: \"e\"", "If-Range: \"f\""),
		want: map[string]string{"Range": "<nil>", "IfRange": "<nil>"}},
	{name: "Range stays dropped", in: req("GET / HTTP/1.1", "Host: a", "Range: bytes=0-1", "Range: bytes=0-1", "If-Range: \"e\"", "Range: bytes=0-1"),
		want: map[string]string{"Range": "<nil>", "IfRange": "<nil>"}},
	{name: "User-Agent and Referer keep first", in: req("GET / HTTP/1.1", "Host: a", "User-Agent: u1", "Referer: r1", "User-Agent: u2", "Referer: r2"),
		want: map[string]string{"UserAgent": "u1", "Referer": "r1"}},
}

// manyFields returns n distinct field lines.
func manyFields(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "X-" + strconv.Itoa(i) + ": v"
	}
	return s
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			n, err := Parse([]byte(tt.in), &r, tt.lim)
			if tt.status != 0 {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Parse(%q) = %d, %v; want status %d", tt.in, n, err, tt.status)
				}
				if e.Status != tt.status || tt.reason != "" && e.Reason != tt.reason {
					t.Fatalf("Parse(%q) error = %d %q; want %d %q", tt.in, e.Status, e.Reason, tt.status, tt.reason)
				}
				if n != 0 {
					t.Errorf("Parse(%q) n = %d with error; want 0", tt.in, n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want success", tt.in, err)
			}
			wantN := tt.n
			if wantN == 0 {
				wantN = len(tt.in)
			}
			if n != wantN {
				t.Errorf("Parse(%q) n = %d; want %d", tt.in, n, wantN)
			}
			for name, want := range tt.want {
				if got := get(&r, name); got != want {
					t.Errorf("Parse(%q): %s = %q; want %q", tt.in, name, got, want)
				}
			}
		})
	}
}

// TestParseIncremental feeds every test input a byte at a time: each
// prefix must be ErrIncomplete until the head is complete, and then give
// the whole input's result (RFC 9112 lets a head arrive in any number of
// reads, and the engine calls Parse after each).
func TestParseIncremental(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			var r Request
			wantN, wantErr := Parse(in, &r, tt.lim)
			for k := 0; k < len(in); k++ {
				n, err := Parse(in[:k], &r, tt.lim)
				switch {
				case err == ErrIncomplete:
					if wantErr == nil && k >= wantN {
						t.Fatalf("prefix %q: ErrIncomplete; want n = %d", in[:k], wantN)
					}
				case err != wantErr || n != wantN:
					t.Fatalf("prefix %q: %d, %v; want ErrIncomplete or %d, %v", in[:k], n, err, wantN, wantErr)
				}
			}
		})
	}
}

func TestParseReusesRequest(t *testing.T) {
	var r Request
	buf := []byte(combinedRequest + req("GET /2 HTTP/1.1", "Host: b", "Range: bytes=1-2", "If-Match: *"))
	n, err := Parse(buf, &r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(r.Fields.Value(reqfield.Accept)), "text/html, application/xhtml+xml, */*;q=0.8"; got != want {
		t.Fatalf("first Accept = %q; want %q", got, want)
	}
	if _, err := Parse(buf[n:], &r, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range allFields {
		var want string
		switch name {
		case "Method":
			want = "GET"
		case "Target", "Path":
			want = "/2"
		case "Query", "IfNoneMatch", "IfModifiedSince", "IfUnmodifiedSince", "IfRange",
			"Accept", "AcceptEncoding", "UserAgent", "Referer", "Authorization", "Origin",
			"ACRequestMethod", "ACRequestHeaders", "XForwardedFor":
			want = "<nil>"
		case "HasQuery", "HasHost", "Chunked", "Close", "KeepAlive", "ExpectContinue", "ExpectOther":
			want = strconv.FormatBool(name == "HasHost")
		case "Form":
			want = "origin-form"
		case "Proto":
			want = "HTTP/1.1"
		case "Version":
			want = "1.1"
		case "Host":
			want = "b"
		case "ContentLength":
			want = "-1"
		case "Range":
			want = "bytes=1-2"
		case "IfMatch":
			want = "*"
		}
		if got := get(&r, name); got != want {
			t.Errorf("after reuse %s = %q; want %q", name, got, want)
		}
	}
}

// TestParseSlicesCapped checks that appending to a returned slice cannot
// write into the caller's buffer or into another field.
func TestParseSlicesCapped(t *testing.T) {
	var r Request
	buf := []byte(combinedRequest)
	if _, err := Parse(buf, &r, nil); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string][]byte{"Method": r.Method, "Target": r.Target, "Path": r.Path, "Host": r.Host,
		"Accept": r.Fields.Value(reqfield.Accept), "IfNoneMatch": r.Fields.Value(reqfield.IfNoneMatch)} {
		if cap(s) != len(s) {
			t.Errorf("cap(%s) = %d; want len %d", name, cap(s), len(s))
		}
	}
	before := string(buf)
	_ = append(r.Method, "XXXXXXXX"...)
	_ = append(r.Host, "XXXXXXXX"...)
	if string(buf) != before {
		t.Errorf("appending to fields changed the buffer to %q", buf)
	}
	// The "/" of an absolute-form target lives in r and is restored
	// even if a caller wrote over it.
	if _, err := Parse([]byte(req("GET http://a HTTP/1.1", "Host: a")), &r, nil); err != nil {
		t.Fatal(err)
	}
	r.Path[0] = 'x'
	if _, err := Parse([]byte(req("GET http://a?q HTTP/1.1", "Host: a")), &r, nil); err != nil {
		t.Fatal(err)
	}
	if string(r.Path) != "/" {
		t.Errorf("Path = %q; want %q", r.Path, "/")
	}
}

func TestParsePipelined(t *testing.T) {
	reqs := []string{wrkRequest, browserRequest, "\r\n" + combinedRequest, req("POST /x HTTP/1.0", "Content-Length: 0")}
	buf := []byte(strings.Join(reqs, ""))
	var r Request
	for i, want := range reqs {
		n, err := Parse(buf, &r, nil)
		if err != nil || n != len(want) {
			t.Fatalf("request %d: Parse = %d, %v; want %d, nil", i, n, err, len(want))
		}
		buf = buf[n:]
	}
	if n, err := Parse(buf, &r, nil); err != ErrIncomplete {
		t.Errorf("Parse(empty) = %d, %v; want ErrIncomplete", n, err)
	}
}

func TestDefaultLimits(t *testing.T) {
	want := Limits{MaxTarget: 8192, MaxHeaderBytes: 16384, MaxHeaders: 100}
	if got := DefaultLimits(); got != want {
		t.Errorf("DefaultLimits() = %+v; want %+v", got, want)
	}
	// Zero fields fall back to the defaults one by one.
	if got := (&Limits{MaxHeaders: 3}).effective(); got != (Limits{8192, 16384, 3}) {
		t.Errorf("effective() = %+v", got)
	}
}

func TestErrorString(t *testing.T) {
	if got, want := errSpaceBeforeColon.Error(), "http1: 400 whitespace before colon in field name"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if got, want := errTargetTooLong.Error(), "http1: 414 request-target too long"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

func TestTargetFormString(t *testing.T) {
	for f, want := range map[TargetForm]string{FormOrigin: "origin-form", FormAbsolute: "absolute-form",
		FormAuthority: "authority-form", FormAsterisk: "asterisk-form", 9: "TargetForm(9)"} {
		if got := f.String(); got != want {
			t.Errorf("TargetForm(%d).String() = %q; want %q", f, got, want)
		}
	}
}

func TestValidAuthority(t *testing.T) {
	tests := []struct {
		in           string
		opt, connect bool // valid with portOptional, with portRequired
	}{
		{"example.com", true, false},
		{"example.com:80", true, true},
		{"example.com:", true, false},
		{"EXAMPLE.com:65535", true, true},
		{"a-b_c~d.e!$&'()*+,;=", true, false},
		{"%7e%7E", true, false},
		{"%7", false, false},
		{"%zz", false, false},
		{"1.2.3.4:5", true, true},
		{"", false, false},
		{":80", false, false},
		{"a:b", false, false},
		{"a:1:2", false, false},
		{"u@a", false, false},
		{"a b", false, false},
		{"a/b", false, false},
		{"[::]", true, false},
		{"[::1]:443", true, true},
		{"[1::]", true, false},
		{"[1:2:3:4:5:6:7:8]", true, false},
		{"[1:2:3:4:5:6:7::]", true, false},
		{"[::2:3:4:5:6:7:8]", true, false},
		{"[1:2:3:4:5:6:7:8:9]", false, false},
		{"[1:2:3:4:5:6:7]", false, false},
		{"[1::2::3]", false, false},
		{"[:::]", false, false},
		{"[:1]", false, false},
		{"[1:]", false, false},
		{"[12345::]", false, false},
		{"[::ffff:192.0.2.1]", true, false},
		{"[1:2:3:4:5:6:1.2.3.4]", true, false},
		{"[1:2:3:4:5:6:7:1.2.3.4]", false, false},
		{"[::1.2.3]", false, false},
		{"[::1.2.3.256]", false, false},
		{"[::1.2.3.04]", false, false},
		{"[::1.2.3.4.5]", false, false},
		{"[::1.2.3.4:1]", false, false},
		{"[1.2.3.4]", false, false},
		{"[fe80::1%25eth0]", false, false},
		{"[vF.a:b]:1", true, true},
		{"[v.a]", false, false},
		{"[v1.]", false, false},
		{"[v1]", false, false},
		{"[v1.a/]", false, false},
		{"[]", false, false},
		{"[::1]x", false, false},
		{"[::1", false, false},
	}
	for _, tt := range tests {
		if got := validAuthority([]byte(tt.in), portOptional); got != tt.opt {
			t.Errorf("validAuthority(%q, portOptional) = %v; want %v", tt.in, got, tt.opt)
		}
		if got := validAuthority([]byte(tt.in), portRequired); got != tt.connect {
			t.Errorf("validAuthority(%q, portRequired) = %v; want %v", tt.in, got, tt.connect)
		}
		if got := ValidHost(tt.in); got != tt.opt {
			t.Errorf("ValidHost(%q) = %v; want %v", tt.in, got, tt.opt)
		}
	}
}

func TestProto(t *testing.T) {
	for _, tt := range []struct {
		major, minor int
		want         string
	}{{1, 0, "HTTP/1.0"}, {1, 1, "HTTP/1.1"}} {
		r := Request{Head: Head{Major: tt.major, Minor: tt.minor}}
		if got := r.Proto(); got != tt.want {
			t.Errorf("Proto() for %d.%d = %q; want %q", tt.major, tt.minor, got, tt.want)
		}
	}
}

var allocTests = []struct{ name, in string }{
	{"wrk", wrkRequest},
	{"browser", browserRequest},
	{"combined", combinedRequest},
	{"absolute", req("GET http://a.b HTTP/1.1", "Host: a.b")},
	{"error", req("GET / HTTP/1.1", "Host : a")},
}

func TestParseAllocs(t *testing.T) {
	for _, tt := range allocTests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte(tt.in)
			r := new(Request)
			lim := DefaultLimits()
			allocs := testing.AllocsPerRun(100, func() {
				Parse(buf, r, &lim)
			})
			if allocs != 0 {
				t.Errorf("Parse(%q) allocates %v times per run; want 0", tt.in, allocs)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, tt := range allocTests {
		b.Run(tt.name, func(b *testing.B) {
			buf := []byte(tt.in)
			var r Request
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(buf, &r, nil)
			}
		})
	}
}

// sameRequest reports the first field in which a and b differ.
func sameRequest(a, b *Request) (string, bool) {
	for _, name := range allFields {
		if get(a, name) != get(b, name) {
			return name, false
		}
	}
	return "", true
}

// contains reports whether s is a subslice of buf.
func contains(buf, s []byte) bool {
	if len(s) == 0 {
		return true
	}
	for i := range buf {
		if &buf[i] == &s[0] {
			return len(buf)-i >= len(s)
		}
	}
	return false
}

// TestInvalidValueByte checks the word-at-a-time scan against the
// byte-at-a-time definition, for every byte value at every position of
// an input long enough to use both the word and the tail loops.
func TestInvalidValueByte(t *testing.T) {
	v := []byte("Mozilla/5.0 (X11) caf\xc3\xa9\t~ !")
	for pos := range v {
		for c := 0; c < 256; c++ {
			orig := v[pos]
			v[pos] = byte(c)
			want := -1
			for k, b := range v {
				if !(b == '\t' || b >= 0x20 && b != 0x7f) {
					want = k
					break
				}
			}
			if got := invalidValueByte(v); got != want {
				t.Fatalf("invalidValueByte(%q) = %d; want %d", v, got, want)
			}
			v[pos] = orig
		}
	}
}
