package config

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The markers around the generated tables of the README.
const (
	flagsStart = "<!-- flags: generated from internal/config/table.go by go test ./internal/config -update -->\n"
	flagsEnd   = "<!-- end of flags -->\n"
	keysStart  = "<!-- keys: generated from internal/config/table.go by go test ./internal/config -update -->\n"
	keysEnd    = "<!-- end of keys -->\n"
)

// cell escapes text for a cell of a Markdown table.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// reloadText says what a reload does with the setting.
func reloadText(s *Setting) string {
	if s.Reload {
		return "applied"
	}
	return "restart"
}

// flagTable renders the README's table of flags from Settings.
func flagTable() string {
	var b strings.Builder
	b.WriteString("| flag | default | on reload | what it does |\n|---|---|---|---|\n")
	for _, s := range Settings {
		if s.Flag == "" {
			continue
		}
		b.WriteString("| `" + cell(s.FlagText()) + "` | " + s.DefaultText() + " | " + reloadText(s) + " | " + s.Help + " |\n")
	}
	return b.String()
}

// scopeText says where in the file a setting is written.
func scopeText(s *Setting) string {
	var where []string
	for _, sc := range []struct {
		scope Scope
		text  string
	}{{ScopeSite, "`[[site]]`"}, {ScopeRule, "`[[site.rule]]`"}, {ScopeCORS, "`cors`"}, {ScopeAuth, "`basic_auth`"}} {
		if s.Scope&sc.scope != 0 {
			where = append(where, sc.text)
		}
	}
	if len(where) == 0 {
		return "top"
	}
	return strings.Join(where, ", ")
}

// keyTable renders the README's reference of the keys of stoa.toml from
// Settings.
func keyTable() string {
	var b strings.Builder
	b.WriteString("| key | in | default | on reload | what it does |\n|---|---|---|---|---|\n")
	for _, s := range Settings {
		if s.Key == "" {
			continue
		}
		ex := s.Example
		switch {
		case s.Choices != nil:
			ex = strconv.Quote(s.Choices[len(s.Choices)-1])
		case s.Kind == KindBool:
			ex = strconv.FormatBool(s.Default != "true")
		}
		key := s.Key + " = " + ex
		if s.Kind == KindSites || s.Kind == KindRules {
			key = ex
		}
		b.WriteString("| `" + cell(key) + "` | " + scopeText(s) + " | " + s.DefaultText() + " | " + reloadText(s) + " | " + s.Help + " |\n")
	}
	return b.String()
}

