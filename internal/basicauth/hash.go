package basicauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Parameters of the hashes Hash makes.
const (
	// bcryptCost 12 (4096 rounds) takes a few hundred milliseconds on a
	// current server core: slow enough to make guessing expensive, fast
	// enough that a person logging in does not notice.
	bcryptCost = 12

	// Argon2id parameters follow the second recommended option of RFC 9106
	// §4 ("if much less memory is available"): t=3 passes over m=64 MiB,
	// a 128-bit salt and a 256-bit tag. That memory is well above OWASP's
	// Password Storage Cheat Sheet minimums (19 MiB with t=2). We use p=2
	// lanes where the RFC says 4: lanes change how many threads one
	// verification keeps busy, not how much memory an attacker needs, and a
	// web server verifying several logins at once gains nothing from
	// spreading each over four cores.
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32

	// bcryptMaxPassword is how much of a password bcrypt reads; the rest
	// would be ignored, so longer passwords are refused (see verify).
	bcryptMaxPassword = 72
)

// hashKind says which algorithm a stored hash uses.
type hashKind uint8

const (
	kindBcrypt hashKind = iota + 1
	kindArgon2id
)

// storedHash is a parsed password hash from the configuration.
type storedHash struct {
	kind hashKind

	bcrypt []byte // the whole "$2b$12$..." string, for bcrypt

	// argon2id parameters, salt and expected tag.
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

// errPlain is what a value that is no hash at all gets: most likely a
// password pasted where its hash belongs.
var errPlain = errors.New(`not a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash; plain passwords are not accepted`)

// parseHash parses a bcrypt hash or an argon2id PHC string. Errors never
// quote the hash: it is a secret too.
func parseHash(s string) (storedHash, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	case strings.HasPrefix(s, "$argon2i$"), strings.HasPrefix(s, "$argon2d$"):
		return storedHash{}, errors.New("argon2i and argon2d hashes are not supported, only argon2id")
	}
	return storedHash{}, errPlain
}

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks "$2b$NN$" followed by 22 characters of salt and 31 of
// hash. x/crypto/bcrypt is lenient about the part after the cost, so the
// shape is checked here, where a broken hash is a config error rather
// than a login that can never succeed.
func parseBcrypt(s string) (storedHash, error) {
	if len(s) != 60 || s[6] != '$' {
		return storedHash{}, errors.New(`malformed bcrypt hash (want $2b$NN$ and 53 characters, 60 in all)`)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return storedHash{}, errors.New(`malformed bcrypt hash (a character outside bcrypt's base64 alphabet)`)
		}
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return storedHash{}, fmt.Errorf("malformed bcrypt hash (cost must be %02d to %02d)", bcrypt.MinCost, bcrypt.MaxCost)
	}
	return storedHash{kind: kindBcrypt, bcrypt: []byte(s)}, nil
}

// maxArgonMemory (4 GiB, in KiB) is far above any sane setting; it exists
// to catch a typo before the first login tries to allocate it.
const maxArgonMemory = 4 << 20

