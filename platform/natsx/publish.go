package natsx

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
)

const (
	headerContentType   = "Content-Type"
	contentTypeProtobuf = "application/protobuf"
)

// HeaderCarrier adapts nats.Header to OpenTelemetry's
// propagation.TextMapCarrier, so trace context rides in message headers the
// way it rides in HTTP headers.
type HeaderCarrier nats.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key. nats.Header is case-sensitive, but a
// publisher in another language may have written "Traceparent", so an exact
// miss falls back to a case-insensitive match.
func (h HeaderCarrier) Get(key string) string {
	if v := nats.Header(h).Get(key); v != "" {
		return v
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, key) {
			return vs[0]
		}
	}
	return ""
}

// Set sets key to value. h must not be nil.
func (h HeaderCarrier) Set(key, value string) { nats.Header(h).Set(key, value) }

// Keys lists the header keys.
func (h HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// Publish marshals msg (protobuf) and publishes it on subject over core NATS
// (fire and forget), with the trace context of ctx injected into the headers
// (otel.GetTextMapPropagator()) and the content-type header
// "application/protobuf".
func Publish(ctx context.Context, nc *nats.Conn, subject string, msg proto.Message) error {
	m, err := newMsg(ctx, subject, msg)
	if err != nil {
		return err
	}
	if err := nc.PublishMsg(m); err != nil {
		return fmt.Errorf("natsx: publish on %s: %w", subject, err)
	}
	return nil
}

// PublishJS is Publish through JetStream: it returns once the stream has
// stored the message, with the ack, so the caller knows the message survives
// a crash.
func PublishJS(ctx context.Context, js jetstream.JetStream, subject string, msg proto.Message, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	m, err := newMsg(ctx, subject, msg)
	if err != nil {
		return nil, err
	}
	ack, err := js.PublishMsg(ctx, m, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsx: jetstream publish on %s: %w", subject, err)
	}
	return ack, nil
}

// ContextFrom returns ctx carrying the remote span context found in the
// message headers h, so a consumer's spans continue the publisher's trace.
// Without trace headers it returns ctx unchanged.
func ContextFrom(ctx context.Context, h nats.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier(h))
}

func newMsg(ctx context.Context, subject string, msg proto.Message) (*nats.Msg, error) {
	data, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("natsx: marshal %T for %s: %w", msg, subject, err)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(headerContentType, contentTypeProtobuf)
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier(m.Header))
	return m, nil
}
