package conditional

import (
	"regexp"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/ascii"
)

var (
	lastMod = time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC)

	// HTTP-dates relative to lastMod, in the three formats of RFC 9110 §5.6.7.
	// The RFC 850 ones have a two-digit year, resolved against the real
	// clock: "94" means 1994 until 2044.
	dateAt      = "Sun, 06 Nov 1994 08:49:37 GMT"
	dateAt850   = "Sunday, 06-Nov-94 08:49:37 GMT"
	dateAtASC   = "Sun Nov  6 08:49:37 1994"
	dateBefore  = "Sun, 06 Nov 1994 08:49:36 GMT"
	dateAfter   = "Sun, 06 Nov 1994 08:49:38 GMT"
	before850   = "Sunday, 06-Nov-94 08:49:36 GMT"
	beforeASC   = "Sun Nov  6 08:49:36 1994"
	after850    = "Sunday, 06-Nov-94 08:49:38 GMT"
	afterASC    = "Sun Nov  6 08:49:38 1994"
	invalidDate = "yesterday"

	strong = &Validators{ETag: `"abc"`, LastModified: lastMod}
	weak   = &Validators{ETag: `W/"abc"`, LastModified: lastMod}
	noVal  = &Validators{}
	// Sub-second precision in the modification time must not matter.
	subSecond = &Validators{ETag: `"abc"`, LastModified: lastMod.Add(999 * time.Millisecond)}
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		method string
		h      Headers
		v      *Validators
		want   Result
	}{
		{"no preconditions", "GET", Headers{}, strong, Proceed},
		{"whitespace-only fields are absent", "GET", Headers{IfMatch: " ", IfNoneMatch: "\t"}, strong, Proceed},

		// Step 1: If-Match, strong comparison.
		{"If-Match matches", "PUT", Headers{IfMatch: `"abc"`}, strong, Proceed},
		{"If-Match in list", "PUT", Headers{IfMatch: `"x", "abc" ,"y"`}, strong, Proceed},
		{"If-Match differs", "PUT", Headers{IfMatch: `"xyz"`}, strong, PreconditionFailed},
		{"If-Match star", "PUT", Headers{IfMatch: "*"}, strong, Proceed},
		{"If-Match star without ETag", "PUT", Headers{IfMatch: " * "}, noVal, Proceed},
		{"If-Match weak request tag never matches", "PUT", Headers{IfMatch: `W/"abc"`}, strong, PreconditionFailed},
		{"If-Match weak current tag never matches", "PUT", Headers{IfMatch: `"abc"`}, weak, PreconditionFailed},
		{"If-Match without current ETag", "GET", Headers{IfMatch: `"abc"`}, noVal, PreconditionFailed},
		{"If-Match malformed", "GET", Headers{IfMatch: `abc`}, strong, PreconditionFailed},
		{"If-Match malformed after match", "GET", Headers{IfMatch: `"abc", xyz`}, strong, PreconditionFailed},
		{"If-Match star in list is malformed", "GET", Headers{IfMatch: `*, "abc"`}, strong, PreconditionFailed},
		{"If-Match empty list", "GET", Headers{IfMatch: ` , `}, strong, PreconditionFailed},
		{"If-Match is case-sensitive", "GET", Headers{IfMatch: `"ABC"`}, strong, PreconditionFailed},

		// Step 2: If-Unmodified-Since, only without If-Match.
		{"IUS later date", "PUT", Headers{IfUnmodifiedSince: dateAfter}, strong, Proceed},
		{"IUS same date", "PUT", Headers{IfUnmodifiedSince: dateAt}, strong, Proceed},
		{"IUS same second, sub-second mtime", "PUT", Headers{IfUnmodifiedSince: dateAt}, subSecond, Proceed},
		{"IUS earlier date", "PUT", Headers{IfUnmodifiedSince: dateBefore}, strong, PreconditionFailed},
		{"IUS earlier date RFC 850", "PUT", Headers{IfUnmodifiedSince: before850}, strong, PreconditionFailed},
		{"IUS earlier date asctime", "PUT", Headers{IfUnmodifiedSince: beforeASC}, strong, PreconditionFailed},
		{"IUS earlier date on GET", "GET", Headers{IfUnmodifiedSince: dateBefore}, strong, PreconditionFailed},
		{"IUS invalid date ignored", "PUT", Headers{IfUnmodifiedSince: invalidDate}, strong, Proceed},
		{"IUS list of dates ignored", "PUT", Headers{IfUnmodifiedSince: dateBefore + ", " + dateBefore}, strong, Proceed},
		{"IUS unknown mtime ignored", "PUT", Headers{IfUnmodifiedSince: dateBefore}, noVal, Proceed},
		{"If-Match true overrides failing IUS", "PUT", Headers{IfMatch: `"abc"`, IfUnmodifiedSince: dateBefore}, strong, Proceed},
		{"If-Match star overrides failing IUS", "PUT", Headers{IfMatch: `*`, IfUnmodifiedSince: dateBefore}, strong, Proceed},

		// Step 3: If-None-Match, weak comparison.
		{"INM matches GET", "GET", Headers{IfNoneMatch: `"abc"`}, strong, NotModified},
		{"INM matches HEAD", "HEAD", Headers{IfNoneMatch: `"abc"`}, strong, NotModified},
		{"INM matches POST", "POST", Headers{IfNoneMatch: `"abc"`}, strong, PreconditionFailed},
		{"INM method is case-sensitive", "get", Headers{IfNoneMatch: `"abc"`}, strong, PreconditionFailed},
		{"INM weak request tag", "GET", Headers{IfNoneMatch: `W/"abc"`}, strong, NotModified},
		{"INM weak current tag", "GET", Headers{IfNoneMatch: `"abc"`}, weak, NotModified},
		{"INM both weak", "GET", Headers{IfNoneMatch: `W/"abc"`}, weak, NotModified},
		{"INM in list", "GET", Headers{IfNoneMatch: `"x",,W/"abc"`}, strong, NotModified},
		{"INM no match", "GET", Headers{IfNoneMatch: `"x", "y"`}, strong, Proceed},
		{"INM star GET", "GET", Headers{IfNoneMatch: "*"}, strong, NotModified},
		{"INM star PUT", "PUT", Headers{IfNoneMatch: "*"}, noVal, PreconditionFailed},
		{"INM without current ETag", "GET", Headers{IfNoneMatch: `"abc"`}, noVal, Proceed},
		{"INM malformed", "GET", Headers{IfNoneMatch: `"abc`}, strong, Proceed},
		{"INM malformed after match", "GET", Headers{IfNoneMatch: `"abc" "x"`}, strong, Proceed},
		{"INM lower-case weak prefix is malformed", "GET", Headers{IfNoneMatch: `w/"abc"`}, strong, Proceed},
		{"INM tag with comma inside", "GET", Headers{IfNoneMatch: `"a,b"`}, &Validators{ETag: `"a,b"`}, NotModified},
		{"INM tag with obs-text", "GET", Headers{IfNoneMatch: "\"\xe2\x82\xac\""}, &Validators{ETag: "\"\xe2\x82\xac\""}, NotModified},

		// Step 4: If-Modified-Since, GET and HEAD only, only without If-None-Match.
		{"IMS same date", "GET", Headers{IfModifiedSince: dateAt}, strong, NotModified},
		{"IMS same date RFC 850", "GET", Headers{IfModifiedSince: dateAt850}, strong, NotModified},
		{"IMS same date asctime", "HEAD", Headers{IfModifiedSince: dateAtASC}, strong, NotModified},
		{"IMS same second, sub-second mtime", "GET", Headers{IfModifiedSince: dateAt}, subSecond, NotModified},
		{"IMS later date", "GET", Headers{IfModifiedSince: dateAfter}, strong, NotModified},
		{"IMS later date RFC 850", "GET", Headers{IfModifiedSince: after850}, strong, NotModified},
		{"IMS later date asctime", "GET", Headers{IfModifiedSince: afterASC}, strong, NotModified},
		{"IMS earlier date", "GET", Headers{IfModifiedSince: dateBefore}, strong, Proceed},
		{"IMS with OWS", "GET", Headers{IfModifiedSince: " " + dateAt + " "}, strong, NotModified},
		{"IMS ignored for POST", "POST", Headers{IfModifiedSince: dateAt}, strong, Proceed},
		{"IMS invalid date ignored", "GET", Headers{IfModifiedSince: invalidDate}, strong, Proceed},
		{"IMS list of dates ignored", "GET", Headers{IfModifiedSince: dateAt + ", " + dateAt}, strong, Proceed},
		{"IMS unknown mtime ignored", "GET", Headers{IfModifiedSince: dateAt}, noVal, Proceed},
		{"INM present makes IMS ignored", "GET", Headers{IfNoneMatch: `"xyz"`, IfModifiedSince: dateAt}, strong, Proceed},
		{"malformed INM still makes IMS ignored", "GET", Headers{IfNoneMatch: `xyz`, IfModifiedSince: dateAt}, strong, Proceed},
		{"INM match wins over modified IMS", "GET", Headers{IfNoneMatch: `"abc"`, IfModifiedSince: dateBefore}, strong, NotModified},

		// Ordering between the steps.
		{"If-Match failing beats If-None-Match", "GET", Headers{IfMatch: `"xyz"`, IfNoneMatch: `"abc"`}, strong, PreconditionFailed},
		{"If-Match passing then If-None-Match", "GET", Headers{IfMatch: `"abc"`, IfNoneMatch: `"abc"`}, strong, NotModified},
		{"IUS failing beats If-None-Match", "GET", Headers{IfUnmodifiedSince: dateBefore, IfNoneMatch: `"abc"`}, strong, PreconditionFailed},
		{"IUS failing beats IMS", "GET", Headers{IfUnmodifiedSince: dateBefore, IfModifiedSince: dateAt}, strong, PreconditionFailed},
		{"IUS passing then IMS", "GET", Headers{IfUnmodifiedSince: dateAt, IfModifiedSince: dateAt}, strong, NotModified},
		{"If-Match failing beats IMS", "GET", Headers{IfMatch: `"xyz"`, IfModifiedSince: dateAt}, strong, PreconditionFailed},
		{"all pass", "GET", Headers{IfMatch: `"abc"`, IfUnmodifiedSince: dateBefore, IfNoneMatch: `"x"`, IfModifiedSince: dateAt}, strong, Proceed},
		{"If-Range does not affect Evaluate", "GET", Headers{IfRange: `"xyz"`}, strong, Proceed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if got := Evaluate(tt.method, &h, tt.v); got != tt.want {
				t.Errorf("Evaluate(%q, %+v, %+v) = %v, want %v", tt.method, tt.h, *tt.v, got, tt.want)
			}
		})
	}
}

