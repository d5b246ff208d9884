package mailer

import "time"

// SetLockHooks lets a test pace the extensions of m's send locks (nil
// ticks: the real ticker) and hear of each one.
func SetLockHooks(m *Mailer, ticks <-chan time.Time, onExtend func(sub string, held bool, err error)) {
	m.lockTicks, m.onExtend = ticks, onExtend
}
