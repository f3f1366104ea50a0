// Package compat proves that published client libraries of the captcha services whose protocols
// this service speaks work against it unmodified, with only their base URL (and key) changed.
//
// The libraries are npm packages pinned in package-lock.json; each *.mjs script drives one of
// them against a base URL and prints a JSON report. The end-to-end test (compat_test.go, build
// tag e2e) installs them with npm ci, starts `make run`'s server with client keys, runs every
// script and checks the tiles each library hands back for the pictures in events/images.
package compat
