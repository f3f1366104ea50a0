package httpapi

import (
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// accuracyOptions are a request's own accuracy choices (docs/accuracy.md): nil where it made
// none, so the deployment's apply.
type accuracyOptions struct {
	minConfidence *float64
	consensus     *bool
}

// fromQuery takes the choices a query string makes.
func (o *accuracyOptions) fromQuery(q url.Values) error {
	if v := q.Get("min_confidence"); v != "" {
		if err := o.setMinConfidence(v); err != nil {
			return err
		}
	}
	if v := q.Get("consensus"); v != "" {
		return o.setConsensus(v)
	}
	return nil
}

// setMinConfidence takes min_confidence as a query parameter or form field sends it.
func (o *accuracyOptions) setMinConfidence(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return badRequest("min_confidence must be a number from 0 to 1, not %q", apierr.Clip(v, 64))
	}
	return o.setMinConfidenceNumber(f)
}

// setMinConfidenceNumber takes min_confidence as a number, from any form.
func (o *accuracyOptions) setMinConfidenceNumber(f float64) error {
	if math.IsNaN(f) || f < 0 || f > 1 {
		return badRequest("min_confidence must be a number from 0 to 1")
	}
	o.minConfidence = &f
	return nil
}

// setConsensus takes consensus as a query parameter or form field sends it.
func (o *accuracyOptions) setConsensus(v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return badRequest("consensus must be true or false, not %q", apierr.Clip(v, 64))
	}
	o.consensus = &b
	return nil
}
