//go:build !race

package httpapi

const raceFactor = 1
