package config

import (
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	tableStart = "<!-- flags: generated from internal/config/settings.go by go test ./internal/config -update -->\n"
	tableEnd   = "<!-- end of flags -->\n"
)

// flagTable renders the README's table of flags from Settings.
func flagTable() string {
	var b strings.Builder
	b.WriteString("| flag | default | on reload | what it does |\n|---|---|---|---|\n")
	for _, s := range Settings {
		if s.Flag == "" {
			continue
		}
		name := "--" + s.Flag
		if p := s.Placeholder(); p != "" {
			name += " " + p
		}
		name = strings.ReplaceAll(name, "|", `\|`)
		reload := "applied"
		if !s.Reload {
			reload = "restart"
		}
		b.WriteString("| `" + name + "` | " + s.DefaultText() + " | " + reload + " | " + s.Help + " |\n")
	}
	return b.String()
}

// TestREADMEFlagTable fails when the README's flag table and Settings
// drift apart; go test -update rewrites the table.
func TestREADMEFlagTable(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q markers around the flag table", tableStart, tableEnd)
	}
	want := flagTable()
	if got := readme[i+len(tableStart) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(readme[:i+len(tableStart)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the README's flag table differs from Settings; run go test ./internal/config -update\n got:\n%s\nwant:\n%s", got, want)
	}
}

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

// sample returns a value of s other than its default, as a flag writes it,
// and the value it stands for, typed as the field is.
func sample(s *Setting) (string, any) {
	switch s.Kind {
	case KindBool:
		return strconv.FormatBool(s.Default != "true"), s.Default != "true"
	case KindInt:
		return "7", 7
	case KindSize:
		return "3MiB", int64(3 << 20)
	case KindDuration:
		return "7s", 7 * time.Second
	case KindPath:
		return "/srv/x", "/srv/x"
	case KindPrefixes:
		return "10.0.0.0/8", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	case KindList:
		e := map[string]string{"listen": "127.0.0.1:9", "https": "127.0.0.1:9443", "domains": "a.example", "index": "home.htm"}[s.Key]
		return e, []string{e}
	}
	if s.Choices != nil {
		c := s.Choices[len(s.Choices)-1]
		return c, c
	}
	v, _ := strconv.Unquote(s.Example)
	return v, v
}

// TestEverySettingInFile sets every setting of the table to a value other
// than its default in a file, in each of its scopes, and finds each in the
// Config.
func TestEverySettingInFile(t *testing.T) {
	var top, site, rule strings.Builder
	for _, s := range Settings {
		if s.Custom() {
			continue
		}
		raw, _ := sample(s)
		line := s.Key + " = " + raw + "\n"
		switch s.Kind {
		case KindList, KindPrefixes:
			line = s.Key + " = [" + strconv.Quote(raw) + "]\n"
		case KindString, KindSize, KindDuration, KindPath:
			line = s.Key + " = " + strconv.Quote(raw) + "\n"
		}
		if s.global != nil {
			top.WriteString(line)
		}
		if s.site != nil {
			site.WriteString(line)
		}
		if s.rule != nil {
			rule.WriteString(line)
		}
	}
	text := top.String() + "[[site]]\nroot = \"/srv\"\n" + site.String() + "[[site.rule]]\nmatch = \"/x\"\n" + rule.String()
	c, err := Parse("stoa.toml", []byte(text))
	if err != nil {
		t.Fatalf("%v\nin:\n%s", err, text)
	}
	for _, s := range Settings {
		_, want := sample(s)
		for scope, p := range map[string]any{
			"global": s.field(c, nil, nil),
			"site":   s.field(nil, &c.Sites[0], nil),
			"rule":   s.field(nil, nil, &c.Sites[0].Rules[0]),
		} {
			if p == nil {
				continue
			}
			got := reflect.ValueOf(p).Elem().Interface()
			if g, ok := got.(Size); ok {
				got = int64(g)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%s): %v after the file set it, want %v", s.Key, scope, got, want)
			}
		}
	}
}