// checkREADME fails when the README's text between start and end is not
// want; go test -update rewrites it.
func checkREADME(t *testing.T, start, end, want string) {
	t.Helper()
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	i, j := strings.Index(readme, start), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q markers", start, end)
	}
	if got := readme[i+len(start) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(readme[:i+len(start)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the README's table between %q and %q differs from Settings; run go test ./internal/config -update\n got:\n%s\nwant:\n%s", start, end, got, want)
	}
}

// TestREADMEFlagTable fails when the README's flag table and Settings
// drift apart.
func TestREADMEFlagTable(t *testing.T) { checkREADME(t, flagsStart, flagsEnd, flagTable()) }

// TestREADMEKeyTable fails when the README's reference of the keys of
// stoa.toml and Settings drift apart.
func TestREADMEKeyTable(t *testing.T) { checkREADME(t, keysStart, keysEnd, keyTable()) }

func TestRestartOnly(t *testing.T) {
	a := Default()
	b := Default()
	b.IdleTimeout.Duration = time.Minute
	b.AccessLog = "stdout"
	got := strings.Join(RestartOnly(a, b), ",")
	if got != "access_log,idle_timeout" {
		t.Errorf("restartOnly = %q, want access_log,idle_timeout", got)
	}
}

// tableSamples are values other than the default of the settings that
// are tables, as the file writes them and as they are decoded.
var tableSamples = map[Kind]struct {
	toml string
	want any
}{
	KindHeaders: {`{ "+Link" = "</a.css>; rel=preload" }`, []HeaderOp{{'+', "Link", "</a.css>; rel=preload"}}},
	KindCORS:    {`{ origins = ["*"] }`, &CORS{Origins: []string{"*"}, Methods: []string{"GET", "HEAD"}}},
	KindAuth: {`{ realm = "r", users = { bob = "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234" } }`,
		&BasicAuth{Realm: "r", Users: []User{{"bob", "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"}}}},
	KindUsers: {`{ bob = "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234" }`,
		[]User{{"bob", "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"}}},
}

// sampleLine writes s = its sample as a line of the file, and returns the
// value it stands for.
func sampleLine(t *testing.T, s *Setting) (string, any) {
	raw, want := s.Sample()
	switch s.Kind {
	case KindSites, KindRules:
		return "", nil // the test writes the blocks itself
	case KindHeaders, KindCORS, KindAuth, KindUsers:
		ts, ok := tableSamples[s.Kind]
		if !ok {
			t.Fatalf("%s: no sample for its kind", s.Key)
		}
		return s.Key + " = " + ts.toml + "\n", ts.want
	case KindList, KindPrefixes:
		return s.Key + " = [" + strconv.Quote(raw) + "]\n", want
	case KindString, KindSize, KindDuration, KindPath:
		return s.Key + " = " + strconv.Quote(raw) + "\n", want
	}
	return s.Key + " = " + raw + "\n", want
}

// TestEverySettingInFile sets every setting of the table to a value other
// than its default in a file, in each of its scopes (the top, a site, a
// rule, a cors and a basic_auth table), and finds each in the Config. A
// rule setting gets a rule of its own, since a rule does one thing.
func TestEverySettingInFile(t *testing.T) {
	var top, site, cors, auth, rules strings.Builder
	var ruleOf []*Setting // the setting each rule is for
	for _, s := range Settings {
		if s.Custom() {
			continue
		}
		line, _ := sampleLine(t, s)
		if line == "" {
			continue
		}
		if s.global != nil {
			top.WriteString(line)
		}
		if s.site != nil && s.Kind != KindCORS && s.Kind != KindAuth {
			site.WriteString(line)
		}
		if s.cors != nil {
			cors.WriteString(line)
		}
		if s.auth != nil {
			auth.WriteString(line)
		}
		if s.rule != nil {
			rules.WriteString("[[site.rule]]\n" + line)
			if s.Key != "match" {
				rules.WriteString("match = \"/x\"\n")
			}
			if s.Key == "status" {
				rules.WriteString("redirect = \"/y\"\n")
			}
			if s.Key == "fallback_any" {
				rules.WriteString("try_files = [\"/index.html\"]\n")
			}
			ruleOf = append(ruleOf, s)
		}
	}
	text := top.String() + "[[site]]\n" + site.String() + "[site.cors]\n" + cors.String() +
		"[site.basic_auth]\n" + auth.String() + rules.String()
	c, err := Parse("stoa.toml", []byte(text))
	if err != nil {
		t.Fatalf("%v\nin:\n%s", err, text)
	}
	check := func(s *Setting, scope string, dst any) {
		t.Helper()
		p := s.field(dst)
		if p == nil {
			return
		}
		_, want := sampleLine(t, s)
		got := reflect.ValueOf(p).Elem().Interface()
		if g, ok := got.(Size); ok {
			got = int64(g)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s (%s): %v after the file set it, want %v", s.Key, scope, got, want)
		}
	}
	st := &c.Sites[0]
	for _, s := range Settings {
		if s.Kind == KindSites || s.Kind == KindRules {
			continue
		}
		check(s, "global", c)
		if s.Kind != KindCORS && s.Kind != KindAuth {
			check(s, "site", st)
		}
		check(s, "cors", st.CORS)
		check(s, "auth", st.BasicAuth)
	}
	if len(c.Sites) != 1 || len(st.Rules) != len(ruleOf) {
		t.Fatalf("%d sites, %d rules; want 1 site, %d rules", len(c.Sites), len(st.Rules), len(ruleOf))
	}
	for i, s := range ruleOf {
		check(s, "rule", &st.Rules[i])
	}
}

// TestParseFlagZeroDuration: a duration that may be zero in the file
// (skew_window = "0s", off) may be zero as a flag too; others may not.
func TestParseFlagZeroDuration(t *testing.T) {
	for _, tt := range []struct {
		flag, raw string
		ok        bool
	}{
		{"skew-window", "0s", true},
		{"skew-window", "-1s", false},
		{"release-poll", "0s", false},
		{"revalidate", "0s", false},
	} {
		_, err := Lookup(tt.flag).ParseFlag([]string{tt.raw})
		if (err == nil) != tt.ok {
			t.Errorf("--%s %s: %v, want ok %v", tt.flag, tt.raw, err, tt.ok)
		}
	}
}
