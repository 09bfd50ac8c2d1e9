package mimetype

import (
	"strings"
	"testing"
)

// extensionTests lists every extension in the table with the media type and
// compressibility stoa promises for it. TestTableCovered keeps it complete, so
// a new table entry needs a deliberate decision here too.
var extensionTests = []struct {
	ext          string
	want         string
	compressible bool
}{
	{"html", "text/html; charset=utf-8", true},
	{"htm", "text/html; charset=utf-8", true},
	{"xhtml", "application/xhtml+xml; charset=utf-8", true},
	{"xht", "application/xhtml+xml; charset=utf-8", true},
	{"css", "text/css; charset=utf-8", true},
	{"js", "text/javascript; charset=utf-8", true},
	{"mjs", "text/javascript; charset=utf-8", true},
	{"cjs", "text/javascript; charset=utf-8", true},
	{"json", "application/json; charset=utf-8", true},
	{"map", "application/json; charset=utf-8", true},
	{"jsonld", "application/ld+json; charset=utf-8", true},
	{"geojson", "application/geo+json; charset=utf-8", true},
	{"ndjson", "application/x-ndjson; charset=utf-8", true},
	{"jsonl", "application/x-ndjson; charset=utf-8", true},
	{"webmanifest", "application/manifest+json; charset=utf-8", true},
	{"xml", "application/xml; charset=utf-8", true},
	{"xsl", "application/xml; charset=utf-8", true},
	{"xslt", "application/xml; charset=utf-8", true},
	{"xsd", "application/xml; charset=utf-8", true},
	{"rss", "application/rss+xml; charset=utf-8", true},
	{"atom", "application/atom+xml; charset=utf-8", true},
	{"txt", "text/plain; charset=utf-8", true},
	{"md", "text/markdown; charset=utf-8", true},
	{"markdown", "text/markdown; charset=utf-8", true},
	{"csv", "text/csv; charset=utf-8", true},
	{"tsv", "text/tab-separated-values; charset=utf-8", true},
	{"ics", "text/calendar; charset=utf-8", true},
	{"vtt", "text/vtt; charset=utf-8", true},
	{"srt", "application/x-subrip; charset=utf-8", true},
	{"yaml", "application/yaml; charset=utf-8", true},
	{"yml", "application/yaml; charset=utf-8", true},
	{"toml", "application/toml; charset=utf-8", true},
	{"wasm", "application/wasm", true},

	{"svg", "image/svg+xml; charset=utf-8", true},
	{"svgz", "image/svg+xml", true}, // ContentEncoding says gzip; the server must check it first
	{"avif", "image/avif", false},
	{"webp", "image/webp", false},
	{"png", "image/png", false},
	{"apng", "image/apng", false},
	{"jpg", "image/jpeg", false},
	{"jpeg", "image/jpeg", false},
	{"jpe", "image/jpeg", false},
	{"jfif", "image/jpeg", false},
	{"pjpeg", "image/jpeg", false},
	{"pjp", "image/jpeg", false},
	{"gif", "image/gif", false},
	{"bmp", "image/bmp", true},
	{"ico", "image/x-icon", true},
	{"cur", "image/x-icon", true},
	{"tif", "image/tiff", false},
	{"tiff", "image/tiff", false},
	{"heic", "image/heic", false},
	{"heif", "image/heif", false},
	{"jxl", "image/jxl", false},
	{"psd", "image/vnd.adobe.photoshop", false},

	{"woff", "font/woff", false},
	{"woff2", "font/woff2", false},
	{"ttf", "font/ttf", true},
	{"otf", "font/otf", true},
	{"eot", "application/vnd.ms-fontobject", true},

	{"mp4", "video/mp4", false},
	{"m4v", "video/mp4", false},
	{"m4a", "audio/mp4", false},
	{"webm", "video/webm", false},
	{"weba", "audio/webm", false},
	{"mkv", "video/x-matroska", false},
	{"mov", "video/quicktime", false},
	{"avi", "video/x-msvideo", false},
	{"mpeg", "video/mpeg", false},
	{"mpg", "video/mpeg", false},
	{"3gp", "video/3gpp", false},
	{"ogv", "video/ogg", false},
	{"ogg", "audio/ogg", false},
	{"oga", "audio/ogg", false},
	{"opus", "audio/ogg", false},
	{"mp3", "audio/mpeg", false},
	{"wav", "audio/wav", false},
	{"flac", "audio/flac", false},
	{"aac", "audio/aac", false},
	{"aif", "audio/aiff", false},
	{"aiff", "audio/aiff", false},
	{"mid", "audio/midi", false},
	{"midi", "audio/midi", false},
	{"ts", "video/mp2t", false},
	{"mts", "video/mp2t", false},
	{"m2ts", "video/mp2t", false},
	{"m3u8", "application/vnd.apple.mpegurl; charset=utf-8", true},
	{"mpd", "application/dash+xml; charset=utf-8", true},

	{"pdf", "application/pdf", false},
	{"epub", "application/epub+zip", false},
	{"zip", "application/zip", false},
	{"gz", "application/gzip", false},
	{"tgz", "application/gzip", false},
	{"br", "application/x-brotli", false},
	{"zst", "application/zstd", false},
	{"bz2", "application/x-bzip2", false},
	{"xz", "application/x-xz", false},
	{"7z", "application/x-7z-compressed", false},
	{"rar", "application/vnd.rar", false},
	{"tar", "application/x-tar", true},
	{"jar", "application/java-archive", false},
	{"apk", "application/vnd.android.package-archive", false},
	{"dmg", "application/x-apple-diskimage", false},
	{"iso", "application/x-iso9660-image", false},
	{"exe", "application/vnd.microsoft.portable-executable", true},
	{"msi", "application/x-msi", false},
	{"deb", "application/vnd.debian.binary-package", false},
	{"rpm", "application/x-rpm", false},
	{"swf", "application/x-shockwave-flash", false},

	{"rtf", "application/rtf", true},
	{"ps", "application/postscript", true},
	{"eps", "application/postscript", true},
	{"doc", "application/msword", true},
	{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
	{"xls", "application/vnd.ms-excel", true},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false},
	{"ppt", "application/vnd.ms-powerpoint", true},
	{"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", false},
	{"odt", "application/vnd.oasis.opendocument.text", false},
	{"ods", "application/vnd.oasis.opendocument.spreadsheet", false},
	{"odp", "application/vnd.oasis.opendocument.presentation", false},

	{"glb", "model/gltf-binary", true},
	{"gltf", "model/gltf+json; charset=utf-8", true},
	{"obj", "model/obj; charset=utf-8", true},
	{"mtl", "model/mtl; charset=utf-8", true},
	{"stl", "model/stl", true},

	{"pem", "application/x-pem-file; charset=utf-8", true},
	{"crt", "application/x-x509-ca-cert", false},
	{"cer", "application/x-x509-ca-cert", false},
	{"der", "application/x-x509-ca-cert", false},
	{"p12", "application/x-pkcs12", false},
	{"pfx", "application/x-pkcs12", false},

	{"gpx", "application/gpx+xml; charset=utf-8", true},
	{"kml", "application/vnd.google-earth.kml+xml; charset=utf-8", true},
	{"kmz", "application/vnd.google-earth.kmz", false},
}