func TestEvaluateNil(t *testing.T) {
	if got := Evaluate("GET", nil, strong); got != Proceed {
		t.Errorf("Evaluate with nil Headers = %v, want Proceed", got)
	}
	if got := Evaluate("GET", &Headers{IfMatch: `"abc"`}, nil); got != PreconditionFailed {
		t.Errorf("Evaluate with nil Validators = %v, want PreconditionFailed", got)
	}
	if got := RangeApplies(`"abc"`, nil); got {
		t.Errorf("RangeApplies with nil Validators = %v, want false", got)
	}
}

func TestRangeApplies(t *testing.T) {
	tests := []struct {
		name    string
		ifRange string
		v       *Validators
		want    bool
	}{
		{"absent", "", strong, true},
		{"absent without validators", "", noVal, true},
		{"whitespace only", " ", strong, true},
		{"strong match", `"abc"`, strong, true},
		{"strong match with OWS", ` "abc"	`, strong, true},
		{"different tag", `"abd"`, strong, false},
		{"weak request tag never matches", `W/"abc"`, weak, false},
		{"weak request tag against strong", `W/"abc"`, strong, false},
		{"strong request tag against weak", `"abc"`, weak, false},
		{"no current ETag", `"abc"`, noVal, false},
		{"list is not allowed", `"abc", "abc"`, strong, false},
		{"unterminated tag", `"abc`, strong, false},
		{"trailing garbage", `"abc"x`, strong, false},
		{"star is not allowed", `*`, strong, false},
		{"date equal", dateAt, strong, true},
		{"date equal RFC 850", dateAt850, strong, true},
		{"date equal asctime", dateAtASC, strong, true},
		{"date equal, sub-second mtime", dateAt, subSecond, true},
		{"date later", dateAfter, strong, false},
		{"date earlier", dateBefore, strong, false},
		{"date without mtime", dateAt, noVal, false},
		{"malformed date", invalidDate, strong, false},
		{"lower-case date", "sun, 06 nov 1994 08:49:37 gmt", strong, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RangeApplies(tt.ifRange, tt.v); got != tt.want {
				t.Errorf("RangeApplies(%q, %+v) = %v, want %v", tt.ifRange, *tt.v, got, tt.want)
			}
		})
	}
}

