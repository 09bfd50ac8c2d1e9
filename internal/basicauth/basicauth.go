// Package basicauth owns HTTP Basic authentication (RFC 7617): checking an
// Authorization field against the bcrypt or argon2id hashes of a
// basic_auth table, the WWW-Authenticate challenge, and making those hashes
// for `stoa hash-password`. Plain passwords are never stored or accepted in
// the configuration.
//
// Verifying a hash is slow on purpose (tens to hundreds of milliseconds),
// which a static server answering thousands of requests a second cannot pay
// per request. So a Realm remembers the Authorization values that
// succeeded, in a bounded cache keyed by an HMAC of the value, and it
// bounds how many slow verifications run at once so that a flood of wrong
// passwords costs at most the CPUs, not the whole server's memory.
package basicauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"runtime"
	"strings"
	"sync"
)

// User is one entry of a basic_auth users table: a name and the hash of
// its password.
type User struct{ Name, Hash string }

// Realm checks credentials against one basic_auth table. It is safe for
// concurrent use. A configuration reload builds a new Realm, which starts
// with an empty cache, so a removed user or changed password takes effect
// at once.
type Realm struct {
	challenge string
	users     []account
	// unknown is verified when the user name matches no account, so that
	// the time a check takes does not tell whether a name exists.
	unknown storedHash

	macKey [32]byte
	macs   sync.Pool // of *macState

	mu    sync.RWMutex
	cache map[[32]byte]struct{} // successful Authorization values, by HMAC
	ring  [][32]byte            // cache keys in insertion order, for FIFO eviction
	next  int                   // index in ring of the next key to evict
}

// account is a user with its name hashed, so that looking a name up
// compares fixed-size values in constant time.
type account struct {
	nameSum [32]byte
	hash    storedHash
}

// cacheSize bounds the success cache. Each entry is 32 bytes of key plus
// map overhead; 1024 covers every user of any plausible basic_auth table
// on several browsers each.
const cacheSize = 1024

// slots bounds concurrent slow verifications across all Realms: the CPUs
// are shared, so the bound is too. A request that finds no free slot waits.
var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

// testHookVerifying, when set by a test, runs while a slot is held.
var testHookVerifying func()

// New returns a Realm named realm (shown by browsers in the login dialog)
// for users. Each hash must be a bcrypt ($2a$, $2b$, $2y$, any cost) or
// argon2id PHC string; otherwise the error, one line, names the user and
// says to run `stoa hash-password`.
func New(realm string, users []User) (*Realm, error) {
	for _, c := range realm {
		if c == '"' || c == '\\' || c < ' ' || c == 0x7f {
			return nil, fmt.Errorf("basic_auth realm %q: no quotes, backslashes or control characters", realm)
		}
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("basic_auth realm %q: no users; add name = \"<hash>\" lines made with `stoa hash-password`", realm)
	}
	r := &Realm{
		// RFC 7617 §2.1: charset="UTF-8" tells the browser how to encode
		// non-ASCII user names and passwords.
		challenge: `Basic realm="` + realm + `", charset="UTF-8"`,
		users:     make([]account, 0, len(users)),
		cache:     make(map[[32]byte]struct{}),
	}
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if strings.IndexByte(u.Name, ':') >= 0 {
			return nil, fmt.Errorf("basic_auth user %q: a user name cannot contain ':' (it separates name and password)", u.Name)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("basic_auth user %q: listed twice", u.Name)
		}
		seen[u.Name] = true
		h, err := parseHash(u.Hash)
		if err != nil {
			return nil, fmt.Errorf("basic_auth user %q: %v; run `stoa hash-password` to make a hash", u.Name, err)
		}
		r.users = append(r.users, account{sha256.Sum256([]byte(u.Name)), h})
	}
	// Unknown names cost what the first user costs. In a table that mixes
	// kinds or costs, the others remain distinguishable by timing; one
	// table normally holds hashes made one way.
	r.unknown = r.users[0].hash.dummy()
	rand.Read(r.macKey[:])
	r.macs.New = func() any { return &macState{h: hmac.New(sha256.New, r.macKey[:])} }
	return r, nil
}

