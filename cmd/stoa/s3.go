package main

import (
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/release/s3store"
)

// S3 release stores (s3://BUCKET/PREFIX) plug into release.Open here:
// package s3store imports release, so release cannot name it.
func init() { release.RegisterScheme("s3", s3store.OpenTarget) }
