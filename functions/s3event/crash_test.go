//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// Crash safety: the process is killed (SIGKILL, as an out-of-memory kill or a timeout would end
// it) in the middle of an invocation; Lambda then retries the event on a fresh process. Whatever
// the moment of the kill, the retry ends with exactly one result, and a result already written
// is not paid for again.
func TestKillMidInvocation(t *testing.T) {
	cases := []struct {
		name string
		// arm sets up the moment; reached reports that the invocation got there.
		arm     func(f *fn)
		reached func(f *fn) bool
		// requests reach the upstream in all, the killed invocation's included; only one of
		// them is ever answered with a recognition.
		requests int
	}{
		{
			name:     "while the upstream call hangs",
			arm:      func(f *fn) { f.emu.Inject(emulator.Fault{Delay: time.Minute}) },
			reached:  func(f *fn) bool { return f.emu.Requests() == 1 },
			requests: 2, // the hung call never answered; the retry asked again
		},
		{
			name: "after the result landed, before the function heard back",
			arm: func(f *fn) {
				awsProxy.Inject(testenv.AWSFault{Op: "s3.PutObject", StallBody: time.Minute, Times: 1})
			},
			reached:  func(f *fn) bool { _, ok := f.result("results/cars/x.png.json"); return ok },
			requests: 1, // the retry finds the answer and does not ask again
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := start(t)
			rec := f.put("incoming/cars/x.png", cars3.PNG(), nil)
			c.arm(f)
			payload, _ := json.Marshal(events.S3Event{Records: []events.S3EventRecord{rec}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := f.rt.Invoke(ctx, payload, 2*time.Minute)
				done <- err
			}()
			for start := time.Now(); !c.reached(f); time.Sleep(5 * time.Millisecond) {
				if time.Since(start) > 20*time.Second {
					t.Fatal("the invocation never reached the point of the kill")
				}
			}
			f.proc.Kill()
			cancel() // Lambda sees the runtime exit: the invocation failed
			<-done
			awsProxy.Clear()
			f.emu.ClearFaults()

			var err error
			if f.proc, err = f.rt.StartProcess(bootstrap, f.env); err != nil {
				t.Fatal(err)
			}
			if f.invoke(rec) {
				t.Fatal("the retry failed")
			}
			f.wantSolved("results/cars/x.png.json", "incoming/cars/x.png", cars3)
			if keys := f.resultKeys(); len(keys) != 1 {
				t.Fatalf("results %v, want exactly one", keys)
			}
			if f.emu.Recognized() != 1 || f.emu.Requests() != c.requests {
				t.Fatalf("%d upstream requests, %d recognized; want %d and 1", f.emu.Requests(), f.emu.Recognized(), c.requests)
			}
		})
	}
}
