// Package mimetype owns stoa's choice of Content-Type (RFC 9110 §8.3) for a
// file, made from the file name's extension alone, and the decision whether a
// representation of a given media type is worth compressing with a content
// coding (RFC 9110 §8.4).
//
// The table is fixed at compile time and deliberately ignores the host's
// /etc/mime.types and the Windows registry, so that a site is served with the
// same headers on every machine. Where the IANA registry, nginx and browsers
// disagree, the table prefers the type browsers handle correctly and says why.
//
// Textual types carry "; charset=utf-8": without it browsers fall back to
// windows-1252 for text/plain and text/css, which mangles non-ASCII text
// (and the parameter is harmless where the format defines its own encoding).
package mimetype

import "github.com/stoahttp/stoa/internal/ascii"

// OctetStream is the media type for unknown content (RFC 9110 §8.3: a
// recipient may treat a representation of unknown type as
// "application/octet-stream"); browsers offer it for download rather than
// rendering it, which is the safe default for a static server.
const OctetStream = "application/octet-stream"

// maxExtLen is the longest extension in byExt ("webmanifest"), rounded up.
// A longer extension cannot match, so ByName gives up before copying it.
const maxExtLen = 16

// Frequently repeated values, named so the table below stays readable.
const (
	textPlain  = "text/plain; charset=utf-8"
	javaScript = "text/javascript; charset=utf-8" // RFC 9239 §6: the one type to use
	appJSON    = "application/json; charset=utf-8"
	appXML     = "application/xml; charset=utf-8"
	imageJPEG  = "image/jpeg"
	imageIcon  = "image/x-icon"
	audioOgg   = "audio/ogg"
	appGzip    = "application/gzip"
	videoMP2T  = "video/mp2t"
)