func TestScanETag(t *testing.T) {
	tests := []struct {
		in       string
		wantOK   bool
		wantTag  entityTag
		wantRest string
	}{
		{`"abc"`, true, entityTag{opaque: `"abc"`}, ""},
		{`W/"abc"`, true, entityTag{opaque: `"abc"`, weak: true}, ""},
		{`""`, true, entityTag{opaque: `""`}, ""},
		{`W/""`, true, entityTag{opaque: `""`, weak: true}, ""},
		{`"a!#~"rest`, true, entityTag{opaque: `"a!#~"`}, "rest"},
		{"\"\x80\xff\"", true, entityTag{opaque: "\"\x80\xff\""}, ""},
		{`"a" , "b"`, true, entityTag{opaque: `"a"`}, ` , "b"`},
		{`"a,b"`, true, entityTag{opaque: `"a,b"`}, ""},
		{`"a b"`, false, entityTag{}, ""},
		{"\"a\tb\"", false, entityTag{}, ""},
		{"\"a\x7fb\"", false, entityTag{}, ""},
		{"\"a\x00b\"", false, entityTag{}, ""},
		{`"abc`, false, entityTag{}, ""},
		{`"`, false, entityTag{}, ""},
		{`W/`, false, entityTag{}, ""},
		{`W/abc`, false, entityTag{}, ""},
		{`w/"abc"`, false, entityTag{}, ""},
		{`W "abc"`, false, entityTag{}, ""},
		{`abc`, false, entityTag{}, ""},
		{``, false, entityTag{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tag, rest, ok := scanETag(tt.in)
			if ok != tt.wantOK || tag != tt.wantTag || rest != tt.wantRest {
				t.Errorf("scanETag(%q) = %+v, %q, %v; want %+v, %q, %v", tt.in, tag, rest, ok, tt.wantTag, tt.wantRest, tt.wantOK)
			}
		})
	}
}

