package respond

import (
	"strconv"
	"strings"
)

// wantsJSON reports whether the Accept field (RFC 9110 §12.5.1) prefers
// application/json to text/html, so a script gets a listing it can parse
// while a browser, which accepts */* at a lower weight, gets HTML.
func wantsJSON(accept string) bool {
	if accept == "" {
		return false
	}
	return qualityOf(accept, "application", "json") > qualityOf(accept, "text", "html")
}

// qualityOf returns the weight Accept gives to type/sub, taking the most
// specific matching media range.
func qualityOf(accept, typ, sub string) float64 {
	best, bestSpec := 0.0, -1
	for rng := range strings.SplitSeq(accept, ",") {
		params := strings.Split(rng, ";")
		mt := strings.TrimSpace(params[0])
		t, s, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		spec := -1
		switch {
		case strings.EqualFold(t, typ) && strings.EqualFold(s, sub):
			spec = 2
		case strings.EqualFold(t, typ) && s == "*":
			spec = 1
		case t == "*" && s == "*":
			spec = 0
		}
		if spec < bestSpec || spec < 0 {
			continue
		}
		q := 1.0
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0
				}
			}
		}
		best, bestSpec = q, spec
	}
	return best
}
