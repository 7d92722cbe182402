// Package audit keeps the audit log: who changed what, when, and the
// state before and after. The management API puts the actor of each
// request into its context; the managers that change keys, limits,
// prices, use cases and people read it back when they record a change.
package audit

import "context"

// Actor is who made a change.
type Actor struct {
	// Kind is user, token (a management API token), key (a configured
	// admin key), cli, anonymous (an open loopback API) or system.
	Kind string `json:"kind"`
	// Name is the person, the token's id, or the key's prefix.
	Name string `json:"name,omitempty"`
	// Role is the role the change was made under.
	Role string `json:"role,omitempty"`
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries, or {Kind: "system"}.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: "system"}
}
