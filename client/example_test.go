//go:build e2e

package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/client"
)

// A picture in memory. RECOGNIZER_URL is the API's address: http://127.0.0.1:3000 for make run
// (whose emulated upstream gives this sample picture a known answer), or a stack's ApiUrl.
func ExampleClient_Recognize() {
	c := &client.Client{BaseURL: os.Getenv("RECOGNIZER_URL"), Key: os.Getenv("RECOGNIZER_KEY")}
	image, err := os.ReadFile("../events/images/cars-3x3.jpg")
	if err != nil {
		log.Fatal(err)
	}
	answer, err := c.Recognize(context.Background(), client.Bytes(image), "cars")
	if err != nil {
		log.Fatal(err)
	}
	s := answer.Solution
	fmt.Println("grid", s.Grid, "label", s.Label, "tiles", s.Objects)
	for _, click := range s.Clicks {
		fmt.Printf("click tile %d at (%d, %d)\n", click.Index, click.X, click.Y)
	}
	// Output:
	// grid 3x3 label /m/0k4j tiles [0 4 8]
	// click tile 0 at (50, 50)
	// click tile 4 at (150, 150)
	// click tile 8 at (250, 250)
}

// A widget screenshot on disk, with the widget's own sentence as the question: the grid is read
// from the screenshot, and the clicks are in the screenshot's pixels.
func ExampleFile() {
	c := &client.Client{BaseURL: os.Getenv("RECOGNIZER_URL"), Key: os.Getenv("RECOGNIZER_KEY")}
	answer, err := c.Recognize(context.Background(), client.File("../events/images/buses-screenshot.jpg"),
		"Select all images with <strong>buses</strong>")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("grid", answer.Solution.Grid, "tiles", answer.Solution.Objects)
	for _, click := range answer.Solution.Clicks {
		fmt.Printf("click tile %d at (%d, %d)\n", click.Index, click.X, click.Y)
	}
	// Output:
	// grid 4x4 tiles [1 6]
	// click tile 1 at (145, 49)
	// click tile 6 at (243, 145)
}

// A picture in S3, read by the service (the way to send pictures over the request size limit),
// with the grid given and the answer stored in the deployment's results bucket.
func ExampleS3() {
	c := &client.Client{BaseURL: os.Getenv("RECOGNIZER_URL"), Key: os.Getenv("RECOGNIZER_KEY")}
	answer, err := c.Recognize(context.Background(), client.S3("examples", "challenges/cars.jpg"), "/m/0k4j",
		client.Grid("3x3"), client.Store())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tiles", answer.Solution.Objects)
	fmt.Println("stored under", answer.Result[:strings.LastIndex(answer.Result, "/")+1])
	// Output:
	// tiles [0 4 8]
	// stored under s3://examples-results/stored/
}

// A failure the service reports is an *Error with its code and the trace id to quote.
func ExampleError() {
	c := &client.Client{BaseURL: os.Getenv("RECOGNIZER_URL"), Key: os.Getenv("RECOGNIZER_KEY")}
	_, err := c.Recognize(context.Background(), client.File("../events/images/cars-3x3.jpg"), "giraffes")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, "temporary:", e.Temporary(), "trace id given:", e.TraceID != "")
	}
	// Output:
	// 400 unsupported_question temporary: false trace id given: true
}
