// Command api is the HTTPS entry point: a Lambda behind an API Gateway HTTP API (payload format
// 2.0) serving POST /recognize and POST /captcha/recognition/recaptcha2.
//
// Input: a challenge as JSON (base64 or data URL image, or an S3 reference), multipart form, or a
// raw image body. Output: 200 with the solution and click coordinates, or the upstream's error
// shape with a precise code and status. Every failure is an answer; the function itself only
// fails on a bug, which API Gateway turns into a bare 500.
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
	lambda.Start(handler{api: app.NewAPI(os.Getenv, awsCfg, log, os.Stdout)}.Handle)
}
