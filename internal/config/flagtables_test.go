package config

import (
	"reflect"
	"strings"
	"testing"
)

const testHash = "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"

// TestTableFlags: --cors, --header and --basic-auth build the table a
// site would write, refused by the file's rules with one line that says
// what to write, and never repeating what may be a password.
func TestTableFlags(t *testing.T) {
	get := []string{"GET", "HEAD"}
	for _, tt := range []struct {
		flag string
		raws []string
		want any
		msg  string // in the error, "" when it is good
	}{
		{"cors", []string{"*"}, &CORS{Origins: []string{"*"}, Methods: get}, ""},
		{"cors", []string{"https://A.example", "http://b.example:8080"}, &CORS{Origins: []string{"https://a.example", "http://b.example:8080"}, Methods: get}, ""},
		{"cors", []string{"*", "https://a.example"}, nil, `--cors "*": "*" allows every origin, so it must be alone`},
		{"cors", []string{"a.example"}, nil, `--cors "a.example": `},
		{"header", []string{"X-Robots-Tag: noindex"}, []HeaderOp{{'=', "X-Robots-Tag", "noindex"}}, ""},
		{"header", []string{"Link: </a.css>; rel=preload", "X-A:b", "link: </b.js>"},
			[]HeaderOp{{'=', "Link", "</a.css>; rel=preload"}, {'=', "X-A", "b"}, {'+', "link", "</b.js>"}}, ""},
		{"header", []string{"Cache-Control: public, max-age=60"}, []HeaderOp{{'=', "Cache-Control", "public, max-age=60"}}, ""},
		{"header", []string{"X-Robots-Tag noindex"}, nil, `--header "X-Robots-Tag noindex": want "Name: value", such as "X-Robots-Tag: noindex"`},
		{"header", []string{"X A: b"}, nil, `--header "X A: b": "X A" is not a header name`},
		{"header", []string{"Content-Length: 5"}, nil, `--header "Content-Length: 5": stoa sets Content-Length itself; remove this flag`},
		{"header", []string{"X-A: b\r\nX-B: c"}, nil, `the value has a line break; write it on one line`},
		{"basic-auth", []string{"bob:" + testHash}, &BasicAuth{Realm: "restricted", Users: []User{{"bob", testHash}}}, ""},
		{"basic-auth", []string{"carol:" + testHash, "bob:" + testHash}, &BasicAuth{Realm: "restricted", Users: []User{{"bob", testHash}, {"carol", testHash}}}, ""},
		{"basic-auth", []string{"bob:hunter2"}, nil, `--basic-auth bob: this looks like a plain password; store a hash made by 'stoa hash-password'`},
		{"basic-auth", []string{"hunter2"}, nil, `--basic-auth: want USER:HASH`},
		{"basic-auth", []string{":" + testHash}, nil, `--basic-auth: a user name cannot be empty`},
		{"basic-auth", []string{"bob:" + testHash, "bob:" + testHash}, nil, `--basic-auth bob: the user is given twice`},
	} {
		got, err := Lookup(tt.flag).ParseFlag(tt.raws)
		switch {
		case tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)):
			t.Errorf("--%s %q: %v; want an error with %q", tt.flag, tt.raws, err, tt.msg)
		case tt.msg != "" && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("--%s %q: %v repeats the password", tt.flag, tt.raws, err)
		case tt.msg == "" && err != nil:
			t.Errorf("--%s %q: %v", tt.flag, tt.raws, err)
		case tt.msg == "" && !reflect.DeepEqual(got, tt.want):
			t.Errorf("--%s %q = %#v, want %#v", tt.flag, tt.raws, got, tt.want)
		}
	}
}

// TestTableEnv: STOA_HEADERS and STOA_BASIC_AUTH take one element per
// line, since header values and argon2id hashes hold commas; STOA_CORS
// takes commas as every list does.
func TestTableEnv(t *testing.T) {
	argon := "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	if msg := checkHash(argon); msg != "" {
		t.Fatalf("the test's argon2id hash: %s", msg)
	}
	for _, tt := range []struct {
		name, raw string
		want      any
	}{
		{"STOA_CORS", "https://a.example, https://b.example", &CORS{Origins: []string{"https://a.example", "https://b.example"}, Methods: []string{"GET", "HEAD"}}},
		{"STOA_HEADERS", "Cache-Control: public, max-age=60\nX-A: b\n", []HeaderOp{{'=', "Cache-Control", "public, max-age=60"}, {'=', "X-A", "b"}}},
		{"STOA_BASIC_AUTH", "bob:" + argon + "\nann:" + testHash, &BasicAuth{Realm: "restricted", Users: []User{{"ann", testHash}, {"bob", argon}}}},
	} {
		got, err := envSetting(t, tt.name).ParseEnv(tt.raw)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s=%q: %#v, %v; want %#v", tt.name, tt.raw, got, err, tt.want)
		}
	}
	_, err := envSetting(t, "STOA_BASIC_AUTH").ParseEnv("ann:" + testHash + "\nbob:hunter2")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "STOA_BASIC_AUTH bob: this looks like a plain password") {
		t.Errorf("STOA_BASIC_AUTH with a plain password: %v; want refused, naming bob and not the password", err)
	}
}

// TestClosestFlagSwap is the regression test for --prot suggesting
// --root: two letters swapped are one slip, closer than two changed.
func TestClosestFlagSwap(t *testing.T) {
	var flags []string
	for _, s := range Settings {
		if s.Flag != "" {
			flags = append(flags, s.Flag)
		}
	}
	for _, tt := range []struct{ typo, want string }{
		{"prot", "port"},
		{"lsiten", "listen"},
		{"borwse", "browse"},
		{"idle-timout", "idle-timeout"},
		{"no-such-flag", ""},
		{"acme-st", "acme-storage"},
		{"cache-d", "cache-dir"}, // two starts, so the nearest
	} {
		if got := ClosestFlag(tt.typo, flags); got != tt.want {
			t.Errorf("ClosestFlag(%q) = %q, want %q", tt.typo, got, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{{"prot", "port", 1}, {"ab", "ba", 1}, {"abc", "cab", 2}, {"kitten", "sitting", 3}, {"", "ab", 2}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