// Challenge returns the WWW-Authenticate field value to send with a 401,
// for example `Basic realm="staging", charset="UTF-8"`.
func (r *Realm) Challenge() string { return r.challenge }

// Check reports whether authorization, the raw Authorization field value
// ("" if absent), holds the user-id and password of a user of r
// (RFC 7617 §2). The scheme name is case-insensitive; the credentials are
// standard padded base64 of "user-id:password", split at the first ':' so
// that passwords may contain ':'. Names and passwords are compared as the
// bytes the client sent (UTF-8 for browsers honouring the charset; no
// Unicode normalization).
//
// A success is remembered, so repeating it costs a keyed hash and a map
// lookup and does not allocate. Anything else pays a full hash
// verification, also for unknown user names, waiting for a free slot when
// as many verifications as CPUs are running.
func (r *Realm) Check(authorization string) bool {
	creds, ok := basicCredentials(authorization)
	if !ok {
		return false
	}
	key := r.cacheKey(authorization)
	r.mu.RLock()
	_, hit := r.cache[key]
	r.mu.RUnlock()
	if hit {
		return true
	}
	if !r.verify(creds) {
		return false
	}
	r.remember(key)
	return true
}

// basicCredentials returns the token68 of a Basic authorization value:
// the scheme (any case), one or more spaces, the credentials.
func basicCredentials(v string) (string, bool) {
	v = strings.Trim(v, " \t")
	const scheme = "Basic"
	if len(v) <= len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) || v[len(scheme)] != ' ' {
		return "", false
	}
	creds := strings.TrimLeft(v[len(scheme):], " ")
	return creds, creds != ""
}

// verify decodes user-id:password and checks it the slow way.
func (r *Realm) verify(creds string) bool {
	decoded, err := base64.StdEncoding.Strict().DecodeString(creds)
	if err != nil {
		return false
	}
	defer clear(decoded) // do not leave the password lying in the heap
	name, password, ok := bytes.Cut(decoded, []byte(":"))
	if !ok {
		return false
	}
	nameSum := sha256.Sum256(name)
	h, found := &r.unknown, false
	for i := range r.users {
		// Every account is compared, in constant time, so the position of
		// a name in the table does not show either.
		if subtle.ConstantTimeCompare(nameSum[:], r.users[i].nameSum[:]) == 1 {
			h, found = &r.users[i].hash, true
		}
	}
	slots <- struct{}{}
	defer func() { <-slots }()
	if testHookVerifying != nil {
		testHookVerifying()
	}
	return h.verify(password) && found
}

// macState is one HMAC-SHA256 instance with buffers, pooled so that a
// cache lookup does not allocate.
type macState struct {
	h   hash.Hash
	buf [256]byte
	sum [sha256.Size]byte
}

// cacheKey is HMAC-SHA256 of authorization under r's random key. Keying
// means the cache does not hold plain hashes of credentials that a memory
// dump could be searched with.
func (r *Realm) cacheKey(authorization string) [32]byte {
	m := r.macs.Get().(*macState)
	m.h.Reset()
	for s := authorization; s != ""; {
		n := copy(m.buf[:], s)
		m.h.Write(m.buf[:n])
		s = s[n:]
	}
	m.h.Sum(m.sum[:0])
	key := m.sum
	r.macs.Put(m)
	return key
}

// remember adds key to the success cache, evicting the oldest entry when
// it is full.
func (r *Realm) remember(key [32]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[key]; ok {
		return
	}
	if len(r.ring) < cacheSize {
		r.ring = append(r.ring, key)
	} else {
		delete(r.cache, r.ring[r.next])
		r.ring[r.next] = key
		r.next = (r.next + 1) % cacheSize
	}
	r.cache[key] = struct{}{}
}
