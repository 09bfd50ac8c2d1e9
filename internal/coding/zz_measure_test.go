package coding

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

var realFiles = []string{
	"/usr/local/go/src/internal/trace/traceviewer/static/webcomponents.min.js",
	"/usr/local/go/doc/go_spec.html", "/usr/local/go/doc/asm.html",
	"/usr/local/go/src/cmd/vendor/github.com/google/pprof/internal/driver/html/common.js",
	"/usr/local/go/src/cmd/vendor/github.com/google/pprof/internal/driver/html/common.css",
	"/usr/local/go/src/cmd/vendor/github.com/google/pprof/internal/driver/html/header.html",
	"/usr/local/go/lib/wasm/wasm_exec.js",
	"/usr/local/go/src/cmd/vendor/golang.org/x/telemetry/package-lock.json",
}

func TestZZMeasure(t *testing.T) {
	type f struct {
		n string
		d []byte
	}
	var fs []f
	for _, a := range assets() {
		fs = append(fs, f{a.name, a.data})
	}
	for _, p := range realFiles {
		d, _ := os.ReadFile(p)
		fs = append(fs, f{p[len(p)-24:], d})
	}
	for _, x := range fs {
		cmd := exec.Command("gzip", "-9", "-n", "-c")
		cmd.Stdin = bytes.NewReader(x.d)
		g9, _ := cmd.Output()
		var std bytes.Buffer
		zw, _ := stdgzip.NewWriterLevel(&std, 9)
		zw.Write(x.d)
		zw.Close()
		line := fmt.Sprintf("%-26s %8d gnu9=%7d std9=%7d", x.n, len(x.d), len(g9), std.Len())
		for _, l := range []int{6, 7, 8, 9} {
			e, _ := Encode(Gzip, l, x.d)
			line += fmt.Sprintf(" k%d=%7d", l, len(e))
		}
		for _, l := range []int{5, 6, 9, 11} {
			e, _ := Encode(Brotli, l, x.d)
			line += fmt.Sprintf(" br%d=%7d", l, len(e))
		}
		for _, l := range []int{3, 19} {
			e, _ := Encode(Zstd, l, x.d)
			line += fmt.Sprintf(" z%d=%7d", l, len(e))
		}
		fmt.Println(line)
	}
}
