// Package image holds the test of stoa's container image: deploy/image/build
// (beside this file) builds it with podman from the Dockerfile's last stage
// and deploy/image/rootfs, and image_test.go builds it twice, checks the
// digest, size and configuration, and runs it as a container runtime would.
package image
