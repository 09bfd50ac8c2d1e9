package coding

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// Generated web assets for the encoder tests and benchmarks. They imitate
// what a static site serves — minified-style CSS and JavaScript, a small HTML
// page, a JSON API response — with a vocabulary drawn at Zipf-like
// frequencies, so that they repeat the way real assets do (the same property
// names and identifiers, different values) rather than being a single string
// over and over. The generator is seeded: the bytes are the same on every run.

// asset is one generated file.
type asset struct {
	name string
	data []byte
}

var assets = sync.OnceValue(func() []asset {
	return []asset{
		{"html-1k", genHTML(1 << 10)},
		{"css-16k", genCSS(16 << 10)},
		{"json-24k", genJSON(24 << 10)},
		{"js-100k", genJS(100 << 10)},
	}
})

// assetByName returns the generated asset of that name.
func assetByName(name string) []byte {
	for _, a := range assets() {
		if a.name == name {
			return a.data
		}
	}
	panic("no asset " + name)
}

// gen is a seeded generator with a vocabulary.
type gen struct {
	r    *rand.Rand
	zipf *rand.Zipf
	b    strings.Builder
}

func newGen(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &gen{r: r, zipf: rand.NewZipf(r, 1.1, 4, uint64(len(words)-1))}
}

// words is the vocabulary of identifiers, class names and prose.
var words = strings.Fields(`
	item list value data name type state props index button content title
	header footer nav menu link icon image card modal form input label error
	user count items active disabled hidden open close toggle update render
	event target option options config key id style class container wrapper
	grid row col text small large primary secondary success warning danger
	info light dark border radius shadow margin padding width height color
	background font size weight line position top left right bottom display
	flex block inline none auto center start end wrap justify align gap
	transition transform opacity hover focus visible selected current parent
	child children node element document window request response fetch url
	path query params result results status message callback handler promise
	resolve reject then catch async await return module exports require
	default function object array string number boolean undefined null true
	false length push map filter reduce forEach keys assign create prototype
	call apply bind this self next prev first last page pages total offset
	limit sort order field fields group groups account settings profile
	search results filter filters table cell body head section article aside
	main dropdown tooltip popover badge alert toast spinner loader avatar
	tabs tab panel accordion carousel slide slider progress pagination
	breadcrumb sidebar toolbar overlay backdrop dialog sheet drawer chip
`)

func (g *gen) word() string              { return words[g.zipf.Uint64()] }
func (g *gen) n(k int) int               { return g.r.IntN(k) }
func (g *gen) pick(s ...string) string   { return s[g.r.IntN(len(s))] }
func (g *gen) w(s string)                { g.b.WriteString(s) }
func (g *gen) f(format string, a ...any) { fmt.Fprintf(&g.b, format, a...) }

// camel returns an identifier of one to three words, camelCase.
func (g *gen) camel() string {
	s := g.word()
	for range g.n(3) {
		w := g.word()
		s += strings.ToUpper(w[:1]) + w[1:]
	}
	return s
}

// kebab returns a class name of one to three words, BEM-ish.
func (g *gen) kebab() string {
	s := g.word()
	for range g.n(3) {
		s += g.pick("-", "-", "__", "--") + g.word()
	}
	return s
}

// palette holds a design system's colours; most rules use one of them.
var palette = func() (p []string) {
	g := newGen(99)
	for range 24 {
		p = append(p, fmt.Sprintf("#%06x", g.r.Uint32()&0xffffff))
	}
	return p
}()

func (g *gen) color() string {
	if g.n(3) != 0 {
		return palette[g.n(len(palette))]
	}
	if g.n(4) == 0 {
		return fmt.Sprintf("rgba(%d,%d,%d,.%d)", g.n(256), g.n(256), g.n(256), 1+g.n(9))
	}
	return fmt.Sprintf("#%06x", g.r.Uint32()&0xffffff)
}

func (g *gen) length() string {
	switch g.n(5) {
	case 0:
		return "0"
	case 1:
		return fmt.Sprintf("%d%%", 5*g.n(21))
	case 2:
		return fmt.Sprintf("%g%s", float64(g.n(40))/8, g.pick("rem", "em"))
	}
	return fmt.Sprintf("%dpx", g.n(48))
}

// genCSS imitates a minified stylesheet: rules for BEM-style components, a
// few media queries.
func genCSS(size int) []byte {
	g := newGen(1)
	props := []func() string{
		func() string { return "color:" + g.color() },
		func() string { return "background-color:" + g.color() },
		func() string { return "margin:" + g.length() + " " + g.length() },
		func() string { return "padding:" + g.length() + " " + g.length() },
		func() string { return "width:" + g.length() },
		func() string { return "height:" + g.length() },
		func() string { return "border:1px solid " + g.color() },
		func() string { return "border-radius:" + g.length() },
		func() string { return "display:" + g.pick("flex", "block", "inline-block", "none", "grid") },
		func() string { return "font-size:" + g.length() },
		func() string { return "font-weight:" + g.pick("400", "500", "600", "700") },
		func() string { return "line-height:" + g.pick("1", "1.25", "1.5", "1.75") },
		func() string { return "align-items:" + g.pick("center", "flex-start", "flex-end", "stretch") },
		func() string { return "justify-content:" + g.pick("center", "space-between", "flex-start") },
		func() string {
			return fmt.Sprintf("transition:%s .%ds ease-in-out", g.pick("opacity", "transform", "all", "color"), 1+g.n(5))
		},
		func() string { return fmt.Sprintf("box-shadow:0 %dpx %dpx %s", g.n(8), g.n(24), g.color()) },
		func() string { return "position:" + g.pick("relative", "absolute", "fixed", "sticky") },
		func() string { return fmt.Sprintf("z-index:%d", g.n(1000)) },
		func() string { return fmt.Sprintf("opacity:.%d", g.n(10)) },
	}
	rule := func() {
		for i := range 1 + g.n(3) {
			if i > 0 {
				g.w(",")
			}
			g.w("." + g.kebab())
			if g.n(3) == 0 {
				g.w(g.pick(":hover", ":focus", ":active", "::before", ":not(:last-child)", " ."+g.kebab()))
			}
		}
		g.w("{")
		for i := range 1 + g.n(6) {
			if i > 0 {
				g.w(";")
			}
			g.w(props[g.n(len(props))]())
		}
		g.w("}")
	}
	for g.b.Len() < size {
		if g.n(20) == 0 {
			g.f("@media (min-width:%spx){", g.pick("576", "768", "992", "1200"))
			for range 2 + g.n(4) {
				rule()
			}
			g.w("}")
			continue
		}
		rule()
	}
	return []byte(g.b.String()[:size])
}

