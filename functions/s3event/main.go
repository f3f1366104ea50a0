// Command s3event is the S3 entry point: a Lambda triggered by ObjectCreated events under
// INPUT_PREFIX (default incoming/). For incoming/<rest> it writes results/<rest>.json holding
// the body the HTTPS path would answer, plus source and timing.
//
// The question comes from the object's metadata "question" (and optional "grid"), else from the
// first folder under the prefix (incoming/cars/x.jpg). Every record is handled; a permanent
// failure is written as an error result and the invocation succeeds; a transient one fails the
// invocation so Lambda retries it (and then sends the event to the on-failure destination).
// Redeliveries of an object version already answered cost nothing. With any configuration error
// every record fails the invocation and nothing is read or written (a result must never feed a
// loop), so the event ends in the dead-letter queue.
//
// This file is the composition root; handler.go translates events.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/recaptcha-recognizer/recognizer/internal/app"
)

func main() {
	log := app.NewLogger(os.Stdout)
	awsCfg, err := app.AWS(context.Background())
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	proc, observer := app.NewUploads(os.Getenv, awsCfg, log, os.Stdout)
	lambda.Start(handler{proc: proc, observe: observer}.Handle)
}
