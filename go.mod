module github.com/stoahttp/stoa

go 1.26

require (
	github.com/andybalholm/brotli v1.2.8
	github.com/klauspost/compress v1.20.4
)

require github.com/maypok86/otter/v2 v2.4.0