// byExt maps a lower-case extension, without the dot, to its media type.
var byExt = map[string]string{
	// Documents and data of the web platform.
	"html":        "text/html; charset=utf-8",
	"htm":         "text/html; charset=utf-8",
	"xhtml":       "application/xhtml+xml; charset=utf-8",
	"xht":         "application/xhtml+xml; charset=utf-8",
	"css":         "text/css; charset=utf-8",
	"js":          javaScript,
	"mjs":         javaScript,
	"cjs":         javaScript,
	"json":        appJSON,
	"map":         appJSON, // source maps are JSON (ECMA-426)
	"jsonld":      "application/ld+json; charset=utf-8",
	"geojson":     "application/geo+json; charset=utf-8", // RFC 7946 §12
	"ndjson":      "application/x-ndjson; charset=utf-8",
	"jsonl":       "application/x-ndjson; charset=utf-8",
	"webmanifest": "application/manifest+json; charset=utf-8",
	"xml":         appXML,
	"xsl":         appXML, // browsers accept XSLT only under an XML type; application/xslt+xml is refused by some
	"xslt":        appXML,
	"xsd":         appXML,
	"rss":         "application/rss+xml; charset=utf-8",
	"atom":        "application/atom+xml; charset=utf-8",
	"txt":         textPlain,
	"md":          "text/markdown; charset=utf-8", // RFC 7763
	"markdown":    "text/markdown; charset=utf-8",
	"csv":         "text/csv; charset=utf-8", // RFC 4180
	"tsv":         "text/tab-separated-values; charset=utf-8",
	"ics":         "text/calendar; charset=utf-8", // RFC 5545
	"vtt":         "text/vtt; charset=utf-8",
	"srt":         "application/x-subrip; charset=utf-8",
	"yaml":        "application/yaml; charset=utf-8", // RFC 9512
	"yml":         "application/yaml; charset=utf-8",
	"toml":        "application/toml; charset=utf-8",
	"wasm":        "application/wasm", // required for WebAssembly.instantiateStreaming

	// Images. SVG is XML text; everything else is binary.
	"svg":   "image/svg+xml; charset=utf-8",
	"svgz":  "image/svg+xml", // gzip bytes: see ContentEncoding, no charset on a binary body
	"avif":  "image/avif",
	"webp":  "image/webp",
	"png":   "image/png",
	"apng":  "image/apng",
	"jpg":   imageJPEG,
	"jpeg":  imageJPEG,
	"jpe":   imageJPEG,
	"jfif":  imageJPEG,
	"pjpeg": imageJPEG,
	"pjp":   imageJPEG,
	"gif":   "image/gif",
	"bmp":   "image/bmp",
	"ico":   imageIcon, // what nginx sends; every browser accepts it (IANA: image/vnd.microsoft.icon)
	"cur":   imageIcon, // cursors use the ICO container
	"tif":   "image/tiff",
	"tiff":  "image/tiff",
	"heic":  "image/heic",
	"heif":  "image/heif",
	"jxl":   "image/jxl",
	"psd":   "image/vnd.adobe.photoshop",

	// Fonts (RFC 8081).
	"woff":  "font/woff",
	"woff2": "font/woff2",
	"ttf":   "font/ttf",
	"otf":   "font/otf",
	"eot":   "application/vnd.ms-fontobject",

	// Video and audio. Containers use the type browsers accept in <video>
	// and <audio>: video/mp4 for .m4v and audio/mp4 for .m4a (RFC 4337)
	// rather than nginx's x- types.
	"mp4":  "video/mp4",
	"m4v":  "video/mp4",
	"m4a":  "audio/mp4",
	"webm": "video/webm",
	"weba": "audio/webm",
	"mkv":  "video/x-matroska", // what players recognise; RFC 9559's video/matroska is newer than most of them
	"mov":  "video/quicktime",
	"avi":  "video/x-msvideo",
	"mpeg": "video/mpeg",
	"mpg":  "video/mpeg",
	"3gp":  "video/3gpp",
	"ogv":  "video/ogg",
	"ogg":  audioOgg, // RFC 5334 §10.3: .ogg is Ogg Vorbis audio
	"oga":  audioOgg,
	"opus": audioOgg, // RFC 7845 §9: Ogg Opus files are audio/ogg
	"mp3":  "audio/mpeg",
	"wav":  "audio/wav",
	"flac": "audio/flac",
	"aac":  "audio/aac",
	"aif":  "audio/aiff",
	"aiff": "audio/aiff",
	"mid":  "audio/midi",
	"midi": "audio/midi",
	// .ts and .mts are ambiguous with TypeScript source; like nginx, stoa
	// serves them as MPEG transport streams, since HLS segments are what a
	// browser fetches from a static server (TypeScript is compiled first).
	"ts":   videoMP2T,
	"mts":  videoMP2T,
	"m2ts": videoMP2T,
	"m3u8": "application/vnd.apple.mpegurl; charset=utf-8", // RFC 8216 §4: always UTF-8
	"mpd":  "application/dash+xml; charset=utf-8",

	// Archives and packages.
	"pdf":  "application/pdf",
	"epub": "application/epub+zip",
	"zip":  "application/zip",
	// A .gz file is served as what it is, a gzip file, never with
	// Content-Encoding: gzip, or browsers would unpack it on download.
	"gz":  appGzip,
	"tgz": appGzip,
	"br":  "application/x-brotli",
	"zst": "application/zstd", // RFC 8878 §7.1
	"bz2": "application/x-bzip2",
	"xz":  "application/x-xz",
	"7z":  "application/x-7z-compressed",
	"rar": "application/vnd.rar",
	"tar": "application/x-tar",
	"jar": "application/java-archive",
	"apk": "application/vnd.android.package-archive",
	"dmg": "application/x-apple-diskimage",
	"iso": "application/x-iso9660-image",
	"exe": "application/vnd.microsoft.portable-executable",
	"msi": "application/x-msi",
	"deb": "application/vnd.debian.binary-package",
	"rpm": "application/x-rpm",
	"swf": "application/x-shockwave-flash",

	// Office documents.
	"rtf":  "application/rtf",
	"ps":   "application/postscript",
	"eps":  "application/postscript",
	"doc":  "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"xls":  "application/vnd.ms-excel",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"ppt":  "application/vnd.ms-powerpoint",
	"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"odt":  "application/vnd.oasis.opendocument.text",
	"ods":  "application/vnd.oasis.opendocument.spreadsheet",
	"odp":  "application/vnd.oasis.opendocument.presentation",

	// 3D models.
	"glb":  "model/gltf-binary",
	"gltf": "model/gltf+json; charset=utf-8",
	"obj":  "model/obj; charset=utf-8",
	"mtl":  "model/mtl; charset=utf-8",
	"stl":  "model/stl",

	// Keys and certificates. A .crt or .der may be binary DER, so no charset.
	"pem": "application/x-pem-file; charset=utf-8",
	"crt": "application/x-x509-ca-cert",
	"cer": "application/x-x509-ca-cert",
	"der": "application/x-x509-ca-cert",
	"p12": "application/x-pkcs12",
	"pfx": "application/x-pkcs12",

	// Geodata.
	"gpx": "application/gpx+xml; charset=utf-8",
	"kml": "application/vnd.google-earth.kml+xml; charset=utf-8",
	"kmz": "application/vnd.google-earth.kmz",

	// Source code and configuration are shown as plain text: readable in
	// the browser, and never executed or rendered (a .php file served as
	// text/plain discloses nothing more than the file itself).
	"sh": textPlain, "bash": textPlain, "zsh": textPlain, "fish": textPlain,
	"bat": textPlain, "cmd": textPlain, "ps1": textPlain,
	"py": textPlain, "rb": textPlain, "pl": textPlain, "pm": textPlain,
	"php": textPlain, "lua": textPlain, "r": textPlain, "jl": textPlain,
	"go": textPlain, "rs": textPlain, "zig": textPlain, "nim": textPlain,
	"c": textPlain, "h": textPlain, "cc": textPlain, "cpp": textPlain,
	"cxx": textPlain, "hh": textPlain, "hpp": textPlain, "hxx": textPlain,
	"m": textPlain, "mm": textPlain, "swift": textPlain,
	"java": textPlain, "kt": textPlain, "kts": textPlain, "scala": textPlain,
	"groovy": textPlain, "gradle": textPlain, "clj": textPlain,
	"cs": textPlain, "fs": textPlain, "vb": textPlain,
	"hs": textPlain, "ml": textPlain, "mli": textPlain, "ex": textPlain,
	"exs": textPlain, "erl": textPlain, "hrl": textPlain, "elm": textPlain,
	"dart": textPlain, "el": textPlain, "lisp": textPlain, "scm": textPlain,
	"asm": textPlain, "s": textPlain, "f90": textPlain, "v": textPlain,
	"vhd": textPlain, "sql": textPlain, "proto": textPlain,
	"graphql": textPlain, "gql": textPlain,
	"jsx": textPlain, "tsx": textPlain, "cts": textPlain,
	"vue": textPlain, "svelte": textPlain,
	"scss": textPlain, "sass": textPlain, "less": textPlain,
	"tex": textPlain, "bib": textPlain, "rst": textPlain, "adoc": textPlain,
	"org": textPlain, "diff": textPlain, "patch": textPlain, "log": textPlain,
	"ini": textPlain, "cfg": textPlain, "conf": textPlain,
	"properties": textPlain, "tf": textPlain,
	"nix": textPlain, "cmake": textPlain, "mk": textPlain,
}

