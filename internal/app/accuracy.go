package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// Accuracy is the deployment's accuracy settings (docs/accuracy.md, docs/configuration.md).
type Accuracy struct {
	Defaults  recognition.Options // MIN_CONFIDENCE (0–1, default off) and CONSENSUS (on|off, default off)
	AutoOrder bool                // PROVIDER_ORDER=auto: the cheapest of the accurate first; configured (default): PROVIDERS order
	// ForwardReports is FORWARD_REPORTS=on: callers' reports go to the provider that answered
	// (and feed the measured accuracy); off (default), they are counted only.
	ForwardReports bool
	// Prices is PROVIDER_PRICES (name:dollars per call, comma-separated); a provider not named
	// costs 1, so with none given the auto order among the accurate is PROVIDERS order.
	Prices map[string]float64
}

// readAccuracy reads the accuracy settings and lists what is wrong with them.
func readAccuracy(getenv func(string) string, providers []Provider) (Accuracy, []string) {
	a := Accuracy{Prices: map[string]float64{}}
	for _, p := range providers {
		a.Prices[p.Name] = 1
	}
	var problems []string
	if v := strings.TrimSpace(getenv("MIN_CONFIDENCE")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			problems = append(problems, "MIN_CONFIDENCE must be a number from 0 (off) to 1")
		}
		a.Defaults.MinConfidence = f
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("CONSENSUS"))); v {
	case "", "off":
	case "on":
		a.Defaults.Consensus = true
	default:
		problems = append(problems, "CONSENSUS must be on or off")
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("PROVIDER_ORDER"))); v {
	case "", "configured":
	case "auto":
		a.AutoOrder = true
	default:
		problems = append(problems, "PROVIDER_ORDER must be auto or configured")
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("FORWARD_REPORTS"))); v {
	case "", "off":
	case "on":
		a.ForwardReports = true
	default:
		problems = append(problems, "FORWARD_REPORTS must be on or off")
	}
	if a.AutoOrder && !a.ForwardReports {
		problems = append(problems, "PROVIDER_ORDER=auto learns from forwarded reports: it needs FORWARD_REPORTS=on")
	}
	for _, item := range strings.Split(getenv("PROVIDER_PRICES"), ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		name, price, _ := strings.Cut(item, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		f, err := strconv.ParseFloat(strings.TrimSpace(price), 64)
		if _, known := providerKinds[name]; !known || err != nil || f < 0 {
			problems = append(problems, fmt.Sprintf("PROVIDER_PRICES: %q is not provider:dollars, such as capsolver:0.0008", apierr.Clip(item, 40)))
			continue
		}
		a.Prices[name] = f
	}
	return a, problems
}
