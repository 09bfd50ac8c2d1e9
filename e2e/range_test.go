package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rangeCase is a Range request and the answer it must get.
type rangeCase struct {
	name   string
	method string
	header []string
	status int
	// For 206 with one range: the range; for multipart: every part.
	parts [][2]int64 // first, last
}

// TestRanges checks range requests (RFC 9110 §14) on a file kept in memory
// and on one sent from disk with sendfile.
func TestRanges(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	small := patterned(1000)
	big := patterned(2 << 20)
	s.write("small.txt", string(small))
	s.write("big.bin", string(big))
	s.setModTime("small.txt", fixedModTime)
	s.setModTime("big.bin", fixedModTime)
	srv := startServer(t, s)

	for _, file := range []struct {
		name    string
		content []byte
	}{{"small.txt", small}, {"big.bin", big}} {
		t.Run(file.name, func(t *testing.T) {
			t.Parallel()
			rangeCases(t, srv, "/"+file.name, file.content)
		})
	}
}

func rangeCases(t *testing.T, srv *server, target string, content []byte) {
	size := int64(len(content))
	n := strconv.FormatInt(size, 10)
	var etag string
	// A large file's ETag may be computed in the background.
	if !eventually(5*time.Second, func() bool {
		etag = srv.get(target, "Range: bytes=0-0").get("ETag")
		return etag != ""
	}) {
		t.Fatalf("GET %s: no ETag within 5s", target)
	}
	mid := size / 2
	amplify := "bytes=" + strings.TrimSuffix(strings.Repeat("0-,", 200), ",")
	tests := []rangeCase{
		{"first five", "GET", []string{"Range: bytes=0-4"}, 206, [][2]int64{{0, 4}}},
		{"suffix five", "GET", []string{"Range: bytes=-5"}, 206, [][2]int64{{size - 5, size - 1}}},
		{"open from five", "GET", []string{"Range: bytes=5-"}, 206, [][2]int64{{5, size - 1}}},
		{"middle", "GET", []string{fmt.Sprintf("Range: bytes=%d-%d", mid, mid+99)}, 206, [][2]int64{{mid, mid + 99}}},
		{"last byte past the end is clipped", "GET", []string{fmt.Sprintf("Range: bytes=%d-%d", size-10, size+1000)}, 206, [][2]int64{{size - 10, size - 1}}},
		{"suffix longer than the file", "GET", []string{fmt.Sprintf("Range: bytes=-%d", size+100)}, 206, [][2]int64{{0, size - 1}}},
		{"unit is case-insensitive", "GET", []string{"Range: Bytes=0-4"}, 206, [][2]int64{{0, 4}}},
		{"first and last byte", "GET", []string{"Range: bytes=0-0,-1"}, 206, [][2]int64{{0, 0}, {size - 1, size - 1}}},
		// RFC 9110 §15.3.7.2: parts SHOULD come in the order the ranges
		// were asked for (only coalesced ones may merge).
		{"two ranges in reverse order", "GET", []string{"Range: bytes=-1,0-0"}, 206, [][2]int64{{size - 1, size - 1}, {0, 0}}},
		{"three ranges", "GET", []string{fmt.Sprintf("Range: bytes=10-19,%d-%d,-3", mid, mid+9)}, 206, [][2]int64{{10, 19}, {mid, mid + 9}, {size - 3, size - 1}}},
		{"start at the length", "GET", []string{"Range: bytes=" + n + "-"}, 416, nil},
		{"start past the length", "GET", []string{fmt.Sprintf("Range: bytes=%d-%d", size+10, size+20)}, 416, nil},
		{"malformed: bytes=abc", "GET", []string{"Range: bytes=abc"}, 200, nil},
		{"malformed: other unit", "GET", []string{"Range: items=0-1"}, 200, nil},
		{"malformed: reversed", "GET", []string{"Range: bytes=5-4"}, 200, nil},
		{"malformed: no equals", "GET", []string{"Range: bytes 0-4"}, 200, nil},
		{"If-Range current ETag", "GET", []string{"Range: bytes=0-4", "If-Range: " + etag}, 206, [][2]int64{{0, 4}}},
		{"If-Range old ETag", "GET", []string{"Range: bytes=0-4", `If-Range: "old-etag"`}, 200, nil},
		{"If-Range weak ETag", "GET", []string{"Range: bytes=0-4", "If-Range: W/" + etag}, 200, nil},
		{"If-Range Last-Modified", "GET", []string{"Range: bytes=0-4", "If-Range: " + fixedModTimeHTTP}, 206, [][2]int64{{0, 4}}},
		{"If-Range other date", "GET", []string{"Range: bytes=0-4", "If-Range: Sat, 01 Jan 2000 00:00:00 GMT"}, 200, nil},
		{"HEAD with Range", "HEAD", []string{"Range: bytes=0-4"}, 200, nil},
		{"amplification 200 x 0-", "GET", []string{"Range: " + amplify}, -1, nil},
		{"amplification overlapping", "GET", []string{"Range: bytes=0-99,1-100,2-101,3-102,4-103,5-104,6-105,7-106,8-107,9-108,10-109,11-110,12-111,13-112,14-113,15-114,16-115,17-116,18-117,19-118"}, -1, nil},
		{"amplification suffixes", "GET", []string{"Range: bytes=" + strings.TrimSuffix(strings.Repeat("-"+n+",", 50), ",")}, -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRange(t, srv, target, content, tc)
		})
	}
}