func TestETagCompare(t *testing.T) {
	// The example table of RFC 9110 §8.8.3.2.
	tests := []struct {
		a, b               string
		wantStrong, wantWk bool
	}{
		{`W/"1"`, `W/"1"`, false, true},
		{`W/"1"`, `W/"2"`, false, false},
		{`W/"1"`, `"1"`, false, true},
		{`"1"`, `"1"`, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			a, _, _ := scanETag(tt.a)
			b, _, _ := scanETag(tt.b)
			if got := etagStrongMatch(a, b); got != tt.wantStrong {
				t.Errorf("etagStrongMatch = %v, want %v", got, tt.wantStrong)
			}
			if got := etagWeakMatch(a, b); got != tt.wantWk {
				t.Errorf("etagWeakMatch = %v, want %v", got, tt.wantWk)
			}
		})
	}
}

func TestETagListMatch(t *testing.T) {
	cur := entityTag{opaque: `"abc"`}
	tests := []struct {
		list           string
		wantMatched    bool
		wantWellFormed bool
	}{
		{`"abc"`, true, true},
		{`"x","abc"`, true, true},
		{` "x" ,	"abc"	, `, true, true},
		{`,,"abc",,`, true, true},
		{`"x", "y"`, false, true},
		{`,`, false, true},
		{`W/"abc"`, true, true}, // weak comparison
		{`"abc" "x"`, false, false},
		{`"abc",x`, false, false},
		{`x,"abc"`, false, false},
		{`"abc";q=1`, false, false},
		{`"abc`, false, false},
		{`*`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			matched, wellFormed := etagListMatch(tt.list, cur, etagWeakMatch)
			if matched != tt.wantMatched || wellFormed != tt.wantWellFormed {
				t.Errorf("etagListMatch(%q) = %v, %v; want %v, %v", tt.list, matched, wellFormed, tt.wantMatched, tt.wantWellFormed)
			}
		})
	}
}

func TestAllocs(t *testing.T) {
	tests := []struct {
		name string
		h    Headers
	}{
		{"INM match", Headers{IfNoneMatch: `"x", W/"abc"`}},
		{"INM no match", Headers{IfNoneMatch: `"x", "y", "z"`}},
		{"IMS equals formatted Last-Modified", Headers{IfModifiedSince: dateAt}},
		{"IMS RFC 850", Headers{IfModifiedSince: dateAt850}},
		{"If-Match and IUS", Headers{IfMatch: `"abc"`, IfUnmodifiedSince: dateBefore}},
		{"IUS", Headers{IfUnmodifiedSince: dateAfter}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { Evaluate("GET", &tt.h, strong) }); n != 0 {
				t.Errorf("Evaluate allocs = %v, want 0", n)
			}
		})
	}
	for _, ir := range []string{`"abc"`, dateAt} {
		if n := testing.AllocsPerRun(100, func() { RangeApplies(ir, strong) }); n != 0 {
			t.Errorf("RangeApplies(%q) allocs = %v, want 0", ir, n)
		}
	}
}