// sourceExtensions are served as plain UTF-8 text.
var sourceExtensions = strings.Fields(`
	sh bash zsh fish bat cmd ps1 py rb pl pm php lua r jl go rs zig nim
	c h cc cpp cxx hh hpp hxx m mm swift java kt kts scala groovy gradle clj
	cs fs vb hs ml mli ex exs erl hrl elm dart el lisp scm asm s f90 v vhd
	sql proto graphql gql jsx tsx cts vue svelte scss sass less tex bib rst
	adoc org diff patch log ini cfg conf properties tf nix cmake mk`)

func TestExtensions(t *testing.T) {
	for _, tt := range extensionTests {
		t.Run(tt.ext, func(t *testing.T) {
			for _, name := range []string{"f." + tt.ext, "F." + strings.ToUpper(tt.ext), "/a/b.c/x." + tt.ext} {
				if got := ByName(name); got != tt.want {
					t.Errorf("ByName(%q) = %q, want %q", name, got, tt.want)
				}
			}
			if got := Compressible(tt.want); got != tt.compressible {
				t.Errorf("Compressible(%q) = %v, want %v", tt.want, got, tt.compressible)
			}
		})
	}
	for _, ext := range sourceExtensions {
		if got, want := ByName("main."+ext), "text/plain; charset=utf-8"; got != want {
			t.Errorf("ByName(%q) = %q, want %q", "main."+ext, got, want)
		}
	}
}

