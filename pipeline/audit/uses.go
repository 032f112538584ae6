package audit

import "context"

// Use is one use of a seal as its verified usage log holds it.
type Use struct {
	Record
	// Key is the object key of the usage record.
	Key string
	// Segment is the object key of the log segment that lists the record;
	// empty for a use in a batch still in progress, whose records no
	// segment lists yet (they are signed, and Verify checks that they are
	// the pipeline's).
	Segment string
}

// Uses walks seal's usage log exactly as Verify does and returns its uses,
// oldest segment first, each one verified: if the log has a problem, Uses
// returns that problem and no use at all, so that nothing is shown from a
// log that does not verify. complete is as for Verify.
func (l *Log) Uses(ctx context.Context, seal string, complete func(label string) (bool, error)) ([]Use, *Problem, error) {
	var uses []Use
	p, err := l.walk(ctx, seal, complete, func(u Use) { uses = append(uses, u) })
	if p != nil || err != nil {
		return nil, p, err
	}
	return uses, nil, nil
}