// refList is an independent statement of the #entity-tag grammar
// (RFC 9110 §5.6.1, §8.8.3) with empty elements allowed. Go's regexp
// decodes invalid UTF-8 as U+FFFD, so the negated class below matches
// exactly the etagc bytes, obs-text included.
var (
	refTag  = `(?:W/)?"[^\x00-\x20"\x7f]*"`
	refList = regexp.MustCompile(`^[ \t]*(?:` + refTag + `)?(?:[ \t]*,[ \t]*(?:` + refTag + `)?)*[ \t]*$`)
	refTags = regexp.MustCompile(refTag)
)

func FuzzETagList(f *testing.F) {
	for _, seed := range [][2]string{
		{`"abc"`, `"abc"`},
		{`W/"abc", "x"`, `"abc"`},
		{` , ,"a,b" ,`, `W/"a,b"`},
		{`"abc" "x"`, `"x"`},
		{"\"\x80\", \"\xff\"", "\"\xff\""},
		{`"abc`, `"abc"`},
		{`*`, `"abc"`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, list, etag string) {
		cur, curOK := currentETag(&Validators{ETag: etag})
		for _, strongCmp := range []bool{false, true} {
			match := etagWeakMatch
			if strongCmp {
				match = etagStrongMatch
			}
			matched, wellFormed := etagListMatch(list, cur, match)
			if want := refList.MatchString(list); wellFormed != want {
				t.Fatalf("etagListMatch(%q) wellFormed = %v, reference grammar says %v", list, wellFormed, want)
			}
			if !wellFormed {
				if matched {
					t.Fatalf("etagListMatch(%q) matched a malformed list", list)
				}
				continue
			}
			want := false
			for _, s := range refTags.FindAllString(list, -1) {
				tag, rest, ok := scanETag(s)
				if !ok || rest != "" {
					t.Fatalf("scanETag(%q) = %+v, %q, %v on a reference tag", s, tag, rest, ok)
				}
				if curOK && match(tag, cur) {
					want = true
				}
			}
			if curOK && matched != want {
				t.Fatalf("etagListMatch(%q, %+v, strong=%v) = %v, want %v", list, cur, strongCmp, matched, want)
			}
		}
		// Whole-request evaluation must never panic and must be one of
		// the defined results.
		v := &Validators{ETag: etag, LastModified: lastMod}
		for _, h := range []Headers{{IfMatch: list}, {IfNoneMatch: list}, {IfRange: list}} {
			if r := Evaluate("GET", &h, v); r != Proceed && r != NotModified && r != PreconditionFailed {
				t.Fatalf("Evaluate = %v", r)
			}
			RangeApplies(h.IfRange, v)
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	f.Add("GET", `"abc"`, "", dateAt, "", `"abc"`, `"abc"`)
	f.Add("PUT", "*", `W/"x"`, "", dateBefore, dateAt, `W/"x"`)
	f.Add("HEAD", "", "*", dateAt850, "", dateAtASC, "")
	f.Fuzz(func(t *testing.T, method, ifMatch, ifNoneMatch, ims, ius, ifRange, etag string) {
		h := Headers{IfMatch: ifMatch, IfNoneMatch: ifNoneMatch, IfModifiedSince: ims, IfUnmodifiedSince: ius, IfRange: ifRange}
		v := &Validators{ETag: etag, LastModified: lastMod}
		r := Evaluate(method, &h, v)
		switch {
		case r == NotModified && !isGetOrHead(method):
			t.Fatalf("Evaluate(%q, %+v) = NotModified for a method other than GET or HEAD", method, h)
		case r != Proceed && r != NotModified && r != PreconditionFailed:
			t.Fatalf("Evaluate = %v", r)
		}
		// Evaluation depends on nothing but the fields that are present.
		if ifMatch == "" && ifNoneMatch == "" && ims == "" && ius == "" && r != Proceed {
			t.Fatalf("Evaluate with no preconditions = %v", r)
		}
		if RangeApplies(ifRange, v) && ascii.TrimOWS(ifRange) != "" {
			// Only an exact strong tag or exact date may pass.
			if tag, _, ok := scanETag(ascii.TrimOWS(ifRange)); ok && tag.weak {
				t.Fatalf("RangeApplies(%q) passed a weak entity-tag", ifRange)
			}
		}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name string
		h    Headers
	}{
		{"INM", Headers{IfNoneMatch: `"abc"`}},
		{"INM-list", Headers{IfNoneMatch: `"a", "b", "c", W/"abc"`}},
		{"IMS", Headers{IfModifiedSince: dateAt}},
		{"none", Headers{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evaluate("GET", &c.h, strong)
			}
		})
	}
}

func BenchmarkRangeApplies(b *testing.B) {
	for _, ir := range []string{`"abc"`, dateAt} {
		b.Run(ir[:4], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				RangeApplies(ir, strong)
			}
		})
	}
}