// parseArgon2id parses "$argon2id$v=19$m=65536,t=3,p=2$<salt>$<tag>",
// the PHC string format the argon2 reference CLI writes, salt and tag in
// unpadded standard base64.
func parseArgon2id(s string) (storedHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return storedHash{}, errors.New(`malformed argon2id hash (want $argon2id$v=19$m=...,t=...,p=...$salt$hash)`)
	}
	if parts[2] != "v=19" {
		return storedHash{}, errors.New(`argon2id hash has an unsupported version (want v=19, Argon2 1.3)`)
	}
	h := storedHash{kind: kindArgon2id}
	var m, t, p string
	params, ok := strings.CutPrefix(parts[3], "m=")
	if ok {
		m, params, ok = strings.Cut(params, ",t=")
	}
	if ok {
		t, p, ok = strings.Cut(params, ",p=")
	}
	if !ok {
		return storedHash{}, errors.New(`malformed argon2id parameters (want m=<KiB>,t=<passes>,p=<lanes>)`)
	}
	m64, errM := strconv.ParseUint(m, 10, 32)
	t64, errT := strconv.ParseUint(t, 10, 32)
	p64, errP := strconv.ParseUint(p, 10, 8)
	switch {
	case errM != nil || errT != nil || errP != nil:
		return storedHash{}, errors.New(`malformed argon2id parameters (m, t and p must be decimal numbers)`)
	case p64 < 1 || t64 < 1:
		return storedHash{}, errors.New(`argon2id parameters t and p must be at least 1`)
	case m64 < 8*p64:
		return storedHash{}, errors.New(`argon2id parameter m must be at least 8*p KiB`)
	case m64 > maxArgonMemory:
		return storedHash{}, errors.New(`argon2id parameter m is over 4 GiB (m counts KiB: 65536 is 64 MiB)`)
	}
	h.memory, h.time, h.threads = uint32(m64), uint32(t64), uint8(p64)
	var err error
	enc := base64.RawStdEncoding.Strict()
	if h.salt, err = enc.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return storedHash{}, errors.New(`malformed argon2id salt (want at least 8 bytes in unpadded base64)`)
	}
	if h.key, err = enc.DecodeString(parts[5]); err != nil || len(h.key) < 4 || len(h.key) > 1024 {
		return storedHash{}, errors.New(`malformed argon2id hash value (want 4 to 1024 bytes in unpadded base64)`)
	}
	return h, nil
}

// dummy returns a hash of the same kind and cost as h that no password
// matches, for spending the same work on an unknown user name.
func (h *storedHash) dummy() storedHash {
	d := *h
	switch h.kind {
	case kindBcrypt:
		// Cost and version stay; salt and hash are any 53 characters of
		// the alphabet.
		d.bcrypt = []byte(string(h.bcrypt[:7]) + strings.Repeat("unknownuser", 5)[:53])
	case kindArgon2id:
		d.salt = make([]byte, len(h.salt))
		d.key = make([]byte, len(h.key))
	}
	return d
}

// verify reports whether password matches h. It is slow on purpose.
func (h *storedHash) verify(password []byte) bool {
	switch h.kind {
	case kindBcrypt:
		ok := bcrypt.CompareHashAndPassword(h.bcrypt, password) == nil
		// bcrypt ignores everything after the 72nd byte, so a 72-byte
		// password would also let in any longer one that starts with it.
		// x/crypto refuses to hash such passwords; refuse them here too,
		// after doing the work so that timing tells nothing.
		return ok && len(password) <= bcryptMaxPassword
	case kindArgon2id:
		got := argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
		return subtle.ConstantTimeCompare(got, h.key) == 1
	}
	return false
}

// Hash returns a hash of password for the basic_auth users table, with a
// random salt. alg is "bcrypt" (cost 12) or "argon2id" (m=65536 KiB, t=3,
// p=2, 16-byte salt, 32-byte tag: RFC 9106 §4's second recommended option
// with two lanes, above OWASP's minimums; see the constants for why).
// bcrypt reads at most 72 bytes of a password, so Hash refuses longer
// ones for bcrypt rather than silently ignoring the rest.
func Hash(password []byte, alg string) (string, error) {
	if len(password) == 0 {
		return "", errors.New("hash-password: the password is empty")
	}
	switch alg {
	case "bcrypt":
		if len(password) > bcryptMaxPassword {
			return "", errors.New(`hash-password: bcrypt uses only the first 72 bytes of a password; use argon2id for a longer one`)
		}
		h, err := bcrypt.GenerateFromPassword(password, bcryptCost)
		if err != nil {
			return "", fmt.Errorf("hash-password: bcrypt: %v", err)
		}
		return string(h), nil
	case "argon2id":
		salt := make([]byte, argonSaltLen)
		rand.Read(salt) // never fails (crypto/rand crashes the program instead)
		key := argon2.IDKey(password, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
		enc := base64.RawStdEncoding
		return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
			argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
	}
	return "", fmt.Errorf(`hash-password: unknown algorithm %q; use "bcrypt" or "argon2id"`, alg)
}
