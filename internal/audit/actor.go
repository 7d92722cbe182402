// Package audit keeps the audit log: who changed what, when, and the
// state before and after. The management API puts the actor of each
// request into its context; the managers that change keys, limits,
// prices, use cases and people read it back when they record a change.
//
// Each manager records through its own one-method Auditor interface, which
// *Log implements; nil records nothing. A change and its entry are two
// writes, not one transaction: the manager makes the change, then records
// it in the same call. When the entry cannot be written, the change stands
// and the call succeeds (the caller's change is made; answering an error
// would invite a retry that makes it twice, and a key's secret, shown once,
// would be lost), and the failure is made visible instead: Log.Record logs
// it at error level with the action, object and actor, and counts it in
// Failures. The entry is written even if the request that made the change
// is cancelled meanwhile. A crash between the two writes can lose one
// entry.
//
// Entries never hold secrets: callers pass the public view of an object
// (a key's metadata, never its secret or hash), and Redact replaces, as a
// last line of defence, fields named like secrets and strings shaped like
// them.
//
// Actions are the object kind and a verb: application.put, key.create,
// key.revoke, limit.put, limit.delete, limit.reset, price_entry.put,
// price_entry.delete, reprice.run, use_case.put, use_case.new_version;
// people and management tokens are recorded by the auth package. Handler
// serves the log, read-only, as GET /api/v1/audit. It imports store, ids
// and httpjson; managers do not import it.
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
