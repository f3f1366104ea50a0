package imaging

// DecodeCost exposes the estimate to the tests of package imaging_test.
func DecodeCost(data []byte, format string, w, h int) int64 {
	return costOf(format, data, w, h).bytes
}

// DecodeWork exposes the model of the decoder's work to the tests of package imaging_test.
func DecodeWork(data []byte, format string, w, h int) int64 {
	return costOf(format, data, w, h).work
}

// HasMetadata exposes the check that a forwarded picture carries no metadata.
var HasMetadata = hasMetadata