// TestTableCovered fails when the table and the tests above drift apart.
func TestTableCovered(t *testing.T) {
	tested := make(map[string]bool)
	for _, tt := range extensionTests {
		if tested[tt.ext] {
			t.Errorf("extension %q tested twice", tt.ext)
		}
		tested[tt.ext] = true
	}
	for _, ext := range sourceExtensions {
		if tested[ext] {
			t.Errorf("extension %q tested twice", ext)
		}
		tested[ext] = true
	}
	for ext := range byExt {
		if !tested[ext] {
			t.Errorf("extension %q is in the table but not in extensionTests", ext)
		}
		if len(ext) > maxExtLen {
			t.Errorf("extension %q is longer than maxExtLen=%d and can never match", ext, maxExtLen)
		}
		if ext != strings.ToLower(ext) {
			t.Errorf("extension %q is not lower case and can never match", ext)
		}
	}
	for ext := range tested {
		if _, ok := byExt[ext]; !ok {
			t.Errorf("extension %q is tested but missing from the table", ext)
		}
	}
}

// TestCharsetRule checks the package's promise about charset parameters:
// textual types carry one, it is always UTF-8, and anything carrying one is
// worth compressing.
func TestCharsetRule(t *testing.T) {
	for ext, mt := range byExt {
		hasCharset := strings.HasSuffix(mt, "; charset=utf-8")
		if strings.Contains(mt, "charset") && !hasCharset {
			t.Errorf(".%s: %q has a charset other than \"; charset=utf-8\" at the end", ext, mt)
		}
		base, _, _ := strings.Cut(mt, ";")
		textual := strings.HasPrefix(base, "text/") || strings.HasSuffix(base, "+json") ||
			strings.HasSuffix(base, "+xml") || strings.HasSuffix(base, "/json") || strings.HasSuffix(base, "/xml")
		if textual && !hasCharset && ext != "svgz" {
			t.Errorf(".%s: textual type %q lacks \"; charset=utf-8\"", ext, mt)
		}
		if hasCharset && !Compressible(mt) {
			t.Errorf(".%s: %q declares a charset but is not Compressible", ext, mt)
		}
	}
}

func TestByNameEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"", OctetStream},
		{".", OctetStream},
		{"/", OctetStream},
		{"README", OctetStream},
		{"archive.", OctetStream},
		{"index.HTML", "text/html; charset=utf-8"},
		{"Index.HtMl", "text/html; charset=utf-8"},
		{"photo.JPG", "image/jpeg"},
		{"backup.tar.gz", "application/gzip"},
		{"app.min.js", "text/javascript; charset=utf-8"},
		{".html", "text/html; charset=utf-8"}, // a dot file is named by what follows the dot
		{".htaccess", OctetStream},
		{".bashrc", OctetStream},
		{"dir.d/file", OctetStream}, // the dot is in a directory name, not the file's
		{"site.v2/", OctetStream},   // the final element is empty
		{"/srv/www/style.css", "text/css; charset=utf-8"},
		{"a/b/c.d/e.json", "application/json; charset=utf-8"},
		{"page.html ", OctetStream}, // no trimming: the file's name has a space
		{"page.html\x00", OctetStream},
		{"x.Ｈtml", OctetStream}, // fullwidth letters are not ASCII-folded
		{"x.ſvg", OctetStream},  // U+017F folds to 's' in Unicode, but not here
		{"x.webmanifest", "application/manifest+json; charset=utf-8"},
		{"x." + strings.Repeat("a", maxExtLen+1), OctetStream},
		{"x." + strings.Repeat("html", 100), OctetStream},
		{"x.unknownext", OctetStream},
		{`dir\file.png`, "image/png"}, // '\' is an ordinary byte in a name on Unix
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ByName(tt.name); got != tt.want {
				t.Errorf("ByName(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestContentEncoding(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"logo.svgz", "gzip"},
		{"/img/LOGO.SVGZ", "gzip"},
		{"logo.svg", ""},
		{"svgz", ""},
		{".svgz", "gzip"},
		{"backup.tar.gz", ""},
		{"backup.tgz", ""},
		{"page.html.gz", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContentEncoding(tt.name); got != tt.want {
				t.Errorf("ContentEncoding(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestCompressible(t *testing.T) {
	tests := []struct {
		contentType string
		want        bool
	}{
		{"text/html", true},
		{"text/html; charset=utf-8", true},
		{"TEXT/HTML; Charset=UTF-8", true},
		{"  text/plain  ;charset=utf-8", true},
		{"text/x-whatever", true},
		{"text/event-stream", true},
		{"application/json", true},
		{"application/problem+json", true},
		{"application/vnd.api+json", true},
		{"application/soap+xml; charset=utf-8", true},
		{"application/javascript", true},
		{"application/x-javascript", true},
		{"application/ecmascript", true},
		{"application/wasm", true},
		{"application/manifest+json", true},
		{"image/svg+xml", true},
		{"image/SVG+XML", true},
		{"image/vnd.microsoft.icon", true},
		{"image/x-ms-bmp", true},
		{"font/sfnt", true},
		{"application/x-font-ttf", true},

		{"image/png", false},
		{"image/jpeg", false},
		{"image/webp", false},
		{"image/avif", false},
		{"image/gif", false},
		{"video/mp4", false},
		{"audio/mpeg", false},
		{"audio/wav", false},
		{"application/zip", false},
		{"application/epub+zip", false},
		{"application/gzip", false},
		{"application/pdf", false},
		{"font/woff2", false},
		{"font/woff", false},
		{"application/octet-stream", false},
		{"multipart/byteranges; boundary=x", false},

		// Malformed values are never compressible.
		{"", false},
		{";", false},
		{"text", false},
		{"text/", false},
		{"/html", false},
		{"/", false},
		{"application/", false},
		{"json", false},
		{"+json", false},
		{"text/" + strings.Repeat("x", 300), false},
		{"application/" + strings.Repeat("x", 250) + "+json", false},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			if got := Compressible(tt.contentType); got != tt.want {
				t.Errorf("Compressible(%q) = %v, want %v", tt.contentType, got, tt.want)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	names := []string{"/a/b/INDEX.HTML", "x.woff2", "README", "x.unknown", "a.webmanifest"}
	if n := testing.AllocsPerRun(100, func() {
		for _, name := range names {
			_ = ByName(name)
			_ = ContentEncoding(name)
		}
	}); n != 0 {
		t.Errorf("ByName and ContentEncoding: %v allocs per run, want 0", n)
	}
	types := []string{"Text/HTML; charset=utf-8", "image/png", "application/ld+json", "font/ttf"}
	if n := testing.AllocsPerRun(100, func() {
		for _, ct := range types {
			_ = Compressible(ct)
		}
	}); n != 0 {
		t.Errorf("Compressible: %v allocs per run, want 0", n)
	}
}

func BenchmarkByName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = ByName("/static/css/Site.Min.CSS")
	}
}

func BenchmarkCompressible(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Compressible("application/manifest+json; charset=utf-8")
	}
}

// upperASCII upper-cases only ASCII letters, as ByName folds only those.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func FuzzByName(f *testing.F) {
	for _, s := range []string{"", ".", "index.html", "A.TAR.GZ", "dir.d/file", ".htaccess", "x.ſvg", "a/b.svgz"} {
		f.Add(s)
	}
	known := make(map[string]bool)
	for _, mt := range byExt {
		known[mt] = true
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := ByName(name)
		if got != OctetStream && !known[got] {
			t.Fatalf("ByName(%q) = %q, which is not in the table", name, got)
		}
		if up := ByName(upperASCII(name)); up != got {
			t.Fatalf("ByName(%q) = %q but ByName of its upper case = %q", name, got, up)
		}
		if in := ByName("some.dir/" + name); in != got {
			t.Fatalf("ByName(%q) = %q but inside a directory = %q", name, got, in)
		}
		if ContentEncoding(name) == "gzip" && got != "image/svg+xml" {
			t.Fatalf("ContentEncoding(%q) = gzip but ByName = %q", name, got)
		}
	})
}

func FuzzCompressible(f *testing.F) {
	for _, s := range []string{"", "text/html", "IMAGE/SVG+XML; charset=utf-8", "a/b+json", "/", ";;", " \ttext/css"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		got := Compressible(ct)
		if up := Compressible(upperASCII(ct)); up != got {
			t.Fatalf("Compressible(%q) = %v but its upper case gives %v", ct, got, up)
		}
		if !strings.Contains(ct, ";") {
			if p := Compressible(ct + "; q=1"); p != got {
				t.Fatalf("Compressible(%q) = %v but with a parameter gives %v", ct, got, p)
			}
		}
		if got && !strings.Contains(ct, "/") {
			t.Fatalf("Compressible(%q) = true without a '/'", ct)
		}
	})
}
