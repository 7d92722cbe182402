package audit

import (
	"context"
	"os"
	"os/user"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the management API request
// that makes a change, kept in its audit entry.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id ctx carries, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// CLIActor is the actor of changes made with the weir command: the
// operating system user running it.
func CLIActor() Actor {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	return Actor{Kind: "cli", Name: name}
}
