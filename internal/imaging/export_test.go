package imaging

// DecodeCost exposes the estimate to the tests of package imaging_test.
func DecodeCost(data []byte, format string, w, h int) int64 {
	return costOf(format, data, w, h).bytes
}
