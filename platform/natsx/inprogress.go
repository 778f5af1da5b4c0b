package natsx

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KeepInProgress tells JetStream every interval that msg is still being
// worked on, so work that outlasts the consumer's AckWait is not
// redelivered to another worker; it stops when ctx is done.
func KeepInProgress(ctx context.Context, msg jetstream.Msg, interval time.Duration) {
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
}
