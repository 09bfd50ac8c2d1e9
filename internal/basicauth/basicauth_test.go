package basicauth

import (
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Known vectors made by other implementations.
const (
	// `htpasswd -nbB -C 4 alice 'pässwörd:🔑'` (Apache htpasswd).
	htpasswdHash     = "$2y$04$n/0vJgmppHsusok1sm5Kn.09oDX8dOM/6kAqqfEBbmHxokApcKdrS"
	htpasswdPassword = "pässwörd:🔑"
	// The argon2id test vector of the reference implementation, as used
	// by x/crypto/argon2's tests: password "password", salt "somesalt",
	// t=2, m=64, p=2, tag 350ac372...1362, written as a PHC string.
	refArgonHash     = "$argon2id$v=19$m=64,t=2,p=2$c29tZXNhbHQ$NQrDciL0Nsy1wJcvHr079rlYvyBxhBNi"
	refArgonPassword = "password"
)

// bcryptHash hashes password at the minimum cost, to keep tests fast.
func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// argonHash builds a PHC string with cheap parameters via argon2.IDKey.
func argonHash(password string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	e := base64.RawStdEncoding
	return "$argon2id$v=19$m=64,t=1,p=1$" + e.EncodeToString(salt) + "$" + e.EncodeToString(key)
}

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func testRealm(t testing.TB) *Realm {
	t.Helper()
	r, err := New("staging", []User{
		{"bob", argonHash("p:ss:word")}, // first, so unknown users cost an argon2id run
		{"alice", bcryptHash(t, "correct horse")},
		{"carol", htpasswdHash},
		{"dave", refArgonHash},
		{"émile", bcryptHash(t, "")},
		{"long", bcryptHash(t, strings.Repeat("x", 72))},
		{"", argonHash("anonymous")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheck(t *testing.T) {
	r := testRealm(t)
	tests := []struct {
		name string
		auth string
		want bool
	}{
		{"bcrypt", basic("alice:correct horse"), true},
		{"argon2id with ':' in the password", basic("bob:p:ss:word"), true},
		{"htpasswd $2y$ with unicode and ':'", basic("carol:" + htpasswdPassword), true},
		{"argon2id reference vector", basic("dave:" + refArgonPassword), true},
		{"unicode user, empty password", basic("émile:"), true},
		{"empty user name", basic(":anonymous"), true},
		{"72-byte bcrypt password", basic("long:" + strings.Repeat("x", 72)), true},
		{"scheme lowercase", "basic " + base64.StdEncoding.EncodeToString([]byte("alice:correct horse")), true},
		{"scheme uppercase, several spaces", "BASIC   " + base64.StdEncoding.EncodeToString([]byte("alice:correct horse")), true},
		{"surrounding whitespace", " \t" + basic("alice:correct horse") + " ", true},

		{"absent", "", false},
		{"wrong password", basic("alice:correct horsf"), false},
		{"password with a suffix", basic("alice:correct horse "), false},
		{"argon2id wrong password", basic("bob:p:ss"), false},
		{"unknown user", basic("mallory:correct horse"), false},
		{"user name case matters", basic("Alice:correct horse"), false},
		{"another user's password", basic("alice:p:ss:word"), false},
		{"bcrypt ignores bytes after 72, so they are refused", basic("long:" + strings.Repeat("x", 72) + "y"), false},
		{"no scheme", base64.StdEncoding.EncodeToString([]byte("alice:correct horse")), false},
		{"Bearer", "Bearer " + base64.StdEncoding.EncodeToString([]byte("alice:correct horse")), false},
		{"scheme glued to credentials", "Basic" + base64.StdEncoding.EncodeToString([]byte("alice:correct horse")), false},
		{"tab after scheme", "Basic\t" + base64.StdEncoding.EncodeToString([]byte("alice:correct horse")), false},
		{"scheme only", "Basic", false},
		{"scheme and space only", "Basic   ", false},
		{"bad base64", "Basic !!!!", false},
		{"base64 without padding", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice:correct horse")), false},
		{"base64 url alphabet", "Basic " + base64.URLEncoding.EncodeToString([]byte("alice:correct horse\xfb\xff")), false},
		{"no colon", basic("alicecorrect horse"), false},
		{"two credentials", basic("alice:correct horse") + ", " + basic("alice:correct horse"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Check(tt.auth); got != tt.want {
				t.Errorf("Check(%q) = %v, want %v", tt.auth, got, tt.want)
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	r := testRealm(t)
	if got, want := r.Challenge(), `Basic realm="staging", charset="UTF-8"`; got != want {
		t.Errorf("Challenge() = %q, want %q", got, want)
	}
}

func TestCache(t *testing.T) {
	r := testRealm(t)
	good := basic("alice:correct horse")
	if r.Check(basic("alice:wrong")) {
		t.Fatal("Check(wrong password) = true")
	}
	if n := len(r.cache); n != 0 {
		t.Errorf("after a failure the cache holds %d entries, want 0 (failures are not cached)", n)
	}
	if !r.Check(good) {
		t.Fatal("Check(good) = false")
	}
	if n := len(r.cache); n != 1 {
		t.Errorf("after a success the cache holds %d entries, want 1", n)
	}
	// Make alice's hash match nothing: only the cache can say yes now.
	for i := range r.users {
		r.users[i].hash = r.users[i].hash.dummy()
	}
	if !r.Check(good) {
		t.Error("Check(good) after the hash changed = false, want true from the cache")
	}
	if r.Check(basic("alice:wrong")) {
		t.Error("Check(wrong password) = true with a cached success for another value")
	}
	// A reloaded Realm starts empty.
	r2 := testRealm(t)
	if n := len(r2.cache); n != 0 {
		t.Errorf("new Realm cache holds %d entries, want 0", n)
	}
	if r2.cacheKey(good) == r.cacheKey(good) {
		t.Error("two Realms use the same cache key: the HMAC key is not random")
	}
}

func TestCacheEviction(t *testing.T) {
	r := testRealm(t)
	key := func(i int) [32]byte { return r.cacheKey(basic("u:" + string(rune('a'+i%26)) + strings.Repeat("x", i))) }
	for i := range cacheSize + 10 {
		r.remember(key(i))
		r.remember(key(i)) // twice: must not take two places
	}
	if n := len(r.cache); n != cacheSize {
		t.Errorf("cache holds %d entries, want %d", n, cacheSize)
	}
	for i, want := range map[int]bool{0: false, 9: false, 10: true, cacheSize + 9: true} {
		if _, got := r.cache[key(i)]; got != want {
			t.Errorf("entry %d cached = %v, want %v (oldest evicted first)", i, got, want)
		}
	}
}

// TestVerifySlots checks that no more slow verifications run at once than
// there are slots, however many requests arrive.
func TestVerifySlots(t *testing.T) {
	r := testRealm(t)
	oldSlots := slots
	defer func() { slots, testHookVerifying = oldSlots, nil }()
	slots = make(chan struct{}, 2)

	var running, peak atomic.Int32
	release := make(chan struct{})
	testHookVerifying = func() {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { r.Check(basic("alice:wrong")) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for running.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("verifications did not start")
		}
		time.Sleep(time.Millisecond)
	}
	// Give the other six every chance to get in, were they not held back.
	for range 100 {
		time.Sleep(100 * time.Microsecond)
	}
	close(release)
	wg.Wait()
	if got := peak.Load(); got != 2 {
		t.Errorf("at most %d verifications ran at once, want 2 (the slots)", got)
	}
}

func TestNewErrors(t *testing.T) {
	good := bcryptHash(t, "pw")
	argon := argonHash("pw")
	tests := []struct {
		name  string
		realm string
		users []User
		want  string // substring of the error
	}{
		{"plain password", "r", []User{{"alice", "hunter2"}}, `basic_auth user "alice": not a bcrypt`},
		{"empty hash", "r", []User{{"alice", ""}}, `basic_auth user "alice": not a bcrypt`},
		{"$2x$ bcrypt", "r", []User{{"alice", "$2x$" + good[4:]}}, `not a bcrypt`},
		{"$2$ bcrypt", "r", []User{{"alice", "$2$" + good[4:]}}, `not a bcrypt`},
		{"bcrypt truncated", "r", []User{{"alice", good[:59]}}, `malformed bcrypt hash`},
		{"bcrypt bad character", "r", []User{{"alice", good[:30] + "!" + good[31:]}}, `outside bcrypt's base64 alphabet`},
		{"bcrypt cost 3", "r", []User{{"alice", "$2a$03" + good[6:]}}, `cost must be 04 to 31`},
		{"bcrypt cost 32", "r", []User{{"alice", "$2a$32" + good[6:]}}, `cost must be 04 to 31`},
		{"bcrypt cost not digits", "r", []User{{"alice", "$2a$1x" + good[6:]}}, `cost must be`},
		{"argon2i", "r", []User{{"alice", strings.Replace(argon, "argon2id", "argon2i", 1)}}, `only argon2id`},
		{"argon2id old version", "r", []User{{"alice", strings.Replace(argon, "v=19", "v=16", 1)}}, `want v=19`},
		{"argon2id no version", "r", []User{{"alice", strings.Replace(argon, "v=19$", "", 1)}}, `malformed argon2id hash`},
		{"argon2id params reordered", "r", []User{{"alice", strings.Replace(argon, "m=64,t=1,p=1", "t=1,m=64,p=1", 1)}}, `malformed argon2id parameters`},
		{"argon2id param not a number", "r", []User{{"alice", strings.Replace(argon, "t=1", "t=x", 1)}}, `must be decimal`},
		{"argon2id t=0", "r", []User{{"alice", strings.Replace(argon, "t=1", "t=0", 1)}}, `at least 1`},
		{"argon2id p=0", "r", []User{{"alice", strings.Replace(argon, "p=1", "p=0", 1)}}, `at least 1`},
		{"argon2id p=256", "r", []User{{"alice", strings.Replace(argon, "p=1", "p=256", 1)}}, `must be decimal`},
		{"argon2id m too small", "r", []User{{"alice", strings.Replace(argon, "m=64,t=1,p=1", "m=15,t=1,p=2", 1)}}, `at least 8*p`},
		{"argon2id m too big", "r", []User{{"alice", strings.Replace(argon, "m=64", "m=4194305", 1)}}, `over 4 GiB`},
		{"argon2id padded salt", "r", []User{{"alice", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$NQrDciL0Nsy1wJcvHr079rlYvyBxhBNi"}}, `malformed argon2id salt`},
		{"argon2id short salt", "r", []User{{"alice", "$argon2id$v=19$m=64,t=1,p=1$c29tZQ$NQrDciL0Nsy1wJcvHr079rlYvyBxhBNi"}}, `malformed argon2id salt`},
		{"argon2id empty tag", "r", []User{{"alice", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$"}}, `malformed argon2id hash value`},
		{"argon2id extra field", "r", []User{{"alice", argon + "$x"}}, `malformed argon2id hash`},
		{"second user named", "r", []User{{"alice", good}, {"bob", "secret"}}, `basic_auth user "bob": not a bcrypt`},
		{"colon in name", "r", []User{{"a:b", good}}, `basic_auth user "a:b": a user name cannot contain ':'`},
		{"duplicate", "r", []User{{"alice", good}, {"alice", argon}}, `basic_auth user "alice": listed twice`},
		{"no users", "r", nil, `basic_auth realm "r": no users`},
		{"quote in realm", `a"b`, []User{{"alice", good}}, `no quotes`},
		{"newline in realm", "a\nb", []User{{"alice", good}}, `control characters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.realm, tt.users)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error containing %q", r, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("New error = %q, want it to contain %q", msg, tt.want)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("New error = %q, want one line", msg)
			}
			if strings.HasPrefix(tt.name, "plain") && !strings.Contains(msg, "stoa hash-password") {
				t.Errorf("New error = %q, want it to say to run stoa hash-password", msg)
			}
			for _, u := range tt.users {
				if len(u.Hash) > 8 && strings.Contains(msg, u.Hash) {
					t.Errorf("New error = %q quotes a hash", msg)
				}
			}
		})
	}
}

func TestHash(t *testing.T) {
	if testing.Short() {
		t.Skip("full-cost hashing takes a second or two")
	}
	for _, tt := range []struct{ alg, prefix string }{
		{"bcrypt", "$2a$12$"},
		{"argon2id", "$argon2id$v=19$m=65536,t=3,p=2$"},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			t.Parallel()
			password := "ünïcode: pass"
			h, err := Hash([]byte(password), tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(h, tt.prefix) {
				t.Errorf("Hash(%s) = %q, want prefix %q", tt.alg, h, tt.prefix)
			}
			if tt.alg == "argon2id" { // bcrypt salts itself
				if h2, _ := Hash([]byte(password), tt.alg); h == h2 {
					t.Errorf("Hash(%s) twice gave %q both times: the salt is not random", tt.alg, h)
				}
			}
			r, err := New("r", []User{{"u", h}})
			if err != nil {
				t.Fatalf("New rejects Hash's output: %v", err)
			}
			if !r.Check(basic("u:" + password)) {
				t.Errorf("Check(right password) = false for a %s hash", tt.alg)
			}
		})
	}
}

func TestHashErrors(t *testing.T) {
	tests := []struct {
		password, alg, want string
	}{
		{"pw", "md5", `unknown algorithm "md5"`},
		{"pw", "", `unknown algorithm ""`},
		{"", "bcrypt", "empty"},
		{strings.Repeat("x", 73), "bcrypt", "first 72 bytes"},
	}
	for _, tt := range tests {
		h, err := Hash([]byte(tt.password), tt.alg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Hash(%d bytes, %q) = %q, %v; want an error containing %q", len(tt.password), tt.alg, h, err, tt.want)
		}
	}
}

func TestDummyMatchesNothing(t *testing.T) {
	for _, h := range []string{bcryptHash(t, ""), argonHash("")} {
		sh, err := parseHash(h)
		if err != nil {
			t.Fatal(err)
		}
		d := sh.dummy()
		if _, err := parseHash(string(d.bcrypt)); d.kind == kindBcrypt && err != nil {
			t.Errorf("dummy of %q is malformed: %v", h, err)
		}
		if d.verify(nil) {
			t.Errorf("dummy of %q matches the empty password", h)
		}
		if !sh.verify(nil) {
			t.Errorf("%q does not match the empty password it was made from", h)
		}
	}
}

// FuzzCheck checks that no Authorization value panics and that only the
// right credentials pass.
func FuzzCheck(f *testing.F) {
	r, err := New("fuzz", []User{{"bob", argonHash("p:ss")}, {"alice", bcryptHash(f, "pw")}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "Basic", "Basic ", basic("bob:p:ss"), basic("alice:pw"), basic("bob"), "basic  " + base64.StdEncoding.EncodeToString([]byte("x:y")), "Bearer abc", "Basic ====", "Basic \x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, auth string) {
		if !r.Check(auth) {
			return
		}
		creds, ok := basicCredentials(auth)
		dec, err := base64.StdEncoding.DecodeString(creds)
		if !ok || err != nil || (string(dec) != "bob:p:ss" && string(dec) != "alice:pw") {
			t.Errorf("Check(%q) = true for credentials %q", auth, dec)
		}
	})
}

func BenchmarkCheckCached(b *testing.B) {
	r := testRealm(b)
	auth := basic("alice:correct horse")
	if !r.Check(auth) {
		b.Fatal("Check = false")
	}
	b.ReportAllocs()
	for b.Loop() {
		if !r.Check(auth) {
			b.Fatal("Check = false")
		}
	}
}
