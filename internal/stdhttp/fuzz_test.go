package stdhttp

import (
	"bufio"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/respond"
)

// FuzzHeaderBlock checks setHeader against a plain reading of the header
// lines: every named line arrives, in order, under its canonical name,
// except the connection-specific ones and, for a streamed body,
// Content-Length, which is then present with no value.
func FuzzHeaderBlock(f *testing.F) {
	f.Add("Content-Type: text/html\r\nContent-Length: 5\r\n", "Alt-Svc: h3=\":443\"\r\n", false)
	f.Add("Connection: close\r\nTransfer-Encoding: chunked\r\nVary: a\r\nvary: b\r\n", "", true)
	f.Add(": empty name\r\nno colon\nX:\r\n  \r\nA:b", "keep-alive: 1", false)
	f.Add("X-A: \t v \t\r\nContent-length: 9\r\n", "x-a: w\r\n", true)
	f.Fuzz(func(t *testing.T, head, extra string, streamed bool) {
		resp := respond.Response{Status: 200, Head: header.New([]byte(head)), Chunked: streamed}
		a := &adapter{extra: extra}
		h := http.Header{}
		a.setHeader(h, &resp, false)

		want := http.Header{"Server": {"stoa"}}
		if streamed {
			want["Content-Length"] = nil // no length, and none added
		}
		for _, block := range []string{head, extra} {
			for _, line := range strings.Split(block, "\n") {
				line = strings.TrimSuffix(line, "\r")
				name, v, ok := strings.Cut(line, ":")
				if !ok || name == "" {
					continue
				}
				switch strings.ToLower(name) {
				case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
					continue
				case "content-length":
					if streamed {
						continue
					}
				}
				k := http.CanonicalHeaderKey(name)
				want[k] = append(want[k], strings.Trim(v, " \t"))
			}
		}
		for k, v := range want {
			if got := h[k]; !slices.Equal(got, v) {
				t.Errorf("head %q extra %q: %s: %q, want %q", head, extra, k, got, v)
			}
		}
		for k := range h {
			if _, ok := want[k]; !ok {
				t.Errorf("head %q extra %q: unexpected %s: %q", head, extra, k, h[k])
			}
		}
	})
}

// FuzzRequestMapping checks that a request reaching net/http maps to the
// same core request as the same head parsed by stoa's HTTP/1.1 parser and
// mapped by the engine: the HTTP/2 and HTTP/3 servers hand over field lines
// one by one, as net/http's HTTP/1 reader does here.
func FuzzRequestMapping(f *testing.F) {
	f.Add("/a?b", "Accept-Encoding: gzip\r\nAccept-Encoding: br\r\nRange: bytes=0-1\r\n")
	f.Add("/%7e/x", "If-None-Match: \"a\"\r\nIf-None-Match: \r\nIf-None-Match: \"b\"\r\nIf-Modified-Since: x\r\nIf-Modified-Since: y\r\n")
	f.Add("/?", "Range: a\r\nIf-Range: b\r\nIf-Range: c\r\nOrigin: o\r\nAuthorization: z\r\n")
	f.Add("/", "X-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\nAccess-Control-Request-Headers: a\r\nAccess-Control-Request-Method: PUT\r\nAccept: */*\r\n")
	f.Add("/", "If-Match:  \"x\" \r\nIf-Unmodified-Since:\tz\t\r\n")
	f.Fuzz(func(t *testing.T, target, fields string) {
		head := "GET " + target + " HTTP/1.1\r\nHost: example.com\r\n" + fields + "\r\n"
		var pr http1.Request
		if _, err := http1.Parse([]byte(head), &pr, nil); err != nil || pr.Form != http1.FormOrigin {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil {
			return
		}
		var st state
		var got respond.Request
		fillRequest(&got, r, &st)
		s := func(b []byte) string { return string(b) }
		want := respond.Request{
			Method: s(pr.Method), Path: s(pr.Path), Query: s(pr.Query), HasQuery: pr.HasQuery,
			Host: s(pr.Host),
		}
		want.SetFields(&pr.Fields)
		if got != want {
			t.Errorf("head %q:\n got %+v\nwant %+v", head, got, want)
		}
	})
}
