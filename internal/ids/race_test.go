//go:build race

package ids

// raceEnabled: the race detector adds allocations of its own.
const raceEnabled = true