func checkRange(t *testing.T, srv *server, target string, content []byte, tc rangeCase) {
	size := int64(len(content))
	c := srv.dial()
	// A sentinel after each request shows the body was framed right.
	c.send(request(tc.method, target, tc.header...) + "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.read(tc.method)
	what := tc.method + " " + target + " with " + string(clip([]byte(strings.Join(tc.header, "; ")), 80))
	defer func() {
		if s, err := c.readResponse("OPTIONS", ioTimeout); err != nil || s.Status != 200 {
			t.Errorf("%s: the next response on the connection is corrupt: %v", what, err)
		}
	}()
	switch {
	case tc.status == -1:
		// Amplification: whatever the answer, never more than one copy.
		if r.Status != 200 && r.Status != 206 && r.Status != 416 {
			t.Errorf("%s: status = %d, want 200, 206 or 416", what, r.Status)
		}
		if int64(len(r.Body)) > size {
			t.Errorf("%s: %d body bytes for a %d-byte file (status %d, Content-Type %q): the ranges amplify the response",
				what, len(r.Body), size, r.Status, r.get("Content-Type"))
		}
		return
	case !checkStatus(t, what, r, tc.status):
		return
	}
	switch {
	case tc.status == 200 && tc.method == "HEAD":
		checkField(t, what, r, "Content-Length", strconv.FormatInt(size, 10))
		checkField(t, what, r, "Content-Range", "")
	case tc.status == 200:
		if !bytes.Equal(r.Body, content) {
			t.Errorf("%s: 200 body differs from the file (%d bytes, want %d)", what, len(r.Body), size)
		}
		checkField(t, what, r, "Content-Range", "")
	case tc.status == 416:
		checkField(t, what, r, "Content-Range", "bytes */"+strconv.FormatInt(size, 10))
	case len(tc.parts) == 1:
		first, last := tc.parts[0][0], tc.parts[0][1]
		checkField(t, what, r, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, size))
		if strings.HasPrefix(r.get("Content-Type"), "multipart/") {
			t.Errorf("%s: a single range sent as %q", what, r.get("Content-Type"))
		}
		checkBody(t, what, r, content[first:last+1])
	default:
		checkMultipart(t, what, r, content, tc.parts)
	}
}

// checkMultipart parses a multipart/byteranges body (RFC 9110 §14.6) and
// checks each part's Content-Range and bytes.
func checkMultipart(t *testing.T, what string, r *response, content []byte, want [][2]int64) {
	t.Helper()
	size := int64(len(content))
	mt, params, err := mime.ParseMediaType(r.get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
		t.Errorf("%s: Content-Type = %q, want multipart/byteranges with a boundary", what, r.get("Content-Type"))
		return
	}
	checkField(t, what, r, "Content-Range", "")
	if cl := r.get("Content-Length"); cl != strconv.Itoa(len(r.Body)) {
		t.Errorf("%s: Content-Length = %q, body has %d bytes", what, cl, len(r.Body))
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("%s: %d parts, want %d", what, i, len(want))
			}
			return
		}
		if err != nil {
			t.Errorf("%s: part %d: %v", what, i, err)
			return
		}
		got, err := io.ReadAll(p)
		if err != nil {
			t.Errorf("%s: part %d: %v", what, i, err)
			return
		}
		if i >= len(want) {
			t.Errorf("%s: extra part %d with Content-Range %q", what, i, p.Header.Get("Content-Range"))
			continue
		}
		first, last := want[i][0], want[i][1]
		if cr, w := p.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", first, last, size); cr != w {
			t.Errorf("%s: part %d Content-Range = %q, want %q", what, i, cr, w)
		}
		if p.Header.Get("Content-Type") == "" {
			t.Errorf("%s: part %d has no Content-Type", what, i)
		}
		if !bytes.Equal(got, content[first:last+1]) {
			t.Errorf("%s: part %d body = %q, want %q", what, i, clip(got, 60), clip(content[first:last+1], 60))
		}
	}
}

// TestLargeFile checks that a file sent with sendfile arrives byte-exact,
// whole and in a range, several times on one connection.
func TestLargeFile(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	big := patterned(2 << 20)
	big[12345] = 0 // binary content
	s.write("big.bin", string(big))
	srv := startServer(t, s)
	want := sha256.Sum256(big)
	c := srv.dial()
	for i := range 3 {
		r := c.do(request("GET", "/big.bin"))
		if !checkStatus(t, "GET /big.bin", r, 200) {
			return
		}
		if got := sha256.Sum256(r.Body); got != want || len(r.Body) != len(big) {
			t.Errorf("GET /big.bin #%d: %d bytes with sha256 %x, want %d bytes with %x", i, len(r.Body), got, len(big), want)
		}
		checkField(t, "GET /big.bin", r, "Content-Type", "application/octet-stream")
	}
	const first, last = 1<<20 - 7, 1<<20 + 100000
	r := c.do(request("GET", "/big.bin", fmt.Sprintf("Range: bytes=%d-%d", first, last)))
	if checkStatus(t, "GET /big.bin middle range", r, 206) {
		checkBody(t, "GET /big.bin middle range", r, big[first:last+1])
		checkField(t, "GET /big.bin middle range", r, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(big)))
	}
	// Pipelined: a big body between two small responses.
	c.send(request("GET", "/index.html") + request("GET", "/big.bin") + request("GET", "/index.html"))
	checkBody(t, "pipelined index before", c.read("GET"), []byte(indexHTML))
	r = c.read("GET")
	if got := sha256.Sum256(r.Body); got != want {
		t.Errorf("pipelined GET /big.bin: %d bytes, sha256 mismatch; response:\n%s", len(r.Body), r)
	}
	checkBody(t, "pipelined index after", c.read("GET"), []byte(indexHTML))
}