// genJS imitates a minified bundle: modules of functions with short locals,
// long property names, string literals and numbers.
func genJS(size int) []byte {
	g := newGen(2)
	locals := []string{"e", "t", "n", "r", "o", "i", "a", "s", "u", "c", "l", "d"}
	local := func() string { return locals[g.n(len(locals))] }
	expr := func() string {
		switch g.n(7) {
		case 0:
			return fmt.Sprintf("%q", g.word()+" "+g.word())
		case 1:
			return fmt.Sprint(g.n(10000))
		case 2:
			return local() + "." + g.camel()
		case 3:
			return fmt.Sprintf("%s.%s(%s,%s)", local(), g.camel(), local(), local())
		case 4:
			return "!" + local()
		case 5:
			return fmt.Sprintf("%s[%d]", local(), g.n(64))
		}
		return fmt.Sprintf("{%s:%s,%s:%q}", g.camel(), local(), g.camel(), g.kebab())
	}
	stmt := func() {
		switch g.n(6) {
		case 0:
			g.f("var %s=%s;", local(), expr())
		case 1:
			g.f("if(%s.%s===%s)return %s;", local(), g.camel(), expr(), expr())
		case 2:
			g.f("%s.%s=%s;", local(), g.camel(), expr())
		case 3:
			g.f("for(var %s=0;%s<%s.length;%s++)%s.%s(%s[%s]);", "i", "i", local(), "i", local(), g.camel(), local(), "i")
		case 4:
			g.f("throw new Error(%q);", "Invalid "+g.word()+": expected "+g.word()+" to be "+g.word())
		default:
			g.f("return %s(%s,%s);", g.camel(), expr(), expr())
		}
	}
	mod := 0
	g.w(`(self.webpackChunk=self.webpackChunk||[]).push([[179],{`)
	for g.b.Len() < size {
		g.f("%d:function(e,t,n){\"use strict\";n.d(t,{%s:function(){return %s}});", 1000+mod*37, g.camel(), local())
		for range 2 + g.n(5) {
			g.f("function %s(%s,%s){", g.camel(), local(), local())
			for range 1 + g.n(6) {
				stmt()
			}
			g.w("}")
		}
		g.w("},")
		mod++
	}
	return []byte(g.b.String()[:size])
}

// genHTML imitates a small page: head, navigation, a few paragraphs.
func genHTML(size int) []byte {
	g := newGen(3)
	g.w("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	g.w("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	g.f("<title>%s %s</title>\n<link rel=\"stylesheet\" href=\"/assets/app.%08x.css\">\n", g.word(), g.word(), g.r.Uint32())
	g.f("<script defer src=\"/assets/app.%08x.js\"></script>\n</head>\n<body>\n<nav class=\"nav\">\n", g.r.Uint32())
	for range 5 {
		w := g.word()
		g.f("  <a class=\"nav__link\" href=\"/%s/\">%s</a>\n", w, w)
	}
	g.w("</nav>\n<main class=\"main\">\n")
	for g.b.Len() < size {
		g.f("<p class=\"%s\">", g.kebab())
		for range 8 + g.n(12) {
			g.w(g.word() + " ")
		}
		g.w("</p>\n")
	}
	return []byte(g.b.String()[:size])
}

// genJSON imitates an API response: an array of records with ids, names,
// e-mail addresses, timestamps, tags and nested objects.
func genJSON(size int) []byte {
	g := newGen(4)
	g.w(`{"status":"ok","page":1,"results":[`)
	for id := 0; g.b.Len() < size; id++ {
		if id > 0 {
			g.w(",")
		}
		name := g.word()
		g.f(`{"id":%d,"uuid":"%08x-%04x-4%03x-%04x-%012x","name":%q,"email":"%s.%s@example.com",`,
			40000+id*7+g.n(7), g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), 0x8000|g.r.IntN(1<<14), g.r.Uint64()&(1<<48-1),
			name+" "+g.word(), name, g.word())
		g.f(`"created":"2024-%02d-%02dT%02d:%02d:%02dZ","active":%t,"score":%d.%d,`,
			1+g.n(12), 1+g.n(28), g.n(24), g.n(60), g.n(60), g.n(2) == 0, g.n(100), g.n(100))
		g.w(`"tags":[`)
		for i := range g.n(4) {
			if i > 0 {
				g.w(",")
			}
			g.f("%q", g.word())
		}
		g.f(`],"address":{"city":%q,"zip":"%05d"}}`, g.word(), g.n(100000))
	}
	g.w("]}")
	return []byte(g.b.String())
}