// ByName returns the media type for the extension of name: the text after the
// last '.' in the final '/'-separated element, matched case-insensitively
// (ASCII only). A name without an extension, or with one not in the table,
// gets OctetStream. ByName does not allocate.
//
// Only the name is consulted, never the content: sniffing would make a file's
// type depend on what its author put in it rather than what the site's
// operator named it, and would cost a read before the headers are sent.
func ByName(name string) string {
	i := len(name) - 1
	for i >= 0 && name[i] != '.' && name[i] != '/' {
		i--
	}
	if i < 0 || name[i] != '.' {
		return OctetStream
	}
	ext := name[i+1:]
	if len(ext) == 0 || len(ext) > maxExtLen {
		return OctetStream
	}
	var lower [maxExtLen]byte
	for j := 0; j < len(ext); j++ {
		c := ext[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[j] = c
	}
	// The compiler turns a map index by string(bytes) into a lookup
	// without converting, so this does not allocate.
	if t, ok := byExt[string(lower[:len(ext)])]; ok {
		return t
	}
	return OctetStream
}

// ContentEncoding returns the content coding (RFC 9110 §8.4) that a file is
// already stored in by convention of its name, or "" if none. Only ".svgz"
// qualifies: it must be sent with "Content-Encoding: gzip" for a browser to
// render it, and must not be compressed again. Archives such as ".gz" and
// ".tgz" are deliberately excluded: they are content in their own right, and
// announcing them as a coding makes browsers unpack them on download.
func ContentEncoding(name string) string {
	n := len(name)
	if n >= len(".svgz") && ascii.EqualFoldLower(name[n-len(".svgz"):], ".svgz") {
		return "gzip"
	}
	return ""
}

// Compressible reports whether a response with the given Content-Type is worth
// sending with a content coding such as gzip or br (RFC 9110 §8.4.1). It is
// true for textual formats and for binary ones stored uncompressed (BMP, ICO,
// TrueType and OpenType fonts, WebAssembly, tar, legacy Office files), and
// false for formats that are compressed already (JPEG, PNG, WebP, AVIF, video,
// audio, zip-based documents, woff2, PDF, archives) and for unknown types.
// Parameters are ignored and the comparison is case-insensitive, per RFC 9110
// §8.3.1. The type alone cannot tell that a .svgz body is gzip already, so a
// server checks ContentEncoding first. Compressible does not allocate.
func Compressible(contentType string) bool {
	mt := contentType
	for i := 0; i < len(mt); i++ {
		if mt[i] == ';' {
			mt = mt[:i]
			break
		}
	}
	mt = ascii.TrimOWS(mt)
	// RFC 6838 §4.2 limits type and subtype to 127 characters each.
	const maxLen = 127 + 1 + 127
	if len(mt) == 0 || len(mt) > maxLen {
		return false
	}
	var buf [maxLen]byte
	slash := -1
	for i := 0; i < len(mt); i++ {
		c := mt[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == '/' && slash < 0 {
			slash = i
		}
		buf[i] = c
	}
	if slash <= 0 || slash == len(mt)-1 {
		return false
	}
	lower := buf[:len(mt)]
	typ, sub := lower[:slash], lower[slash+1:]

	// Structured syntax suffixes (RFC 6839 §3): +json and +xml are text
	// whatever the type; +zip is already deflated.
	if hasSuffix(sub, "+json") || hasSuffix(sub, "+xml") || hasSuffix(sub, "+yaml") {
		return true
	}
	switch string(typ) {
	case "text":
		return true
	case "image":
		switch string(sub) {
		case "bmp", "x-ms-bmp", "x-icon", "vnd.microsoft.icon":
			return true
		}
		return false
	case "font":
		switch string(sub) {
		case "ttf", "otf", "sfnt", "collection":
			return true
		}
		return false
	case "model":
		switch string(sub) {
		case "obj", "mtl", "stl", "gltf-binary", "vrml", "x3d+vrml":
			return true
		}
		return false
	case "application":
		switch string(sub) {
		case "json", "x-ndjson", "javascript", "x-javascript", "ecmascript",
			"xml", "xml-dtd", "yaml", "x-yaml", "toml", "wasm",
			"x-subrip", "vnd.apple.mpegurl", "x-mpegurl", "x-pem-file",
			"rtf", "postscript", "x-tar", "x-sh", "graphql",
			"msword", "vnd.ms-excel", "vnd.ms-powerpoint",
			"vnd.ms-fontobject", "x-font-ttf", "x-font-otf", "font-sfnt",
			"vnd.microsoft.portable-executable", "x-msdownload":
			return true
		}
		return false
	}
	// audio/*, video/*, multipart/* and unknown types.
	return false
}

// hasSuffix reports whether b ends with suffix, without converting b.
func hasSuffix(b []byte, suffix string) bool {
	return len(b) >= len(suffix) && string(b[len(b)-len(suffix):]) == suffix
}
