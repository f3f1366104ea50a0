// Command accuracy prints the accuracy simulation's table (docs/accuracy.md): simulated
// providers with known error rates, confidences, prices and latencies, asked through the real
// chain with consensus off and on and each threshold; in process, fixed seed, no network.
package main

import (
	"os"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/accuracysim"
)

func main() {
	accuracysim.Print(os.Stdout, accuracysim.Table())
}
